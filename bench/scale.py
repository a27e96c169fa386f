"""How the cost of each user action grows with the data: 1k / 10k / 100k samples in one run.

Creates one text dataset per size in the same database (bulk_create, not through upload:
half the samples labelled over three labels, a pending suggestion on every unlabelled one,
a project on each), then times, through the real HTTP API (Django's test client: views,
serializers, authentication and middleware all count), p50/p95 of

    list page 1, a deep page (the ``next`` link of a page in the middle), filtered pages
    (labeled=false, label=NAME), label stats, train-check, label-next, dataset detail,
    project list, dataset version create and export: the request's answer (POST versions: 201
    with the version when small, else 202 with a job; POST exports: 202 with a job) and the
    answer plus the job's run ("done": run here, since no worker consumes the queue)

and prints the table with the 100k/1k ratio and the web process's peak RSS while serving.
Runs on DATABASE_URL when set (PostgreSQL; the database must exist and may be reused, the
bench adds its own tenant), else on a fresh SQLite file in a temporary EXEML_HOME.

    python bench/scale.py                       # 1k, 10k, 100k on SQLite
    EXEML_ALLOWED_HOSTS=testserver DATABASE_URL=postgres://postgres@127.0.0.1:5432/exeml_bench python bench/scale.py
    python bench/scale.py --sizes 1000,10000 --repeat 9
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

LABELS = ("pos", "neg", "neu")
BATCH = 5000
WORDS = "alpha beta gamma delta epsilon zeta eta theta iota kappa lambda mu nu xi omicron pi".split()


def _configure(home: str) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "exeml.settings")
    os.environ["EXEML_HOME"] = home
    for folder in ("broker", "broker-processed", "broker-control"):  # the embedded queue (nobody consumes it)
        os.makedirs(os.path.join(home, folder), exist_ok=True)
    os.environ.setdefault("EXEML_SECRET_KEY", "bench-secret")
    os.environ.pop("EXEML_S3_ENDPOINT_URL", None)  # the local-folder store: no S3 server to time
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", interactive=False, verbosity=0)
    from django.conf import settings

    from exeml.storage import default_store

    default_store().ensure_bucket(settings.EXEML_BUCKET)


def _rss_mib(field: str) -> float:
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    return float("nan")


def _reset_peak_rss() -> None:
    try:
        with open("/proc/self/clear_refs", "w") as fh:
            fh.write("5")  # resets VmHWM (Linux >= 4.0)
    except OSError:
        pass


def _seed(tenant, n: int, tag: str):
    """One text dataset of ``n`` samples with labels, annotations, suggestions and a project."""
    from django.conf import settings

    from datasets.models import Annotation, Dataset, Label, Sample
    from exeml.tenancy.scoping import tenant_scope
    from labeling.models import Suggestion
    from projects.models import Project

    rng = random.Random(n)
    root = f"s3://{settings.EXEML_BUCKET}/{tenant.slug}"
    with tenant_scope(tenant):
        ds = Dataset.objects.create(
            tenant=tenant, name=f"scale-{tag}", task_type="text_classification",
            input_path=f"{root}/in-{tag}/", output_path=f"{root}/out-{tag}/",
        )
        labels = [Label.objects.create(tenant=tenant, dataset=ds, name=name) for name in LABELS]
        source_id = uuid.uuid4()
        for start in range(0, n, BATCH):
            samples, anns, suggestions = [], [], []
            for i in range(start, min(n, start + BATCH)):
                labeled = i % 2 == 0
                text = " ".join(rng.choice(WORDS) for _ in range(12)) + f" #{i}"
                s = Sample(
                    tenant=tenant, dataset=ds, source=f"{root}/in-{tag}/data.txt", name=f"data.txt:{i + 1}",
                    line_number=i + 1, size=len(text), text=text, labeled=labeled,
                )
                samples.append(s)
                if labeled:
                    anns.append(Annotation(tenant=tenant, sample=s, label=labels[(i // 2) % 3]))
                else:
                    u = rng.random()
                    suggestions.append(Suggestion(
                        tenant=tenant, dataset=ds, sample=s, source_id=source_id, source_name="V001",
                        payload={"labels": [LABELS[i % 3]]}, confidence=1 - u, uncertainty=u,
                    ))
            Sample.objects.bulk_create(samples)
            Annotation.objects.bulk_create(anns)
            Suggestion.objects.bulk_create(suggestions)
        project = Project.objects.create(tenant=tenant, name=f"scale-{tag}"[:20], task_type="text_classification",
                                         dataset=ds)
    return ds, project


class Timer:
    def __init__(self, client, repeat: int) -> None:
        self.client = client
        self.repeat = repeat

    def get(self, url: str, *, repeat: int | None = None) -> list[float]:
        times = []
        for _ in range(repeat or self.repeat):
            t0 = time.perf_counter()
            r = self.client.get(url)
            times.append(time.perf_counter() - t0)
            if r.status_code != 200:
                raise SystemExit(f"GET {url}: {r.status_code} {r.content[:300]!r}")
        return times


def _path(url: str) -> str:
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    return parts.path + (f"?{parts.query}" if parts.query else "")


def _measure(client, ds, project, n: int, repeat: int, slow_repeat: int) -> dict[str, list[float]]:
    from datasets.export.service import dataset_export_run
    from datasets.version_jobs import dataset_version_run
    from exeml.tenancy.scoping import tenant_scope

    t = Timer(client, repeat)
    base = f"/api/v1/datasets/{ds.pk}"
    out: dict[str, list[float]] = {}
    client.get(f"{base}/samples")  # warm the connection and caches
    out["list page 1"] = t.get(f"{base}/samples")
    # A page in the middle; its ``next`` link is what a client follows from there.
    mid = max(1, n // 2 // 20)
    r = client.get(f"{base}/samples?page={mid}")
    assert r.status_code == 200, r.content[:300]
    nxt = r.json().get("next")
    deep = _path(nxt) if nxt and "cursor=" in nxt else f"{base}/samples?page={mid}"
    out["list deep (next)"] = t.get(deep)
    out["list labeled=false"] = t.get(f"{base}/samples?labeled=false")
    out["list label=pos"] = t.get(f"{base}/samples?label=pos")
    r = client.get(f"{base}/samples?label=pos&page={max(1, mid // 3)}")
    nxt = r.json().get("next") if r.status_code == 200 else None
    out["list label=pos deep"] = t.get(_path(nxt) if nxt else f"{base}/samples?label=pos&page={max(1, mid // 3)}")
    out["label stats"] = t.get(f"{base}/label-stats")
    out["train-check"] = t.get(f"/api/v1/projects/{project.pk}/train-check")
    out["label-next"] = t.get(f"{base}/label-next")
    out["dataset detail"] = t.get(f"{base}")
    out["project list"] = t.get("/api/v1/projects")
    # A write's request answers first (201 with the version when small enough, else 202 with
    # a job); "… (done)" adds the job's run, here in this process since no worker consumes
    # the queue: the user's wait for the result.
    answers: dict[str, list[float]] = {"version create answer": [], "version create (done)": [],
                                       "export answer": [], "export (done)": []}
    for _ in range(slow_repeat):
        t0 = time.perf_counter()
        r = client.post(f"{base}/versions", {"train_ratio": 0.8}, format="json")
        answers["version create answer"].append(time.perf_counter() - t0)
        if r.status_code == 202:
            with tenant_scope(ds.tenant_id):  # what the worker's task does around the run
                job = dataset_version_run(job_id=r.json()["id"])
            if job.status != "succeeded":
                raise SystemExit(f"version job: {job.status} {job.detail}")
        elif r.status_code != 201:
            raise SystemExit(f"POST versions: {r.status_code} {r.content[:300]!r}")
        answers["version create (done)"].append(time.perf_counter() - t0)
    for _ in range(slow_repeat):
        t0 = time.perf_counter()
        r = client.post(f"{base}/exports", {"format": "folders", "target": "zip"}, format="json")
        answers["export answer"].append(time.perf_counter() - t0)
        if r.status_code != 202:
            raise SystemExit(f"POST exports: {r.status_code} {r.content[:300]!r}")
        with tenant_scope(ds.tenant_id):
            dataset_export_run(job_id=r.json()["id"])
        answers["export (done)"].append(time.perf_counter() - t0)
    out.update({k: v for k, v in answers.items() if v})
    return out


def _explain(client, ds, n: int) -> None:
    """PostgreSQL: the plan of the page query behind each list URL at depth (is it one index range?)."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    base = f"/api/v1/datasets/{ds.pk}"
    mid = max(1, n // 2 // 20)
    urls = {}
    for name, query in (("samples deep", ""), ("labeled=false deep", "&labeled=false"), ("label=pos deep", "&label=pos")):
        r = client.get(f"{base}/samples?page={max(1, mid // 3)}{query}")
        urls[name] = _path(r.json()["next"])
    r = client.get(f"{base}/label-next?page=3")
    urls["label-next (cursor)"] = _path(r.json()["next"])
    urls["label stats"] = f"{base}/label-stats"
    for name, url in urls.items():
        with CaptureQueriesContext(connection) as ctx:
            client.get(url)
        tables = ("datasets_sample", "labeling_suggestion", "counter")
        pages = [q["sql"] for q in ctx.captured_queries
                 if q["sql"].startswith("SELECT") and any(f'FROM "{t}' in q["sql"] or t in q["sql"].split("WHERE")[0]
                                                         for t in tables)]
        print(f"\n--- {name}: {url}")
        for sql in pages[:3]:
            with connection.cursor() as cur:
                cur.execute("EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY ON) " + sql)
                print("\n".join(row[0] for row in cur.fetchall()))


def _pct(values: list[float], q: float) -> float:
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[int(q) - 1]


def _ms(x: float) -> str:
    return f"{x * 1000:.1f}" if x < 10 else f"{x:.1f}s"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000,10000,100000")
    parser.add_argument("--repeat", type=int, default=15, help="timed requests per read action")
    parser.add_argument("--slow-repeat", type=int, default=2, help="version creates / exports per size")
    parser.add_argument("--explain", action="store_true", help="PostgreSQL: print the plans of the deep pages")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]

    home = tempfile.mkdtemp(prefix="exeml-scale-")
    _configure(home)
    from django.db import connection
    from rest_framework.test import APIClient

    from exeml.tenancy import services as tenancy_services
    from exeml.tenancy.models import Role

    slug = f"scale{uuid.uuid4().hex[:6]}"
    tenant = tenancy_services.tenant_create(slug=slug, name="Scale bench")
    user, _ = tenancy_services.member_add(tenant=tenant, username=f"{slug}-owner", password="pw", role=Role.OWNER)
    token = tenancy_services.token_issue(user=user, tenant=tenant)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token}")

    print(f"database: {connection.vendor} ({connection.settings_dict['NAME']})", flush=True)
    seeded = {}
    for n in sizes:
        t0 = time.perf_counter()
        seeded[n] = _seed(tenant, n, f"{n}-{slug}")
        print(f"seeded {n} samples in {time.perf_counter() - t0:.1f}s", flush=True)
    if connection.vendor == "postgresql":
        with connection.cursor() as cur:
            cur.execute("ANALYZE")
    results: dict[int, dict[str, list[float]]] = {}
    _reset_peak_rss()
    rss_before = _rss_mib("VmRSS")
    for n in sizes:
        ds, project = seeded[n]
        t0 = time.perf_counter()
        results[n] = _measure(client, ds, project, n, args.repeat, args.slow_repeat)
        print(f"measured {n} in {time.perf_counter() - t0:.1f}s", flush=True)
    peak = _rss_mib("VmHWM")

    actions = list(results[sizes[0]])
    head = f"{'action':24}" + "".join(f"{f'{n // 1000}k p50':>10}{f'{n // 1000}k p95':>10}" for n in sizes)
    if len(sizes) > 1:
        head += f"{f'{sizes[-1] // 1000}k/{sizes[0] // 1000}k':>10}"
    print()
    print(f"ms (s where marked); {connection.vendor}; {args.repeat} requests per read, {args.slow_repeat} per write")
    print(head)
    for action in actions:
        row = f"{action:24}"
        for n in sizes:
            values = results[n][action]
            row += f"{_ms(statistics.median(values)):>10}{_ms(_pct(values, 95)):>10}"
        if len(sizes) > 1:
            ratio = statistics.median(results[sizes[-1]][action]) / statistics.median(results[sizes[0]][action])
            row += f"{ratio:>9.1f}x"
        print(row)
    print(f"web process RSS: {rss_before:.0f} MiB before the requests, peak {peak:.0f} MiB while serving")
    if args.explain and connection.vendor == "postgresql":
        _explain(client, *seeded[sizes[-1]][:1], sizes[-1])


if __name__ == "__main__":
    main()
