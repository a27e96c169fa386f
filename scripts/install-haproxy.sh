#!/usr/bin/env bash
# Installs what the cluster tests (tests/cluster) and bench/cluster.py put in front of the web
# replicas: Debian's haproxy. Idempotent: does nothing when it is already there. Only the
# binary is used (each run writes its own configuration); the package's service is not started.
set -euo pipefail
if command -v haproxy >/dev/null 2>&1 || [ -x /usr/sbin/haproxy ]; then
  exit 0
fi
if [ "$(id -u)" -ne 0 ] && command -v sudo >/dev/null 2>&1; then SUDO=sudo; else SUDO=; fi
echo "==> installing haproxy for the cluster tests"
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends haproxy
