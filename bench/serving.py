"""Serving benchmark: raw onnxruntime vs. HTTP inference, for a tabular and an image model.

Prints one table: in-process ``session.run`` p50 and throughput, then ``POST /v1/infers/<id>``
p50/p99 and requests/s with 1 and 8 concurrent clients, and the web process's RSS. Then the
goal of the serving hot path against the in-process pipeline (the predictor's
``predict(payload)``: decode + preprocess + ``session.run`` + response, with 1 and 8 threads):
HTTP requests/s / pipeline runs/s at 1 and 8 clients (goal >= 70 %) and the p50 overhead,
HTTP p50 minus pipeline p50 with one client (goal <= 3 ms). Last, the CPU time each side
spends per request, which other load on the machine barely moves: the web processes' CPU
(utime + stime from /proc) per HTTP request against the pipeline's CPU per run.

    python bench/serving.py                        # trains both models, starts `exeml run`
    python bench/serving.py --only tabular         # the quick one
    python bench/serving.py --tabular-bundle DIR --image-bundle DIR
    python bench/serving.py --url http://127.0.0.1:8000 --token KEY \\
        --tabular-service ID --image-service ID --tabular-bundle DIR   # an existing server

    python bench/serving.py --only tabular --quick # smallest run: checks it works end to end
    python bench/serving.py --client http.client   # load from the standard library client instead

Loopback only; request counts are bounded (--requests per run).
"""

from __future__ import annotations

import argparse
import http.client
import io
import json
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path
from urllib.parse import urlparse

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
for _name, _value in {"ORT_DISABLE_TELEMETRY": "1", "HF_HUB_OFFLINE": "1", "YOLO_OFFLINE": "1"}.items():
    os.environ.setdefault(_name, _value)

COLUMNS = ("attr_1", "attr_2", "attr_3", "attr_4", "attr_5")


# --- Models ------------------------------------------------------------------------------


def train_tabular(root: Path) -> tuple[Path, list[dict]]:
    from tests.trainers.ml_data import tabular_csv
    from training.engine.spec import TrainSpec
    from training.engine.trainers import get_trainer

    tab = tabular_csv(root / "bank.csv", kind="binary", n=400)
    spec = TrainSpec(task_type="predictive_analytics", labels=(), tabular=tab, threads=1)
    result = get_trainer("predictive_analytics").fit(spec, root / "tab-work", time.monotonic() + 5, lambda p, f: None)
    return result.bundle_dir, tabular_records(tab.csv_path)


def tabular_records(csv_path: str) -> list[dict]:
    lines = Path(csv_path).read_text().splitlines()[:1]
    return [dict(zip(COLUMNS, line.split(","), strict=True)) for line in lines]


def train_image(root: Path, seconds: float) -> Path:
    from tests.trainers.vision_data import classification_samples
    from training.engine.spec import TrainSpec
    from training.engine.trainers import get_trainer

    labels = ("circle", "square", "triangle")
    samples = classification_samples(root / "img", labels=labels, per_label_train=8, per_label_eval=3, size=96)
    # The model a photo service runs: EfficientNet-Lite0 at the default 224 px (the search
    # would pick a pixel model on these shapes, whose graph costs microseconds).
    spec = TrainSpec(
        task_type="image_classification", labels=labels, samples=tuple(samples), threads=os.cpu_count() or 1,
        max_seconds=seconds, params={"search": False, "max_epochs": 1},
    )
    result = get_trainer("image_classification").fit(spec, root / "img-work", time.monotonic() + seconds,
                                                      lambda p, f: None)
    return result.bundle_dir


def sample_image() -> bytes:
    from PIL import Image, ImageDraw

    # A phone-camera-sized JPEG: decoding it is part of every request's cost.
    img = Image.new("RGB", (1280, 960), (200, 200, 200))
    ImageDraw.Draw(img).ellipse((200, 150, 900, 850), fill=(30, 30, 30))
    buf = io.BytesIO()
    img.save(buf, format="JPEG", quality=90)
    return buf.getvalue()


# --- Measurements --------------------------------------------------------------------------


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    index = min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))
    return ordered[index]


