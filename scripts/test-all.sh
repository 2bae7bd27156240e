#!/usr/bin/env bash
# Installs everything the test suite needs on a fresh Debian machine, then lints and runs every test.
# Used by the README's test command and by .ci/run. Safe to run again.
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(openssh-server openssh-client rsync unison zsh fish time)
missing=()
for p in "${packages[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
if [ "${#missing[@]}" -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "missing Debian packages: ${missing[*]} (run as root or: sudo apt-get install ${missing[*]})" >&2
    exit 2
  fi
  echo "installing: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# `npm install` honours package-lock.json; `npm ci` is avoided because npm 11 rejects its own
# lockfile when an optional platform package (msgpackr-extract-*) is unavailable (npm/cli#9846).
npm install --no-fund --no-audit
npm run lint
npm test
