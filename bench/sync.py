"""Dataset synchronization throughput against an S3 endpoint.

Puts N small images under one folder, then prints objects/s for (1) raw boto3 list + get
of every object, (2) the first sync (list, read, decode, import) and (3) a re-sync with
nothing changed (list + one query per page). Uses a temporary EXEML_HOME and SQLite.

    python bench/sync.py --n 2000                      # starts a moto S3 server itself
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
    proc = subprocess.Popen([sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    for _ in range(100):
        try:
            urllib.request.urlopen(url + "/")
            return url, proc
        except OSError:
            time.sleep(0.1)
    proc.kill()
    raise SystemExit("moto server did not start")


def _configure(endpoint: str, home: str) -> None:
    os.environ.pop("DATABASE_URL", None)
    os.environ.update({
        "DJANGO_SETTINGS_MODULE": "exeml.settings", "EXEML_HOME": home, "EXEML_S3_ENDPOINT_URL": endpoint,
        "EXEML_BUCKET": BUCKET, "AWS_ACCESS_KEY_ID": os.environ.get("AWS_ACCESS_KEY_ID", "testing"),
        "AWS_SECRET_ACCESS_KEY": os.environ.get("AWS_SECRET_ACCESS_KEY", "testing"),
    })
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
    args = parser.parse_args()

    moto = None
    endpoint = args.endpoint
    if not endpoint:
        endpoint, moto = _start_moto()
    try:
        with tempfile.TemporaryDirectory(prefix="exeml-bench-") as home:
            _configure(endpoint, home)
            print(json.dumps(run(args.n)))
    finally:
        if moto is not None:
            moto.terminate()
            moto.wait(10)


def run(n: int) -> dict:
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

    t0 = time.perf_counter()
    with ThreadPoolExecutor(10) as pool:
        list(pool.map(lambda i: client.put_object(Bucket=BUCKET, Key=f"{prefix}img_{i:06d}.jpg", Body=_image(i)),
                      range(n)))
    put_s = time.perf_counter() - t0

    t0 = time.perf_counter()
    keys = [o["Key"] for page in client.get_paginator("list_objects_v2").paginate(Bucket=BUCKET, Prefix=prefix)
            for o in page.get("Contents", [])]
    with ThreadPoolExecutor(READ_THREADS) as pool:
        total = sum(pool.map(lambda k: len(client.get_object(Bucket=BUCKET, Key=k)["Body"].read()), keys))
    raw_s = time.perf_counter() - t0
    assert len(keys) == n and total > 0

    with tenant_scope(tenant):
        dataset = dataset_create(
            tenant=tenant, name="bench", task_type="image_classification", start_sync=False,
            input_path=f"s3://{BUCKET}/{prefix}", output_path=f"s3://{BUCKET}/{TENANT}/bench-out/",
        )
        t0 = time.perf_counter()
        first = dataset_sync(dataset=dataset)
        first_s = time.perf_counter() - t0
        t0 = time.perf_counter()
        again = dataset_sync(dataset=dataset)
        again_s = time.perf_counter() - t0
        samples = Sample.objects.filter(dataset=dataset).count()
    assert first.status == "succeeded" and samples == n, (first.detail, samples)
    assert again.counts["unchanged"] == n and again.counts["imported"] == 0
    return {
        "objects": n,
        "put_objects_per_s": round(n / put_s, 1),
        "raw_boto3_list_get_objects_per_s": round(n / raw_s, 1),
        "first_sync_objects_per_s": round(n / first_s, 1),
        "resync_unchanged_objects_per_s": round(n / again_s, 1),
        "read_threads": READ_THREADS,
    }


if __name__ == "__main__":
    main()
