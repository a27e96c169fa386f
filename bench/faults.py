"""Load and fault suite against a private `exeml run` (embedded): figures, never assertions.

Prints one table: concurrent inference load held (errors, p50, p99, requests/s), and each
fault survived or not: the worker's main process killed mid-sync and mid-training, the S3
endpoint stopped mid-sync then restarted, the S3 endpoint hung mid-sync and mid-batch-prediction
and each job cancelled (seconds from the POST cancel to the job's cancelled state, from its
finished_at; the target is 10 s), the platform restarted while a service runs; with what was lost.

    python bench/faults.py                         # 50 clients for 60 s, every fault
    python bench/faults.py --clients 20 --seconds 15 --skip training
    python bench/faults.py --skip load --skip sync --skip training --skip s3 --skip restart   # s3hang only

Loopback only. The reaper runs with a 20 s heartbeat timeout and a 5 s beat so faults settle
quickly; moto (the dev extra) plays the tenant's own S3 endpoint behind a TCP proxy that the
suite stops and restarts.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import socket
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from bench.serving import Server, api, percentile, register_and_deploy, run_concurrently, train_tabular  # noqa: E402

FAST_REAPER = {"EXEML_HEARTBEAT_TIMEOUT_SECONDS": "20", "EXEML_BEAT_INTERVAL_SECONDS": "5"}


class FaultServer(Server):
    def env(self) -> dict:
        return {**super().env(), **FAST_REAPER}

    def restart(self) -> float:
        """Stop (SIGINT, as an operator would) and start again on the same home; seconds down."""
        import signal

        started = time.monotonic()
        os.killpg(self.proc.pid, signal.SIGINT)
        self.proc.wait(120)
        self.start()
        return time.monotonic() - started


# --- helpers -------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait(predicate, timeout: float, step: float = 0.5):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(step)
    return None


def wait_job(server: Server, token: str, job_id: str, timeout: float = 300) -> dict:
    def done():
        job = api(server.url, token, "GET", f"/api/v1/jobs/{job_id}")
        return job if job["status"] in ("succeeded", "failed") else None

    return wait(done, timeout) or api(server.url, token, "GET", f"/api/v1/jobs/{job_id}")


def main_worker_pid(run_pid: int) -> int | None:
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmd = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            continue
        if ppid == run_pid and "celery" in cmd and " worker " in cmd and "main@" in cmd:
            return int(entry.name)
    return None


def kill_main_worker(server: Server) -> None:
    pid = main_worker_pid(server.proc.pid)
    if pid is None:
        raise RuntimeError("no main worker found")
    os.kill(pid, 9)


def django_setup(server: Server) -> None:
    os.environ.update({"EXEML_HOME": str(server.home), **FAST_REAPER})
    for key in ("DATABASE_URL", "CELERY_BROKER_URL", "EXEML_S3_ENDPOINT_URL"):
        os.environ.pop(key, None)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "exeml.settings")
    import django

    django.setup()


def put_files(tenant, folder: str, files: list[tuple[str, bytes]]) -> None:
    from exeml.storage import parse_storage_path, store_for_tenant

    store = store_for_tenant(tenant)
    path = parse_storage_path(folder)
    store.ensure_bucket(path.bucket)
    for name, data in files:
        store.put(path.bucket, path.key + name, data)


def create_dataset(server: Server, token: str, folder: str, task_type: str = "text_classification") -> dict:
    return api(server.url, token, "POST", "/api/v1/datasets", {
        "name": "f" + uuid.uuid4().hex[:8], "type": task_type, "input_path": folder,
        "output_path": folder.rstrip("/") + "-out/",
        "labels": [{"name": "positive", "color": "#ff0000"}, {"name": "negative", "color": "#00ff00"}],
    })


def last_job(server: Server, token: str, dataset_id: str) -> dict | None:
    return api(server.url, token, "GET", f"/api/v1/datasets/{dataset_id}").get("last_sync_job")


# --- the load -------------------------------------------------------------------------------


def load(server: Server, service_id: str, body: bytes, *, clients: int, seconds: float) -> dict:
    latencies: list[float] = []
    errors: list[str] = []
    lock = threading.Lock()
    stop_at = time.monotonic() + seconds

    def client() -> None:
        conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=60)
        headers = {"X-Auth-Token": server.token, "Content-Type": "application/json"}
        mine, bad = [], []
        while time.monotonic() < stop_at:
            t0 = time.perf_counter()
            try:
                conn.request("POST", f"/v1/infers/{service_id}", body=body, headers=headers)
                resp = conn.getresponse()
                data = resp.read()
                if resp.status != 200:
                    bad.append(f"{resp.status} {data[:120]!r}")
            except OSError as exc:
                bad.append(f"{type(exc).__name__}: {exc}")
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=60)
            mine.append((time.perf_counter() - t0) * 1000)
        conn.close()
        with lock:
            latencies.extend(mine)
            errors.extend(bad)

    total = run_concurrently(client, clients)
    return {"requests": len(latencies), "errors": len(errors), "first_error": errors[0] if errors else "",
            "p50_ms": percentile(latencies, 50), "p99_ms": percentile(latencies, 99), "per_s": len(latencies) / total}


def inference_ok(server: Server, service_id: str, body: bytes, n: int = 20) -> int:
    ok = 0
    for _ in range(n):
        conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=60)
        conn.request("POST", f"/v1/infers/{service_id}", body=body,
                     headers={"X-Auth-Token": server.token, "Content-Type": "application/json"})
        ok += conn.getresponse().status == 200
        conn.close()
    return ok


# --- faults ---------------------------------------------------------------------------------


def fault_sync_worker_killed(server: Server) -> tuple[str, str, str]:
    from exeml.tenancy.models import Tenant

    tenant = Tenant.objects.get(slug="demo")
    folder = f"{tenant.default_root}faults/sync-{uuid.uuid4().hex[:6]}/"
    lines = 100_000
    put_files(tenant, folder, [("big.txt", b"".join(b"line %d of a long file\n" % i for i in range(lines)))])
    ds = create_dataset(server, server.token, folder)
    job = wait(lambda: (j := last_job(server, server.token, ds["id"])) and j["status"] == "running" and j, 120)
    if not job:
        return "worker killed mid-sync", "sync never started", "?"
    time.sleep(2)
    kill_main_worker(server)
    failed = wait_job(server, server.token, job["id"], timeout=240)
    first = f"job {failed['status']}: {failed.get('detail') or '-'}"
    again = api(server.url, server.token, "POST", f"/api/v1/datasets/{ds['id']}/sync")
    done = wait_job(server, server.token, again["id"], timeout=600)
    count = api(server.url, server.token, "GET", f"/api/v1/datasets/{ds['id']}")["sample_count"]
    outcome = f"{first}; re-sync {done['status']}"
    return "worker killed mid-sync", outcome, f"{lines - count} of {lines} samples missing, 0 duplicates" if (
        count <= lines) else f"{count - lines} duplicates"


def fault_training_worker_killed(server: Server) -> tuple[str, str, str]:
    from datasets import demo_data
    from exeml.tenancy.models import Tenant

    tenant = Tenant.objects.get(slug="demo")
    folder = f"{tenant.default_root}faults/tab-{uuid.uuid4().hex[:6]}/"
    put_files(tenant, folder, [("bank.csv", demo_data.tabular_csv(rows=3000))])
    project = api(server.url, server.token, "POST", "/api/v1/projects", {
        "name": "t" + uuid.uuid4().hex[:8], "type": "predictive_analytics", "training_data": folder + "bank.csv"})
    ds = project["dataset"]["id"]
    wait(lambda: (j := last_job(server, server.token, ds)) and j["status"] == "succeeded", 120)
    api(server.url, server.token, "PATCH", f"/api/v1/projects/{project['id']}",
        {"label_column": "attr_8", "label_type": "discrete"})
    base = f"/api/v1/projects/{project['id']}/versions"
    first = api(server.url, server.token, "POST", f"/api/v1/projects/{project['id']}/train",
                {"max_minutes": 6, "preference": "accuracy_first"})
    running = wait(lambda: (v := api(server.url, server.token, "GET", f"{base}/{first['id']}"))["status"] == "running"
                   and v["phase"] not in ("", "starting", "downloading data") and v, 180)
    if not running:
        return "worker killed mid-training", "training never started", "?"
    kill_main_worker(server)
    end = wait(lambda: (v := api(server.url, server.token, "GET", f"{base}/{first['id']}"))["status"] in
               ("completed", "failed", "stopped") and v, 300) or {"status": "still running", "error": ""}
    outcome = f"V001 {end['status']}: {end.get('error') or '-'}"
    second = api(server.url, server.token, "POST", f"/api/v1/projects/{project['id']}/train",
                 {"max_minutes": 6, "preference": "performance_first"})
    after = wait(lambda: (v := api(server.url, server.token, "GET", f"{base}/{second['id']}"))["status"] in
                 ("completed", "failed", "stopped") and v, 600) or {"status": "timeout"}
    return "worker killed mid-training", f"{outcome}; next training {after['status']}", "the cut run (retrain)"


class PausableProxy:
    """A TCP forwarder standing for the S3 endpoint: stop() drops it, start() brings it back."""

    def __init__(self, target_port: int) -> None:
        self.target_port = target_port
        self.port = free_port()
        self._server: socket.socket | None = None
        self._conns: list[socket.socket] = []
        self._flowing = threading.Event()
        self._flowing.set()

    def hang(self) -> None:
        """Connections stay open but nothing more goes through: a hung endpoint."""
        self._flowing.clear()

    def resume(self) -> None:
        self._flowing.set()

    def start(self) -> None:
        self._server = socket.create_server(("127.0.0.1", self.port))
        threading.Thread(target=self._accept, args=(self._server,), daemon=True).start()

    def stop(self) -> None:
        if self._server:
            self._server.close()
            self._server = None
        for conn in self._conns:
            try:
                conn.shutdown(socket.SHUT_RDWR)
                conn.close()
            except OSError:
                pass
        self._conns = []

    def _accept(self, server: socket.socket) -> None:
        while True:
            try:
                client, _ = server.accept()
            except OSError:
                return
            upstream = socket.create_connection(("127.0.0.1", self.target_port))
            self._conns += [client, upstream]
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    def _pipe(self, src: socket.socket, dst: socket.socket) -> None:
        try:
            while data := src.recv(65536):
                self._flowing.wait()
                dst.sendall(data)
        except OSError:
            pass
        finally:
            for s in (src, dst):
                try:
                    s.close()
                except OSError:
                    pass


def _moto_behind_proxy() -> tuple[subprocess.Popen, PausableProxy]:
    """A moto S3 server and a proxy in front of it that a scenario can stop or hang."""
    moto_port = free_port()
    moto = subprocess.Popen([sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(moto_port)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    proxy = PausableProxy(moto_port)
    wait(lambda: socket.socket().connect_ex(("127.0.0.1", moto_port)) == 0, 30)
    proxy.start()
    return moto, proxy


def _tenant_on_proxy(proxy: PausableProxy, prefix: str, name: str):
    """A tenant whose storage is the proxied endpoint: (tenant, an owner's token, its data folder)."""
    from exeml.storage import reset_store_cache
    from exeml.tenancy import services
    from exeml.tenancy.models import Role, Tenant

    tenant = services.tenant_create(slug=prefix + uuid.uuid4().hex[:5], name=name)
    Tenant.objects.filter(pk=tenant.pk).update(s3_endpoint_url=f"http://127.0.0.1:{proxy.port}",
                                                s3_access_key="bench", s3_secret_key="bench-secret")
    tenant.refresh_from_db()
    reset_store_cache()
    user, _ = services.member_add(tenant=tenant, username="u" + tenant.slug, password="pw", role=Role.OWNER)
    return tenant, services.token_issue(user=user, tenant=tenant), f"{tenant.default_root}data/"


def fault_s3_outage(server: Server) -> tuple[str, str, str]:
    moto, proxy = _moto_behind_proxy()
    try:
        tenant, token, folder = _tenant_on_proxy(proxy, "s3t", "S3 tenant")
        files = 1500
        put_files(tenant, folder, [(f"t{i:05d}.txt", b"first line\nsecond line\n") for i in range(files)])
        ds = create_dataset(server, token, folder)
        job = wait(lambda: (j := last_job(server, token, ds["id"])) and j["status"] == "running" and j, 120)
        if not job:
            return "S3 endpoint stopped mid-sync", "sync never started", "?"
        time.sleep(1)
        proxy.stop()
        failed = wait_job(server, token, job["id"], timeout=240)
        proxy.start()
        again = api(server.url, token, "POST", f"/api/v1/datasets/{ds['id']}/sync")
        done = wait_job(server, token, again["id"], timeout=600)
        count = api(server.url, token, "GET", f"/api/v1/datasets/{ds['id']}")["sample_count"]
        want = 2 * files
        outcome = f"job {failed['status']}: {failed.get('detail') or '-'}; re-sync {done['status']}"
        return "S3 endpoint stopped mid-sync", outcome, f"{want - count} of {want} samples missing (no duplicates)"
    finally:
        proxy.stop()
        moto.terminate()
        moto.wait(10)


def _cancel_latency(server: Server, token: str, job_id: str) -> tuple[str, dict | None, float | None]:
    """POST cancel; (its answer, the ended job, seconds from the POST to the job's finished_at)."""
    from datetime import UTC, datetime

    asked = datetime.now(UTC)
    answer = api(server.url, token, "POST", f"/api/v1/jobs/{job_id}/cancel")
    ended = wait(lambda: (j := api(server.url, token, "GET", f"/api/v1/jobs/{job_id}"))["status"]
                 not in ("queued", "running") and j, 120, step=0.1)
    if not ended:
        return answer.get("status", "?"), None, None
    finished = datetime.fromisoformat(ended["finished_at"].replace("Z", "+00:00"))
    return answer.get("status", "?"), ended, (finished - asked).total_seconds()


def _latency_row(scenario: str, answer: str, ended: dict | None, took: float | None) -> tuple[str, str, str]:
    if ended is None:
        return scenario, f"cancel answered {answer}, job still running after 120 s", "-"
    return scenario, f"job {ended['status']} {took:.1f} s after the cancel (target 10 s)", "-"


def _register_version(tenant, bundle: Path, name: str):
    """The bench bundle in the tenant's own storage, and a completed version (ORM) pointing at it."""
    from datasets.models import Dataset, DatasetVersion
    from exeml.tenancy.models import Flavor
    from exeml.tenancy.scoping import tenant_scope
    from projects.models import Project
    from training.models import ModelVersion

    root = tenant.default_root
    put_files(tenant, f"{root}models/{name}/V001/",
              [(p.relative_to(bundle).as_posix(), p.read_bytes()) for p in sorted(bundle.rglob("*")) if p.is_file()])
    with tenant_scope(tenant):
        dataset = Dataset.objects.create(name=f"bench-{name}", task_type="predictive_analytics",
                                         input_path=root + "in/", output_path=root + "out/")
        dv = DatasetVersion.objects.create(dataset=dataset, name="V001", number=1, manifest_path=root + "m.manifest")
        project = Project.objects.create(name=name, task_type="predictive_analytics", dataset=dataset)
        return ModelVersion.objects.create(
            project=project, name="V001", number=1, dataset_version=dv,
            flavor=Flavor.objects.filter(purpose="train").first(), queue="train.cpu", status="completed",
            artifact_path=f"{root}models/{name}/V001/",
        )


def fault_s3_hung_cancel(server: Server, bundle: Path, records: list[dict]) -> list[tuple[str, str, str]]:
    """The tenant's S3 endpoint hangs (answers nothing, closes nothing) mid-sync, then
    mid-batch-prediction; the user cancels each job."""
    sync_scenario = "S3 endpoint hung mid-sync, sync cancelled"
    batch_scenario = "S3 endpoint hung mid-batch-prediction, job cancelled"
    rows: list[tuple[str, str, str]] = []
    moto, proxy = _moto_behind_proxy()
    try:
        tenant, token, folder = _tenant_on_proxy(proxy, "s3h", "S3 hung tenant")
        put_files(tenant, folder, [(f"t{i:05d}.txt", b"first line\nsecond line\n") for i in range(1500)])
        ds = create_dataset(server, token, folder)
        job = wait(lambda: (j := last_job(server, token, ds["id"])) and j["status"] == "running" and j, 120)
        if not job:
            rows.append((sync_scenario, "sync never started", "?"))
        else:
            time.sleep(1)
            proxy.hang()
            time.sleep(3)  # the sync is now inside hung calls
            rows.append(_latency_row(sync_scenario, *_cancel_latency(server, token, job["id"])))
        proxy.resume()

        # Batch prediction over CSV files of one feature row each, the endpoint hung mid-way.
        spec = json.loads((bundle / "bundle.json").read_text())["input_spec"]
        row = ",".join(str(records[0].get(c, "0")) for c in spec["columns"] if c != spec["label_column"])
        inputs = f"{tenant.default_root}batch-in/"
        put_files(tenant, inputs, [(f"r{i:05d}.csv", (row + "\n").encode()) for i in range(1500)])
        version = _register_version(tenant, bundle, "hungbatch")
        job = api(server.url, token, "POST", f"/api/v1/projects/{version.project_id}/versions/V001/batch-predict",
                  {"input_path": inputs, "output_path": f"{tenant.default_root}batch-out/"})
        reading = wait(lambda: (j := api(server.url, token, "GET", f"/api/v1/jobs/{job['id']}"))["status"] == "running"
                       and j["counts"].get("files", 0) > 0 and j, 120, step=0.2)
        if not reading:
            rows.append((batch_scenario, "batch prediction never read its inputs", "?"))
        else:
            proxy.hang()
            time.sleep(3)  # the job is now inside a hung read
            rows.append(_latency_row(batch_scenario, *_cancel_latency(server, token, job["id"])))
        return rows
    finally:
        proxy.resume()
        proxy.stop()
        moto.terminate()
        moto.wait(10)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--skip", action="append", default=[],
                        choices=("load", "sync", "training", "s3", "s3hang", "restart"))
    args = parser.parse_args()

    import tempfile

    rows: list[tuple[str, str, str]] = []
    server = FaultServer()
    server.start()
    try:
        django_setup(server)
        bundle, records = train_tabular(Path(tempfile.mkdtemp(prefix="exeml-faults-")))
        service = register_and_deploy(server, bundle, "predictive_analytics", "faultstab")
        body = json.dumps({"data": {"count": 1, "req_data": records[:1]}}).encode()
        if "load" not in args.skip:
            got = load(server, service, body, clients=args.clients, seconds=args.seconds)
            rows.append((f"{args.clients} inference clients for {args.seconds:g} s",
                         f"{got['requests']} requests, {got['errors']} errors, p50 {got['p50_ms']:.0f} ms, "
                         f"p99 {got['p99_ms']:.0f} ms, {got['per_s']:.0f}/s" +
                         (f" (first error {got['first_error']})" if got["errors"] else ""),
                         "-"))
        for name, fault in (("sync", fault_sync_worker_killed), ("training", fault_training_worker_killed),
                            ("s3", fault_s3_outage),
                            ("s3hang", lambda s: fault_s3_hung_cancel(s, bundle, records))):
            if name in args.skip:
                continue
            try:
                got = fault(server)
                rows.extend(got if isinstance(got, list) else [got])
            except Exception as exc:  # a bench reports, it never stops half-way
                rows.append((name, f"bench error: {type(exc).__name__}: {exc}"[:200], "?"))
        if "restart" not in args.skip:
            down = server.restart()
            ok = inference_ok(server, service, body)
            rows.append(("platform restarted while a service runs", f"down {down:.0f} s; {ok}/20 inferences after",
                         "none" if ok == 20 else "service lost"))
    finally:
        server.stop()
    width = max(len(r[0]) for r in rows)
    print(f"\n{'scenario':<{width}} | outcome | data lost")
    print("-" * (width + 40))
    for scenario, outcome, lost in rows:
        print(f"{scenario:<{width}} | {outcome} | {lost}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
