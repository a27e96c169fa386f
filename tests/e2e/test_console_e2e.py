"""The console end to end: a real ``exeml run`` (web, workers, beat; embedded SQLite, local
object store, filesystem broker) driven by chromium through frontend/e2e (node --test).

Screenshots land in test-artifacts/e2e/. Needs node and /usr/bin/chromium
(frontend/e2e/install-browser.sh installs the latter)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.e2e.frontend import (
    ARTIFACTS,
    CHROMIUM,
    FRONTEND,
    REPO,
    ensure_console_built,
    missing_chromium,
    missing_node,
    run_streaming,
)
from tests.processes import descendants, free_port, stop_like_a_user

SERVER_START_TIMEOUT = 180
SUITE_TIMEOUT = 480

pytestmark = [
    pytest.mark.skipif(bool(missing_node()), reason=missing_node() or ""),
    pytest.mark.skipif(bool(missing_chromium()), reason=missing_chromium() or ""),
]


@dataclass
class Server:
    url: str
    username: str
    password: str
    token: str
    log: Path


def _server_env(home: Path) -> dict[str, str]:
    drop = {"DATABASE_URL", "CELERY_BROKER_URL", "EXEML_S3_ENDPOINT_URL", "EXEML_BROKER_KEY_PREFIX",
            "EXEML_TASKS_EAGER"}
    env = {k: v for k, v in os.environ.items() if k not in drop}
    env.update({
        "EXEML_HOME": str(home),
        "EXEML_EMBEDDED": "1",
        "PYTHONUNBUFFERED": "1",
        # Training budgets below the console's minimum stay allowed for scripts; the beat
        # (auto stop, reaper) ticks fast enough to matter within a test.
        "EXEML_MIN_TRAIN_MINUTES": "0.05",
        "EXEML_BEAT_INTERVAL_SECONDS": "5",
        "HF_HUB_OFFLINE": "1",
        "TRANSFORMERS_OFFLINE": "1",
        "YOLO_OFFLINE": "1",
        "ORT_DISABLE_TELEMETRY": "1",
    })
    return env


def _wait_ready(proc: subprocess.Popen, url: str, log: Path) -> tuple[str, str, str]:
    deadline = time.monotonic() + SERVER_START_TIMEOUT
    login = token = None
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"exeml run exited with {proc.returncode}:\n{log.read_text()[-4000:]}")
        text = log.read_text(errors="replace")
        login = login or re.search(r"console login : (\S+) / (\S+)", text)
        token = token or re.search(r"API token\s+: (\S+)", text)
        if login and token:
            try:
                with urllib.request.urlopen(f"{url}/healthz", timeout=5) as r:
                    if r.status == 200:
                        return login.group(1), login.group(2), token.group(1)
            except Exception:
                pass
        time.sleep(1)
    raise AssertionError(f"exeml run not ready after {SERVER_START_TIMEOUT} s:\n{log.read_text()[-4000:]}")


@pytest.fixture(scope="module")
def server(tmp_path_factory) -> Iterator[Server]:
    ensure_console_built()
    home = tmp_path_factory.mktemp("exeml-e2e") / "home"
    # The filesystem broker's folders: a worker may declare its queues before anything
    # else made them.
    for sub in ("broker", "broker-processed"):
        (home / sub).mkdir(parents=True, exist_ok=True)
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    log = home.parent / "exeml-run.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "exeml.cli", "run", "--port", str(port), "--concurrency", "2"],
            cwd=REPO, env=_server_env(home), stdout=out, stderr=subprocess.STDOUT,
        )
    family: set[int] = set()
    try:
        username, password, token = _wait_ready(proc, url, log)
        family = descendants(proc.pid)
        yield Server(url=url, username=username, password=password, token=token, log=log)
    finally:
        family |= descendants(proc.pid) if proc.poll() is None else set()
        leftovers = stop_like_a_user(proc, family)
        if os.environ.get("E2E_KEEP_LOG"):
            print(f"\nserver log: {log}")
    assert proc.returncode == 0, f"exeml run ended with {proc.returncode}:\n{log.read_text()[-3000:]}"
    assert leftovers == [], f"processes left behind by exeml run: {leftovers}"


@pytest.mark.timeout(SUITE_TIMEOUT + SERVER_START_TIMEOUT + 240)
def test_console_end_to_end(server: Server):
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    for old in ARTIFACTS.glob("*.png"):
        old.unlink()
    _node_suite(server, "e2e/console.test.mjs")
    _check_shots({"01-exeml", "02-wizard", "03-label-images", "04-train-images", "05-deploy-images",
                  "06-label-detection", "07-label-table", "08-train-table", "09-label-sound", "10-label-text",
                  "11-datasets", "12-models", "13-services", "14-usage", "15-token-created", "16-token-revoked"})


def _node_suite(server: Server, suite: str) -> None:
    env = {
        **os.environ,
        "BASE_URL": server.url,
        "USERNAME": server.username,
        "PASSWORD": server.password,
        "TOKEN": server.token,
        "ARTIFACTS": str(ARTIFACTS),
        "CHROMIUM": CHROMIUM,
        "NO_COLOR": "1",
    }
    started = time.monotonic()
    rc, tail = run_streaming(
        ["node", "--test", "--test-reporter=spec", suite],
        cwd=FRONTEND, env=env, timeout=SUITE_TIMEOUT, prefix="[e2e] ",
    )
    print(f"[e2e] {suite} wall time {time.monotonic() - started:.0f} s; screenshots in {ARTIFACTS}")
    if rc != 0:
        server_tail = server.log.read_text(errors="replace")[-5000:]
        pytest.fail(f"{suite} failed (exit {rc}):\n{tail}\n\n--- exeml run log (tail) ---\n{server_tail}")


def _check_shots(expected: set[str]) -> None:
    shots = {p.stem for p in ARTIFACTS.glob("*.png")}
    assert expected <= shots, f"missing screenshots: {sorted(expected - shots)}"


@pytest.mark.timeout(SUITE_TIMEOUT + SERVER_START_TIMEOUT + 240)
def test_console_work_safety_keyboard_evaluation_mobile(server: Server):
    """Autosave before a sidebar click, Ctrl+Z, number-key labeling, the threshold slider,
    quota names, no sideways scrolling at 390 px (frontend/e2e/labeling-ux.test.mjs)."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    _node_suite(server, "e2e/labeling-ux.test.mjs")
    _check_shots({"ux-detection-autosaved", "ux-detection-grid", "ux-image-preview", "ux-text-keyboard",
                  "ux-evaluation-threshold", "ux-usage", "ux-390-project-list", "ux-390-label-detection-editor",
                  "ux-390-label-text", "ux-390-label-sound", "ux-390-services", "ux-390-deploy-tab"})