def raw_session(bundle_dir: Path, kind: str, payload, n: int) -> dict:
    """p50 (ms) and runs/s of session.run alone, on inputs prepared once."""
    import numpy as np

    from serving.runtime import intra_op_threads
    from training.engine.predictors import load_predictor

    predictor = load_predictor(bundle_dir, intra_op_threads=intra_op_threads())
    if kind == "tabular":
        from training.engine.preprocessing.tabular import records_to_inputs

        inputs = records_to_inputs(payload["data"]["req_data"], predictor.bundle["input_spec"])
        feeds = {k: v for k, v in inputs.items() if k in predictor.input_names}
    else:
        from training.engine.preprocessing.image import classification_input, decode_image

        pre = predictor.bundle["preprocessing"]
        x = classification_input(decode_image(payload), size=int(pre["size"]), mean=pre["mean"], std=pre["std"])
        feeds = {predictor.input_names[0]: np.ascontiguousarray(x)}
    for _ in range(5):
        predictor.session.run(None, feeds)
    times = []
    start = time.perf_counter()
    for _ in range(n):
        t0 = time.perf_counter()
        predictor.session.run(None, feeds)
        times.append((time.perf_counter() - t0) * 1000)
    total = time.perf_counter() - start
    return {"p50_ms": statistics.median(times), "per_s": n / total}


def _multipart(field: str, filename: str, data: bytes, content_type: str) -> tuple[bytes, str]:
    boundary = uuid.uuid4().hex
    body = (
        f"--{boundary}\r\nContent-Disposition: form-data; name=\"{field}\"; filename=\"{filename}\"\r\n"
        f"Content-Type: {content_type}\r\n\r\n"
    ).encode() + data + f"\r\n--{boundary}--\r\n".encode()
    return body, f"multipart/form-data; boundary={boundary}"


def pipeline(bundle_dir: Path, payload, n: int, threads: int) -> dict:
    """p50 (ms) and runs/s of the whole in-process pipeline, ``predictor.predict(payload)``,
    ``n`` runs over ``threads`` threads (one predictor, as one web process shares it)."""
    from serving.runtime import intra_op_threads
    from training.engine.predictors import load_predictor

    predictor = load_predictor(bundle_dir, intra_op_threads=intra_op_threads())
    for _ in range(5):
        predictor.predict(payload)
    times: list[float] = []
    lock = threading.Lock()
    per_thread = max(1, n // threads)

    def run() -> None:
        mine = []
        for _ in range(per_thread):
            t0 = time.perf_counter()
            predictor.predict(payload)
            mine.append((time.perf_counter() - t0) * 1000)
        with lock:
            times.extend(mine)

    cpu_before = time.process_time()
    total = run_concurrently(run, threads)
    # CPU per run, not wall time: robust to other load on a shared machine.
    cpu_ms = (time.process_time() - cpu_before) * 1000 / max(1, len(times))
    return {"p50_ms": statistics.median(times), "per_s": len(times) / total, "cpu_ms": cpu_ms}


def run_concurrently(target, n: int) -> float:
    """Runs ``target`` in ``n`` threads at once; the seconds until the last one ends."""
    workers = [threading.Thread(target=target) for _ in range(n)]
    start = time.perf_counter()
    for t in workers:
        t.start()
    for t in workers:
        t.join()
    return time.perf_counter() - start


RATIO_GOAL = 0.70
OVERHEAD_GOAL_MS = 3.0
# Below this in-process p50 the ratio is printed but not judged (see main()).
RATIO_MIN_PIPELINE_MS = 1.0


def process_cpu_seconds(pids: list[int]) -> float:
    """utime + stime of ``pids`` (all their threads), from /proc; a process gone counts 0."""
    total = 0
    for pid in pids:
        try:
            stat = Path(f"/proc/{pid}/stat").read_text()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2:].split()  # after "pid (comm) ": field 3 onwards
        total += int(fields[11]) + int(fields[12])  # fields 14 and 15 of proc(5)
    return total / os.sysconf("SC_CLK_TCK")


class HttpClient:
    """One keep-alive connection through the standard library's http.client (what a Python
    user's script does; its own CPU per call is about half a millisecond here)."""

    def __init__(self, host: str, port: int, path: str, headers: dict, body: bytes) -> None:
        self.conn = http.client.HTTPConnection(host, port, timeout=60)
        self.path, self.headers, self.body = path, headers, body

    def call(self) -> tuple[int, bytes]:
        self.conn.request("POST", self.path, body=self.body, headers=self.headers)
        resp = self.conn.getresponse()
        return resp.status, resp.read()

    def close(self) -> None:
        self.conn.close()


