#!/bin/bash
# Regenerates interop.tsv: password hashes made by other implementations,
# which the tests verify with package password.
#
# Tools (Debian packages): argon2 (the reference Argon2 CLI), python3-argon2
# (argon2-cffi), python3-bcrypt, apache2-utils (htpasswd), php-cli,
# python3-django, nodejs and npm (for the better-auth npm package). Versions
# used for the checked-in file: argon2 0~20171227-0.3+deb12u1, python3-argon2
# 21.1.0-2, python3-bcrypt 3.2.2-1, apache2-utils 2.4.71-1~deb12u1,
# php8.2-cli 8.2.36-1~deb12u1, python3-django 3:3.2.25-0+deb12u7, nodejs
# 20, better-auth 1.7.29 (with @better-auth/utils 0.5.1).
#
# Run from this directory:  bash make-fixtures.sh > interop.tsv
#
# Output: one fixture per line, four tab-separated fields:
#   source  expect  password  hash
# expect is what Verify must answer under the default Config:
#   current      verifies, needsRehash false
#   rehash       verifies, needsRehash true
#   unsupported  fails with ErrUnsupportedHash
#   unsafe       an unsalted digest: fails with ErrUnsafeHash; verifies
#                (needsRehash true) once wrapped with Hasher.Wrap under
#                Config.AllowWrapped
#   over72       bcrypt hash of a password longer than 72 bytes, made by a
#                library that silently truncates: the full password must NOT
#                verify (its first 72 bytes do).
# Salts are random except for the argon2 CLI, which takes the salt as an
# argument; the outputs therefore differ from run to run.
set -euo pipefail
export LC_ALL=C.UTF-8
PY=/usr/bin/python3

nfd=$'cafe\xcc\x81 cre\xcc\x80me bru\xcc\x82le\xcc\x81e'   # "café crème brûlée", decomposed (NFD)

line() { printf '%s\t%s\t%s\t%s\n' "$1" "$2" "$3" "$4"; }

# argon2 CLI: the password is read from stdin verbatim (no newline added).
# usage: cli EXPECT PASSWORD SALT ARGS...
cli() {
	local expect=$1 pw=$2 salt=$3
	shift 3
	line "argon2-cli $*" "$expect" "$pw" "$(printf '%s' "$pw" | argon2 "$salt" "$@" -e)"
}
cli current     'correct horse battery staple' sigra-fixture-01 -id -t 2 -k 19456 -p 1 -l 32
cli current     'pässwörd-ünïcödé'             sigra-fixture-02 -id -t 2 -k 19456 -p 1 -l 32
cli current     '日本語のパスワード'            sigra-fixture-03 -id -t 2 -k 19456 -p 1 -l 32
cli current     '🔑 clé de sécurité 🔐'         sigra-fixture-04 -id -t 2 -k 19456 -p 1 -l 32
cli rehash      'пароль-надёжный'               sigra-fixture-05 -id -t 3 -k 65536 -p 4 -l 32
cli rehash      'correct horse battery staple' sigra-fixture-06 -id -t 5 -k 7168 -p 1 -l 32
cli rehash      'short key length'             sigra-fixture-07 -id -t 2 -k 19456 -p 1 -l 16
cli rehash      'argon2i is verified too'      sigra-fixture-08 -i -t 3 -k 4096 -p 1 -l 32
cli rehash      "$nfd"                          sigra-fixture-09 -id -t 2 -k 19456 -p 1 -l 32
cli unsupported 'argon2d is not verified'      sigra-fixture-10 -d -t 3 -k 4096 -p 1 -l 32
cli unsupported 'argon2 version 1.0'           sigra-fixture-11 -id -t 2 -k 19456 -p 1 -l 32 -v 10

# Python: argon2-cffi and bcrypt. Passwords travel as UTF-8 bytes.
NFD="$nfd" "$PY" - <<'PYEOF'
import os
import argon2
import bcrypt
from argon2 import PasswordHasher, Type

nfd = os.environ["NFD"]

def line(source, expect, pw, h):
    print(f"{source}\t{expect}\t{pw}\t{h}")

ours = PasswordHasher(time_cost=2, memory_cost=19456, parallelism=1, hash_len=32, salt_len=16)
for pw in ["correct horse battery staple", "pässwörd-ünïcödé", "日本語のパスワード", "🔑 clé de sécurité 🔐"]:
    line("argon2-cffi PasswordHasher(time_cost=2, memory_cost=19456, parallelism=1, hash_len=32, salt_len=16)", "current", pw, ours.hash(pw))
