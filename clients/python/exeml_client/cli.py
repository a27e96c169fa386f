"""``exeml`` subcommands over the SDK: login, projects, upload, train, versions, deploy,
services, predict, download. The platform's ``exeml`` command carries them beside ``exeml run``;
installed alone (``pip install clients/python``) they are the ``exeml-client`` command.

Exit codes (scripts test them):
  0  success
  1  the API refused (4xx other than 401/403, 5xx), or waited-for work failed
  2  usage error (bad arguments, missing file, no platform configured)
  3  authentication or permission (401, 403; a 403 quota_exceeded is 1)
  4  timeout or connection failure (platform unreachable, a --wait that ran out of time)

Tables and progress go to stderr/stdout as text; ``--json`` prints the API's JSON on
stdout and nothing else there.
"""

from __future__ import annotations

import argparse
import getpass
import json
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from exeml_client.client import CONFIG_PATH, Client, Config, load_config, save_config
from exeml_client.errors import (
    ApiError,
    AuthError,
    ConnectionFailed,
    ExeMLError,
    Failed,
    QuotaExceeded,
    WaitTimeout,
)
from exeml_client.types import Job, ModelVersion

EXIT_OK, EXIT_API, EXIT_USAGE, EXIT_AUTH, EXIT_TIMEOUT = 0, 1, 2, 3, 4


class Progress:
    """A plain-text progress bar on stderr: redrawn in place on a terminal, one line per
    tenth otherwise (logs stay short)."""

    def __init__(self, label: str, *, enabled: bool = True, width: int = 30) -> None:
        self.label = label
        self.enabled = enabled
        self.width = width
        self.tty = sys.stderr.isatty()
        self._last_step = -1
        self._last_text = ""

    def update(self, fraction: float, suffix: str = "") -> None:
        if not self.enabled:
            return
        fraction = min(1.0, max(0.0, fraction))
        filled = int(round(fraction * self.width))
        text = f"{self.label} [{'#' * filled}{'.' * (self.width - filled)}] {fraction * 100:5.1f}% {suffix}".rstrip()
        if self.tty:
            sys.stderr.write("\r" + text.ljust(len(self._last_text)))
            sys.stderr.flush()
        else:
            step = int(fraction * 10)
            if step != self._last_step or (fraction >= 1.0 and text != self._last_text):
                print(text, file=sys.stderr, flush=True)
                self._last_step = step
        self._last_text = text

    def close(self) -> None:
        if self.enabled and self.tty and self._last_text:
            sys.stderr.write("\n")
            sys.stderr.flush()


def _duration(seconds: float) -> str:
    seconds = int(seconds)
    if seconds < 60:
        return f"{seconds} s"
    if seconds < 3600:
        return f"{seconds // 60} min {seconds % 60:02d} s"
    return f"{seconds // 3600} h {seconds % 3600 // 60:02d} min"


def _size(n: float) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if n < 1024 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} GB"


def _out(args: argparse.Namespace, data: Any, text: Callable[[], str] | str | None = None) -> None:
    if args.json:
        print(json.dumps(data, indent=2, default=str))
    elif text is not None:
        print(text() if callable(text) else text)


