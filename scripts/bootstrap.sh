# Sourced by run.sh and test.sh: make .venv with what pyproject.toml asks for.
# Re-installs only when pyproject.toml changed since the last install.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# EXEML_VENV points several checkouts (git worktrees) at one prepared venv; then nothing is installed.
VENV="${EXEML_VENV:-$ROOT/.venv}"
PY="${EXEML_PYTHON:-}"
if [ -z "$PY" ]; then
  for candidate in python3.11 python3; do
    if command -v "$candidate" >/dev/null 2>&1 && "$candidate" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))'; then
      PY="$candidate"; break
    fi
  done
fi
[ -n "$PY" ] || { echo "ExeML needs Python 3.11 (apt-get install python3.11 python3.11-venv)" >&2; exit 1; }

bootstrap_venv() {
  local extras="$1"
  if [ -n "${EXEML_VENV:-}" ]; then
    # The SDK is its own distribution (clients/python): on the path from this checkout too.
    export PYTHONPATH="$ROOT:$ROOT/clients/python${PYTHONPATH:+:$PYTHONPATH}"
    return 0
  fi
  if [ ! -x "$VENV/bin/python" ]; then
    echo "==> creating $VENV"
    "$PY" -m venv "$VENV"
    "$VENV/bin/pip" install -q --upgrade pip setuptools wheel
  fi
  local stamp="$VENV/.exeml-installed-$(echo "$extras" | tr ',' '-')"
  local want
  want="$(cat "$ROOT/pyproject.toml" "$ROOT/clients/python/pyproject.toml" | sha256sum | cut -c1-16)"
  if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
    echo "==> installing exeml[$extras] into .venv (first time: a few minutes)"
    # The SDK and CLI (exeml-client, clients/python) are their own distribution; the platform's
    # `exeml` command carries their subcommands, so the venv holds both.
    "$VENV/bin/pip" install -q -e "$ROOT/clients/python" -e "$ROOT[$extras]" 2>&1 | grep -v -E "^WARNING: Location|is ignored" || true
    "$VENV/bin/python" -c "import exeml, exeml_client, django, celery" >/dev/null
    echo "$want" > "$stamp"
  fi
}

build_console() {
  # Builds frontend/dist when it is missing or older than its sources.
  local fe="$ROOT/frontend"
  [ -f "$fe/package.json" ] || return 0
  if ! command -v npm >/dev/null 2>&1; then
    echo "warning: Node.js >= 20 is needed to build the console (apt-get install nodejs npm); the API still works" >&2
    return 0
  fi
  local newest_src
  newest_src="$(find "$fe/src" "$fe/index.html" "$fe/package.json" "$fe/vite.config.ts" -type f -printf '%T@\n' 2>/dev/null | sort -n | tail -1)"
  local built
  built="$(stat -c '%Y' "$fe/dist/index.html" 2>/dev/null || echo 0)"
  if [ ! -f "$fe/dist/index.html" ] || [ "${newest_src%.*}" -gt "$built" ]; then
    echo "==> building the console (frontend/dist)"
    (cd "$fe" && { [ -d node_modules ] || npm ci --no-audit --no-fund --loglevel=error; } && npm run build --silent)
  fi
}
