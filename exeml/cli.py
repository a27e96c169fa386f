"""The ``exeml`` command: run the whole platform, or one process of it."""

from __future__ import annotations

import argparse
import ctypes
import errno
import fcntl
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

RUN_LOCK_FILE = "run.lock"
PR_SET_PDEATHSIG = 1  # linux/prctl.h
DEMO_TENANT = "demo"
DEMO_USER = "demo"
OPERATOR_USER = "operator"


def _setup_django() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "exeml.settings")
    import django

    django.setup()


def _prepare() -> None:
    """Migrate and make the default bucket; idempotent."""
    from django.conf import settings
    from django.core.management import call_command

    settings.EXEML_HOME.mkdir(parents=True, exist_ok=True)
    Path(settings.STATIC_ROOT).mkdir(parents=True, exist_ok=True)
    _ensure_broker_folders()
    call_command("migrate", interactive=False, verbosity=0)
    call_command("createcachetable", verbosity=0)  # only where the shared cache is a table
    from exeml.storage import default_store

    default_store().ensure_bucket(settings.EXEML_BUCKET)


def _ensure_broker_folders() -> None:
    """The embedded (filesystem) broker needs its folders before the first message."""
    from django.conf import settings

    for key in ("data_folder_in", "data_folder_out", "processed_folder", "control_folder"):
        folder = settings.CELERY_BROKER_TRANSPORT_OPTIONS.get(key)
        if folder:
            Path(folder).mkdir(parents=True, exist_ok=True)


def _kept_password(secret_file: Path, username: str) -> str:
    """The password kept in ``secret_file``; a new strong one is written there when there is
    none or the kept one fails the password validators (files from older versions)."""
    from django.contrib.auth import get_user_model

    from exeml.errors import ApplicationError
    from exeml.tenancy.services import password_check

    user = get_user_model().objects.filter(username=username).first() or get_user_model()(username=username)
    if secret_file.exists():
        password = secret_file.read_text().strip()
        try:
            password_check(password=password, user=user)
            return password
        except ApplicationError:
            pass
    while True:
        password = secrets.token_urlsafe(12)
        try:
            password_check(password=password, user=user)
            break
        except ApplicationError:  # e.g. too like the username: draw again
            continue
    secret_file.write_text(password)
    secret_file.chmod(0o600)
    return password


def _demo_login() -> tuple[str, str, str]:
    """Create the demo tenant and user once; the password is kept in EXEML_HOME."""
    from django.conf import settings

    from exeml.tenancy import services
    from exeml.tenancy.models import Role

    secret_file = settings.EXEML_HOME / "demo-login.txt"
    first_time = not secret_file.exists()
    password = _kept_password(secret_file, DEMO_USER)
    tenant = services.tenant_create(slug=DEMO_TENANT, name="Demo")
    user, _ = services.member_add(tenant=tenant, username=DEMO_USER, password=password, role=Role.OWNER)
    if user.is_staff or user.is_superuser:
        # A tenant's owner must not read every tenant's data and secrets: /admin/ has its own
        # operator account (earlier versions made the demo owner a superuser).
        user.is_staff = user.is_superuser = False
        user.save(update_fields=["is_staff", "is_superuser"])
    token = services.token_issue(user=user, tenant=tenant, name="exeml run")
    if first_time:
        _install_demo_data(tenant, user)
    return DEMO_USER, password, token


def _operator_login() -> tuple[str, str]:
    """The platform operator (/admin/), apart from every tenant; password kept in EXEML_HOME."""
    from django.conf import settings
    from django.contrib.auth import get_user_model

    password = _kept_password(settings.EXEML_HOME / "operator-login.txt", OPERATOR_USER)
    user, _ = get_user_model().objects.get_or_create(username=OPERATOR_USER)
    if not (user.is_staff and user.is_superuser) or not user.check_password(password):
        user.is_staff = user.is_superuser = True
        user.set_password(password)
        user.save()
    return OPERATOR_USER, password


