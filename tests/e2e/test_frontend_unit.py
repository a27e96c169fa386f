"""The console's own unit tests (vitest: validation, upload rules, box-editor geometry…), so
that the one test command covers them too."""

import os

import pytest

from tests.e2e.frontend import FRONTEND, ensure_node_modules, missing_node, run_streaming


@pytest.mark.skipif(bool(missing_node()), reason=missing_node() or "")
@pytest.mark.timeout(900)
def test_frontend_unit_tests_pass():
    ensure_node_modules()
    rc, tail = run_streaming(["npm", "test"], cwd=FRONTEND, env={**os.environ, "CI": "1", "NO_COLOR": "1"},
                             timeout=300, prefix="[vitest] ")
    assert rc == 0, f"npm test failed (exit {rc}):\n{tail}"
    assert "geometry.test.ts" in tail, "the box-editor geometry tests ran"
