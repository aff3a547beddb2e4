#!/usr/bin/env bash
# loopback.sh measures, over loopback HTTP with wrk (Debian package wrk),
# the throughput of the demo's authenticated GETs beside a bare Go hello
# handler on the same machine, on SQLite and, when SIGRA_TEST_POSTGRES
# holds a DSN, on PostgreSQL; and checks for each store that a revocation
# takes effect on the very next request, whichever instance revoked it.
#
#   bench/loopback.sh [duration]    # default 10s per run
#
# For each store two demo processes share one database (the same SQLite
# file; one PostgreSQL schema, created for the run and dropped after it,
# which needs psql). wrk loads the first. At the end a session is signed
# out through the first process and another through the second, and both
# cookies must be refused by both processes on their next request.
set -euo pipefail
cd "$(dirname "$0")/.."
dur="${1:-10s}"
command -v wrk >/dev/null || { echo "wrk not found: install Debian package wrk" >&2; exit 1; }
pg="${SIGRA_TEST_POSTGRES:-}"
if [ -n "$pg" ]; then
  command -v psql >/dev/null || { echo "psql not found: needed for the PostgreSQL run (Debian package postgresql-client)" >&2; exit 1; }
fi
tmp="$(mktemp -d)"
pids=()
schema=""
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  if [ -n "$schema" ]; then psql -q "$pg" -c "DROP SCHEMA IF EXISTS $schema CASCADE" >/dev/null 2>&1 || true; fi
  rm -rf "$tmp"
}
trap cleanup EXIT

go build -o "$tmp/demo" ./examples/demo
go build -o "$tmp/hello" ./bench/hello

# One sealing key for every demo process of the run, so no key file is
# written outside the temporary directory.
keys="k1:$(head -c 32 /dev/urandom | base64)"

# start_demo NAME DEMO-ARGS...: starts a demo process, its output in
# $tmp/NAME.out, and sets $url to its address.
start_demo() {
  local name="$1"
  shift
  SIGRA_DEMO_POSTGRES= SIGRA_KEYS="$keys" SIGRA_SMTP_URL= \
    "$tmp/demo" -addr localhost:0 "$@" >"$tmp/$name.out" 2>"$tmp/$name.err" &
  pids+=($!)
  for _ in $(seq 1 100); do grep -q "listening on" "$tmp/$name.out" 2>/dev/null && break; sleep 0.1; done
  url="$(sed -n 's/.*listening on \(http[^ ]*\).*/\1/p' "$tmp/$name.out")"
  [ -n "$url" ] || { echo "demo $name did not start:" >&2; cat "$tmp/$name.err" >&2; exit 1; }
}

# csrf_of PAGE: the CSRF token of the first form of an HTML page.
csrf_of() { printf '%s' "$1" | sed -n 's/.*name="csrf_token" value="\([^"]*\)".*/\1/p' | head -n1 | sed 's/&#43;/+/g'; }

# sign_in BASE JAR: signs the demo account in like a browser (form, CSRF
# cookie and token, POST) and prints "Cookie: ..." for its session.
sign_in() {
  local base="$1" jar="$2" page csrf
  page="$(curl -s -c "$jar" -b "$jar" "$base/auth/login")"
  csrf="$(csrf_of "$page")"
  curl -s -o /dev/null -c "$jar" -b "$jar" -H "Origin: $base" -H "Sec-Fetch-Site: same-origin" \
    --data-urlencode "csrf_token=$csrf" --data-urlencode "email=demo@example.com" --data-urlencode "password=$pw" "$base/auth/login"
  printf '%s; %s' "$(awk '$6 ~ /sigra_session/ {print $6"="$7}' "$jar")" "$(awk '$6 ~ /sigra_csrf/ {print $6"="$7}' "$jar")"
}

# sign_out BASE COOKIES: signs the session out through BASE.
sign_out() {
  local base="$1" cookies="$2" page csrf code
  page="$(curl -s -H "Cookie: $cookies" "$base/auth/settings")"
  csrf="$(csrf_of "$page")"
  code="$(curl -s -o /dev/null -w '%{http_code}' -H "Cookie: $cookies" -H "Origin: $base" -H "Sec-Fetch-Site: same-origin" \
    --data-urlencode "csrf_token=$csrf" "$base/auth/logout")"
  [ "$code" = 303 ] || { echo "sign-out through $base failed: $code" >&2; exit 1; }
}

