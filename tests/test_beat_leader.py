"""Two `exeml beat` processes: only one sends the periodic tasks; when it is killed (-9) the
standby takes over. With Redis each beat has its own EXEML_HOME (two hosts, the lock in Redis);
on the embedded default (filesystem broker) they share one (one host, a file lock)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
from django.conf import settings

from tests.conftest import REPO, _test_database_url, wait_for
from tests.web_replicas import shared_state_in_redis

SENT = b"Sending due task"


class Beat:
    def __init__(self, name: str, home: Path, env: dict) -> None:
        self.name, self.home = name, home
        self.log = home.parent / f"beat-{name}.log"
        self.env = env
        self.proc: subprocess.Popen | None = None

    def start(self) -> None:
        self.home.mkdir(parents=True, exist_ok=True)
        env = {**os.environ, "DATABASE_URL": _test_database_url(), "EXEML_HOME": str(self.home),
               "PYTHONUNBUFFERED": "1", **self.env}
        self.proc = subprocess.Popen([sys.executable, "-m", "exeml.cli", "beat"], cwd=REPO, env=env,
                                     stdout=self.log.open("ab"), stderr=subprocess.STDOUT, start_new_session=True)

    def sent(self) -> int:
        return self.log.read_bytes().count(SENT) if self.log.exists() else 0

    def kill(self) -> None:
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()


@pytest.fixture(params=["redis", "embedded"])
def beats(request, tmp_path):
    redis_lock = request.param == "redis"
    if redis_lock and not shared_state_in_redis():
        pytest.skip("Redis is not configured")
    prefix = f"exeml-beat-{uuid.uuid4().hex[:8]}:"
    # Their own key prefix: the tasks they send land where no worker of the suite reads them.
    env = {"EXEML_BEAT_INTERVAL_SECONDS": "2", "EXEML_WORKER_LOST_CHECK_SECONDS": "2",
           "EXEML_BROKER_KEY_PREFIX": prefix}
    if redis_lock:
        pair = [Beat("one", tmp_path / "home-one", env), Beat("two", tmp_path / "home-two", env)]
    else:
        env.update(CELERY_BROKER_URL="filesystem://", EXEML_CACHE_URL="")
        pair = [Beat("one", tmp_path / "home", env), Beat("two", tmp_path / "home", env)]
        for folder in ("broker", "broker-processed", "broker-control"):
            (tmp_path / "home" / folder).mkdir(parents=True, exist_ok=True)
    try:
        yield pair
    finally:
        for beat in pair:
            beat.kill()
        if redis_lock:
            import redis

            client = redis.Redis.from_url(settings.CACHES["shared"]["LOCATION"])
            for key in client.scan_iter(match=f"{prefix}*"):
                client.delete(key)


def test_two_beats_act_once_and_the_standby_takes_over_when_the_leader_dies(beats):
    one, two = beats
    one.start()
    two.start()
    wait_for(lambda: one.sent() + two.sent() >= 6, timeout=60, message="periodic tasks to be sent")
    time.sleep(4)  # two more intervals: a second acting beat would have sent its own by now
    leader, standby = (one, two) if one.sent() else (two, one)
    assert leader.sent() >= 6 and standby.sent() == 0, (one.sent(), two.sent())
    assert b"beat: leading" in leader.log.read_bytes()
    assert b"beat: standing by" in standby.log.read_bytes()

    leader.kill()
    wait_for(lambda: standby.sent() >= 3, timeout=30, message="the standby to take over")
    assert b"beat: leading" in standby.log.read_bytes()