class RawClient:
    """One keep-alive connection sending a request built once and reading the answer by its
    Content-Length, as load generators (wrk, ab) do: the client shares the server's cores, so
    the less CPU it spends per call, the less it takes from the server it measures."""

    def __init__(self, host: str, port: int, path: str, headers: dict, body: bytes) -> None:
        head = "".join(f"{k}: {v}\r\n" for k, v in {**headers, "Host": f"{host}:{port}",
                                                       "Content-Length": str(len(body))}.items())
        self.request = f"POST {path} HTTP/1.1\r\n{head}\r\n".encode("latin-1") + body
        self.sock = socket.create_connection((host, port), timeout=60)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.buffer = b""

    def call(self) -> tuple[int, bytes]:
        self.sock.sendall(self.request)
        while b"\r\n\r\n" not in self.buffer:
            self.buffer += self._recv_more()
        head, _, rest = self.buffer.partition(b"\r\n\r\n")
        lines = head.split(b"\r\n")
        status = int(lines[0].split(b" ", 2)[1])
        length = next((int(line.split(b":", 1)[1]) for line in lines[1:]
                       if line[:15].lower() == b"content-length:"), None)
        if length is None:
            raise RuntimeError(f"an answer without Content-Length: {head[:200]!r}")
        while len(rest) < length:
            rest += self._recv_more()
        self.buffer = rest[length:]
        return status, rest[:length]

    def _recv_more(self) -> bytes:
        chunk = self.sock.recv(65536)
        if not chunk:
            raise ConnectionError("the server closed the connection")
        return chunk

    def close(self) -> None:
        self.sock.close()


def http_load(url: str, token: str, service_id: str, body: bytes, content_type: str, *, clients: int,
              requests: int, server_pids: list[int] | None = None, client_kind: str = "raw") -> dict:
    """``requests`` calls split over ``clients`` keep-alive connections (``client_kind``:
    "raw" or "http.client"); with ``server_pids``, also the CPU those processes spent per
    request."""
    parsed = urlparse(url)
    latencies: list[float] = []
    errors: list[str] = []
    lock = threading.Lock()
    per_client = max(1, requests // clients)

    path = f"/v1/infers/{service_id}"
    headers = {"X-Auth-Token": token, "Content-Type": content_type}

    def client() -> None:
        conn = (RawClient if client_kind == "raw" else HttpClient)(parsed.hostname, parsed.port, path, headers, body)
        mine = []
        for _ in range(per_client):
            t0 = time.perf_counter()
            status, data = conn.call()
            mine.append((time.perf_counter() - t0) * 1000)
            if status != 200:
                with lock:
                    errors.append(f"{status} {data[:200]!r}")
        conn.close()
        with lock:
            latencies.extend(mine)

    server_before = process_cpu_seconds(server_pids or [])
    cpu_before = time.process_time()
    total = run_concurrently(client, clients)
    # The load generator runs on the same cores as the server: its own CPU per request is
    # printed so the ratio can be read against it (the in-process pipeline pays none).
    client_cpu_ms = (time.process_time() - cpu_before) * 1000 / max(1, len(latencies))
    server_cpu_ms = (process_cpu_seconds(server_pids or []) - server_before) * 1000 / max(1, len(latencies))
    if errors:
        raise RuntimeError(f"{len(errors)} failed requests, first: {errors[0]}")
    return {"p50_ms": percentile(latencies, 50), "p99_ms": percentile(latencies, 99), "per_s": len(latencies) / total,
            "client_cpu_ms": client_cpu_ms, "server_cpu_ms": server_cpu_ms if server_pids else None}


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def web_worker_pids(port: int | None) -> list[int]:
    """gunicorn processes serving exeml.wsgi on ``port`` (master and its workers)."""
    pids = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmd = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if "gunicorn" in cmd and "exeml.wsgi" in cmd and (port is None or f":{port} " in cmd):
            pids.append(int(entry.name))
    return sorted(pids)


# --- A private server ----------------------------------------------------------------------


class Server:
    """`exeml run` on a free loopback port with a temporary EXEML_HOME."""

    def __init__(self) -> None:
        self.home = Path(tempfile.mkdtemp(prefix="exeml-bench-"))
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc: subprocess.Popen | None = None
        self.token = ""

    def env(self) -> dict:
        env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "CELERY_BROKER_URL",
                                                                  "EXEML_S3_ENDPOINT_URL")}
        return {**env, "EXEML_HOME": str(self.home), "PYTHONUNBUFFERED": "1", "EXEML_LOG_LEVEL": "WARNING"}

    def start(self) -> None:
        # The embedded filesystem broker needs its folders before the first message.
        (self.home / "broker").mkdir(parents=True, exist_ok=True)
        (self.home / "broker-processed").mkdir(parents=True, exist_ok=True)
        log = (self.home / "server.log").open("wb")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "exeml.cli", "run", "--port", str(self.port), "--concurrency", "1"],
            cwd=REPO, env=self.env(), stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        )
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline:
            text = (self.home / "server.log").read_text(errors="replace")
            match = re.search(r"API token\s*:\s*([0-9a-f]+)", text)
            if match and self._healthy():
                self.token = match.group(1)
                return
            if self.proc.poll() is not None:
                raise RuntimeError(f"exeml run exited:\n{text[-3000:]}")
            time.sleep(0.5)
        raise RuntimeError("exeml run did not come up in 180 s")

    def _healthy(self) -> bool:
        try:
            conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=2)
            conn.request("GET", "/healthz")
            ok = conn.getresponse().status < 500
            conn.close()
            return ok
        except OSError:
            return False

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGINT)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        shutil.rmtree(self.home, ignore_errors=True)


