#!/usr/bin/env bash
# The whole test suite against real parts: PostgreSQL and Redis when they answer on
# 127.0.0.1 (started when installed but stopped), moto's S3 server on a free port, a real
# Celery worker (started by the tests), then ruff. Arguments go to pytest.
set -euo pipefail
source "$(dirname "$0")/bootstrap.sh"
bootstrap_venv "ml,dev"
cd "$ROOT"

start_postgres() {
  pg_isready -h 127.0.0.1 -p 5432 -q 2>/dev/null && return 0
  if command -v pg_ctlcluster >/dev/null 2>&1; then
    for c in $(pg_lsclusters -h 2>/dev/null | awk '{print $1"/"$2}'); do pg_ctlcluster "${c%/*}" "${c#*/}" start 2>/dev/null || true; done
  fi
  for _ in $(seq 1 20); do pg_isready -h 127.0.0.1 -p 5432 -q 2>/dev/null && return 0; sleep 0.5; done
  return 1
}
start_redis() {
  redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1 && return 0
  command -v redis-server >/dev/null 2>&1 || return 1
  redis-server --port 6379 --bind 127.0.0.1 --save '' --daemonize yes >/dev/null
  for _ in $(seq 1 20); do redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1 && return 0; sleep 0.3; done
  return 1
}

export EXEML_HOME="$(mktemp -d /tmp/exeml-test.XXXXXX)"
# A run id keeps concurrent runs (several developers, or CI beside a session) apart:
# their own test database and their own broker keys.
RUN_ID="$(basename "$EXEML_HOME" | cut -d. -f2 | tr 'A-Z' 'a-z')"
if start_postgres; then
  export DATABASE_URL="${TEST_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/exeml_$RUN_ID}"
  echo "==> database: PostgreSQL"
else
  unset DATABASE_URL
  echo "==> database: SQLite (PostgreSQL not reachable)"
fi
if start_redis; then
  export CELERY_BROKER_URL="${TEST_BROKER_URL:-redis://127.0.0.1:6379/14}" EXEML_BROKER_KEY_PREFIX="exeml-$RUN_ID:"
  echo "==> broker: Redis"
else
  unset CELERY_BROKER_URL
  echo "==> broker: embedded (Redis not reachable)"
fi
export EXEML_SECRET_KEY="test-secret-key" AWS_ACCESS_KEY_ID="testing" AWS_SECRET_ACCESS_KEY="testing" EXEML_S3_REGION="us-east-1"
PORT="$("$VENV/bin/python" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
"$VENV/bin/python" -m moto.server -H 127.0.0.1 -p "$PORT" >"$EXEML_HOME/moto.log" 2>&1 &
MOTO_PID=$!
cleanup() { kill "$MOTO_PID" 2>/dev/null || true; rm -rf "$EXEML_HOME"; }
trap cleanup EXIT
for _ in $(seq 1 50); do "$VENV/bin/python" -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:$PORT/')" 2>/dev/null && break; sleep 0.2; done
export EXEML_S3_ENDPOINT_URL="http://127.0.0.1:$PORT"
echo "==> S3: moto at $EXEML_S3_ENDPOINT_URL"

if [ -z "${RUFF_SKIP:-}" ]; then echo "==> ruff"; "$VENV/bin/ruff" check .; fi
echo "==> import contracts"; "$VENV/bin/lint-imports"
# The console's end-to-end tests drive Debian's Chromium (installed when missing).
bash "$ROOT/frontend/e2e/install-browser.sh" || echo "warning: chromium could not be installed; browser tests will skip" >&2
# The cluster tests put Debian's HAProxy in front of the web replicas (installed when missing).
bash "$ROOT/scripts/install-haproxy.sh" || echo "warning: haproxy could not be installed; cluster tests will skip" >&2
echo "==> pytest"
start=$(date +%s)
set +e
"$VENV/bin/python" -m pytest "$@"
rc=$?
set -e
echo "==> suite wall time: $(( $(date +%s) - start )) s"
exit $rc
