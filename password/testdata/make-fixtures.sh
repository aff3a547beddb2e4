#!/bin/bash
# Regenerates interop.tsv: password hashes made by other implementations,
# which the tests verify with package password.
#
# Tools (Debian packages): argon2 (the reference Argon2 CLI), python3-argon2
# (argon2-cffi), python3-bcrypt, apache2-utils (htpasswd). Versions used for
# the checked-in file: argon2 0~20171227-0.3+deb12u1, python3-argon2 21.1.0-2,
# python3-bcrypt 3.2.2-1, apache2-utils 2.4.71-1~deb12u1.
#
# Run from this directory:  bash make-fixtures.sh > interop.tsv
#
# Output: one fixture per line, four tab-separated fields:
#   source  expect  password  hash
# expect is what Verify must answer under the default Config:
#   current      verifies, needsRehash false
#   rehash       verifies, needsRehash true
#   unsupported  fails with ErrUnsupportedHash
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