def _table(rows: list[list[Any]], header: list[str]) -> str:
    cells = [header, *[[("" if c is None else str(c)) for c in row] for row in rows]]
    widths = [max(len(row[i]) for row in cells) for i in range(len(header))]
    return "\n".join("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip() for row in cells)


def _client(args: argparse.Namespace) -> Client:
    config = load_config()
    url = args.url or os.environ.get("EXEML_URL") or (config.url if config else "")
    token = args.token or os.environ.get("EXEML_TOKEN") or (config.token if config else "")
    if not url or not token:
        raise _Usage("no platform configured: run `exeml login`, or set EXEML_URL and EXEML_TOKEN")
    return Client(url, token, timeout=args.http_timeout)


class _Usage(Exception):
    pass


def _main(handler: Callable[[argparse.Namespace], int | None]) -> Callable[[argparse.Namespace], int]:
    """Run a command, turning every failure into a message on stderr and its exit code."""

    def run(args: argparse.Namespace) -> int:
        try:
            return handler(args) or EXIT_OK
        except _Usage as exc:
            print(f"exeml: {exc}", file=sys.stderr)
            return EXIT_USAGE
        except (FileNotFoundError, IsADirectoryError, ValueError) as exc:
            print(f"exeml: {exc}", file=sys.stderr)
            return EXIT_USAGE
        except QuotaExceeded as exc:
            _api_error(args, exc)
            return EXIT_API
        except AuthError as exc:
            _api_error(args, exc)
            return EXIT_AUTH
        except ApiError as exc:
            _api_error(args, exc)
            return EXIT_API
        except (WaitTimeout, ConnectionFailed) as exc:
            print(f"exeml: {exc}", file=sys.stderr)
            return EXIT_TIMEOUT
        except Failed as exc:
            print(f"exeml: {exc}", file=sys.stderr)
            if args.json and getattr(exc.last, "raw", None):
                print(json.dumps(exc.last.raw, indent=2, default=str))
            return EXIT_API
        except ExeMLError as exc:
            print(f"exeml: {exc}", file=sys.stderr)
            return EXIT_USAGE
        except KeyboardInterrupt:
            print("exeml: interrupted", file=sys.stderr)
            return 130

    return run


def _api_error(args: argparse.Namespace, exc: ApiError) -> None:
    print(f"exeml: {exc.status} {exc.detail}" + (f" [{exc.code}]" if exc.code else ""), file=sys.stderr)
    for field, reasons in exc.fields.items():
        if len(exc.fields) > 1:
            print(f"  {field}: {' '.join(reasons)}", file=sys.stderr)
    if args.json:
        print(json.dumps({"error": {"status": exc.status, "code": exc.code, "detail": exc.detail,
                                    "fields": exc.fields}}, indent=2))


# --- Commands ------------------------------------------------------------------------------


def cmd_login(args: argparse.Namespace) -> int:
    url = args.url or os.environ.get("EXEML_URL") or (load_config().url if load_config() else "")
    if not url:
        raise _Usage("give the platform's address: exeml login --url http://host:8000")
    token = args.token or os.environ.get("EXEML_TOKEN")
    if token:
        client = Client(url, token, timeout=args.http_timeout)
    else:
        username = args.username or input("username: ")
        password = os.environ.get("EXEML_PASSWORD") or getpass.getpass("password: ")
        client = Client.login(url, username, password, timeout=args.http_timeout)
    me = client.me()  # proves the token works before it is saved
    path = save_config(Config(client.url, str(client.token)))
    _out(args, {"url": client.url, "config": str(path), "user": me.get("user"), "tenant": me.get("tenant"),
                "role": me.get("role")},
         f"logged in to {client.url} as {me['user']['username']} ({me['role']}) in tenant "
         f"{me['tenant']['slug']}; saved to {path}")
    return EXIT_OK


def cmd_projects_ls(args: argparse.Namespace) -> int:
    projects = list(_client(args).projects(search=args.search, type=args.type))
    _out(args, [p.raw for p in projects], lambda: _table(
        [[p.name, p.type, p.status, p.id] for p in projects], ["NAME", "TYPE", "STATUS", "ID"]))
    return EXIT_OK


def cmd_projects_create(args: argparse.Namespace) -> int:
    client = _client(args)
    labels = [name for group in args.label or [] for name in group.split(",") if name]
    project = client.create_project(args.name, args.type, description=args.description, labels=labels,
                                    input_path=args.input_path, output_path=args.output_path,
                                    training_data=args.training_data, csv=args.csv)
    _out(args, project.raw, f"created project {project.name} ({project.type}) {project.id}")
    return EXIT_OK


def cmd_projects_show(args: argparse.Namespace) -> int:
    project = _client(args).project(args.project)
    _out(args, project.raw, lambda: json.dumps(project.raw, indent=2, default=str))
    return EXIT_OK


def cmd_projects_rm(args: argparse.Namespace) -> int:
    client = _client(args)
    client.delete_project(args.project)
    _out(args, {"deleted": args.project}, f"deleted project {args.project}")
    return EXIT_OK


def cmd_upload(args: argparse.Namespace) -> int:
    client = _client(args)
    project = client.project(args.project)
    dataset_id = project.dataset_id
    source = Path(args.path)
    if not source.exists():
        raise _Usage(f"{source} does not exist")
    if project.type == "predictive_analytics":
        # The CSV goes to storage where the dataset reads it, then the dataset synchronizes.
        if not source.is_file():
            raise _Usage("a predictive analytics project takes one CSV file")
        target = project.training_data or ""
        info = client.put_object(target, source, overwrite=True)
        job = client.sync(str(dataset_id), timeout=args.timeout)
        _out(args, {"object": info, "job": job.raw}, f"put {source} at {target}; synchronized ({job.status})")
        return EXIT_OK
    bar = Progress(f"upload {source.name}", enabled=not args.quiet)

    def progress(files: int, total_files: int, done: int, total: int) -> None:
        bar.update(done / total if total else 1.0, f"{files}/{total_files} files {_size(done)}/{_size(total)}")

    importing = Progress("import", enabled=not args.quiet)
    sending = [True]  # the send bar's line is ended before the import bar starts

    def imported(job: Job, done: int, total: int) -> None:
        # Larger requests are imported by the server in the background: their jobs, one by one.
        if sending[0]:
            bar.close()
            sending[0] = False
        counts = job.counts or {}
        eta = counts.get("eta_seconds")
        left = f", about {_duration(eta)} left" if job.status == "running" and eta else ""
        rows = f"{counts.get('samples_written', 0):,} samples" if counts.get("samples_written") else job.status or ""
        fraction = (done + (job.progress or 0.0)) / total if total else 1.0
        importing.update(min(1.0, fraction), f"job {min(done + 1, total)}/{total}: {rows}{left}")

    try:
        try:
            result = client.upload(str(dataset_id), source, on_progress=progress, on_import=imported,
                                   labels_from_folders=args.labels_from_folders, timeout=args.timeout or 3600)
        finally:
            if sending[0]:
                bar.close()
    finally:
        importing.close()
    for rejected in result.rejected:
        print(f"  refused {rejected.get('file')}: {rejected.get('reason')}", file=sys.stderr)
    data = {"accepted": result.accepted, "rejected": result.rejected}
    _out(args, data, f"{len(result.accepted)} files added, {len(result.rejected)} refused")
    if not result.accepted and result.rejected:
        return EXIT_API
    return EXIT_OK


def cmd_sync(args: argparse.Namespace) -> int:
    client = _client(args)
    project = client.project(args.project)
    bar = Progress(f"sync {project.name}", enabled=not args.quiet)

    def progress(job: Job) -> None:
        bar.update(job.progress or 0.0, job.status or "")

    try:
        job = client.sync(str(project.dataset_id), wait=True, timeout=args.timeout, on_progress=progress)
    finally:
        bar.close()
    _out(args, job.raw, f"sync {job.status}: {json.dumps(job.counts or {})}")
    return EXIT_OK


def _version_progress(label: str, quiet: bool) -> tuple[Progress, Callable[[ModelVersion], None]]:
    bar = Progress(label, enabled=not quiet)

    def progress(version: ModelVersion) -> None:
        phase = version.phase or ""
        queued = f" queue #{version.queue_position}" if version.queue_position else ""
        bar.label = f"{label} {version.name}"
        bar.update(float(version.progress or 0.0), f"{version.status} {phase}{queued}".strip())

    return bar, progress


def cmd_train(args: argparse.Namespace) -> int:
    client = _client(args)
    bar, progress = _version_progress("train", args.quiet or not args.wait)
    try:
        version = client.train(args.project, max_minutes=args.max_minutes, preference=args.preference,
                               train_ratio=args.train_ratio, flavor=args.flavor, wait=args.wait,
                               on_progress=progress, timeout=args.timeout, poll=args.poll)
    finally:
        bar.close()
    _out(args, version.raw, lambda: _version_text(version))
    return EXIT_OK


def _version_text(version: ModelVersion) -> str:
    metrics = ", ".join(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}"
                        for k, v in (version.metrics or {}).items() if not isinstance(v, dict | list))
    return f"{version.name} {version.status}" + (f": {metrics}" if metrics else "") + (
        f" ({version.error})" if version.error else "")


