"""One acting beat among several: a leader lock on the schedule, the others hot standbys.

Every ``exeml beat`` runs this scheduler. Before each tick a beat takes or renews a lock
that expires after ``lock_seconds`` (0.6 of the beat interval); only the holder sends the
periodic tasks, so auto-stop, idle-stop, the reapers and pruning each run once however many
beats are started. A standby tries the lock every ``lock_seconds / 4``: when the leader dies
(even by kill -9) its lock expires and a standby sends the next ticks, within one beat
interval. The pattern is celery-redbeat's (a Redis lock taken at start, extended by each
tick, a compare-and-expire script so only the owner extends it); here a standby keeps
trying instead of blocking at start, and the embedded default needs no Redis.

Where the lock lives: Redis (the shared cache) in the distributed shape; else, on
PostgreSQL, a session advisory lock on a connection of its own (the server releases it when
that connection dies with its process); else, on the embedded default (SQLite: every process
on one host), an exclusive flock on ``EXEML_HOME/beat.lock``, which the kernel releases when
its process dies.
"""

from __future__ import annotations

import fcntl
import logging
import os
import uuid
from pathlib import Path

from celery.beat import PersistentScheduler
from django.conf import settings

logger = logging.getLogger("celery.beat")

# Extend the key only while it still holds our token (redbeat's LUA_EXTEND_TO_SCRIPT).
_EXTEND = """
if redis.call('get', KEYS[1]) ~= ARGV[1] then
    return 0
end
redis.call('pexpire', KEYS[1], ARGV[2])
return 1
"""
_RELEASE = """
if redis.call('get', KEYS[1]) == ARGV[1] then
    return redis.call('del', KEYS[1])
end
return 0
"""


def lock_seconds() -> float:
    return max(1.0, 0.6 * float(settings.CELERY_BEAT_INTERVAL_SECONDS))


def redis_url() -> str | None:
    shared = settings.CACHES["shared"]
    return shared["LOCATION"] if shared["BACKEND"].endswith("RedisCache") else None


class RedisLeaderLock:
    def __init__(self, url: str, key: str, ttl: float) -> None:
        import redis

        self.client = redis.Redis.from_url(url, socket_timeout=5, socket_connect_timeout=5)
        self.key, self.ttl_ms = key, int(ttl * 1000)
        self.token = f"{os.uname().nodename}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self.held = False

    def acquire_or_renew(self) -> bool:
        if self.held:
            self.held = bool(self.client.eval(_EXTEND, 1, self.key, self.token, self.ttl_ms))
        else:
            self.held = bool(self.client.set(self.key, self.token, nx=True, px=self.ttl_ms))
        return self.held

    def holder(self) -> str:
        value = self.client.get(self.key)
        return value.decode() if value else "nobody"

    def release(self) -> None:
        if self.held:
            self.client.eval(_RELEASE, 1, self.key, self.token)
            self.held = False


class FileLeaderLock:
    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self.fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        self.held = False

    def acquire_or_renew(self) -> bool:
        if not self.held:
            try:
                fcntl.flock(self.fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                return False
            os.ftruncate(self.fd, 0)
            os.pwrite(self.fd, str(os.getpid()).encode(), 0)
            self.held = True
        return True

    def holder(self) -> str:
        try:
            return f"pid {self.path.read_text().strip() or '?'}"
        except OSError:
            return "?"

    def release(self) -> None:
        if self.held:
            fcntl.flock(self.fd, fcntl.LOCK_UN)
            self.held = False


class PostgresLeaderLock:
    # Any fixed 64-bit number; other applications on the database would have to pick it too.
    KEY = 0x657865_6D6C_62

    def __init__(self) -> None:
        self.conn = None
        self.held = False

    def acquire_or_renew(self) -> bool:
        from django.db import connections

        try:
            if self.conn is None:
                # A connection of its own, outside Django's per-request handling, so nothing
                # closes it (and drops the lock) behind this scheduler's back.
                self.conn = connections.create_connection("default")
                self.conn.ensure_connection()
                self.conn.connection.autocommit = True
            with self.conn.connection.cursor() as cursor:
                if self.held:
                    cursor.execute("SELECT 1")  # still our session, so still our lock
                else:
                    cursor.execute("SELECT pg_try_advisory_lock(%s)", [self.KEY])
                    self.held = bool(cursor.fetchone()[0])
        except Exception:
            self._drop()
            raise
        return self.held

    def holder(self) -> str:
        with self.conn.connection.cursor() as cursor:
            cursor.execute("SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND granted "
                           "AND ((classid::bigint << 32) | objid::bigint) = %s", [self.KEY])
            row = cursor.fetchone()
        return f"database session {row[0]}" if row else "nobody"

    def _drop(self) -> None:
        self.held = False
        if self.conn is not None:
            try:
                self.conn.close()
            except Exception:
                pass
            self.conn = None

    def release(self) -> None:
        self._drop()  # closing the session releases its advisory locks


def leader_lock():
    url = redis_url()
    if url:
        return RedisLeaderLock(url, f"{settings.CACHES['shared'].get('KEY_PREFIX', '')}beat-leader", lock_seconds())
    if settings.DATABASES["default"]["ENGINE"].endswith("postgresql"):
        return PostgresLeaderLock()
    return FileLeaderLock(Path(settings.EXEML_HOME) / "beat.lock")


class LeaderScheduler(PersistentScheduler):
    """celery beat's persistent scheduler, acting only while it holds the leader lock."""

    def __init__(self, *args, **kwargs) -> None:
        self._lock = None
        self._leading: bool | None = None  # unknown until the first tick: both states are logged
        self._lock_error: str | None = None
        super().__init__(*args, **kwargs)

    def _lead(self) -> bool:
        if self._lock is None:
            self._lock = leader_lock()
        try:
            leading = self._lock.acquire_or_renew()
            self._lock_error = None
        except Exception as exc:  # the lock's store unreachable: act only with a lock in hand
            if self._lock_error != str(exc):  # once per distinct error, not once per tick
                logger.warning("beat: the leader lock cannot be read (%s); standing by", exc)
            self._lock_error = str(exc)
            self._lock.held = False
            self._leading = False
            return False
        if leading != self._leading:
            if leading:
                logger.info("beat: leading (this beat sends the periodic tasks)")
            else:
                logger.warning("beat: standing by (the leader lock is held by %s)", self._safe_holder())
            self._leading = leading
        return leading

    def _safe_holder(self) -> str:
        try:
            return self._lock.holder()
        except Exception:
            return "?"

    def tick(self, *args, **kwargs) -> float:
        poll = max(0.2, lock_seconds() / 4)
        if not self._lead():
            return poll
        return min(super().tick(*args, **kwargs), poll)

    def close(self) -> None:
        if self._lock is not None and self._leading:
            try:
                self._lock.release()  # a clean stop hands over at once, not after the expiry
            except Exception:
                pass
        super().close()