def _install_demo_data(tenant, user) -> None:
    from django.core.management import call_command

    try:
        call_command("demo_install", tenant=tenant.slug, user=user.username)
    except Exception as exc:  # demo data is a convenience; never block startup on it
        print(f"warning: demo data not installed: {exc}", file=sys.stderr)


def _celery(*args: str) -> list[str]:
    return [sys.executable, "-m", "celery", "-A", "exeml.celery", *args]


def _worker_cmd(queues: str, concurrency: int, name: str) -> list[str]:
    return _celery("worker", "-Q", queues, "-c", str(concurrency), "-n", f"{name}@%h", "--loglevel", "INFO",
                   "--without-gossip", "--without-mingle")


def _beat_cmd() -> list[str]:
    from django.conf import settings

    settings.EXEML_HOME.mkdir(parents=True, exist_ok=True)
    schedule = settings.EXEML_HOME / "celerybeat-schedule"
    return _celery("beat", "--loglevel", "INFO", "-s", str(schedule))


def _web_cmd(host: str, port: int, workers: int, threads: int, access_log: bool = False) -> list[str]:
    # No access log by default: formatting and writing a line costs each inference request
    # CPU that the prediction competes for (calls are counted in the service's metrics).
    return [
        sys.executable, "-m", "gunicorn", "exeml.wsgi:application",
        "--bind", f"{host}:{port}", "--workers", str(workers), "--threads", str(threads),
        "--worker-class", os.environ.get("EXEML_WEB_WORKER_CLASS", "exeml.web_worker.KeepAliveThreadWorker"),
        "--timeout", "120", "--graceful-timeout", "10",
        *(["--access-logfile", "-"] if access_log else []),
    ]


def _lock_home(home: Path) -> int | str:
    """One ``exeml run`` per EXEML_HOME: an exclusive flock on ``home/run.lock``, which holds
    our pid. Returns the lock's descriptor, or (when another run holds it) the message to show.

    The children inherit the descriptor, so the lock is held until the last process of this
    run is gone (a second beat or worker on the same database and broker is what the lock
    prevents, even while the old ones are still stopping); the kernel releases it when they
    die, however they die, so a stale file never blocks a start."""
    home.mkdir(parents=True, exist_ok=True)
    fd = os.open(home / RUN_LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        holder = os.read(fd, 32).decode(errors="replace").strip() or "unknown"
        os.close(fd)
        if holder.isdigit() and not _pid_alive(int(holder)):
            return (f"exeml: an earlier `exeml run` (pid {holder}, gone now) on {home} still has processes "
                    f"stopping; try again in a few seconds")
        return (f"exeml: ExeML is already running on {home} (pid {holder}); stop it first (Ctrl-C there, "
                f"or `kill {holder}`), or give this one another EXEML_HOME")
    os.ftruncate(fd, 0)
    os.write(fd, f"{os.getpid()}\n".encode())
    return fd


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _port_taken(host: str, port: int) -> str | None:
    """Why the web cannot listen on host:port, or None. Checked before the children start, so
    a port another program holds stops us at once instead of the web restarting in a loop."""
    try:
        family, kind, proto, _, address = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0]
        with socket.socket(family, kind, proto) as probe:
            # gunicorn sets it too: a connection of an earlier run in TIME_WAIT is no conflict.
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            probe.bind(address)
    except OSError as exc:
        if exc.errno == errno.EADDRINUSE:
            return f"exeml: port {port} on {host} is already in use by another program; stop it or pass --port"
        return f"exeml: cannot listen on {host}:{port}: {exc.strerror or exc}"
    return None


def _die_with_parent():
    """A preexec_fn that has the kernel send the child SIGTERM when we die, even by SIGKILL
    (Linux's parent-death signal), so a killed ``exeml run`` leaves no web, worker or beat
    behind; each then stops as on Ctrl-C. None elsewhere."""
    if not sys.platform.startswith("linux"):
        return None
    prctl = ctypes.CDLL(None, use_errno=True).prctl  # looked up here: the child only calls it
    parent = os.getpid()

    def preexec() -> None:
        prctl(PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)
        if os.getppid() != parent:  # we died between the fork and the prctl
            os.kill(os.getpid(), signal.SIGTERM)

    return preexec


