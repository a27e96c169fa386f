"""Dataset synchronization throughput against an S3 endpoint.

Puts N small images (and, with --labels, N label files ``img_x.txt`` beside them) under one
folder, then prints a table: (1) raw boto3 list + get of every object, (2) the first sync
(list, read, decode, import) and (3) a re-sync with nothing changed (the listing compared
with what is stored, page by page: a few bulk queries a page, none per object), each with
its time, objects/s, database queries, the CPU seconds it took in this process and (when the
bench started it) in the moto S3 server, and the process's peak RSS growth during it, and the
re-sync's cost as a share of the first sync's (issue 24's goal: <= 5 %). The CPU seconds do
not stretch with other processes' load, as the wall-clock seconds do on a shared machine. Uses a temporary
EXEML_HOME and SQLite unless --database-url is given.

    python bench/sync.py --n 2000                      # starts a moto S3 server itself
    python bench/sync.py --n 20000 --labels            # issue 24: 20k images + 20k label files
    python bench/sync.py --n 10000 --endpoint http://127.0.0.1:9000
"""

from __future__ import annotations

import argparse
import io
import json
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

BUCKET = "exeml-bench"
TENANT = "bench"
READ_THREADS = 8


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _start_moto() -> tuple[str, subprocess.Popen]:
    # A separate process, so the S3 server does not share our GIL and skew the figures.
    port = _free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    for _ in range(100):
        try:
            urllib.request.urlopen(url + "/")
            return url, proc
        except OSError:
            time.sleep(0.1)
    proc.kill()
    raise SystemExit("moto server did not start")


def _configure(endpoint: str, home: str, database_url: str = "") -> None:
    os.environ.pop("DATABASE_URL", None)
    if database_url:
        os.environ["DATABASE_URL"] = database_url
        # A database URL turns the embedded defaults off; this throwaway run signs nothing.
        os.environ.setdefault("EXEML_SECRET_KEY", "bench-sync-throwaway")
    os.environ.update(
        {
            "DJANGO_SETTINGS_MODULE": "exeml.settings",
            "EXEML_HOME": home,
            "EXEML_S3_ENDPOINT_URL": endpoint,
            "EXEML_BUCKET": BUCKET,
            "AWS_ACCESS_KEY_ID": os.environ.get("AWS_ACCESS_KEY_ID", "testing"),
            "AWS_SECRET_ACCESS_KEY": os.environ.get("AWS_SECRET_ACCESS_KEY", "testing"),
        }
    )
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", interactive=False, verbosity=0)


def _image(i: int) -> bytes:
    from PIL import Image

    buf = io.BytesIO()
    Image.new("RGB", (32, 32), (i % 256, (i * 7) % 256, (i * 13) % 256)).save(buf, format="JPEG")
    return buf.getvalue()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=10_000, help="objects to put (default 10000)")
    parser.add_argument("--endpoint", default="", help="S3 endpoint URL (default: start moto)")
    parser.add_argument("--labels", action="store_true", help="also put one label file per image")
    parser.add_argument("--database-url", default="", help="e.g. postgres://postgres@127.0.0.1:5432/bench")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON, not a table")
    args = parser.parse_args()

    moto = None
    endpoint = args.endpoint
    if not endpoint:
        endpoint, moto = _start_moto()
    try:
        with tempfile.TemporaryDirectory(prefix="exeml-bench-") as home:
            _configure(endpoint, home, args.database_url)
            result = run(args.n, labels=args.labels, server_pid=moto.pid if moto is not None else None)
            print(json.dumps(result) if args.json else _table(result))
    finally:
        if moto is not None:
            moto.terminate()
            moto.wait(10)


