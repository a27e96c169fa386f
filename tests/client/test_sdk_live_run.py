"""The SDK, its CLI and its examples against a live ``exeml run`` (web + real workers + beat),
started once for the module: the examples run end to end, the CLI's exit codes, and a
service that stops after its idle time and not before."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
import urllib.request
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from exeml.client import Client
from tests.processes import descendants, free_port, stop_like_a_user

REPO = Path(__file__).resolve().parents[2]
# The platform and the SDK's own distribution (clients/python), as a checkout runs them.
PYTHONPATH = os.pathsep.join([str(REPO), str(REPO / "clients" / "python")])
START_TIMEOUT = 180
# One idle "minute" lasts a second here (EXEML_IDLE_UNIT_SECONDS). Beat looks every 3 s: the
# embedded broker fetches about one message a second per queue, and beat sends two per tick.
IDLE_UNIT_SECONDS = 1
BEAT_SECONDS = 3
IDLE_MINUTES = 8


@dataclass
class Platform:
    url: str
    token: str
    log: Path
    home: Path

    def env(self, **extra: str) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if k not in ("EXEML_URL", "EXEML_TOKEN")}
        env.update({"EXEML_URL": self.url, "EXEML_TOKEN": self.token, "PYTHONPATH": PYTHONPATH,
                    "XDG_CONFIG_HOME": str(self.home / "client-config"), **extra})
        return env

    def client(self) -> Client:
        return Client(self.url, self.token, timeout=30)


def _run_env(home: Path) -> dict[str, str]:
    drop = {"DATABASE_URL", "CELERY_BROKER_URL", "EXEML_S3_ENDPOINT_URL", "EXEML_BROKER_KEY_PREFIX",
            "EXEML_TASKS_EAGER", "EXEML_URL", "EXEML_TOKEN"}
    env = {k: v for k, v in os.environ.items() if k not in drop}
    env.update({
        "EXEML_HOME": str(home),
        "EXEML_EMBEDDED": "1",
        "PYTHONUNBUFFERED": "1",
        "EXEML_MIN_TRAIN_MINUTES": "0.05",
        "EXEML_BEAT_INTERVAL_SECONDS": str(BEAT_SECONDS),
        "EXEML_IDLE_UNIT_SECONDS": str(IDLE_UNIT_SECONDS),
        "EXEML_IDLE_STOP_MIN_MINUTES": "1",
        "EXEML_WORKER_THREADS": "1",
        "HF_HUB_OFFLINE": "1",
        "TRANSFORMERS_OFFLINE": "1",
        "YOLO_OFFLINE": "1",
        "ORT_DISABLE_TELEMETRY": "1",
    })
    return env


@pytest.fixture(scope="module")
def platform(tmp_path_factory) -> Iterator[Platform]:
    home = tmp_path_factory.mktemp("exeml-sdk") / "home"
    for sub in ("broker", "broker-processed"):
        (home / sub).mkdir(parents=True, exist_ok=True)
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    log = home.parent / "run.log"
    proc = subprocess.Popen(
        [sys.executable, "-m", "exeml.cli", "run", "--port", str(port), "--concurrency", "1"],
        cwd=REPO, env=_run_env(home), stdout=log.open("wb"), stderr=subprocess.STDOUT,
    )
    family: set[int] = set()
    try:
        token = None
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline and token is None:
            assert proc.poll() is None, log.read_text(errors="replace")[-4000:]
            found = re.search(r"API token\s+: (\S+)", log.read_text(errors="replace"))
            if found:
                try:
                    with urllib.request.urlopen(f"{url}/healthz", timeout=5) as r:
                        token = found.group(1) if r.status == 200 else None
                except Exception:
                    pass
            if token is None:
                time.sleep(1)
        assert token, f"exeml run not ready:\n{log.read_text(errors='replace')[-4000:]}"
        family = descendants(proc.pid)
        yield Platform(url, token, log, home)
    finally:
        family |= descendants(proc.pid)
        stop_like_a_user(proc, family)


def _example(platform: Platform, name: str, *args: str) -> dict:
    result = subprocess.run(
        [sys.executable, str(REPO / "examples" / f"{name}.py"), "--max-minutes", "0.3", *args],
        cwd=REPO, env=platform.env(), capture_output=True, text=True, timeout=900,
    )
    assert result.returncode == 0, (result.stdout[-3000:], result.stderr[-3000:],
                                    platform.log.read_text(errors="replace")[-3000:])
    lines = [line for line in result.stdout.splitlines() if line.startswith("RESULT ")]
    assert lines, result.stdout[-3000:]
    return json.loads(lines[-1].removeprefix("RESULT "))


@pytest.fixture(scope="module")
def examples(platform) -> dict[str, dict]:
    """The two examples, run once: image classification stops its service, predictive
    analytics leaves its service running for the tests below."""
    return {
        "image": _example(platform, "image_classification"),
        "table": _example(platform, "predictive_analytics", "--keep-service"),
    }


def exeml(platform: Platform, *args: str, env: dict[str, str] | None = None,
          stdin: str | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "exeml.cli", *args], cwd=REPO, env=env or platform.env(),
                          capture_output=True, text=True, timeout=300, input=stdin)


def test_examples_run_end_to_end(platform, examples):
    image, table = examples["image"], examples["table"]
    assert image["prediction"]["predicted_label"] in ("circle", "square")
    assert [label for label, _ in image["prediction"]["scores"]] != []
    rows = table["prediction"]["resp_data"]
    assert len(rows) == 3 and all(row["predictioncol"] in ("yes", "no") for row in rows)
    with platform.client() as client:
        assert client.version(image["project"], "V001").status == "completed"
        assert client.service(image["service"]).status == "stopped"  # the example stopped it
        assert client.service(table["service"]).status == "running"  # --keep-service
        samples = list(client.samples(client.project(image["project"]).dataset_id, labeled=True))
        assert len(samples) == 16 and {s.labels[0] for s in samples} == {"circle", "square"}


def test_cli_commands_and_exit_codes(platform, examples, tmp_path):
    table = examples["table"]
    # 0: success, with --json for scripts.
    listed = exeml(platform, "projects", "ls", "--json")
    assert listed.returncode == 0, listed.stderr
    names = {p["name"] for p in json.loads(listed.stdout)}
    assert {"demo-table", "demo-images"} <= names
    versions = exeml(platform, "versions", table["project"], "--json")
    assert versions.returncode == 0 and json.loads(versions.stdout)[0]["status"] == "completed"
    rows = tmp_path / "rows.json"
    record = {k: v for k, v in table["prediction"]["resp_data"][0].items()
              if k.startswith("attr_") and k != table["label_column"]}
    rows.write_text(json.dumps([record]))
    predicted = exeml(platform, "predict", table["service"], "--records", str(rows))
    assert predicted.returncode == 0, predicted.stderr
    assert json.loads(predicted.stdout)["resp_data"][0]["predictioncol"] in ("yes", "no")
    model = tmp_path / "model.zip"
    downloaded = exeml(platform, "download", table["version_id"], "-o", str(model))
    assert downloaded.returncode == 0, downloaded.stderr
    assert {"model.onnx", "bundle.json"} <= set(zipfile.ZipFile(model).namelist())

    # Start the image example's service again, predict several files at once (a broken file
    # answers its error in place), stop it.
    image = examples["image"]
    started = exeml(platform, "services", "start", image["service"], "--wait", "--json", "-q")
    assert started.returncode == 0 and json.loads(started.stdout)["status"] == "running", started.stderr
    from PIL import Image

    Image.new("RGB", (64, 64), (200, 30, 30)).save(tmp_path / "red.png")
    (tmp_path / "broken.png").write_bytes(b"not an image")
    batch = exeml(platform, "predict", image["service"], str(tmp_path / "red.png"), str(tmp_path / "broken.png"))
    assert batch.returncode == 0, batch.stderr
    answers = json.loads(batch.stdout)
    assert answers[0]["predicted_label"] in ("circle", "square") and answers[1]["status"] == 400
    stopped = exeml(platform, "services", "stop", image["service"], "--json")
    assert stopped.returncode == 0 and json.loads(stopped.stdout)["status"] == "stopped"
    # 409: predicting with a stopped service.
    refused_state = exeml(platform, "predict", image["service"], str(tmp_path / "red.png"))
    assert refused_state.returncode == 1 and "409" in refused_state.stderr

    # 1: the API refused (404 unknown project; 400 a budget under the minimum).
    missing = exeml(platform, "versions", "00000000-0000-0000-0000-000000000000")
    assert missing.returncode == 1 and "404" in missing.stderr
    refused = exeml(platform, "train", table["project"], "--max-minutes", "0.001", "--json")
    assert refused.returncode == 1, refused.stderr
    assert json.loads(refused.stdout)["error"]["status"] == 400
    # 3: authentication (a wrong token).
    wrong = exeml(platform, "projects", "ls", env=platform.env(EXEML_TOKEN="0" * 40))
    assert wrong.returncode == 3 and "401" in wrong.stderr
    # 2: usage (unknown option, nothing to predict from, no platform configured).
    assert exeml(platform, "projects", "ls", "--bogus").returncode == 2
    assert exeml(platform, "predict", table["service"]).returncode == 2
    unconfigured = {k: v for k, v in platform.env().items() if k not in ("EXEML_URL", "EXEML_TOKEN")}
    assert exeml(platform, "projects", "ls", env=unconfigured).returncode == 2
    # 4: connection refused.
    down = exeml(platform, "projects", "ls", env=platform.env(EXEML_URL=f"http://127.0.0.1:{free_port()}"))
    assert down.returncode == 4

    # login saves the address and token; later commands need no environment.
    login = exeml(platform, "login", "--url", platform.url, "--token", platform.token)
    assert login.returncode == 0, login.stderr
    config = Path(unconfigured["XDG_CONFIG_HOME"]) / "exeml" / "config.json"
    assert json.loads(config.read_text()) == {"url": platform.url, "token": platform.token}
    assert exeml(platform, "projects", "ls", env=unconfigured).returncode == 0


def _at(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def test_an_idle_service_stops_after_its_idle_time_and_not_before(platform, examples):
    table = examples["table"]
    deployed = exeml(platform, "deploy", table["project"], "V001", "--idle-minutes", str(IDLE_MINUTES),
                     "--wait", "--json", "-q")
    assert deployed.returncode == 0, deployed.stderr
    service = json.loads(deployed.stdout)
    assert service["status"] == "running" and service["auto_stop"]["idle_minutes"] == IDLE_MINUTES
    idle = timedelta(seconds=IDLE_MINUTES * IDLE_UNIT_SECONDS)
    record = {k: v for k, v in table["prediction"]["resp_data"][0].items()
              if k.startswith("attr_") and k != table["label_column"]}
    with platform.client() as client:
        # Calls keep it alive for longer than its idle time: beat looks every few seconds,
        # and it stays running as long as no gap between calls reaches the idle time.
        first_call = time.monotonic()
        while time.monotonic() - first_call < 2 * idle.total_seconds():
            client.predict(service["id"], records=[record])
            assert client.service(service["id"]).status == "running"
            time.sleep(1)
        deadline = time.monotonic() + 60 + idle.total_seconds()
        while (current := client.service(service["id"])).status == "running":
            assert time.monotonic() < deadline, current.raw
            time.sleep(1)
    assert current.status == "stopped", current.raw
    last_call, started, stopped = (_at(current.raw[k]) for k in ("last_call_at", "started_at", "stopped_at"))
    assert last_call - started >= idle  # the calls spanned more than the idle time …
    assert stopped - last_call >= idle  # … and it stopped only once a whole idle time passed
