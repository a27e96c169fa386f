"""Two `exeml beat` processes: only one sends the periodic tasks; when it is killed (-9) the
standby takes over. With the lock in Redis or PostgreSQL each beat has its own EXEML_HOME (two
hosts); on the embedded default (SQLite) they share one (one host, a file lock)."""

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
pytestmark = pytest.mark.django_db  # the test database must exist: the PostgreSQL lock lives there


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
        env = {k: v for k, v in env.items() if v != ""}  # "" unsets: the embedded default
        self.proc = subprocess.Popen([sys.executable, "-m", "exeml.cli", "beat"], cwd=REPO, env=env,
                                     stdout=self.log.open("ab"), stderr=subprocess.STDOUT, start_new_session=True)

    def sent(self) -> int:
        return self.log.read_bytes().count(SENT) if self.log.exists() else 0

    def tail(self) -> str:
        return self.log.read_text(errors="replace")[-2000:] if self.log.exists() else ""

    def kill(self) -> None:
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()


@pytest.fixture(params=["redis", "postgres", "embedded"])
def beats(request, tmp_path):
    where = request.param
    if where == "redis" and not shared_state_in_redis():
        pytest.skip("Redis is not configured")
    if where == "postgres" and settings.DATABASES["default"]["ENGINE"].endswith("sqlite3"):
        pytest.skip("PostgreSQL is not configured")
    prefix = f"exeml-beat-{uuid.uuid4().hex[:8]}:"
    # Their own key prefix: the tasks they send land where no worker of the suite reads them.
    env = {"EXEML_BEAT_INTERVAL_SECONDS": "2", "EXEML_WORKER_LOST_CHECK_SECONDS": "2",
           "EXEML_BROKER_KEY_PREFIX": prefix}
    if where != "redis":
        # No Redis: a filesystem broker per home (nobody reads it), the lock in PostgreSQL
        # (two hosts, a home each) or, on SQLite, a file in the one shared home.
        env.update(CELERY_BROKER_URL="filesystem://", EXEML_CACHE_URL="")
    if where == "embedded":
        env["DATABASE_URL"] = ""
        homes = [tmp_path / "home", tmp_path / "home"]
    else:
        homes = [tmp_path / "home-one", tmp_path / "home-two"]
    for home in homes:
        for folder in ("broker", "broker-processed", "broker-control"):
            (home / folder).mkdir(parents=True, exist_ok=True)
    pair = [Beat("one", homes[0], env), Beat("two", homes[1], env)]
    try:
        yield pair
    finally:
        for beat in pair:
            beat.kill()
        if where == "redis":
            import redis

            client = redis.Redis.from_url(settings.CACHES["shared"]["LOCATION"])
            for key in client.scan_iter(match=f"{prefix}*"):
                client.delete(key)


def test_two_beats_act_once_and_the_standby_takes_over_when_the_leader_dies(beats):
    one, two = beats
    one.start()
    two.start()
    try:
        wait_for(lambda: one.sent() + two.sent() >= 6, timeout=60, message="periodic tasks to be sent")
    except AssertionError:
        raise AssertionError(f"no periodic tasks sent:\n{one.tail()}\n{two.tail()}") from None
    time.sleep(4)  # two more intervals: a second acting beat would have sent its own by now
    leader, standby = (one, two) if one.sent() else (two, one)
    assert leader.sent() >= 6 and standby.sent() == 0, (one.sent(), two.sent())
    assert b"beat: leading" in leader.log.read_bytes()
    assert b"beat: standing by" in standby.log.read_bytes()
    # Among them the check for lost training workers, on its own short schedule.
    assert b"Sending due task reap-lost-training (training.reap_lost_trainings)" in leader.log.read_bytes()

    leader.kill()
    wait_for(lambda: standby.sent() >= 3, timeout=30, message="the standby to take over")
    assert b"beat: leading" in standby.log.read_bytes()
