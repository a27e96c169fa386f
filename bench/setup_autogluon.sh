#!/usr/bin/env bash
# Creates .venv-bench/ (gitignored) holding AutoGluon for bench/quality.py.
# AutoGluon gets its own venv because its pins (numpy, pandas, scikit-learn, torch) need not
# match the project's. Only the tree models are installed (no torch/fastai extra) so the
# install stays small and offline-safe; bench/autogluon_runner.py runs inside it.
set -euo pipefail
cd "$(dirname "$0")/.."
PY="${BENCH_PYTHON:-python3.11}"
command -v "$PY" >/dev/null || PY=python3
VENV="${BENCH_VENV:-.venv-bench}"
AG_VERSION="${AUTOGLUON_VERSION:-1.6.3}"
if [ ! -x "$VENV/bin/python" ]; then
  "$PY" -m venv "$VENV"
fi
"$VENV/bin/pip" install -q --upgrade pip
"$VENV/bin/pip" install -q "autogluon.tabular[lightgbm,catboost,xgboost]==$AG_VERSION"
"$VENV/bin/python" -c "import autogluon.tabular, sys; print('autogluon.tabular', autogluon.tabular.__version__, 'python', sys.version.split()[0])"