def api(url: str, token: str, method: str, path: str, body: dict | None = None) -> dict:
    parsed = urlparse(url)
    conn = http.client.HTTPConnection(parsed.hostname, parsed.port, timeout=60)
    data = json.dumps(body).encode() if body is not None else None
    conn.request(method, path, body=data, headers={"X-Auth-Token": token, "Content-Type": "application/json"})
    resp = conn.getresponse()
    raw = resp.read()
    conn.close()
    if resp.status >= 400:
        raise RuntimeError(f"{method} {path}: {resp.status} {raw[:2000]!r}")
    return json.loads(raw or b"{}")


def register_and_deploy(server: Server, bundle_dir: Path, task_type: str, name: str) -> str:
    """Put the bundle in the server's store, add a completed version (ORM), deploy it (API)."""
    os.environ.update({k: v for k, v in server.env().items() if k in ("EXEML_HOME",)})
    for key in ("DATABASE_URL", "CELERY_BROKER_URL", "EXEML_S3_ENDPOINT_URL"):
        os.environ.pop(key, None)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "exeml.settings")
    import django

    django.setup()
    from django.conf import settings

    from datasets.models import Dataset, DatasetVersion
    from exeml.storage import store_for_tenant
    from exeml.tenancy.models import Flavor, Tenant
    from exeml.tenancy.scoping import tenant_scope
    from projects.models import Project
    from training.models import ModelVersion

    tenant = Tenant.objects.get(slug="demo")
    store = store_for_tenant(tenant)
    prefix = f"{tenant.slug}/bench/{name}/V001/"
    for path in sorted(Path(bundle_dir).rglob("*")):
        if path.is_file():
            store.put(settings.EXEML_BUCKET, prefix + path.relative_to(bundle_dir).as_posix(), path.read_bytes())
    root = f"s3://{settings.EXEML_BUCKET}/{tenant.slug}/bench/{name}/"
    with tenant_scope(tenant):
        dataset = Dataset.objects.create(name=f"bench-{name}", task_type=task_type, input_path=root + "in/",
                                         output_path=root + "out/")
        dv = DatasetVersion.objects.create(dataset=dataset, name="V001", number=1, manifest_path=root + "m.manifest")
        project = Project.objects.create(name=name, task_type=task_type, dataset=dataset)
        version = ModelVersion.objects.create(
            project=project, name="V001", number=1, dataset_version=dv,
            flavor=Flavor.objects.filter(purpose="train").first(), queue="train.cpu", status="completed",
            artifact_path=f"s3://{settings.EXEML_BUCKET}/{prefix}",
        )
    service = api(server.url, server.token, "POST",
                  f"/api/v1/projects/{project.pk}/versions/{version.pk}/deploy", {"auto_stop": {"enabled": False}})
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        state = api(server.url, server.token, "GET", f"/api/v1/services/{service['id']}")
        if state["status"] == "running":
            return service["id"]
        if state["status"] == "failed":
            raise RuntimeError(f"deploy failed: {state['error']}")
        time.sleep(0.5)
    raise RuntimeError("service did not reach running in 180 s")


