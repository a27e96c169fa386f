"""Upload rate: the answer time of an upload request and the import time of its rows.

For text files of 1k / 10k / 100k lines, one file per request through the API (DRF's test
client, in process: the view's own time, no HTTP server): how long the request takes to
answer (201 when imported inside the request, 202 with a job otherwise) and how long the
import takes, with its rows/s. The job is run in this process right after the answer (no
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


def _multipart(name: str, data: bytes) -> tuple[bytes, str]:
    boundary = "----exeml" + uuid.uuid4().hex
    body = (f'--{boundary}\r\nContent-Disposition: form-data; name="files"; filename="{name}"\r\n'
            f"Content-Type: text/plain\r\n\r\n").encode() + data + f"\r\n--{boundary}--\r\n".encode()
    return body, f"multipart/form-data; boundary={boundary}"


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
    _upload_lines(client, tenant, 10, "warm")
    return [_upload_lines(client, tenant, n, f"up{n}") for n in line_counts]


def _upload_lines(client, tenant, n: int, name: str) -> dict:
    from datasets.models import Sample
    from datasets.services import dataset_create
    from datasets.upload_import import dataset_upload_run
    from exeml.jobs.models import Job
    from exeml.tenancy.scoping import tenant_scope

    with tenant_scope(tenant):
        ds = dataset_create(
            tenant=tenant, name=name, task_type="text_classification", start_sync=False,
            input_path=f"s3://{BUCKET}/{TENANT}/{name}/", output_path=f"s3://{BUCKET}/{TENANT}/{name}-out/",
        )
    data = b"".join(b"comment number %d is about something fine\n" % i for i in range(n))
    body, content_type = _multipart(f"t{n}.txt", data)
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
            assert Job.objects.get(pk=job.pk).result["accepted"][0]["count"] == n
    with tenant_scope(tenant):
        assert Sample.objects.filter(dataset=ds).count() == n
    return {"lines": n, "answer": r.status_code, "answer_s": answer_s, "import_s": import_s,
            "rows_per_s": n / import_s}


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
    print(f"upload rate ({vendor}, moto S3, one text file per request, import run in process)")
    print(f"{'lines':>8} | {'answer':>6} | {'answer s':>8} | {'import s':>8} | {'rows/s':>8}")
    print(f"{'-' * 8}-+-{'-' * 6}-+-{'-' * 8}-+-{'-' * 8}-+-{'-' * 8}")
    for row in rows:
        print(f"{row['lines']:>8,} | {row['answer']:>6} | {row['answer_s']:>8.2f} | {row['import_s']:>8.2f} | "
              f"{row['rows_per_s']:>8,.0f}")


if __name__ == "__main__":
    main()
