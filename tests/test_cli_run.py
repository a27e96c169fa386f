"""`exeml run` starts web + workers + beat, serves /healthz, and Ctrl-C leaves nothing behind."""

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
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


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""


def _main_worker(run_pid: int) -> int | None:
    for pid in descendants(run_pid):
        line = _cmdline(pid)
        if "celery" in line and " worker " in line and "main@" in line and alive(pid):
            # The main process is the one whose parent is `exeml run` itself.
            stat = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            if int(stat[1]) == run_pid:
                return pid
    return None


def _get(url: str, token: str | None = None, method: str = "GET") -> tuple[int, bytes]:
    req = urllib.request.Request(url, method=method, headers={"X-Auth-Token": token} if token else {})
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


def test_a_killed_worker_is_restarted_and_the_web_never_stops(tmp_path):
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "CELERY_BROKER_URL", "EXEML_S3_ENDPOINT_URL")}
    env.update({"EXEML_HOME": str(tmp_path / "home"), "PYTHONUNBUFFERED": "1", "EXEML_EMBEDDED": "1"})
    logfile = tmp_path / "run.log"
    proc = subprocess.Popen(
        [sys.executable, "-m", "exeml.cli", "run", "--port", str(port), "--concurrency", "1"],
        cwd=REPO, env=env, stdout=logfile.open("wb"), stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline and (_main_worker(proc.pid) is None or _safe_health(base) != 200):
            assert proc.poll() is None, logfile.read_text()[-3000:]
            time.sleep(1)
        token = logfile.read_text().split("API token     : ")[1].split()[0]
        first = _main_worker(proc.pid)
        assert first is not None, logfile.read_text()[-3000:]
        os.kill(first, signal.SIGKILL)

        health: list[int] = []
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            health.append(_safe_health(base))
            again = _main_worker(proc.pid)
            if again is not None and again != first and b"ready." in logfile.read_bytes().split(b"worker main exited")[-1]:
                break
            time.sleep(0.5)
        assert proc.poll() is None, logfile.read_text()[-3000:]
        assert "exeml: worker main exited (signal 9); restarting it in" in logfile.read_text()
        assert set(health) == {200}, health  # the web never stopped

        # A new task runs on the restarted worker: synchronize a demo dataset.
        status, body = _get(f"{base}/api/v1/datasets", token)
        dataset = json.loads(body)["results"][0]["id"]
        status, body = _get(f"{base}/api/v1/datasets/{dataset}/sync", token, method="POST")
        assert status == 202, body
        job = json.loads(body)["id"]
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            state = json.loads(_get(f"{base}/api/v1/jobs/{job}", token)[1])["status"]
            if state in ("succeeded", "failed"):
                break
            time.sleep(1)
        assert state == "succeeded", logfile.read_text()[-3000:]
        before_stop = len(logfile.read_bytes())
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(90)
        except subprocess.TimeoutExpired:
            proc.kill()
            raise
    assert proc.returncode == 0
    stop_log = logfile.read_bytes()[before_stop:].decode(errors="replace")
    assert " ERROR " not in stop_log and "exited with signal" not in stop_log, stop_log[-3000:]


def _safe_health(base: str) -> int:
    try:
        return _get(f"{base}/healthz")[0]
    except OSError:
        return 0


def _start_run(tmp_path: Path, port: int, *extra: str) -> tuple[subprocess.Popen, Path]:
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "CELERY_BROKER_URL", "EXEML_S3_ENDPOINT_URL")}
    env.update({"EXEML_HOME": str(tmp_path / "home"), "PYTHONUNBUFFERED": "1", "EXEML_EMBEDDED": "1"})
    logfile = tmp_path / f"run-{time.monotonic_ns()}.log"
    proc = subprocess.Popen(
        [sys.executable, "-m", "exeml.cli", "run", "--port", str(port), "--concurrency", "1", *extra],
        cwd=REPO, env=env, stdout=logfile.open("wb"), stderr=subprocess.STDOUT,
    )
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline and (_main_worker(proc.pid) is None or _safe_health(f"http://127.0.0.1:{port}") != 200):
        assert proc.poll() is None, logfile.read_text()[-3000:]
        time.sleep(1)
    return proc, logfile


def _stop_run(proc: subprocess.Popen) -> None:
    proc.send_signal(signal.SIGINT)
    try:
        proc.wait(120)
    except subprocess.TimeoutExpired:
        proc.kill()
        raise


