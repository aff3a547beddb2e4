#!/usr/bin/env bash
# fetch-axe.sh puts axe-core's axe.min.js, at the pinned version, in
# .cache/ beside this script, for the browser suite's accessibility checks.
# It uses npm (npm pack: no install, no scripts run), checks the package
# against the pinned integrity, and does nothing if the file is already
# there at that version.
set -euo pipefail

version=4.14.1
integrity='sha512-FHfa+lmNjQZfJz1q8wKqIDwC6DExcHt/pkjNQb09a3NPjCKg2rhu5qb2S4r76ASyFNNtuFooJpZe37OgudVGtQ=='

cache="$(cd "$(dirname "$0")" && pwd)/.cache"
if [ -s "$cache/axe.min.js" ] && [ "$(cat "$cache/axe.version" 2>/dev/null)" = "$version" ]; then
  exit 0
fi
if ! command -v npm >/dev/null; then
  echo "fetch-axe.sh: npm not found: install Debian package npm" >&2
  exit 1
fi

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
npm pack "axe-core@$version" --pack-destination "$tmp" --json --silent >"$tmp/pack.json"
got="$(node -e 'process.stdout.write(JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"))[0].integrity)' "$tmp/pack.json")"
if [ "$got" != "$integrity" ]; then
  echo "fetch-axe.sh: axe-core@$version integrity $got, want $integrity" >&2
  exit 1
fi
tar -xzf "$tmp/axe-core-$version.tgz" -C "$tmp" package/axe.min.js package/LICENSE
mkdir -p "$cache"
cp "$tmp/package/axe.min.js" "$cache/axe.min.js.part"
cp "$tmp/package/LICENSE" "$cache/LICENSE"
mv "$cache/axe.min.js.part" "$cache/axe.min.js"
printf '%s\n' "$version" >"$cache/axe.version"
echo "axe-core $version in $cache"