def _rss_bytes() -> int:
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def _cpu_seconds(pid: int | None) -> float | None:
    """User + system CPU seconds of another process so far (None: not ours to see)."""
    if pid is None:
        return None
    with open(f"/proc/{pid}/stat") as fh:
        fields = fh.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class _Phase:
    """Time, database queries, CPU seconds (this process's, all threads, and the S3 server's
    when it is a local process) and peak RSS growth (sampled every 20 ms) of one step."""

    def __init__(self, server_pid: int | None = None, *, database: bool = True) -> None:
        from django.db import connection

        # Counted, not captured: keeping the SQL text of a first sync's bulk inserts would
        # itself grow the RSS being measured.
        self._queries = connection.execute_wrapper(self._count) if database else None
        self._server_pid = server_pid
        self._stop = threading.Event()
        self.seconds = 0.0
        self.cpu = 0.0
        self.server_cpu: float | None = None
        self.peak_growth = 0
        self.queries = 0

    def _count(self, execute, sql, params, many, context):
        self.queries += 1
        return execute(sql, params, many, context)

    def _sample(self) -> None:
        while not self._stop.wait(0.02):
            self.peak_growth = max(self.peak_growth, _rss_bytes() - self._base)

    def __enter__(self) -> _Phase:
        self._base = _rss_bytes()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()
        if self._queries is not None:
            self._queries.__enter__()
        self._server0 = _cpu_seconds(self._server_pid)
        self._cpu0 = time.process_time()
        self._t0 = time.perf_counter()
        return self

    def __exit__(self, *exc) -> None:
        self.seconds = time.perf_counter() - self._t0
        self.cpu = time.process_time() - self._cpu0
        if self._server0 is not None:
            self.server_cpu = _cpu_seconds(self._server_pid) - self._server0
        if self._queries is not None:
            self._queries.__exit__(*exc)
        self._stop.set()
        self._thread.join()
        self.peak_growth = max(self.peak_growth, _rss_bytes() - self._base)


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 2)


def _table(r: dict) -> str:
    rows = [
        ("raw boto3 list only", "list"),
        ("raw boto3 list + get", "raw"),
        ("first sync", "first"),
        ("re-sync, nothing changed", "resync"),
    ]
    out = [
        f"{r['objects']:,} objects ({r['images']:,} images, {r['label_files']:,} label files), "
        f"{r['database']}, read threads {r['read_threads']}",
        f"{'step':<26} {'seconds':>9} {'objects/s':>10} {'queries':>8} {'CPU s':>7} {'S3 CPU s':>9} "
        f"{'RSS growth MiB':>15}",
    ]
    for name, step in rows:
        secs, queries, rss = r[f"{step}_s"], r.get(f"{step}_queries"), r.get(f"{step}_rss_mib")
        server = r[f"{step}_server_cpu_s"]
        out.append(
            f"{name:<26} {secs:>9.2f} {r['objects'] / secs:>10,.0f} "
            f"{'' if queries is None else queries:>8} {r[f'{step}_cpu_s']:>7.2f} "
            f"{'' if server is None else f'{server:.2f}':>9} {'' if rss is None else f'{rss:.1f}':>15}"
        )
    out.append(
        f"re-sync / first sync: {r['resync_share_pct']:.2f} % (goal <= 5 %); the listing alone "
        f"{100 * r['list_s'] / r['first_s']:.2f} % of the first sync; "
        f"peak RSS of the process {r['peak_rss_mib']:.0f} MiB"
    )
    if r["resync_cpu_share_pct"] is not None:
        out.append(
            f"in CPU seconds (this process + the S3 server): re-sync / first sync "
            f"{r['resync_cpu_share_pct']:.2f} %, the listing alone {r['list_cpu_share_pct']:.2f} %"
        )
    return "\n".join(out)