line("argon2-cffi PasswordHasher(time_cost=2, memory_cost=19456, parallelism=1, hash_len=32, salt_len=16)", "rehash", nfd, ours.hash(nfd))
line("argon2-cffi PasswordHasher() (library defaults t=2 m=102400 p=8 hash_len=16)", "rehash", "library defaults", PasswordHasher().hash("library defaults"))
line("argon2-cffi PasswordHasher(time_cost=3, memory_cost=65536, parallelism=4)", "rehash", "пароль-надёжный", PasswordHasher(time_cost=3, memory_cost=65536, parallelism=4).hash("пароль-надёжный"))
line("argon2-cffi PasswordHasher(type=Type.I, time_cost=3, memory_cost=4096)", "rehash", "argon2i from python", PasswordHasher(type=Type.I, time_cost=3, memory_cost=4096).hash("argon2i from python"))

def bc(expect, pw, rounds, prefix):
    h = bcrypt.hashpw(pw.encode(), bcrypt.gensalt(rounds=rounds, prefix=prefix)).decode()
    line(f"python bcrypt.hashpw(pw, bcrypt.gensalt(rounds={rounds}, prefix=b\"{prefix.decode()}\"))", expect, pw, h)

bc("rehash", "correct horse battery staple", 10, b"2b")
bc("rehash", "correct horse battery staple", 10, b"2a")
bc("rehash", "pässwörd-ünïcödé 日本語", 10, b"2b")
bc("rehash", "x" * 71 + "!", 10, b"2b")               # exactly 72 bytes
bc("over72", "y" * 72 + "!", 10, b"2b")               # 73 bytes, truncated by bcrypt 3.2
bc("unsupported", "cost above the default limit", 16, b"2b")
PYEOF

# htpasswd writes $2y$ (user:hash); the password is read from stdin (-i).
ht() {
	local pw=$1
	line "htpasswd -niB -C 10 user" rehash "$pw" "$(printf '%s' "$pw" | htpasswd -niB -C 10 user | cut -d: -f2-)"
}
ht 'correct horse battery staple'
ht 'пароль-надёжный'

# bcrypt with the prefixes other systems write, made by python bcrypt (the
# algorithm is the same; only the prefix differs): $2a$ is written by Ruby's
# bcrypt gem (Devise) and appears in Auth0 and Supabase exports, $2b$ by
# bcrypt_elixir (Phoenix's phx.gen.auth) and in Supabase exports.
"$PY" - <<'PYEOF'
import bcrypt

def bc(source, pw, rounds, prefix):
    h = bcrypt.hashpw(pw.encode(), bcrypt.gensalt(rounds=rounds, prefix=prefix)).decode()
    print(f"python bcrypt.hashpw(pw, bcrypt.gensalt(rounds={rounds}, prefix=b\"{prefix.decode()}\")), as {source}\trehash\t{pw}\t{h}")

bc("Devise (bcrypt-ruby)", "devise user password", 11, b"2a")
bc("Auth0 export", "auth0 exported password", 10, b"2a")
bc("phx.gen.auth (bcrypt_elixir)", "phoenix user password", 12, b"2b")
bc("Supabase export", "supabase exported password", 10, b"2b")
bc("account sign-in test", "correct horse battery", 4, b"2a")
PYEOF

