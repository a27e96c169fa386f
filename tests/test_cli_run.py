"""`exeml run` starts web + workers + beat, serves /healthz, and Ctrl-C leaves nothing behind."""

import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from tests.processes import alive, descendants, free_port

REPO = Path(__file__).resolve().parent.parent


def test_exeml_run_serves_health_and_stops_cleanly(tmp_path):
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "CELERY_BROKER_URL", "EXEML_S3_ENDPOINT_URL")}
    env.update({"EXEML_HOME": str(tmp_path / "home"), "PYTHONUNBUFFERED": "1", "EXEML_EMBEDDED": "1"})
    log = (tmp_path / "run.log").open("wb")
    proc = subprocess.Popen(
        [sys.executable, "-m", "exeml.cli", "run", "--port", str(port), "--concurrency", "1"],
        cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 120
        body = None
        while time.monotonic() < deadline:
            assert proc.poll() is None, (tmp_path / "run.log").read_text()[-3000:]
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=5) as r:
                    body = r.read().decode()
                    if r.status == 200:
                        break
            except Exception:
                time.sleep(1)
        assert body is not None and '"ok": true' in body, (tmp_path / "run.log").read_text()[-3000:]
        output = (tmp_path / "run.log").read_text()
        assert "console login : demo /" in output and "API token" in output
        assert "demo projects: " in output and "demo data not installed" not in output
        # The embedded broker's control folder lives under EXEML_HOME, not in the working directory.
        assert (tmp_path / "home" / "broker-control").is_dir()
        token = output.split("API token     : ")[1].split()[0]
        req = urllib.request.Request(f"http://127.0.0.1:{port}/api/v1/me", headers={"X-Auth-Token": token})
        with urllib.request.urlopen(req, timeout=10) as r:
            assert b'"slug":"demo"' in r.read().replace(b" ", b"")
        family = descendants(proc.pid)
        assert len(family) >= 4  # web, two workers, beat (and their children)
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(60)
        except subprocess.TimeoutExpired:
            proc.kill()
            raise
    time.sleep(1)
    leftovers = [pid for pid in family if alive(pid)]
    assert leftovers == [], f"processes left behind: {leftovers}"
    assert proc.returncode == 0