@pytest.mark.timeout(SUITE_TIMEOUT + SERVER_START_TIMEOUT + 240)
def test_console_model_assisted_labeling(server: Server):
    """Train V001 of demo-images, pre-label with it in the console, accept above a confidence,
    A/R on the highlighted image, "label these next" order, batch prediction from the version detail (frontend/e2e/assist.test.mjs)."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    _node_suite(server, "e2e/assist.test.mjs")
    _check_shots({"assist-suggestions", "assist-accepted", "assist-batch"})


@pytest.mark.timeout(SUITE_TIMEOUT + SERVER_START_TIMEOUT + 240)
def test_console_evaluation_views_and_offline_docs(server: Server):
    """/api/docs renders with the outside network blocked; a regression trained through the API
    lists its candidates lowest RMSE first and draws its residual plot and error histogram; a
    batch prediction's results are listed and downloaded (frontend/e2e/evaluation.test.mjs)."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    _node_suite(server, "e2e/evaluation.test.mjs")
    _check_shots({"eval-api-docs-offline", "eval-regression-residuals", "eval-batch-results"})


@pytest.mark.timeout(SUITE_TIMEOUT + SERVER_START_TIMEOUT + 240)
def test_console_csv_with_header_quotes_and_semicolons_to_a_trained_version(server: Server):
    """A spreadsheet's CSV in the console only: uploaded through the storage picker, refused
    with its row and reason, replaced with "Upload a new CSV", profiled by its header, the label
    column picked by name, trained, evaluated; 390 px wide included (frontend/e2e/csv.test.mjs)."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    _node_suite(server, "e2e/csv.test.mjs")
    _check_shots({"csv-refused", "csv-390-refused", "csv-preview", "csv-390-preview", "csv-390-datasets",
                  "csv-trained"})


@pytest.mark.timeout(SUITE_TIMEOUT + SERVER_START_TIMEOUT + 240)
def test_console_team_labeling_task_review_and_training(server: Server):
    """A labeler and a reviewer added through the API; the owner gives the labeler a task of
    demo-images on the Tasks page; the labeler labels it with the number keys and submits it;
    the reviewer rejects one image with a comment; the labeler sees it, relabels, resubmits; the
    reviewer accepts; the owner trains the project (frontend/e2e/team.test.mjs)."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    _node_suite(server, "e2e/team.test.mjs")
    _check_shots({"team-members", "team-task-created", "team-labeler-labelled", "team-review",
                  "team-labeler-rejected", "team-task-done", "team-training"})
