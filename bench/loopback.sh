#!/usr/bin/env bash
# loopback.sh measures, over loopback HTTP with wrk (Debian package wrk),
# the throughput of an authenticated GET of the demo beside a bare Go hello
# handler on the same machine, and checks that revoking the session takes
# effect on the very next request.
#
#   bench/loopback.sh [duration]    # default 10s per run
set -euo pipefail
cd "$(dirname "$0")/.."
dur="${1:-10s}"
command -v wrk >/dev/null || { echo "wrk not found: install Debian package wrk" >&2; exit 1; }
tmp="$(mktemp -d)"
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$tmp"; }
trap cleanup EXIT

go build -o "$tmp/demo" ./examples/demo
go build -o "$tmp/hello" ./bench/hello

# A fresh SQLite file (its development key file is created beside it) and
# the development mailbox, whatever the environment says.
SIGRA_DEMO_POSTGRES= SIGRA_KEYS= SIGRA_SMTP_URL= \
  "$tmp/demo" -addr localhost:0 -db "$tmp/demo.db" >"$tmp/demo.out" 2>"$tmp/demo.err" &
pids+=($!)
for _ in $(seq 1 100); do grep -q "listening on" "$tmp/demo.out" 2>/dev/null && break; sleep 0.1; done
base="$(sed -n 's/.*listening on \(http[^ ]*\).*/\1/p' "$tmp/demo.out")"
pw="$(sed -n 's/.*password: \(.*\)$/\1/p' "$tmp/demo.out")"

# Sign in like a browser: fetch the form (CSRF cookie and token), post it.
jar="$tmp/jar"
page="$(curl -s -c "$jar" -b "$jar" "$base/auth/login")"
csrf="$(printf '%s' "$page" | sed -n 's/.*name="csrf_token" value="\([^"]*\)".*/\1/p' | head -n1 | sed 's/&#43;/+/g')"
curl -s -o /dev/null -c "$jar" -b "$jar" -H "Origin: $base" -H "Sec-Fetch-Site: same-origin" \
  --data-urlencode "csrf_token=$csrf" --data-urlencode "email=demo@example.com" --data-urlencode "password=$pw" "$base/auth/login"
cookie="$(awk '$6 ~ /sigra_session/ {print $6"="$7}' "$jar")"
csrfcookie="$(awk '$6 ~ /sigra_csrf/ {print $6"="$7}' "$jar")"
code="$(curl -s -o /dev/null -w '%{http_code}' -H "Cookie: $cookie" "$base/private")"
[ "$code" = 200 ] || { echo "sign-in failed: GET /private answered $code" >&2; exit 1; }

"$tmp/hello" localhost:18090 &
pids+=($!)
sleep 0.5

rps() { awk '/Requests\/sec/ {print $2}'; }
echo "wrk -t2 -c32 -d$dur, 2 runs each, best kept"
best_hello=0; best_demo=0; best_page=0
for _ in 1 2; do
  h="$(wrk -t2 -c32 -d"$dur" http://localhost:18090/ | rps)"
  d="$(wrk -t2 -c32 -d"$dur" -H "Cookie: $cookie; $csrfcookie" "$base/auth/session" | rps)"
  p="$(wrk -t2 -c32 -d"$dur" -H "Cookie: $cookie; $csrfcookie" "$base/private" | rps)"
  best_hello="$(awk -v a="$best_hello" -v b="$h" 'BEGIN{print (b>a)?b:a}')"
  best_demo="$(awk -v a="$best_demo" -v b="$d" 'BEGIN{print (b>a)?b:a}')"
  best_page="$(awk -v a="$best_page" -v b="$p" 'BEGIN{print (b>a)?b:a}')"
done
printf 'bare hello handler:          %10.0f req/s\n' "$best_hello"
printf 'demo, GET /auth/session:     %10.0f req/s (authenticated JSON, full middleware chain)\n' "$best_demo"
printf 'demo, GET /private:          %10.0f req/s (authenticated HTML page rendered by ui)\n' "$best_page"
awk -v d="$best_demo" -v p="$best_page" -v h="$best_hello" 'BEGIN{printf "ratios to hello:             %10.2f (session JSON)  %.2f (HTML page)\n", d/h, p/h}'

# Revocation is immediate: sign out with the same cookie, then the next
# request with it is anonymous.
page="$(curl -s -H "Cookie: $cookie; $csrfcookie" "$base/auth/settings")"
csrf="$(printf '%s' "$page" | sed -n 's/.*name="csrf_token" value="\([^"]*\)".*/\1/p' | head -n1 | sed 's/&#43;/+/g')"
out="$(curl -s -o /dev/null -w '%{http_code}' -H "Cookie: $cookie; $csrfcookie" -H "Origin: $base" -H "Sec-Fetch-Site: same-origin" \
  --data-urlencode "csrf_token=$csrf" "$base/auth/logout")"
[ "$out" = 303 ] || { echo "sign-out failed: $out" >&2; exit 1; }
code="$(curl -s -o /dev/null -w '%{http_code}' -H "Cookie: $cookie" "$base/private")"
echo "after sign-out, the same cookie on /private answers $code (303 = refused)"
[ "$code" = 303 ]
