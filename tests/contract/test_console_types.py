"""The console's API types are generated from the OpenAPI schema (frontend/scripts/gen-types.sh):
a serializer change without regenerating them fails here, before the console drifts."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from tests.e2e.frontend import FRONTEND, ensure_node_modules, missing_node

COMMITTED = FRONTEND / "src" / "api" / "schema.d.ts"


@pytest.mark.skipif(bool(missing_node()), reason=missing_node() or "")
@pytest.mark.timeout(600)
def test_generated_console_types_are_current(tmp_path):
    ensure_node_modules()
    fresh = tmp_path / "schema.d.ts"
    env = {**os.environ, "PYTHON": sys.executable}
    run = subprocess.run(
        ["bash", str(FRONTEND / "scripts" / "gen-types.sh"), str(fresh)],
        env=env, capture_output=True, text=True, timeout=300,
    )
    assert run.returncode == 0, f"gen-types.sh failed:\n{run.stdout[-2000:]}\n{run.stderr[-4000:]}"
    assert "export interface components" in fresh.read_text()
    assert fresh.read_text() == COMMITTED.read_text(), (
        "frontend/src/api/schema.d.ts is stale: run frontend/scripts/gen-types.sh and commit the result"
    )
