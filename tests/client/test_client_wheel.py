"""The SDK's own distribution (clients/python) installs alone: its wheel, built from this
checkout, goes into a fresh virtualenv with nothing but ``requests`` and its dependencies
(no Django, Celery or PyTorch there), and its ``exeml-client`` command scripts a live server."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from exeml.client import Client

pytestmark = pytest.mark.django_db(transaction=True)

REPO = Path(__file__).resolve().parents[2]
CLIENT_SOURCE = REPO / "clients" / "python"


def _run(cmd: list[str], **kwargs) -> subprocess.CompletedProcess:
    result = subprocess.run(cmd, capture_output=True, text=True, timeout=600, **kwargs)
    assert result.returncode == 0, (cmd, result.stdout[-3000:], result.stderr[-3000:])
    return result


def _bare_env(**extra: str) -> dict[str, str]:
    """The environment of a machine that has only the client: nothing of this checkout or of
    the platform's virtualenv on the path, no pip configuration (installs from the wheels only)."""
    drop = {"PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV", "DJANGO_SETTINGS_MODULE", "EXEML_URL", "EXEML_TOKEN"}
    env = {k: v for k, v in os.environ.items() if k not in drop and not k.startswith("PIP_")}
    env.update({"PIP_CONFIG_FILE": os.devnull, "PIP_DISABLE_PIP_VERSION_CHECK": "1", **extra})
    return env


@pytest.fixture(scope="module")
def client_venv(tmp_path_factory) -> Path:
    """A fresh virtualenv holding the exeml-client wheel and requests, and nothing else."""
    work = tmp_path_factory.mktemp("client-wheel")
    wheels = work / "wheels"
    # Built from a copy: an in-tree build leaves build/ and *.egg-info in the checkout.
    source = work / "source"
    shutil.copytree(CLIENT_SOURCE, source, ignore=shutil.ignore_patterns("build", "*.egg-info", "__pycache__"))
    # No build isolation: the platform's venv has setuptools, so the build needs no index.
    _run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-w", str(wheels),
          str(source)])
    # requests and its dependencies from the package index (the one pip is configured with).
    _run([sys.executable, "-m", "pip", "download", "--only-binary", ":all:", "-d", str(wheels), "requests>=2.32"])
    venv = work / "venv"
    _run([sys.executable, "-m", "venv", str(venv)], env=_bare_env())  # no --system-site-packages
    _run([str(venv / "bin" / "python"), "-m", "pip", "install", "-q", "--no-index", "--find-links", str(wheels),
          "exeml-client"], env=_bare_env(), cwd=work)
    return venv


def test_the_wheel_holds_only_the_client(client_venv):
    (wheel,) = (client_venv.parent / "wheels").glob("exeml_client-*.whl")
    top = {name.split("/")[0] for name in zipfile.ZipFile(wheel).namelist()}
    assert {t for t in top if not t.endswith(".dist-info")} == {"exeml_client"}
    metadata = next(n for n in zipfile.ZipFile(wheel).namelist() if n.endswith(".dist-info/METADATA"))
    requires = [line for line in zipfile.ZipFile(wheel).read(metadata).decode().splitlines()
                if line.startswith("Requires-Dist:")]
    assert requires == ["Requires-Dist: requests>=2.32"]


def test_the_fresh_venv_has_no_platform(client_venv, tmp_path):
    python = str(client_venv / "bin" / "python")
    for name in ("django", "celery", "torch", "rest_framework", "exeml"):
        missing = subprocess.run([python, "-c", f"import {name}"], capture_output=True, text=True,
                                 env=_bare_env(), cwd=tmp_path, timeout=60)
        assert missing.returncode != 0 and "ModuleNotFoundError" in missing.stderr, name
    where = _run([python, "-c", "import exeml_client, requests; print(exeml_client.__file__)"],
                 env=_bare_env(), cwd=tmp_path)
    assert Path(where.stdout.strip()).is_relative_to(client_venv)


def test_the_installed_command_scripts_a_live_server(client_venv, live_server, owner, store, tmp_path):
    with Client(live_server.url, owner.token, timeout=30) as sdk:
        sdk.create_project("wheelcheck", "image_classification")
    command = str(client_venv / "bin" / "exeml-client")
    config_home = tmp_path / "config"

    listed = _run([command, "projects", "ls", "--json"], cwd=tmp_path,
                  env=_bare_env(EXEML_URL=live_server.url, EXEML_TOKEN=owner.token, XDG_CONFIG_HOME=str(config_home)))
    assert "wheelcheck" in {p["name"] for p in json.loads(listed.stdout)}

    # login keeps the address and token; later commands need no environment.
    _run([command, "login", "--url", live_server.url, "--token", owner.token], cwd=tmp_path,
         env=_bare_env(XDG_CONFIG_HOME=str(config_home)))
    shown = _run([command, "projects", "show", "wheelcheck", "--json"], cwd=tmp_path,
                 env=_bare_env(XDG_CONFIG_HOME=str(config_home)))
    assert json.loads(shown.stdout)["type"] == "image_classification"

    wrong = subprocess.run([command, "projects", "ls", "--token", "0" * 40], capture_output=True, text=True,
                           cwd=tmp_path, env=_bare_env(XDG_CONFIG_HOME=str(config_home)), timeout=120)
    assert wrong.returncode == 3 and "401" in wrong.stderr
