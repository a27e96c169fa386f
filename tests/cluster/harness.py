"""A whole ExeML cluster on this machine: HAProxy in front of web replicas, workers, beats.

Every process gets its OWN ``EXEML_HOME`` (as if on its own host); they share only
PostgreSQL (a database of the cluster's own), Redis (a key prefix of its own) and the S3
endpoint (a bucket of its own). The processes are started with the ``exeml`` command as an
operator would (``exeml migrate``, ``exeml web``, ``exeml worker``, ``exeml beat``), and
HAProxy runs a configuration written from ``deploy/haproxy.cfg``'s settings for the ports of
this run. Used by tests/cluster and bench/cluster.py.
"""

from __future__ import annotations

import csv
import io
import json
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlparse, urlunparse

import requests

REPO = Path(__file__).resolve().parents[2]
HAPROXY = os.environ.get("HAPROXY", "/usr/sbin/haproxy")
# The balancer's health check: readiness (database, broker and storage answer). A replica that
# is alive but cannot reach them is taken out too, which is what a client wants.
READINESS_PATH = "/healthz"
# The response header HAProxy adds naming the replica that answered (deploy/haproxy.cfg too).
REPLICA_HEADER = "X-ExeML-Replica"
# Fast checks so a dead replica leaves the pool in about a second (deploy/haproxy.cfg uses
# gentler production values).
CHECK_INTER_MS = 500
CHECK_FALL = 2
CHECK_RISE = 1


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def missing() -> str | None:
    """Why a cluster cannot run here, or None."""
    if not (Path(HAPROXY).is_file() and os.access(HAPROXY, os.X_OK)):
        return f"{HAPROXY} not found (scripts/install-haproxy.sh installs Debian's haproxy)"
    if not (os.environ.get("DATABASE_URL") or "").startswith(("postgres://", "postgresql://")):
        return "the cluster needs PostgreSQL (DATABASE_URL): replicas on several hosts cannot share SQLite"
    if not (os.environ.get("CELERY_BROKER_URL") or "").startswith("redis://"):
        return "the cluster needs Redis (CELERY_BROKER_URL) as broker and shared cache"
    if not os.environ.get("EXEML_S3_ENDPOINT_URL"):
        return "the cluster needs an S3 endpoint (EXEML_S3_ENDPOINT_URL; scripts/test.sh starts moto)"
    return None


def haproxy_config(*, port: int, servers: dict[str, int], stats_socket: Path, inter_ms: int = CHECK_INTER_MS,
                   fall: int = CHECK_FALL, rise: int = CHECK_RISE) -> str:
    """deploy/haproxy.cfg's shape for this run's ports: round robin, a readiness check, a dead
    replica's requests redispatched, and a header naming the replica that answered."""
    lines = [
        "global",
        f"    stats socket {stats_socket} mode 600 level admin",
        "    maxconn 2000",
        "defaults",
        "    mode http",
        # Only the requests that did not end well, with their termination state, in its log.
        "    log stdout format raw local0",
        "    option httplog",
        "    option dontlog-normal",
        "    timeout connect 1s",
        "    timeout client 120s",
        "    timeout server 120s",
        "    timeout http-request 30s",
        # A connection refused (the replica just died) is tried again, on another replica.
        "    retries 3",
        "    option redispatch 1",
        "    option forwardfor",
        # A new server connection per request: none idles toward a replica that then dies, so
        # only a request already sent to it can fail (a reused dead connection is a 502).
        "    option http-server-close",
        "frontend exeml",
        f"    bind 127.0.0.1:{port}",
        "    default_backend web",
        "backend web",
        "    balance roundrobin",
        "    option httpchk",
        f"    http-check send meth GET uri {READINESS_PATH} ver HTTP/1.1 hdr Host 127.0.0.1",
        "    http-check expect status 200",
        f"    http-response set-header {REPLICA_HEADER} %s",
        f"    default-server inter {inter_ms}ms fastinter {inter_ms}ms downinter {inter_ms}ms fall {fall} rise {rise}",
    ]
    lines += [f"    server {name} 127.0.0.1:{p} check" for name, p in servers.items()]
    return "\n".join(lines) + "\n"


