#!/usr/bin/env bash
# Installs what the end-to-end tests (tests/e2e) need beside node: Debian's chromium, which
# playwright-core drives. Idempotent: does nothing when it is already there.
set -euo pipefail
if command -v chromium >/dev/null 2>&1 || [ -x /usr/bin/chromium ]; then
  exit 0
fi
if [ "$(id -u)" -ne 0 ] && command -v sudo >/dev/null 2>&1; then SUDO=sudo; else SUDO=; fi
echo "==> installing chromium for the end-to-end tests"
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends chromium
