#!/usr/bin/env bash
# Debian's chromium for the console's browser tests (tests/console), installed once; Playwright
# drives it through executable_path and never downloads a browser of its own.
set -euo pipefail
if command -v chromium >/dev/null 2>&1; then
  exit 0
fi
if [ "$(id -u)" != "0" ]; then
  echo "chromium is missing: install Debian's package (apt-get install -y chromium) as root" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq chromium >/dev/null
command -v chromium
