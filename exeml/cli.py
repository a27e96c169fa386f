"""The ``exeml`` command: run the whole platform, or one process of it."""

from __future__ import annotations

import argparse
import os
import secrets
import signal
import subprocess
import sys
import time
from pathlib import Path

DEMO_TENANT = "demo"
DEMO_USER = "demo"


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
    from exeml.storage import default_store

    default_store().ensure_bucket(settings.EXEML_BUCKET)


def _ensure_broker_folders() -> None:
    """The embedded (filesystem) broker needs its folders before the first message."""
    from django.conf import settings

    for key in ("data_folder_in", "data_folder_out", "processed_folder", "control_folder"):
        folder = settings.CELERY_BROKER_TRANSPORT_OPTIONS.get(key)
        if folder:
            Path(folder).mkdir(parents=True, exist_ok=True)


def _demo_login() -> tuple[str, str, str]:
    """Create the demo tenant and user once; the password is kept in EXEML_HOME."""
    from django.conf import settings

    from exeml.tenancy import services
    from exeml.tenancy.models import Role

    secret_file = settings.EXEML_HOME / "demo-login.txt"
    first_time = not secret_file.exists()
    if first_time:
        password = secrets.token_urlsafe(9)
        secret_file.write_text(password)
        secret_file.chmod(0o600)
    else:
        password = secret_file.read_text().strip()
    tenant = services.tenant_create(slug=DEMO_TENANT, name="Demo")
    user, _ = services.member_add(tenant=tenant, username=DEMO_USER, password=password, role=Role.OWNER)
    if not user.is_staff:
        user.is_staff = user.is_superuser = True  # the demo owner also runs the admin panel
        user.save(update_fields=["is_staff", "is_superuser"])
    token = services.token_issue(user=user, tenant=tenant, name="exeml run")
    if first_time:
        _install_demo_data(tenant, user)
    return DEMO_USER, password, token


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


def _web_cmd(host: str, port: int, workers: int, threads: int) -> list[str]:
    return [
        sys.executable, "-m", "gunicorn", "exeml.wsgi:application",
        "--bind", f"{host}:{port}", "--workers", str(workers), "--threads", str(threads),
        "--worker-class", "gthread", "--timeout", "120", "--graceful-timeout", "10",
        "--access-logfile", "-",
    ]


def _terminate(children: list[subprocess.Popen], timeout: float = 20.0) -> None:
    for child in children:
        if child.poll() is None:
            try:
                os.killpg(child.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
    deadline = time.monotonic() + timeout
    for child in children:
        remaining = max(0.1, deadline - time.monotonic())
        try:
            child.wait(remaining)
        except subprocess.TimeoutExpired:
            try:
                os.killpg(child.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            child.wait()


def cmd_run(args: argparse.Namespace) -> int:
    _setup_django()
    from django.conf import settings

    from exeml.queues import Queue

    _prepare()
    username, password, token = _demo_login()
    url = f"http://{args.host}:{args.port}"
    print(
        f"\nExeML is starting at {url}/\n"
        f"  console login : {username} / {password}\n"
        f"  API token     : {token}   (header 'X-Auth-Token: {token}')\n"
        f"  admin panel   : {url}/admin/   API docs: {url}/api/docs/   health: {url}/healthz\n"
        f"  data home     : {settings.EXEML_HOME}\n",
        flush=True,
    )
    main_queues = ",".join([Queue.DEFAULT, Queue.TRAIN_CPU, Queue.TRAIN_GPU])
    commands = [
        _web_cmd(args.host, args.port, args.web_workers, args.web_threads),
        _worker_cmd(main_queues, args.concurrency, "main"),
        # The free queue runs one job at a time: its own single-slot worker.
        _worker_cmd(Queue.TRAIN_FREE, 1, "free"),
        _beat_cmd(),
    ]
    children: list[subprocess.Popen] = []
    stopping = False

    def _stop(signum, frame):
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, _stop)
    signal.signal(signal.SIGTERM, _stop)
    try:
        for command in commands:
            # Each child leads its own process group so Ctrl-C reaches its children too.
            children.append(subprocess.Popen(command, start_new_session=True))
        while not stopping:
            for child in children:
                if child.poll() is not None:
                    print(f"exeml: a process exited ({' '.join(child.args[:6])}…): code {child.returncode}",
                          file=sys.stderr)
                    stopping = True
                    break
            time.sleep(0.5)
    finally:
        print("exeml: stopping…", flush=True)
        _terminate(children)
    return 0


def cmd_create_tenant(args: argparse.Namespace) -> int:
    _setup_django()
    from exeml.tenancy import services

    _prepare()
    tenant = services.tenant_create(slug=args.slug, name=args.name or args.slug)
    user, membership = services.member_add(tenant=tenant, username=args.user, password=args.password, role=args.role)
    token = services.token_issue(user=user, tenant=tenant, name="cli")
    print(f"tenant {tenant.slug}: user {user.username} ({membership.role})")
    print(f"API token: {token}")
    return 0


def cmd_worker(args: argparse.Namespace) -> int:
    _setup_django()
    _ensure_broker_folders()
    os.execv(sys.executable, _worker_cmd(args.queues, args.concurrency, args.name))
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
    run.add_argument("--web-workers", type=int, default=1)
    run.add_argument("--web-threads", type=int, default=8)
    run.set_defaults(func=cmd_run)

    tenant = sub.add_parser("create-tenant", help="create a tenant and user and print an API token")
    tenant.add_argument("slug")
    tenant.add_argument("--name", default="")
    tenant.add_argument("--user", required=True)
    tenant.add_argument("--password", required=True)
    tenant.add_argument("--role", default="owner", choices=["owner", "admin", "member", "viewer"])
    tenant.set_defaults(func=cmd_create_tenant)

    worker = sub.add_parser("worker", help="run a Celery worker")
    worker.add_argument("--queues", default="default,train.cpu,train.gpu")
    worker.add_argument("--concurrency", type=int, default=2)
    worker.add_argument("--name", default="worker")
    worker.set_defaults(func=cmd_worker)

    beat = sub.add_parser("beat", help="run Celery beat (auto-stop, reaper)")
    beat.set_defaults(func=cmd_beat)

    migrate = sub.add_parser("migrate", help="apply migrations and create the default bucket")
    migrate.set_defaults(func=cmd_migrate)

    from exeml.client.cli import register as register_client_commands  # SDK commands: login, train, …

    register_client_commands(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    raise SystemExit(main())
