#!/usr/bin/env bash
# Fetch the pinned front-end libraries listed in web/assets.txt into service/static/vendor/.
# Idempotent: a library whose folder already holds the pinned version is left alone.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
list="$root/web/assets.txt"
vendor="$root/service/static/vendor"
npm=/usr/bin/npm
[ -x "$npm" ] || { echo "npm missing: run scripts/setup-system.sh first" >&2; exit 1; }

mkdir -p "$vendor"
grep -vE '^\s*(#|$)' "$list" | while read -r name version integrity files; do
  target="$vendor/$name"
  if [ "$(cat "$target/.version" 2>/dev/null || true)" = "$name@$version $integrity" ]; then
    continue
  fi
  work="$(mktemp -d)"
  trap 'rm -rf "$work"' EXIT
  echo "fetching $name@$version"
  (cd "$work" && "$npm" pack "$name@$version" --json --silent > pack.json)
  got=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))[0]["integrity"])' "$work/pack.json")
  if [ "$got" != "$integrity" ]; then
    echo "integrity mismatch for $name@$version: got $got" >&2
    exit 1
  fi
  tarball=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))[0]["filename"])' "$work/pack.json")
  members=()
  for f in $files; do members+=("package/$f"); done
  tar -xzf "$work/$tarball" -C "$work" "${members[@]}"
  rm -rf "$target.partial" && mkdir -p "$target.partial"
  for f in $files; do cp "$work/package/$f" "$target.partial/$(basename "$f")"; done
  echo "$name@$version $integrity" > "$target.partial/.version"
  rm -rf "$target" && mv "$target.partial" "$target"
  rm -rf "$work"
  trap - EXIT
done
