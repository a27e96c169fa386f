#!/usr/bin/env bash
# Start ExeML on the embedded default: SQLite, local-folder object store, embedded broker;
# web + workers + beat. Prints the demo login. Arguments go to `exeml run`.
set -euo pipefail
source "$(dirname "$0")/bootstrap.sh"
bootstrap_venv "ml"
build_console
export EXEML_HOME="${EXEML_HOME:-$ROOT/var}"
cd "$ROOT"
exec "$VENV/bin/exeml" run "$@"