def cmd_versions(args: argparse.Namespace) -> int:
    client = _client(args)
    versions = list(client.versions(args.project))
    _out(args, [v.raw for v in versions], lambda: _table(
        [[v.name, v.status, f"{(v.progress or 0) * 100:.0f}%", _metric(v), v.id] for v in versions],
        ["VERSION", "STATUS", "PROGRESS", "METRIC", "ID"]))
    return EXIT_OK


def _metric(version: ModelVersion) -> str:
    metrics = version.metrics or {}
    for key in ("accuracy", "f1", "map", "mAP", "r2", "rmse"):
        if isinstance(metrics.get(key), int | float):
            return f"{key}={metrics[key]:.4g}"
    return ""


def cmd_evaluation(args: argparse.Namespace) -> int:
    data = _client(args).evaluation(args.project, args.version)
    _out(args, data, lambda: json.dumps(data, indent=2, default=str))
    return EXIT_OK


def cmd_deploy(args: argparse.Namespace) -> int:
    client = _client(args)
    service = client.deploy(args.project, args.version, flavor=args.flavor, name=args.name, hours=args.hours,
                            auto_stop=False if args.no_auto_stop else None, idle_minutes=args.idle_minutes)
    if args.wait:
        if not args.quiet:
            print(f"deploying {service.name} …", file=sys.stderr)
        service = client.wait_service(str(service.id), timeout=args.timeout)
    _out(args, service.raw, f"service {service.name} {service.status}: {service.url}\n  id {service.id}")
    return EXIT_OK