def test_a_training_cut_by_the_operators_stop_goes_back_to_the_queue(tmp_path):
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    proc, logfile = _start_run(tmp_path, port, "--grace", "2")
    try:
        token = logfile.read_text().split("API token     : ")[1].split()[0]
        projects = json.loads(_get(f"{base}/api/v1/projects?search=demo-text", token)[1])["results"]
        project = projects[0]["id"]
        req = urllib.request.Request(f"{base}/api/v1/projects/{project}/train", method="POST",
                                     data=json.dumps({"max_minutes": 6, "preference": "accuracy_first"}).encode(),
                                     headers={"X-Auth-Token": token, "Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=30) as r:
            version = json.loads(r.read())["id"]
        url = f"{base}/api/v1/projects/{project}/versions/{version}"
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline:
            state = json.loads(_get(url, token)[1])
            if state["status"] == "running" and state["phase"] not in ("", "starting", "downloading data"):
                break
            time.sleep(1)
        assert state["status"] == "running", state
    finally:
        _stop_run(proc)
    assert proc.returncode == 0
    assert "training(s) handed back to the queue" in logfile.read_text(), logfile.read_text()[-3000:]

    proc, logfile = _start_run(tmp_path, port, "--grace", "2")
    try:
        state = json.loads(_get(url, token)[1])
        assert state["status"] in ("queued", "running", "completed"), state  # never failed for the stop
        assert state["params"].get("restarts") == 1, state
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and state["status"] == "queued":
            time.sleep(1)
            state = json.loads(_get(url, token)[1])
        assert state["status"] in ("running", "completed"), state  # the next worker took it again
        _get(f"{url}/stop", token, method="POST")
    finally:
        _stop_run(proc)


def _direct_children(pid: int) -> list[int]:
    kids = []
    for entry in Path("/proc").iterdir():
        try:
            if entry.name.isdigit() and int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1]) == pid:
                kids.append(int(entry.name))
        except OSError:
            continue
    return kids


def _kill_all(pids) -> None:
    for pid in pids:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


def _wait_until(condition, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.5)
    return condition()


def test_one_run_per_home_and_a_killed_run_takes_its_children_along(tmp_path):
    """A second `exeml run` on the same EXEML_HOME refuses at once, naming the first one's pid;
    `kill -9` of the first takes web, workers and beat along (no orphan keeps the database,
    broker or port); the home is then free for a new run."""
    port = free_port()
    first, log = _start_run(tmp_path, port)
    family, extra = descendants(first.pid), set()
    try:
        assert first.poll() is None and _safe_health(f"http://127.0.0.1:{port}") == 200, log.read_text()[-3000:]
        assert len(_direct_children(first.pid)) == 4  # web, two workers, beat
        family = descendants(first.pid)  # with the web's and the workers' own children

        env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "CELERY_BROKER_URL", "EXEML_S3_ENDPOINT_URL")}
        env.update({"EXEML_HOME": str(tmp_path / "home"), "EXEML_EMBEDDED": "1"})
        second = subprocess.Popen(
            [sys.executable, "-m", "exeml.cli", "run", "--port", str(free_port()), "--concurrency", "1"],
            cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        )
        try:
            out, _ = second.communicate(timeout=90)
        except subprocess.TimeoutExpired:
            extra |= descendants(second.pid) | {second.pid}
            _kill_all(extra)
            second.communicate()
            raise AssertionError("a second `exeml run` on the same home started instead of refusing") from None
        assert second.returncode != 0, out.decode()[-3000:]
        assert f"already running on {tmp_path / 'home'} (pid {first.pid})" in out.decode(), out.decode()[-3000:]
        assert first.poll() is None  # the refused start left the running one alone

        first.kill()  # SIGKILL: no chance to stop its children itself
        first.wait()
        assert _wait_until(lambda: not any(alive(pid) for pid in family), 90), \
            f"left behind: {[(pid, _cmdline(pid)) for pid in family if alive(pid)]}"
    finally:
        _kill_all([first.pid, *family, *extra])

    third, log = _start_run(tmp_path, port)  # the same home and port: both free again
    family = descendants(third.pid)
    try:
        assert third.poll() is None and _safe_health(f"http://127.0.0.1:{port}") == 200, log.read_text()[-3000:]
        family = descendants(third.pid)
    finally:
        _stop_run(third)
        _kill_all([pid for pid in family if alive(pid)])
    assert third.returncode == 0
    assert not [pid for pid in family if alive(pid)]


def test_a_port_held_by_another_program_stops_the_start_with_a_clear_message(tmp_path):
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "CELERY_BROKER_URL", "EXEML_S3_ENDPOINT_URL")}
        env.update({"EXEML_HOME": str(tmp_path / "home"), "EXEML_EMBEDDED": "1"})
        proc = subprocess.Popen(
            [sys.executable, "-m", "exeml.cli", "run", "--port", str(port), "--concurrency", "1"],
            cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        )
        try:
            out, _ = proc.communicate(timeout=90)
        except subprocess.TimeoutExpired:
            family = descendants(proc.pid)
            proc.send_signal(signal.SIGINT)
            try:
                proc.wait(60)
            finally:
                _kill_all([proc.pid, *family])
            raise AssertionError("`exeml run` kept running on a port another program holds") from None
    assert proc.returncode != 0
    assert f"port {port} on 127.0.0.1 is already in use by another program" in out.decode(), out.decode()[-3000:]