@dataclass
class Process:
    """One process of the cluster, with its own home and log; started in its own session so
    killing it (-9) takes its children (gunicorn's and Celery's pool) with it, as a host dying."""

    name: str
    command: list[str]
    env: dict[str, str]
    home: Path
    ready: Callable[[Process], bool]
    port: int | None = None
    popen: subprocess.Popen | None = None
    log_offset: int = 0  # where this start's lines begin in the log (a restart appends)

    @property
    def log(self) -> Path:
        return self.home / "process.log"

    def start(self) -> None:
        self.home.mkdir(parents=True, exist_ok=True)
        self.log_offset = self.log.stat().st_size if self.log.exists() else 0
        self.popen = subprocess.Popen(
            self.command, cwd=REPO, env={**self.env, "EXEML_HOME": str(self.home)},
            stdout=self.log.open("ab"), stderr=subprocess.STDOUT, start_new_session=True,
        )

    def alive(self) -> bool:
        return self.popen is not None and self.popen.poll() is None

    def wait_ready(self, timeout: float = 120) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not self.alive():
                raise RuntimeError(f"{self.name} exited early:\n{self.tail()}")
            if self.ready(self):
                return
            time.sleep(0.3)
        raise RuntimeError(f"{self.name} not ready after {timeout:g} s:\n{self.tail()}")

    def kill(self) -> None:
        """SIGKILL to the whole process group: no graceful anything. Returns once every process
        of the group is gone (the children die a moment after the main process)."""
        if self.popen is not None:
            try:
                os.killpg(self.popen.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            self.popen.wait()
            deadline = time.monotonic() + 10
            while _group_members(self.popen.pid) and time.monotonic() < deadline:
                time.sleep(0.005)

    def stop(self, grace: float = 15) -> None:
        if self.popen is None or self.popen.poll() is not None:
            if self.popen is not None:
                self.kill()  # leftovers of the group
            return
        os.kill(self.popen.pid, signal.SIGTERM)
        try:
            self.popen.wait(grace)
        except subprocess.TimeoutExpired:
            pass
        self.kill()

    def read_log(self, since_start: bool = False) -> str:
        try:
            with self.log.open("rb") as f:
                f.seek(self.log_offset if since_start else 0)
                return f.read().decode(errors="replace")
        except OSError:
            return ""

    def tail(self, chars: int = 3000) -> str:
        return self.read_log()[-chars:]


def _group_members(pgid: int) -> list[int]:
    """Live (not zombie) processes of a process group, from /proc."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[2]) == pgid and fields[0] != "Z":
                found.append(int(entry.name))
    return found


def _log_says(text: str) -> Callable[[Process], bool]:
    return lambda p: text in p.read_log(since_start=True)


def _answers_ready(p: Process) -> bool:
    try:
        return requests.get(f"http://127.0.0.1:{p.port}{READINESS_PATH}", timeout=5).status_code == 200
    except requests.RequestException:
        return False


@dataclass
class Cluster:
    root: Path
    webs: int = 2
    cpu_workers: int = 2
    free_workers: int = 1
    beats: int = 2
    web_threads: int = 8
    extra_env: dict[str, str] = field(default_factory=dict)
    run_id: str = field(default_factory=lambda: uuid.uuid4().hex[:8])
    processes: dict[str, Process] = field(default_factory=dict)
    port: int = 0
    token: str = ""
    database_url: str = ""

    # --- shape -------------------------------------------------------------------------------

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def bucket(self) -> str:
        return f"exeml-cluster-{self.run_id}"

    def env(self) -> dict[str, str]:
        keep = {k: v for k, v in os.environ.items() if not k.startswith(("EXEML_", "DJANGO_", "PYTEST_"))}
        return {
            **keep,
            "DATABASE_URL": self.database_url,
            "CELERY_BROKER_URL": os.environ["CELERY_BROKER_URL"],
            "EXEML_BROKER_KEY_PREFIX": f"exeml-cluster-{self.run_id}:",
            "EXEML_S3_ENDPOINT_URL": os.environ["EXEML_S3_ENDPOINT_URL"],
            "EXEML_S3_REGION": os.environ.get("EXEML_S3_REGION", "us-east-1"),
            "EXEML_BUCKET": self.bucket,
            "EXEML_SECRET_KEY": os.environ.get("EXEML_SECRET_KEY", "cluster-test-secret"),
            "EXEML_EMBEDDED": "0",
            "EXEML_ALLOWED_HOSTS": "127.0.0.1,localhost",
            "EXEML_TRUSTED_PROXIES": "127.0.0.1",
            # The smallest budgets the tests train with (a real deployment keeps 6 minutes).
            "EXEML_MIN_TRAIN_MINUTES": "0.05",
            "EXEML_WORKER_THREADS": "1",
            "EXEML_LOG_LEVEL": "INFO",
            "PYTHONUNBUFFERED": "1",
            "DJANGO_SETTINGS_MODULE": "exeml.settings",
            **self.extra_env,
        }

    def _exeml(self, *args: str) -> list[str]:
        return [sys.executable, "-m", "exeml.cli", *args]

    def _web(self, i: int, port: int | None = None) -> Process:
        name = f"web{i}"
        port = port or free_port()
        return Process(name, self._exeml("web", "--port", str(port), "--workers", "1", "--threads",
                                         str(self.web_threads)),
                       self.env(), self.root / name, _answers_ready, port=port)

    def _worker(self, name: str, queues: str) -> Process:
        return Process(name, self._exeml("worker", "--queues", queues, "--concurrency", "1", "--name",
                                         f"{name}-{self.run_id}"),
                       self.env(), self.root / name, _log_says(" ready."))

    def _beat(self, name: str) -> Process:
        return Process(name, self._exeml("beat"), self.env(), self.root / name, _log_says("beat: Starting"))

    def web_names(self) -> list[str]:
        return [n for n in self.processes if n.startswith("web")]

    # --- life ---------------------------------------------------------------------------------

    def start(self) -> Cluster:
        self.root.mkdir(parents=True, exist_ok=True)
        self.database_url = self._create_database()
        self._run_once("migrate", "migrate")
        self.token = self._create_tenant()
        procs = [self._web(i + 1) for i in range(self.webs)]
        procs += [self._worker(f"cpu{i + 1}", "default,train.cpu") for i in range(self.cpu_workers)]
        procs += [self._worker(f"free{i + 1}", "train.free") for i in range(self.free_workers)]
        procs += [self._beat(f"beat{i + 1}") for i in range(self.beats)]
        for p in procs:
            self.processes[p.name] = p
            p.start()
        for p in procs:
            p.wait_ready(180)
        self._start_haproxy()
        return self

    def stop(self) -> None:
        for p in reversed(list(self.processes.values())):
            try:
                p.stop()
            except Exception:  # stop every other one regardless
                pass
        self._drop_database()
        self._forget_broker_keys()

    def _forget_broker_keys(self) -> None:
        """The cluster's broker and cache keys (all under its own prefix) go with it."""
        import redis

        client = redis.Redis.from_url(os.environ["CELERY_BROKER_URL"])
        keys = list(client.scan_iter(match=f"exeml-cluster-{self.run_id}:*", count=1000))
        if keys:
            client.delete(*keys)

    def _run_once(self, name: str, *args: str) -> str:
        home = self.root / name
        home.mkdir(parents=True, exist_ok=True)
        done = subprocess.run(self._exeml(*args), cwd=REPO, env={**self.env(), "EXEML_HOME": str(home)},
                              input="cluster-pw-Quokka-42\n", capture_output=True, text=True, timeout=300)
        if done.returncode != 0:
            raise RuntimeError(f"exeml {' '.join(args)} failed:\n{done.stdout[-2000:]}\n{done.stderr[-3000:]}")
        return done.stdout

    def _create_tenant(self) -> str:
        out = self._run_once("create-tenant", "create-tenant", f"cl{self.run_id}", "--user", f"u{self.run_id}",
                             "--password-stdin")
        return out.split("API token: ")[1].split()[0]

    def _admin_url(self) -> tuple[str, str]:
        parsed = urlparse(os.environ["DATABASE_URL"])
        return urlunparse(parsed._replace(path="/postgres")), f"exeml_cluster_{self.run_id}"

    def _create_database(self) -> str:
        import psycopg

        admin, name = self._admin_url()
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return urlunparse(urlparse(os.environ["DATABASE_URL"])._replace(path=f"/{name}"))

    def _drop_database(self) -> None:
        import psycopg

        if not self.database_url:
            return
        admin, name = self._admin_url()
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    # --- the balancer ---------------------------------------------------------------------------

    @property
    def stats_socket(self) -> Path:
        return self.root / "haproxy" / "stats.sock"

    def _start_haproxy(self) -> None:
        home = self.root / "haproxy"
        home.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        servers = {n: self.processes[n].port for n in self.web_names()}
        (home / "haproxy.cfg").write_text(haproxy_config(port=self.port, servers=servers,
                                                         stats_socket=self.stats_socket))
        proc = Process("haproxy", [HAPROXY, "-db", "-f", str(home / "haproxy.cfg")], dict(os.environ), home,
                       lambda p: set(self.server_states().values()) == {"UP"}, port=self.port)
        self.processes["haproxy"] = proc
        proc.start()
        proc.wait_ready(30)

    def server_states(self) -> dict[str, str]:
        """The balancer's view of each replica: UP, DOWN, … (``show stat`` on its socket)."""
        try:
            with socket.socket(socket.AF_UNIX) as s:
                s.settimeout(2)
                s.connect(str(self.stats_socket))
                s.sendall(b"show stat\n")
                data = b""
                while chunk := s.recv(65536):
                    data += chunk
        except OSError:
            return {}
        rows = csv.DictReader(io.StringIO(data.decode().lstrip("# ")))
        return {r["svname"]: r["status"].split()[0] for r in rows
                if r["pxname"] == "web" and r["svname"] not in ("BACKEND", "FRONTEND")}

    def wait_state(self, server: str, state: str, timeout: float = 60) -> float:
        """Seconds until the balancer sees ``server`` in ``state``."""
        start = time.monotonic()
        while time.monotonic() - start < timeout:
            if self.server_states().get(server) == state:
                return time.monotonic() - start
            time.sleep(0.05)
        raise AssertionError(f"{server} not {state} after {timeout:g} s: {self.server_states()}")

    # --- faults -------------------------------------------------------------------------------

    def kill(self, name: str) -> None:
        self.processes[name].kill()

    def restart(self, name: str, timeout: float = 120) -> None:
        """Start a killed process again with the same home (and port, for a web replica)."""
        old = self.processes[name]
        old.stop()
        old.start()
        old.wait_ready(timeout)

    # --- API ----------------------------------------------------------------------------------

    def api(self, token: str | None = None, base: str | None = None) -> Api:
        return Api(base or self.url, token or self.token)

    def replica_api(self, name: str, token: str | None = None) -> Api:
        """Straight to one replica, past the balancer."""
        return Api(f"http://127.0.0.1:{self.processes[name].port}", token or self.token)


class Api:
    def __init__(self, base: str, token: str) -> None:
        self.base = base
        self.session = requests.Session()
        self.session.headers["X-Auth-Token"] = token

    def request(self, method: str, path: str, **kwargs) -> requests.Response:
        kwargs.setdefault("timeout", 60)
        return self.session.request(method, self.base + path, **kwargs)

    def get(self, path: str, **kw) -> requests.Response:
        return self.request("GET", path, **kw)

    def post(self, path: str, body=None, **kw) -> requests.Response:
        if body is not None:
            kw["json"] = body
        return self.request("POST", path, **kw)

    def patch(self, path: str, body, **kw) -> requests.Response:
        return self.request("PATCH", path, json=body, **kw)

    def delete(self, path: str, **kw) -> requests.Response:
        return self.request("DELETE", path, **kw)

    def ok(self, response: requests.Response, status: int | tuple[int, ...] = (200, 201, 202)) -> dict:
        statuses = (status,) if isinstance(status, int) else status
        assert response.status_code in statuses, f"{response.request.method} {response.url}: " \
            f"{response.status_code} {response.text[:2000]}"
        return response.json() if response.content else {}


def dumps(obj) -> str:
    return json.dumps(obj, indent=1, default=str)[:3000]
