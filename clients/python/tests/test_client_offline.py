"""The SDK alone, without a platform: error mapping, configuration, the connection failure,
the ``exeml-client`` command's usage errors, and that it imports no server-side package."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from exeml_client import Client, Conflict, ConnectionFailed, ExeMLError, load_config
from exeml_client.cli import EXIT_TIMEOUT, EXIT_USAGE, main
from exeml_client.errors import error_for

PACKAGE_ROOT = Path(__file__).resolve().parents[1]  # clients/python


def test_error_mapping_of_each_shape():
    detail = error_for(409, {"detail": "service is running", "code": "wrong_state", "status": "running"})
    assert isinstance(detail, Conflict) and detail.state == "running" and detail.code == "wrong_state"
    nested = error_for(400, {"auto_stop": {"idle_minutes": ["must be at least 5"]}})
    assert nested.fields == {"auto_stop.idle_minutes": ["must be at least 5"]}
    with_field = error_for(400, {"detail": "bad", "code": "invalid", "field": "path"})
    assert with_field.fields == {"path": ["bad"]}
    html = error_for(502, None, text="<html>Bad Gateway</html>")
    assert html.status == 502 and "Bad Gateway" in html.detail and type(html).__name__ == "ServerError"


def test_connection_failure_and_configuration(tmp_path, monkeypatch):
    with pytest.raises(ConnectionFailed):
        Client("http://127.0.0.1:9", "x", timeout=5).me()
    monkeypatch.delenv("EXEML_URL", raising=False)
    monkeypatch.delenv("EXEML_TOKEN", raising=False)
    config = tmp_path / "cfg" / "config.json"
    with pytest.raises(ExeMLError):
        Client.from_env(config_path=config)
    Client("http://example.test:8000/", "tok").save(config)
    assert stat.S_IMODE(config.stat().st_mode) == 0o600
    assert load_config(config).url == "http://example.test:8000" and json.loads(config.read_text())["token"] == "tok"
    assert Client.from_env(config_path=config).url == "http://example.test:8000"
    monkeypatch.setenv("EXEML_URL", "http://other.test")
    monkeypatch.setenv("EXEML_TOKEN", "t2")
    env_client = Client.from_env(config_path=config)
    assert (env_client.url, env_client.token) == ("http://other.test", "t2")


def test_the_command_reports_usage_and_connection_errors_by_exit_code(tmp_path, monkeypatch, capsys):
    monkeypatch.delenv("EXEML_URL", raising=False)
    monkeypatch.delenv("EXEML_TOKEN", raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    assert main(["projects", "ls"]) == EXIT_USAGE  # nothing configured
    assert "exeml login" in capsys.readouterr().err
    assert main(["projects", "ls", "--url", "http://127.0.0.1:9", "--token", "t", "--http-timeout", "5"]) == EXIT_TIMEOUT
    with pytest.raises(SystemExit) as no_command:
        main([])
    assert no_command.value.code == EXIT_USAGE  # argparse: a subcommand is required


def test_the_package_imports_no_server_side_package():
    """Blocks Django, Celery, PyTorch and the platform's packages: the SDK and its command load."""
    code = """
import sys
BLOCKED = ("django", "rest_framework", "celery", "torch", "exeml", "projects", "datasets", "labeling",
           "training", "serving")
class Block:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in BLOCKED:
            raise ImportError("blocked " + name)
sys.meta_path.insert(0, Block())
import exeml_client
from exeml_client.cli import build_parser
build_parser()
print("loaded", sorted(m for m in sys.modules if m.split(".")[0] in BLOCKED))
"""
    env = {k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"}
    env["PYTHONPATH"] = str(PACKAGE_ROOT)
    result = subprocess.run([sys.executable, "-W", "ignore", "-c", code], capture_output=True, text=True,
                            env=env, cwd=PACKAGE_ROOT, timeout=60)
    assert result.returncode == 0, result.stderr
    assert "loaded []" in result.stdout