def cmd_services_ls(args: argparse.Namespace) -> int:
    services = list(_client(args).services(project=args.project))
    _out(args, [s.raw for s in services], lambda: _table(
        [[s.name, s.status, s.task_type, (s.auto_stop or {}).get("idle_minutes") or "", s.stop_at or "", s.id]
         for s in services], ["NAME", "STATUS", "TYPE", "IDLE-MIN", "STOP-AT", "ID"]))
    return EXIT_OK


def cmd_services_action(args: argparse.Namespace) -> int:
    client = _client(args)
    if args.action == "stop":
        service = client.stop_service(args.service)
    elif args.action == "rm":
        client.delete_service(args.service)
        _out(args, {"deleted": args.service}, f"deleted service {args.service}")
        return EXIT_OK
    elif args.action == "start":
        service = client.start_service(args.service, hours=args.hours, idle_minutes=args.idle_minutes,
                                       auto_stop=False if args.no_auto_stop else None, wait=args.wait,
                                       timeout=args.timeout)
    else:  # show
        service = client.service(args.service)
    _out(args, service.raw, f"service {service.name} {service.status}")
    return EXIT_OK


def cmd_predict(args: argparse.Namespace) -> int:
    client = _client(args)
    given = [x for x in (args.file or None, args.text, args.records) if x is not None]
    if len(given) != 1:
        raise _Usage("give exactly one of FILE…, --text or --records")
    if args.records is not None:
        records = json.loads(Path(args.records).read_text() if args.records != "-" else sys.stdin.read())
        if isinstance(records, dict):
            records = [records]
        if not isinstance(records, list) or not all(isinstance(r, dict) for r in records):
            raise _Usage("--records takes a JSON list of objects ({\"attr_1\": \"58\", ...})")
        answer = client.predict(args.service, records=records)
    elif args.text is not None:
        answer = client.predict(args.service, text=args.text)
    elif len(args.file) == 1:
        answer = client.predict(args.service, args.file[0])
    else:  # several files: one answer each, in order; a refused file gets its error in place
        bar = Progress("predict", enabled=not args.quiet)
        try:
            answer = client.predict_batch(args.service, args.file,
                                          on_progress=lambda done, total: bar.update(done / total, f"{done}/{total}"))
        finally:
            bar.close()
    # The answer is the result: JSON on stdout whether or not --json was given.
    print(json.dumps(answer, indent=None if args.json else 2, default=str))
    return EXIT_OK