# --- Main ------------------------------------------------------------------------------------


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", choices=("tabular", "image"))
    parser.add_argument("--tabular-bundle", type=Path)
    parser.add_argument("--image-bundle", type=Path)
    parser.add_argument("--image-seconds", type=float, default=30.0, help="training budget of the image model")
    parser.add_argument("--requests", type=int, default=200, help="HTTP requests per run (bounded)")
    parser.add_argument("--raw-runs", type=int, default=300)
    parser.add_argument("--url")
    parser.add_argument("--token")
    parser.add_argument("--tabular-service")
    parser.add_argument("--image-service")
    parser.add_argument("--client", choices=("raw", "http.client"), default="raw",
                        help="load generator: a prebuilt request on a socket (default; least CPU "
                             "taken from the server on the same cores) or the standard library's http.client")
    parser.add_argument("--quick", action="store_true",
                        help="smallest settings (40 requests, 50 raw runs, 10-s image training): a smoke run")
    args = parser.parse_args()
    if args.quick:
        args.requests, args.raw_runs, args.image_seconds = 40, 50, min(args.image_seconds, 10.0)
    kinds = [args.only] if args.only else ["tabular", "image"]

    work = Path(tempfile.mkdtemp(prefix="exeml-bench-models-"))
    server: Server | None = None
    rows: list[dict] = []
    try:
        bundles: dict[str, Path] = {}
        payloads: dict[str, tuple] = {}
        if "tabular" in kinds:
            if args.tabular_bundle:
                from tests.trainers.ml_data import tabular_csv

                records = tabular_records(tabular_csv(work / "t.csv", kind="binary", n=10).csv_path)
                bundles["tabular"] = args.tabular_bundle
            else:
                bundles["tabular"], records = train_tabular(work)
            request = {"data": {"count": 1, "req_data": records}}
            payloads["tabular"] = (request, json.dumps(request).encode(), "application/json")
        if "image" in kinds:
            bundles["image"] = args.image_bundle or train_image(work, args.image_seconds)
            image = sample_image()
            body, ctype = _multipart("images", "shape.jpg", image, "image/jpeg")
            payloads["image"] = (image, body, ctype)

        services: dict[str, str] = {}
        if args.url:
            url, token = args.url.rstrip("/"), args.token
            services = {k: v for k, v in (("tabular", args.tabular_service), ("image", args.image_service)) if v}
        else:
            server = Server()
            server.start()
            url, token = server.url, server.token
            task_types = {"tabular": "predictive_analytics", "image": "image_classification"}
            for kind in kinds:
                services[kind] = register_and_deploy(server, bundles[kind], task_types[kind], f"bench{kind[:3]}")
        port = urlparse(url).port
        pids_before = web_worker_pids(port)
        rss_idle = {pid: rss_mb(pid) for pid in pids_before}

        for kind in kinds:
            raw = raw_session(bundles[kind], kind, payloads[kind][0], args.raw_runs)
            row = {"model": kind, "raw_p50_ms": raw["p50_ms"], "raw_per_s": raw["per_s"]}
            predict_input = payloads[kind][0]
            for threads in (1, 8):
                row[f"pipe{threads}"] = pipeline(bundles[kind], predict_input, args.raw_runs, threads)
            if kind in services:
                _, body, ctype = payloads[kind]
                http_load(url, token, services[kind], body, ctype, clients=1, requests=5)  # warm the web side
                for clients in (1, 8):
                    result = http_load(url, token, services[kind], body, ctype, clients=clients,
                                       requests=args.requests, server_pids=pids_before, client_kind=args.client)
                    row[f"c{clients}"] = result
                # Time inside the view (decode + predict), as the service's metrics saw it.
                metrics = api(url, token, "GET", f"/api/v1/services/{services[kind]}/metrics")
                row["view_p50_ms"] = metrics["latency_ms"]["p50"]
                row["view_last_hour_p50_ms"] = metrics["last_hour"]["latency_ms"]["p50"]
            rows.append(row)

        pids = web_worker_pids(port)
        rss = {pid: rss_mb(pid) for pid in pids}
    except Exception:
        if server:
            print((server.home / "server.log").read_text(errors="replace")[-4000:], file=sys.stderr)
        raise
    finally:
        if server:
            server.stop()
        shutil.rmtree(work, ignore_errors=True)

    header = (f"{'model':8} | {'raw p50 ms':>10} {'raw /s':>8} | {'1 client p50':>12} {'p99':>7} {'req/s':>7} | "
              f"{'8 clients p50':>13} {'p99':>7} {'req/s':>7}")
    print()
    print(header)
    print("-" * len(header))
    for row in rows:
        c1, c8 = row.get("c1"), row.get("c8")
        http_cols = (
            f"{c1['p50_ms']:12.2f} {c1['p99_ms']:7.2f} {c1['per_s']:7.1f} | "
            f"{c8['p50_ms']:13.2f} {c8['p99_ms']:7.2f} {c8['per_s']:7.1f}"
            if c1 and c8 else f"{'(no service)':>28} | {'':>29}"
        )
        print(f"{row['model']:8} | {row['raw_p50_ms']:10.3f} {row['raw_per_s']:8.0f} | {http_cols}")
    for row in rows:
        if row.get("view_last_hour_p50_ms") is not None:
            print(f"{row['model']}: p50 inside the inference view (decode + predict) "
                  f"{row['view_last_hour_p50_ms']:.2f} ms")
    print()
    print(f"goal: HTTP req/s >= {RATIO_GOAL:.0%} of the in-process pipeline's runs/s (1 and 8 clients), "
          f"p50 overhead <= {OVERHEAD_GOAL_MS:g} ms")
    for row in rows:
        c1, c8, p1, p8 = row.get("c1"), row.get("c8"), row["pipe1"], row["pipe8"]
        print(f"{row['model']}: in-process pipeline p50 {p1['p50_ms']:.2f} ms, {p1['per_s']:.0f}/s "
              f"(8 threads: {p8['per_s']:.0f}/s)")
        if not (c1 and c8):
            continue
        ratio1, ratio8 = c1["per_s"] / p1["per_s"], c8["per_s"] / p8["per_s"]
        overhead = c1["p50_ms"] - p1["p50_ms"]
        row.update({"ratio_c1": ratio1, "ratio_c8": ratio8, "overhead_p50_ms": overhead})

        def mark(ok: bool) -> str:
            return "met" if ok else "NOT met"

        if p1["p50_ms"] < RATIO_MIN_PIPELINE_MS:
            # A loopback round trip alone (client, kernel, HTTP parsing) costs more than this
            # prediction, so no server reaches 70 % of it: the overhead is this model's measure.
            goal1 = goal8 = f"not a goal for a {p1['p50_ms']:.2f} ms prediction; the p50 overhead is"
        else:
            goal1 = f"goal >= {RATIO_GOAL:.0%}: {mark(ratio1 >= RATIO_GOAL)}"
            goal8 = f"goal >= {RATIO_GOAL:.0%}: {mark(ratio8 >= RATIO_GOAL)}"
        print(f"{row['model']}: HTTP/in-process  1 client {ratio1:6.1%}  ({goal1})")
        print(f"{row['model']}: HTTP/in-process  8 clients {ratio8:6.1%}  ({goal8}); the load generator itself "
              f"used {c8['client_cpu_ms']:.2f} ms CPU per request on the same cores")
        print(f"{row['model']}: p50 overhead {overhead:6.2f} ms  (goal <= {OVERHEAD_GOAL_MS:g} ms: "
              f"{mark(overhead <= OVERHEAD_GOAL_MS)})")
        for clients, pipe in ((1, p1), (8, p8)):
            served = row[f"c{clients}"]
            if served.get("server_cpu_ms") is None:
                continue
            extra = served["server_cpu_ms"] - pipe["cpu_ms"]
            row[f"extra_cpu_ms_c{clients}"] = extra
            print(f"{row['model']}: {clients} client{'s' if clients > 1 else ' '}: server CPU ms/request "
                  f"{served['server_cpu_ms']:.2f}, pipeline CPU ms/run {pipe['cpu_ms']:.2f}, extra CPU "
                  f"{extra:+.2f} ms/request; client CPU ms/request {served['client_cpu_ms']:.2f}")
    if rss:
        print()
        for pid, mb in rss.items():
            before = rss_idle.get(pid)
            extra = f" (before load {before:.0f} MiB)" if before else ""
            print(f"web process {pid}: RSS {mb:.0f} MiB{extra}")
    print(json.dumps({"rows": rows, "rss_mb": rss}, default=float))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
