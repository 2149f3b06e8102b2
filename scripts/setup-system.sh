#!/usr/bin/env bash
# Install the Debian packages SkyGround needs, only those missing. Idempotent: when all are
# present it runs no apt command at all. `--check` only reports, exiting 1 if any is missing.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
list="$here/system-packages.txt"
python="${PYTHON:-python3.11}"

wanted=""
while read -r pkg path; do
  # A path already shipped by an installed package satisfies the line (see the list's header).
  if [ -n "${path:-}" ] && [ -e "$path" ] && dpkg-query -S "$path" >/dev/null 2>&1; then
    continue
  fi
  wanted="$wanted $pkg"
done < <(grep -vE '^\s*(#|$)' "$list")
# A Debian python3.11 needs python3.11-venv for `python -m venv`; pyenv or other builds do not.
if [ "$("$python" -c 'import sys; print(sys.prefix)' 2>/dev/null)" = "/usr" ] \
   && ! "$python" -c 'import ensurepip' >/dev/null 2>&1; then
  wanted="$wanted python3.11-venv"
fi

missing=()
for pkg in $wanted; do
  status=$(dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null || true)
  [ "$status" = "install ok installed" ] || missing+=("$pkg")
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "system packages: all present"
  exit 0
fi
if [ "${1:-}" = "--check" ]; then
  echo "system packages missing: ${missing[*]}"
  exit 1
fi
if [ "$(id -u)" -ne 0 ]; then
  echo "system packages missing: ${missing[*]}; run 'sudo make setup' or install them" >&2
  exit 1
fi
echo "installing system packages: ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}"
