"""A two-labeler run on the demo text dataset, through the real HTTP API, and its agreement figures.

The demo reviews (datasets.demo_data.text_files: positive / negative / neutral, each line's
true class known) are split into tasks for two labelers with an overlap (a fraction labelled
blind by the other labeler too). The labelers are simulated: each gives the true class, or
with their own error rate a wrong one (seeded). A reviewer who knows the truth accepts right
samples and rejects wrong ones with a comment; the labeler fixes them and resubmits; the
reviewer accepts. The script prints the agreement between the labelers (Cohen's kappa per
label and overall), each labeler against the reviewed result, the activity table and the
time each API step took. Nothing here is asserted: the figures are for reading.

    python bench/team_labeling.py                      # 2 x 60 reviews a class, overlap 0.2
    python bench/team_labeling.py --per-class 200 --overlap 0.1 --errors 0.05,0.2
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

CLASSES = ("positive", "negative", "neutral")


def _configure(home: str) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "exeml.settings")
    os.environ["EXEML_HOME"] = home
    for folder in ("broker", "broker-processed", "broker-control"):
        os.makedirs(os.path.join(home, folder), exist_ok=True)
    os.environ.setdefault("EXEML_SECRET_KEY", "bench-secret")
    os.environ.pop("EXEML_S3_ENDPOINT_URL", None)
    os.environ.setdefault("EXEML_ALLOWED_HOSTS", "testserver")
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", interactive=False, verbosity=0)
    from django.conf import settings

    from exeml.storage import default_store

    default_store().ensure_bucket(settings.EXEML_BUCKET)


def _client(token: str):
    from rest_framework.test import APIClient

    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    return client


def _ok(response, *codes: int):
    if response.status_code not in (codes or (200,)):
        raise SystemExit(f"{response.request['REQUEST_METHOD']} {response.request['PATH_INFO']}: "
                         f"{response.status_code} {response.content[:300]!r}")
    return response.json() if response.content else None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--per-class", type=int, default=60)
    parser.add_argument("--per-task", type=int, default=30)
    parser.add_argument("--overlap", type=float, default=0.2)
    parser.add_argument("--errors", default="0.05,0.20", help="each labeler's error rate")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    errors = [float(x) for x in args.errors.split(",")]
    home = tempfile.mkdtemp(prefix="exeml-team-")
    _configure(home)

    from datasets import demo_data
    from datasets.models import Dataset, Sample, SourceObject
    from exeml.storage import store_for_tenant
    from exeml.tenancy import services as tenancy
    from exeml.tenancy.models import Role
    from exeml.tenancy.scoping import tenant_scope

    rng = random.Random(args.seed)
    slug = f"team{int(time.time())}"
    tenant = tenancy.tenant_create(slug=slug)
    owner, _ = tenancy.member_add(tenant=tenant, username=f"{slug}-owner", password="pw", role=Role.OWNER)
    owner_api = _client(tenancy.token_issue(user=owner, tenant=tenant))

    files = dict(demo_data.text_files(lang="en", per_class=args.per_class, classes=CLASSES, unlabelled=0,
                                      seed=args.seed))
    lines = files["reviews.txt"].decode().splitlines()
    truth_of_line = files["reviews_result.txt"].decode().splitlines()
    root = tenant.default_root
    bucket, prefix = root[len("s3://"):].split("/", 1)
    store = store_for_tenant(tenant)
    store.put(bucket, f"{prefix}team/in/reviews.txt", files["reviews.txt"])
    with tenant_scope(tenant):
        ds = Dataset.objects.create(name="team-demo", task_type="text_classification",
                                    input_path=f"{root}team/in/", output_path=f"{root}team/out/")
        obj = SourceObject.objects.create(dataset=ds, key=f"{prefix}team/in/reviews.txt", etag="e",
                                          size=len(files["reviews.txt"]), status="imported")
        samples = Sample.objects.bulk_create([
            Sample(tenant=tenant, dataset=ds, source_object=obj, source=f"{root}team/in/reviews.txt",
                   name="reviews.txt", line_number=i, text=t)
            for i, t in enumerate(lines, start=1)
        ])
    truth = {str(s.pk): truth_of_line[s.line_number - 1] for s in samples}

    timings: dict[str, list[float]] = {}

    def timed(step: str, call, *a, **kw):
        start = time.perf_counter()
        out = call(*a, **kw)
        timings.setdefault(step, []).append(time.perf_counter() - start)
        return out

    people = {}
    for name, role in (("ann", "labeler"), ("ben", "labeler"), ("rev", "reviewer")):
        username = f"{slug}-{name}"
        _ok(timed("invite member", owner_api.post, "/api/v1/members",
                  {"username": username, "role": role, "password": "a-long-passphrase-0"}, format="json"), 201)
        token = _ok(owner_api.post("/api/v1/auth/token", {"username": username, "password": "a-long-passphrase-0"},
                                   format="json"), 201)["token"]
        people[name] = (username, _client(token))
    labelers = {people["ann"][0]: (people["ann"][1], errors[0]), people["ben"][0]: (people["ben"][1], errors[1])}
    base = f"/api/v1/datasets/{ds.pk}"
    created = _ok(timed("create tasks", owner_api.post, f"{base}/tasks",
                        {"assignees": list(labelers), "per_task": args.per_task, "overlap": args.overlap},
                        format="json"), 201)

    def answer(sid: str, error: float) -> str:
        if rng.random() < error:
            return rng.choice([c for c in CLASSES if c != truth[sid]])
        return truth[sid]

    def task_samples(client, task_id: str) -> list[dict]:
        return _ok(client.get(f"{base}/samples", {"task": task_id, "page_size": 500}))["results"]

    # Everyone labels (label tasks and overlap tasks), then submits.
    for task in created:
        client, error = labelers[task["assignee"]]
        for s in task_samples(client, task["id"]):
            _ok(timed("label a sample (PUT)", client.put, f"{base}/samples/{s['id']}/annotations",
                      {"labels": [answer(s["id"], error)]}, format="json"))
        _ok(timed("submit", client.post, f"{base}/tasks/{task['id']}/submit"))
    reviewer = people["rev"][1]
    rounds = 0
    open_tasks = [t for t in created if t["kind"] == "label"]
    while open_tasks:
        rounds += 1
        still = []
        for task in open_tasks:
            rows = [s for s in task_samples(reviewer, task["id"]) if s["review"]["status"] == ""]
            decisions = [
                {"sample_id": s["id"], "decision": "accept"} if s["labels"] == [truth[s["id"]]]
                else {"sample_id": s["id"], "decision": "reject", "comment": f"this review is {truth[s['id']]}"}
                for s in rows
            ]
            after = _ok(timed("review a task", reviewer.post, f"{base}/tasks/{task['id']}/review",
                              {"decisions": decisions}, format="json"))
            if after["status"] == "open":
                client, _ = labelers[task["assignee"]]
                for s in task_samples(client, task["id"]):
                    if s["review"]["status"] == "rejected":
                        fixed = s["review"]["comment"].rsplit(" ", 1)[-1]
                        _ok(timed("label a sample (PUT)", client.put, f"{base}/samples/{s['id']}/annotations",
                                  {"labels": [fixed]}, format="json"))
                _ok(timed("submit", client.post, f"{base}/tasks/{task['id']}/submit"))
                still.append(task)
        open_tasks = still

    figures = _ok(timed("agreement", owner_api.get, f"{base}/agreement"))
    activity = _ok(timed("activity", owner_api.get, f"{base}/activity"))

    n_label = sum(t["size"] for t in created if t["kind"] == "label")
    n_overlap = sum(t["size"] for t in created if t["kind"] == "overlap")
    print(f"demo text dataset: {len(samples)} reviews, {len(CLASSES)} classes; tasks: "
          f"{sum(t['kind'] == 'label' for t in created)} label ({n_label} samples) + "
          f"{sum(t['kind'] == 'overlap' for t in created)} overlap ({n_overlap} samples, overlap {args.overlap}); "
          f"simulated error rates {', '.join(f'{n}={e}' for n, (_, e) in labelers.items())}; review rounds {rounds}")
    between = figures["between_labelers"]
    print("\nbetween labelers (overlap samples, blind):")
    print(f"  samples {between['samples']}  exact {between['exact']}  Cohen's kappa {between['kappa']}")
    print("  | label | kappa | agreement |")
    for row in between["labels"]:
        print(f"  | {row['label']} | {row['kappa']} | {row['agreement']} |")
    print("\neach labeler against the reviewed result (first submission):")
    print("  | labeler | samples | exact | kappa |")
    for row in figures["with_reviewed"]:
        print(f"  | {row['username']} | {row['samples']} | {row['exact']} | {row['kappa']} |")
    print("\nactivity:")
    print("  | member | samples labelled | reviewed | accepted | rejected | acceptance |")
    for row in activity:
        print(f"  | {row['username']} | {row['samples_labeled']} | {row['reviewed']} | {row['accepted']} | "
              f"{row['rejected']} | {row['acceptance_rate']} |")
    print("\nAPI step timings (this process, Django test client, SQLite unless DATABASE_URL):")
    print("  | step | calls | median ms | max ms |")
    for step, values in timings.items():
        values.sort()
        print(f"  | {step} | {len(values)} | {1000 * values[len(values) // 2]:.1f} | {1000 * values[-1]:.1f} |")


if __name__ == "__main__":
    main()