# PHP (php-cli): password_hash writes $2y$ bcrypt and, where PHP is built
# with libargon2 (Debian's is), Argon2i and Argon2id PHC strings. md5() and
# sha1() are the unsalted digests that legacy PHP applications stored.
php_line() {
	local src=$1 expect=$2 pw=$3 code=$4
	line "php $(php -r 'echo PHP_VERSION;') $src" "$expect" "$pw" "$(php -r "$code" -- "$pw")"
}
php_line 'password_hash(pw, PASSWORD_BCRYPT)'  rehash 'php user password'          'echo password_hash($argv[1], PASSWORD_BCRYPT);'
php_line 'password_hash(pw, PASSWORD_BCRYPT)'  rehash 'пароль-надёжный'             'echo password_hash($argv[1], PASSWORD_BCRYPT);'
php_line 'password_hash(pw, PASSWORD_BCRYPT)'  rehash 'correct horse battery'       'echo password_hash($argv[1], PASSWORD_BCRYPT, ["cost" => 4]);'
php_line 'password_hash(pw, PASSWORD_ARGON2I)' rehash 'php argon2i password'        'echo password_hash($argv[1], PASSWORD_ARGON2I);'
php_line 'password_hash(pw, PASSWORD_ARGON2ID)' rehash 'php argon2id password'      'echo password_hash($argv[1], PASSWORD_ARGON2ID);'
php_line 'md5(pw)'                             unsafe 'legacy php password'         'echo md5($argv[1]);'
php_line 'strtoupper(md5(pw))'                 unsafe 'legacy upper-case md5'       'echo strtoupper(md5($argv[1]));'
php_line 'sha1(pw)'                            unsafe 'legacy sha1 password'        'echo sha1($argv[1]);'
php_line 'base64_encode(md5(pw, true))'        unsafe 'legacy base64 md5'           'echo base64_encode(md5($argv[1], true));'
php_line 'base64_encode(sha1(pw, true))'       unsafe 'legacy base64 sha1'          'echo base64_encode(sha1($argv[1], true));'
php_line 'md5(pw)'                             unsafe 'correct horse battery'       'echo md5($argv[1]);'

# Django (python3-django): make_password with each hasher, settings
# configured in the script. pbkdf2_sha256 is Django's default; its
# iteration count is the release's default (260000 in Django 3.2).
NFD="$nfd" "$PY" - <<'PYEOF'
import os
import django
from django.conf import settings

settings.configure(PASSWORD_HASHERS=[
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2SHA1PasswordHasher",
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.BCryptSHA256PasswordHasher",
    "django.contrib.auth.hashers.SHA1PasswordHasher",
    "django.contrib.auth.hashers.UnsaltedSHA1PasswordHasher",
    "django.contrib.auth.hashers.UnsaltedMD5PasswordHasher",
])
django.setup()
from django.contrib.auth.hashers import make_password

def dj(expect, pw, hasher):
    print(f"django {django.get_version()} make_password(pw, hasher=\"{hasher}\")\t{expect}\t{pw}\t{make_password(pw, hasher=hasher)}")

for pw in ["correct horse battery staple", "pässwörd-ünïcödé", "日本語のパスワード", os.environ["NFD"], "correct horse battery"]:
    dj("rehash", pw, "pbkdf2_sha256")
dj("rehash", "django sha1 pbkdf2", "pbkdf2_sha1")
dj("rehash", "🔑 clé de sécurité 🔐", "pbkdf2_sha1")
dj("rehash", "django argon2 password", "argon2")
dj("rehash", "django bcrypt sha256", "bcrypt_sha256")
dj("rehash", "y" * 80, "bcrypt_sha256")   # bcrypt_sha256 has no 72-byte limit
dj("unsupported", "django salted sha1", "sha1")
dj("unsafe", "django unsalted sha1", "unsalted_sha1")
dj("unsafe", "django unsalted md5", "unsalted_md5")
PYEOF

# Better Auth: hashPassword of the better-auth npm package (scrypt N=16384,
# r=16, p=1, 64-byte key, NFKC), installed with npm in a temporary directory
# outside the repository. Set BETTER_AUTH_DIR to a directory where it is
# installed already to skip the download.
BETTER_AUTH_VERSION=1.7.29
if [ -z "${BETTER_AUTH_DIR:-}" ]; then
	BETTER_AUTH_DIR=$(mktemp -d)
	trap 'rm -rf "$BETTER_AUTH_DIR"' EXIT
	(cd "$BETTER_AUTH_DIR" && npm init -y >/dev/null && npm install --silent --no-audit --no-fund "better-auth@$BETTER_AUTH_VERSION" >/dev/null)
fi
(cd "$BETTER_AUTH_DIR" && NFD="$nfd" node --input-type=module -) <<'JSEOF'
import { readFileSync } from "node:fs";
import { hashPassword } from "better-auth/crypto";
const version = JSON.parse(readFileSync("node_modules/better-auth/package.json", "utf8")).version;
const passwords = ["correct horse battery staple", "pässwörd-ünïcödé", "日本語のパスワード",
	"🔑 clé de sécurité 🔐", process.env.NFD, "correct horse battery"];
for (const pw of passwords) {
	console.log([`better-auth ${version} hashPassword (better-auth/crypto)`, "rehash", pw, await hashPassword(pw)].join("\t"));
}
JSEOF
