"""Web replicas for tests: real gunicorn processes on the test database, each with its own
EXEML_HOME when the shared state lives in Redis (as on separate hosts); on the embedded
default (no Redis) every process shares the test's EXEML_HOME, as `exeml run`'s do."""

from __future__ import annotations

import http.client
import json
import os
import subprocess
import sys
import time
from pathlib import Path

from django.conf import settings

from tests.conftest import REPO, _test_database_url
from tests.processes import free_port, stop_group


def shared_state_in_redis() -> bool:
    return settings.CACHES["shared"]["BACKEND"].endswith("RedisCache")


class WebReplica:
    def __init__(self, name: str, root: Path, **env: str) -> None:
        self.name = name
        self.home = root / f"home-{name}" if shared_state_in_redis() else Path(settings.EXEML_HOME)
        self.port = free_port()
        self.log = root / f"web-{name}.log"
        self.env = env
        self.proc: subprocess.Popen | None = None

    def start(self) -> WebReplica:
        self.home.mkdir(parents=True, exist_ok=True)
        env = {**os.environ, "DATABASE_URL": _test_database_url(), "EXEML_HOME": str(self.home),
               "PYTHONUNBUFFERED": "1", **self.env}
        cmd = [sys.executable, "-m", "gunicorn", "exeml.wsgi:application", "--bind", f"127.0.0.1:{self.port}",
               "--workers", "1", "--threads", "4", "--worker-class", "exeml.web_worker.KeepAliveThreadWorker"]
        self.proc = subprocess.Popen(cmd, cwd=REPO, env=env, stdout=self.log.open("ab"), stderr=subprocess.STDOUT,
                                     start_new_session=True)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"web replica {self.name} exited:\n{self.log.read_text()[-3000:]}")
            try:
                if self.request("GET", "/livez")[0] == 200:
                    return self
            except OSError:
                pass
            time.sleep(0.3)
        raise RuntimeError(f"web replica {self.name} did not come up:\n{self.log.read_text()[-3000:]}")

    def request(self, method: str, path: str, *, token: str | None = None, body: dict | None = None,
                timeout: float = 30) -> tuple[int, dict]:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        headers = {"Content-Type": "application/json"}
        if token:
            headers["Authorization"] = f"Token {token}"
        try:
            conn.request(method, path, body=json.dumps(body).encode() if body is not None else None, headers=headers)
            response = conn.getresponse()
            raw = response.read()
        finally:
            conn.close()
        try:
            data = json.loads(raw) if raw else {}
        except ValueError:
            data = {"raw": raw[:200].decode(errors="replace")}
        return response.status, data

    def stop(self) -> None:
        stop_group(self.proc)