# private_code BASE COOKIES: the status of GET /private (200 signed in,
# 303 sent to sign in).
private_code() { curl -s -o /dev/null -w '%{http_code}' -H "Cookie: $2" "$1/private"; }

"$tmp/hello" localhost:18090 &
pids+=($!)

rps() { awk '/Requests\/sec/ {print $2}'; }
best() { awk -v a="$1" -v b="$2" 'BEGIN{print (b>a)?b:a}'; }

# measure STORE DEMO-ARGS...: two demo processes on one database, wrk on
# the first (each round also measures the hello handler, so load from
# elsewhere hits all alike), then the revocation checks. Sets json_STORE
# and page_STORE, and raises bh to the best hello figure.
measure() {
  local store="$1"
  shift
  start_demo "$store-1" "$@"
  local a="$url"
  pw="$(sed -n 's/^Demo account: .*  password: \(.*\)$/\1/p' "$tmp/$store-1.out")"
  [ -n "$pw" ] || { echo "demo $store-1 printed no demo password" >&2; exit 1; }
  start_demo "$store-2" -no-seed "$@"
  local b="$url"
  local load other
  load="$(sign_in "$a" "$tmp/$store-jar1")"
  other="$(sign_in "$b" "$tmp/$store-jar2")"
  for base in "$a" "$b"; do
    for c in "$load" "$other"; do
      [ "$(private_code "$base" "$c")" = 200 ] || { echo "$store: a session is not signed in on $base" >&2; exit 1; }
    done
  done

  local bj=0 bp=0 j p
  for _ in 1 2; do
    bh="$(best "$bh" "$(wrk -t2 -c32 -d"$dur" http://localhost:18090/ | rps)")"
    j="$(wrk -t2 -c32 -d"$dur" -H "Cookie: $load" "$a/auth/session" | rps)"
    p="$(wrk -t2 -c32 -d"$dur" -H "Cookie: $load" "$a/private" | rps)"
    bj="$(best "$bj" "$j")"
    bp="$(best "$bp" "$p")"
  done
  printf -v "json_$store" '%s' "$bj"
  printf -v "page_$store" '%s' "$bp"

  # Revocation: the loaded session signed out through the process wrk
  # loaded, the other through the second process; each cookie must be
  # refused by both processes on the next request.
  sign_out "$a" "$load"
  sign_out "$b" "$other"
  local codes=""
  for base in "$a" "$b"; do
    for c in "$load" "$other"; do
      codes+="$(private_code "$base" "$c") "
    done
  done
  echo "$store: after sign-out, /private answers ${codes% } (303 = refused: each cookie on each process)"
  [ "$codes" = "303 303 303 303 " ] || { echo "$store: a revoked session was still accepted" >&2; exit 1; }
}

echo "wrk -t2 -c32 -d$dur, 2 runs each, best kept"
bh=0
measure sqlite -db "$tmp/demo.db"
if [ -n "$pg" ]; then
  schema="sigra_loopback_$$"
  psql -q "$pg" -c "CREATE SCHEMA $schema" >/dev/null
  sep='?'
  case "$pg" in *'?'*) sep='&' ;; esac
  case "$pg" in
    postgres://* | postgresql://*) pgdsn="$pg${sep}search_path=$schema" ;;
    *) pgdsn="$pg search_path=$schema" ;;
  esac
  measure postgres -postgres "$pgdsn"
else
  echo "SIGRA_TEST_POSTGRES is not set: no PostgreSQL run"
fi


printf '%-38s %10.0f req/s\n' "bare hello handler:" "$bh"
for store in sqlite postgres; do
  j="json_$store" p="page_$store"
  [ -n "${!j:-}" ] || continue
  printf '%-38s %10.0f req/s  %.2fx hello\n' "demo on $store, GET /auth/session:" "${!j}" "$(awk -v a="${!j}" -v h="$bh" 'BEGIN{print a/h}')"
  printf '%-38s %10.0f req/s  %.2fx hello\n' "demo on $store, GET /private:" "${!p}" "$(awk -v a="${!p}" -v h="$bh" 'BEGIN{print a/h}')"
done
echo "(GET /auth/session: authenticated JSON through the whole chain; GET /private: authenticated HTML page rendered by ui; budgets 0.5x and 0.35x)"