class _Child:
    """One supervised process: restarted with backoff when it dies, stopped gracefully."""

    def __init__(self, name: str, command: list[str], lock_fd: int | None = None) -> None:
        self.name, self.command, self.lock_fd = name, command, lock_fd
        self.proc: subprocess.Popen | None = None
        self.started = 0.0
        self.next_start = 0.0
        self.backoff = 1.0

    def start(self) -> None:
        # Each child leads its own process group: Ctrl-C in the terminal reaches only us, and
        # we decide how each child stops. It dies with us, and holds the home's lock with us.
        self.proc = subprocess.Popen(
            self.command, start_new_session=True, preexec_fn=_die_with_parent(),
            pass_fds=() if self.lock_fd is None else (self.lock_fd,),
        )
        self.started = time.monotonic()

    def check(self) -> None:
        """Restart a child that died (after a growing pause), never stopping the others."""
        now = time.monotonic()
        if self.proc is not None and self.proc.poll() is not None:
            code = self.proc.returncode
            _killpg(self.proc.pid, signal.SIGKILL)  # orphans of a killed main process (pool children)
            if now - self.started > 60:
                self.backoff = 1.0  # it had been running fine: a new failure starts small
            print(f"exeml: {self.name} exited ({_exit_text(code)}); restarting it in {self.backoff:.0f} s",
                  file=sys.stderr, flush=True)
            self.proc, self.next_start = None, now + self.backoff
            self.backoff = min(self.backoff * 2, 60.0)
        if self.proc is None and now >= self.next_start:
            self.start()


def _exit_text(code: int) -> str:
    return f"signal {-code}" if code < 0 else f"code {code}"


def _killpg(pid: int, sig: int) -> None:
    try:
        os.killpg(pid, sig)
    except (ProcessLookupError, PermissionError):
        pass


