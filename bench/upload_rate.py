"""Upload rate: the answer time of an upload request and the import time of its rows.

For text files of 1k / 10k / 100k lines, one file per request through the API (DRF's test
client, in process: the view's own time, no HTTP server): how long the request takes to
answer (201 when imported inside the request, 202 with a job otherwise) and how long the
import takes, with its rows/s; then the inline rule's other bound, 20 images in one request. The job is run in this process right after the answer (no
worker, no broker round trip), so the figures are the import's own. Uses a temporary
EXEML_HOME, a moto S3 server it starts, and SQLite unless --database-url is given.

    python bench/upload_rate.py
    python bench/upload_rate.py --lines 1000 10000 100000 --database-url postgres://postgres@127.0.0.1:5432/bench
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.sync import _start_moto  # noqa: E402

BUCKET = "exeml-bench"
TENANT = "benchup"


def _configure(endpoint: str, home: str, database_url: str) -> str:
    os.environ.pop("DATABASE_URL", None)
    if database_url:
        os.environ["DATABASE_URL"] = database_url
    os.environ.update({
        "DJANGO_SETTINGS_MODULE": "exeml.settings", "EXEML_HOME": home, "EXEML_S3_ENDPOINT_URL": endpoint,
        "EXEML_BUCKET": BUCKET, "AWS_ACCESS_KEY_ID": os.environ.get("AWS_ACCESS_KEY_ID", "testing"),
        "AWS_SECRET_ACCESS_KEY": os.environ.get("AWS_SECRET_ACCESS_KEY", "testing"),
        "EXEML_SECRET_KEY": "bench", "EXEML_ALLOWED_HOSTS": "*",
        # The job is run here, after the answer: its message goes nowhere.
        "CELERY_BROKER_URL": "memory://",
    })
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    call_command("migrate", interactive=False, verbosity=0)
    return "SQLite" if connection.vendor == "sqlite" else connection.vendor


def _multipart(files: list[tuple[str, bytes]]) -> tuple[bytes, str]:
    boundary = "----exeml" + uuid.uuid4().hex
    parts = [(f'--{boundary}\r\nContent-Disposition: form-data; name="files"; filename="{name}"\r\n'
              f"Content-Type: application/octet-stream\r\n\r\n").encode() + data + b"\r\n" for name, data in files]
    return b"".join(parts) + f"--{boundary}--\r\n".encode(), f"multipart/form-data; boundary={boundary}"


def run(line_counts: list[int]) -> list[dict]:
    from rest_framework.test import APIClient

    from exeml.storage import default_store
    from exeml.tenancy import services as tenancy
    from exeml.tenancy.models import Role

    default_store().ensure_bucket(BUCKET)
    tenant = tenancy.tenant_create(slug=TENANT)
    user, _ = tenancy.member_add(tenant=tenant, username="bench", password="bench-pass-1234", role=Role.OWNER)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {tenancy.token_issue(user=user, tenant=tenant)}")
    # The first request of a process loads the URL conf, the serializers and a storage client:
    # done once before the measured ones, as a running web process has it.
    _upload(client, tenant, "warm", "text_classification", [("w.txt", _lines(10))], 10)
    rows = [_upload(client, tenant, f"up{n}", "text_classification", [(f"t{n}.txt", _lines(n))], n)
            for n in line_counts]
    # The inline rule's other bound: 20 images within 1 MiB, each decoded to be checked.
    images = [(f"img{i:02d}.jpg", _jpeg(i)) for i in range(20)]
    rows.append(_upload(client, tenant, "img20", "image_classification", images, len(images)))
    return rows


def _lines(n: int) -> bytes:
    return b"".join(b"comment number %d is about something fine\n" % i for i in range(n))


def _jpeg(seed: int) -> bytes:
    import io
    import random

    from PIL import Image

    rng = random.Random(seed)
    img = Image.frombytes("RGB", (160, 160), bytes(rng.randrange(256) for _ in range(160 * 160 * 3)))
    buf = io.BytesIO()
    img.save(buf, format="JPEG", quality=70)
    return buf.getvalue()


def _upload(client, tenant, name: str, task_type: str, files: list[tuple[str, bytes]], n: int) -> dict:
    from datasets.models import Sample
    from datasets.services import dataset_create
    from datasets.upload_import import dataset_upload_run
    from exeml.tenancy.scoping import tenant_scope

    with tenant_scope(tenant):
        ds = dataset_create(
            tenant=tenant, name=name, task_type=task_type, start_sync=False,
            input_path=f"s3://{BUCKET}/{TENANT}/{name}/", output_path=f"s3://{BUCKET}/{TENANT}/{name}-out/",
        )
    body, content_type = _multipart(files)
    t0 = time.perf_counter()
    r = client.generic("POST", f"/api/v1/datasets/{ds.pk}/samples", body, content_type=content_type)
    answer_s = time.perf_counter() - t0
    assert r.status_code in (201, 202), r.content[:500]
    import_s = answer_s
    if r.status_code == 202:
        with tenant_scope(tenant):
            t0 = time.perf_counter()
            job = dataset_upload_run(job_id=r.json()["id"])
            import_s = time.perf_counter() - t0
            assert job.status == "succeeded", job.detail
    with tenant_scope(tenant):
        assert Sample.objects.filter(dataset=ds).count() == n
    kind = "text lines" if task_type == "text_classification" else "images"
    return {"what": f"{n:,} {kind}", "bytes": sum(len(d) for _, d in files), "answer": r.status_code,
            "answer_s": answer_s, "import_s": import_s, "rows_per_s": n / import_s}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, nargs="+", default=[1000, 10_000, 100_000])
    parser.add_argument("--endpoint", default="", help="S3 endpoint URL (default: start moto)")
    parser.add_argument("--database-url", default="", help="default: SQLite in a temporary EXEML_HOME")
    args = parser.parse_args()
    moto = None
    endpoint = args.endpoint
    if not endpoint:
        endpoint, moto = _start_moto()
    try:
        with tempfile.TemporaryDirectory(prefix="exeml-bench-") as home:
            vendor = _configure(endpoint, home, args.database_url)
            rows = run(args.lines)
    finally:
        if moto is not None:
            moto.terminate()
            moto.wait(10)
    print(f"upload rate ({vendor}, moto S3, one request each, a 202's import run in process after the answer)")
    print(f"{'upload':>18} | {'bytes':>9} | {'answer':>6} | {'answer s':>8} | {'import s':>8} | {'rows/s':>8}")
    print(f"{'-' * 18}-+-{'-' * 9}-+-{'-' * 6}-+-{'-' * 8}-+-{'-' * 8}-+-{'-' * 8}")
    for row in rows:
        print(f"{row['what']:>18} | {row['bytes']:>9,} | {row['answer']:>6} | {row['answer_s']:>8.2f} | "
              f"{row['import_s']:>8.2f} | {row['rows_per_s']:>8,.0f}")
    print("answer 201: imported within the request (import s = answer s); 202: answered with a job")


if __name__ == "__main__":
    main()