def run(n: int, *, labels: bool = False, server_pid: int | None = None) -> dict:
    import resource

    from django.db import connection

    from datasets.models import Sample
    from datasets.services import dataset_create, dataset_sync
    from exeml.storage import default_store
    from exeml.tenancy.scoping import tenant_scope
    from exeml.tenancy.services import tenant_create

    store = default_store()
    store.ensure_bucket(BUCKET)
    tenant = tenant_create(slug=TENANT)
    prefix = f"{TENANT}/bench-{int(time.time())}/"
    client = store.client  # raw boto3, for the baseline

    def put(i: int) -> None:
        client.put_object(Bucket=BUCKET, Key=f"{prefix}img_{i:06d}.jpg", Body=_image(i))
        if labels:
            client.put_object(
                Bucket=BUCKET, Key=f"{prefix}img_{i:06d}.txt", Body=f"class_{i % 10}\n".encode()
            )

    objects = n * (2 if labels else 1)
    t0 = time.perf_counter()
    with ThreadPoolExecutor(10) as pool:
        list(pool.map(put, range(n)))
    put_s = time.perf_counter() - t0

    with _Phase(server_pid, database=False) as list_phase:  # the floor of a re-sync: the listing alone
        keys = [
            o["Key"]
            for page in client.get_paginator("list_objects_v2").paginate(Bucket=BUCKET, Prefix=prefix)
            for o in page.get("Contents", [])
        ]
    with _Phase(server_pid, database=False) as get_phase:
        with ThreadPoolExecutor(READ_THREADS) as pool:
            total = sum(pool.map(lambda k: len(client.get_object(Bucket=BUCKET, Key=k)["Body"].read()), keys))
    list_s, raw_s = list_phase.seconds, list_phase.seconds + get_phase.seconds
    assert len(keys) == objects and total > 0

    with tenant_scope(tenant):
        dataset = dataset_create(
            tenant=tenant,
            name="bench",
            task_type="image_classification",
            start_sync=False,
            input_path=f"s3://{BUCKET}/{prefix}",
            output_path=f"s3://{BUCKET}/{TENANT}/bench-out/",
        )
        with _Phase(server_pid) as first_phase:
            first = dataset_sync(dataset=dataset)
        with _Phase(server_pid) as again_phase:
            again = dataset_sync(dataset=dataset)
        samples = Sample.objects.filter(dataset=dataset).count()
        labeled = Sample.objects.filter(dataset=dataset, labeled=True).count()
    assert first.status == "succeeded" and samples == n, (first.detail, samples)
    assert not labels or labeled == n, labeled
    assert again.counts["unchanged"] == objects and again.counts["imported"] == 0, again.counts
    first_s, again_s = first_phase.seconds, again_phase.seconds

    def both(phase: _Phase) -> float | None:  # CPU seconds here and in the S3 server
        return None if phase.server_cpu is None else phase.cpu + phase.server_cpu

    first_both = both(first_phase)
    return {
        "objects": objects,
        "images": n,
        "label_files": n if labels else 0,
        "database": "SQLite" if connection.vendor == "sqlite" else connection.vendor,
        "put_objects_per_s": round(objects / put_s, 1),
        "raw_s": round(raw_s, 3),
        "list_s": round(list_s, 3),
        "first_s": round(first_s, 3),
        "resync_s": round(again_s, 3),
        "raw_boto3_list_get_objects_per_s": round(objects / raw_s, 1),
        "first_sync_objects_per_s": round(objects / first_s, 1),
        "resync_unchanged_objects_per_s": round(objects / again_s, 1),
        "first_queries": first_phase.queries,
        "resync_queries": again_phase.queries,
        "first_rss_mib": round(first_phase.peak_growth / 2**20, 1),
        "resync_rss_mib": round(again_phase.peak_growth / 2**20, 1),
        "peak_rss_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "resync_share_pct": round(100 * again_s / first_s, 2),
        "list_cpu_s": round(list_phase.cpu, 2),
        "raw_cpu_s": round(list_phase.cpu + get_phase.cpu, 2),
        "first_cpu_s": round(first_phase.cpu, 2),
        "resync_cpu_s": round(again_phase.cpu, 2),
        "list_server_cpu_s": _round(list_phase.server_cpu),
        "raw_server_cpu_s": _round(
            None if list_phase.server_cpu is None else list_phase.server_cpu + get_phase.server_cpu
        ),
        "first_server_cpu_s": _round(first_phase.server_cpu),
        "resync_server_cpu_s": _round(again_phase.server_cpu),
        "resync_cpu_share_pct": None
        if first_both is None
        else round(100 * both(again_phase) / first_both, 2),
        "list_cpu_share_pct": None if first_both is None else round(100 * both(list_phase) / first_both, 2),
        "read_threads": READ_THREADS,
    }


if __name__ == "__main__":
    main()