def _terminate(children: list[_Child], grace: float) -> None:
    """SIGTERM to each main process only: Celery's warm shutdown (running tasks may finish),
    gunicorn's graceful stop. Pool processes are not signalled, so nothing logs an error for
    them. Whatever still runs after ``grace`` seconds is killed with its process group."""
    running = [c.proc for c in children if c.proc is not None and c.proc.poll() is None]
    for proc in running:
        try:
            os.kill(proc.pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
    deadline = time.monotonic() + grace
    for proc in running:
        try:
            proc.wait(max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            pass
    late = [p for p in running if p.poll() is None]
    for proc in running:
        _killpg(proc.pid, signal.SIGKILL)  # leftovers of the group, and the late ones
        proc.wait()
    if late:
        _hand_back_trainings()


def _hand_back_trainings() -> None:
    """Trainings cut by the operator's stop go back to the queue instead of being failed."""
    from django.core.management import call_command

    try:
        call_command("trainings_hand_back")
    except Exception as exc:  # never block the stop on this
        print(f"exeml: could not hand trainings back to the queue: {exc}", file=sys.stderr)


def cmd_run(args: argparse.Namespace) -> int:
    _setup_django()
    from django.conf import settings

    from exeml.queues import Queue

    lock = _lock_home(settings.EXEML_HOME)
    if isinstance(lock, str):
        print(lock, file=sys.stderr)
        return 1
    taken = _port_taken(args.host, args.port)
    if taken:
        print(taken, file=sys.stderr)
        return 1
    _prepare()
    username, password, token = _demo_login()
    operator, operator_password = _operator_login()
    url = f"http://{args.host}:{args.port}"
    print(
        f"\nExeML is starting at {url}/\n"
        f"  console login : {username} / {password}\n"
        f"  API token     : {token}   (header 'X-Auth-Token: {token}')\n"
        f"  admin panel   : {url}/admin/ as {operator} / {operator_password} (the platform operator)\n"
        f"  API docs      : {url}/api/docs/   health: {url}/healthz\n"
        f"  data home     : {settings.EXEML_HOME}\n",
        flush=True,
    )
    main_queues = ",".join([Queue.DEFAULT, Queue.TRAIN_CPU, Queue.TRAIN_GPU])
    children = [
        _Child("web", _web_cmd(args.host, args.port, args.web_workers, args.web_threads, args.access_log), lock),
        _Child("worker main", _worker_cmd(main_queues, args.concurrency, "main"), lock),
        # The free queue runs one job at a time: its own single-slot worker.
        _Child("worker free", _worker_cmd(Queue.TRAIN_FREE, 1, "free"), lock),
        _Child("beat", _beat_cmd(), lock),
    ]
    stopping = False

    def _stop(signum, frame):
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, _stop)
    signal.signal(signal.SIGTERM, _stop)
    try:
        while not stopping:
            for child in children:
                if not stopping:
                    child.check()
            time.sleep(0.5)
    finally:
        print(f"exeml: stopping (running tasks get up to {args.grace:g} s to finish)…", flush=True)
        _terminate(children, args.grace)
        print("exeml: stopped", flush=True)
    return 0


def _read_password(args: argparse.Namespace) -> str:
    """--password-stdin: the first line of stdin; else a prompt, twice. Never argv alone: a
    command line shows in process lists and shell history (create-tenant's --password stays
    for scripts written before)."""
    if getattr(args, "password", None):
        return args.password
    if args.password_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    import getpass

    password = getpass.getpass("Password: ")
    if getpass.getpass("Password (again): ") != password:
        raise SystemExit("exeml: the two passwords differ; nothing was changed")
    return password


def cmd_create_tenant(args: argparse.Namespace) -> int:
    _setup_django()
    from django.contrib.auth import get_user_model

    from exeml.errors import ApplicationError
    from exeml.tenancy import services

    password = _read_password(args)
    _prepare()
    # Checked before anything is created: a refused password leaves no tenant behind.
    user = get_user_model().objects.filter(username=args.user).first() or get_user_model()(username=args.user)
    try:
        services.password_check(password=password, user=user)
    except ApplicationError as exc:
        print(f"exeml: password refused: {exc.message}", file=sys.stderr)
        return 2
    tenant = services.tenant_create(slug=args.slug, name=args.name or args.slug)
    user, membership = services.member_add(tenant=tenant, username=args.user, password=password, role=args.role)
    token = services.token_issue(user=user, tenant=tenant, name="cli")
    print(f"tenant {tenant.slug}: user {user.username} ({membership.role})")
    print(f"API token: {token}")
    return 0


def cmd_set_password(args: argparse.Namespace) -> int:
    """The operator's password reset for any user (a tenant's or the operator)."""
    _setup_django()
    from django.contrib.auth import get_user_model

    from exeml.errors import ApplicationError
    from exeml.tenancy import services

    user = get_user_model().objects.filter(username=args.username).first()
    if user is None:
        print(f"exeml: no user named {args.username!r}", file=sys.stderr)
        return 2
    password = _read_password(args)
    try:
        services.password_set(user=user, password=password)
    except ApplicationError as exc:
        print(f"exeml: password refused: {exc.message}", file=sys.stderr)
        return 2
    print(f"password of {user.username} set; their console sessions are signed out (API tokens stay valid)")
    return 0


def cmd_worker(args: argparse.Namespace) -> int:
    _setup_django()
    _ensure_broker_folders()
    os.execv(sys.executable, _worker_cmd(args.queues, args.concurrency, args.name))
    return 0


def cmd_web(args: argparse.Namespace) -> int:
    """One web replica (gunicorn), nothing else: several of them behind a load balancer, each
    on its own host, is the cluster shape (docs/operations.md). Run `exeml migrate` once first."""
    _setup_django()
    os.execv(sys.executable, _web_cmd(args.host, args.port, args.workers, args.threads, args.access_log))
    return 0


def cmd_beat(args: argparse.Namespace) -> int:
    _setup_django()
    _ensure_broker_folders()
    os.execv(sys.executable, _beat_cmd())
    return 0


def cmd_migrate(args: argparse.Namespace) -> int:
    _setup_django()
    _prepare()
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="exeml", description="ExeML AutoML platform")
    sub = parser.add_subparsers(dest="command", required=True)

    run = sub.add_parser("run", help="migrate, create the demo login, run web + workers + beat")
    run.add_argument("--host", default="127.0.0.1")
    run.add_argument("--port", type=int, default=8000)
    run.add_argument("--concurrency", type=int, default=2, help="slots of the main worker")
    # One web process per core, so concurrent clients use every core (not one GIL).
    run.add_argument("--web-workers", type=int, default=int(os.environ.get("EXEML_WEB_WORKERS", os.cpu_count() or 1)))
    run.add_argument("--web-threads", type=int, default=int(os.environ.get("EXEML_WEB_THREADS", "8")))
    run.add_argument("--access-log", action="store_true",
                     default=os.environ.get("EXEML_WEB_ACCESS_LOG", "").lower() in ("1", "true", "yes"),
                     help="log every HTTP request to stdout (EXEML_WEB_ACCESS_LOG)")
    run.add_argument("--grace", type=float, default=float(os.environ.get("EXEML_STOP_GRACE_SECONDS", "30")),
                     help="seconds running tasks get to finish on stop (EXEML_STOP_GRACE_SECONDS)")
    run.set_defaults(func=cmd_run)

    tenant = sub.add_parser("create-tenant", help="create a tenant and user and print an API token")
    tenant.add_argument("slug")
    tenant.add_argument("--name", default="")
    tenant.add_argument("--user", required=True)
    tenant.add_argument("--password-stdin", action="store_true", help="read the password from stdin's first line")
    tenant.add_argument("--password", help="the password on the command line (visible to other users: prefer "
                        "--password-stdin or the prompt)")
    tenant.add_argument("--role", default="owner", choices=["owner", "admin", "member", "viewer"])
    tenant.set_defaults(func=cmd_create_tenant)

    setpw = sub.add_parser("set-password", help="set a user's password (prompted, or --password-stdin)")
    setpw.add_argument("username")
    setpw.add_argument("--password-stdin", action="store_true", help="read the password from stdin's first line")
    setpw.set_defaults(func=cmd_set_password)

    worker = sub.add_parser("worker", help="run a Celery worker")
    worker.add_argument("--queues", default="default,train.cpu,train.gpu")
    worker.add_argument("--concurrency", type=int, default=2)
    worker.add_argument("--name", default="worker")
    worker.set_defaults(func=cmd_worker)

    web = sub.add_parser("web", help="run one web replica (gunicorn); `exeml migrate` first")
    web.add_argument("--host", default="127.0.0.1")
    web.add_argument("--port", type=int, default=8000)
    web.add_argument("--workers", type=int, default=int(os.environ.get("EXEML_WEB_WORKERS", os.cpu_count() or 1)))
    web.add_argument("--threads", type=int, default=int(os.environ.get("EXEML_WEB_THREADS", "8")))
    web.add_argument("--access-log", action="store_true",
                     default=os.environ.get("EXEML_WEB_ACCESS_LOG", "").lower() in ("1", "true", "yes"))
    web.set_defaults(func=cmd_web)

    beat = sub.add_parser("beat", help="run Celery beat (auto-stop, reapers); a second one stands by (exeml/beat.py)")
    beat.set_defaults(func=cmd_beat)

    migrate = sub.add_parser("migrate", help="apply migrations and create the default bucket")
    migrate.set_defaults(func=cmd_migrate)

    # The SDK's commands (login, train, …): the exeml-client distribution (clients/python/).
    from exeml_client.cli import register as register_client_commands

    register_client_commands(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    raise SystemExit(main())