def cmd_download(args: argparse.Namespace) -> int:
    client = _client(args)
    output = Path(args.output or f"{args.version_id}.zip")
    bar = Progress(f"download {output.name}", enabled=not args.quiet)
    start = time.monotonic()
    try:
        path = client.download_model(args.version_id, output, on_progress=lambda done, total: bar.update(
            done / total if total else 0.0, _size(done)))
    finally:
        bar.close()
    size = path.stat().st_size
    _out(args, {"path": str(path), "size": size}, f"saved {path} ({_size(size)}, {time.monotonic() - start:.1f}s)")
    return EXIT_OK


# --- Registration --------------------------------------------------------------------------


def _common() -> argparse.ArgumentParser:
    parent = argparse.ArgumentParser(add_help=False)
    parent.add_argument("--url", help="platform address (else EXEML_URL, else the saved login)")
    parent.add_argument("--token", help="API token (else EXEML_TOKEN, else the saved login)")
    parent.add_argument("--json", action="store_true", help="print the API's JSON on stdout (for scripts)")
    parent.add_argument("-q", "--quiet", action="store_true", help="no progress bars")
    parent.add_argument("--http-timeout", type=float, default=60.0, help="seconds per HTTP request")
    return parent


def _wait_options(parser: argparse.ArgumentParser, default_timeout: float | None) -> None:
    parser.add_argument("--wait", action="store_true", help="wait until it is done, showing progress")
    parser.add_argument("--timeout", type=float, default=default_timeout, help="seconds to wait at most (exit 4)")


def register(sub: argparse._SubParsersAction) -> None:
    """Add the SDK's commands to the ``exeml`` parser."""
    common = _common()
    epilog = "exit codes: 0 ok, 1 API error, 2 usage, 3 auth (401/403), 4 timeout/connection"

    p = sub.add_parser("login", parents=[common], epilog=epilog,
                       help=f"save the platform address and a token in {CONFIG_PATH}")
    p.add_argument("--username", "-u")
    p.set_defaults(func=_main(cmd_login))

    projects = sub.add_parser("projects", help="list, create, show, delete projects", epilog=epilog)
    psub = projects.add_subparsers(dest="projects_command", required=True)
    p = psub.add_parser("ls", parents=[common], help="list projects")
    p.add_argument("--search")
    p.add_argument("--type")
    p.set_defaults(func=_main(cmd_projects_ls))
    p = psub.add_parser("create", parents=[common], help="create a project and its dataset")
    p.add_argument("name")
    p.add_argument("--type", required=True, choices=["image_classification", "object_detection",
                                                     "predictive_analytics", "sound_classification",
                                                     "text_classification"])
    p.add_argument("--description", default="")
    p.add_argument("--label", action="append", help="a label (repeat, or comma-separated)")
    p.add_argument("--input-path")
    p.add_argument("--output-path")
    p.add_argument("--training-data", help="predictive analytics: the CSV's path in storage")
    p.add_argument("--csv", help="predictive analytics: a local CSV to put in storage first")
    p.set_defaults(func=_main(cmd_projects_create))
    p = psub.add_parser("show", parents=[common], help="one project")
    p.add_argument("project", help="name or id")
    p.set_defaults(func=_main(cmd_projects_show))
    p = psub.add_parser("rm", parents=[common], help="delete a project")
    p.add_argument("project", help="name or id")
    p.set_defaults(func=_main(cmd_projects_rm))

    p = sub.add_parser("upload", parents=[common], help="upload a folder (or a CSV) into a project's dataset",
                       epilog=epilog)
    p.add_argument("project", help="name or id")
    p.add_argument("path", help="a folder (every file below it), one file, or the CSV of a table project")
    p.add_argument("--labels-from-folders", action="store_true",
                   help="label each file with the name of its folder (cat/1.jpg → cat)")
    p.add_argument("--timeout", type=float, default=1800)
    p.set_defaults(func=_main(cmd_upload))

    p = sub.add_parser("sync", parents=[common], help="synchronize a project's dataset with its input path",
                       epilog=epilog)
    p.add_argument("project", help="name or id")
    p.add_argument("--timeout", type=float, default=1800)
    p.set_defaults(func=_main(cmd_sync))

    p = sub.add_parser("train", parents=[common], help="train a new version", epilog=epilog)
    p.add_argument("project", help="name or id")
    p.add_argument("--max-minutes", type=float)
    p.add_argument("--preference", choices=["performance_first", "balance", "precision_first"])
    p.add_argument("--train-ratio", type=float)
    p.add_argument("--flavor")
    p.add_argument("--poll", type=float, default=2.0, help="seconds between progress reads")
    _wait_options(p, None)
    p.set_defaults(func=_main(cmd_train))

    p = sub.add_parser("versions", parents=[common], help="a project's versions", epilog=epilog)
    p.add_argument("project", help="name or id")
    p.set_defaults(func=_main(cmd_versions))

    p = sub.add_parser("evaluation", parents=[common], help="a version's metrics and evaluation", epilog=epilog)
    p.add_argument("project", help="name or id")
    p.add_argument("version", help="V001 or its id")
    p.set_defaults(func=_main(cmd_evaluation))

    p = sub.add_parser("deploy", parents=[common], help="deploy a version as a real-time service", epilog=epilog)
    p.add_argument("project", help="name or id")
    p.add_argument("version", help="V001 or its id")
    p.add_argument("--flavor")
    p.add_argument("--name")
    p.add_argument("--hours", type=float, help="stop this long after it starts (1-24)")
    p.add_argument("--no-auto-stop", action="store_true", help="no fixed-time stop")
    p.add_argument("--idle-minutes", type=int, help="stop after this many minutes without calls")
    _wait_options(p, 600)
    p.set_defaults(func=_main(cmd_deploy))

    services = sub.add_parser("services", help="list, show, start, stop, delete services", epilog=epilog)
    ssub = services.add_subparsers(dest="services_command", required=True)
    p = ssub.add_parser("ls", parents=[common], help="list services")
    p.add_argument("--project")
    p.set_defaults(func=_main(cmd_services_ls))
    for action in ("show", "start", "stop", "rm"):
        p = ssub.add_parser(action, parents=[common], help=f"{action} a service")
        p.add_argument("service", help="service id")
        if action == "start":
            p.add_argument("--hours", type=float)
            p.add_argument("--no-auto-stop", action="store_true")
            p.add_argument("--idle-minutes", type=int)
            _wait_options(p, 600)
        p.set_defaults(func=_main(cmd_services_action), action=action)

    p = sub.add_parser("predict", parents=[common], help="call a service", epilog=epilog)
    p.add_argument("service", help="service id")
    p.add_argument("file", nargs="*", help="image or WAV files (several: a JSON list of answers)")
    p.add_argument("--text", help="text classification: the text")
    p.add_argument("--records", help="predictive analytics: a JSON file of records (- for stdin)")
    p.set_defaults(func=_main(cmd_predict))

    p = sub.add_parser("download", parents=[common], help="download a model (ONNX bundle zip)", epilog=epilog)
    p.add_argument("version_id", help="the version's (model's) id")
    p.add_argument("-o", "--output", help="file to write (default <id>.zip)")
    p.set_defaults(func=_main(cmd_download))


def build_parser(prog: str = "exeml-client") -> argparse.ArgumentParser:
    """The client's own command (``exeml-client``): the SDK's subcommands without the platform's
    server-side ones (run, worker, migrate), for machines that only reach a platform."""
    parser = argparse.ArgumentParser(prog=prog, description="ExeML client: script a running ExeML platform")
    register(parser.add_subparsers(dest="command", required=True))
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    raise SystemExit(main())
