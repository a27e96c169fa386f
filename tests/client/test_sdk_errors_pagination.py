"""The SDK against a live Django test server: every error shape maps to its exception with
the API's code, detail and status; lists are followed page by page
(the checks that need no server live in clients/python/tests)."""

from __future__ import annotations

import gc
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from exeml.client import (
    BadRequest,
    Client,
    Conflict,
    Forbidden,
    NotFound,
    QuotaExceeded,
    Unauthorized,
)
from exeml.tenancy.models import Quota

pytestmark = pytest.mark.django_db(transaction=True)

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def sdk(live_server, owner) -> Iterator[Client]:
    # Closed at the end: a kept-alive connection holds a thread of the live server, and with
    # it a database session that would block dropping the test database. The tracebacks that
    # pytest.raises keeps reach connections too; collecting them closes those.
    with Client(live_server.url, owner.token, timeout=30) as client:
        yield client
    gc.collect()


def test_errors_carry_status_code_detail_and_fields(live_server, sdk, owner, viewer, store):
    with pytest.raises(Unauthorized) as bad_token, Client(live_server.url, "not-a-token") as anonymous:
        anonymous.me()
    assert bad_token.value.status == 401 and bad_token.value.detail

    with pytest.raises(NotFound) as missing:
        sdk.project("00000000-0000-0000-0000-000000000000")
    assert missing.value.status == 404 and missing.value.detail == "Not found."

    # A field error: {"name": ["..."]} → BadRequest whose fields name it.
    with pytest.raises(BadRequest) as invalid:
        sdk.create_project("9 bad name", "image_classification")
    assert invalid.value.status == 400 and "name" in invalid.value.fields
    assert invalid.value.fields["name"][0] in invalid.value.detail

    project = sdk.create_project("sdkerr", "image_classification")
    # A viewer may read but not write: 403 is an AuthError (Forbidden).
    with Client(live_server.url, viewer.token) as as_viewer:
        assert as_viewer.project("sdkerr").id == project.id
        with pytest.raises(Forbidden) as role:
            as_viewer.create_project("sdkerr2", "image_classification")
    assert role.value.status == 403

    # Quota: 403 with code quota_exceeded and its figures.
    Quota.objects.filter(tenant=owner.tenant).update(max_projects=1)
    with pytest.raises(QuotaExceeded) as quota:
        sdk.create_project("sdkerr3", "image_classification")
    assert quota.value.status == 403 and quota.value.code == "quota_exceeded"
    assert (quota.value.quota, quota.value.limit, quota.value.used) == ("max_projects", 1, 1)

    # Wrong state: 409 with the status (a sync already runs right after creation, or not).
    with pytest.raises((Conflict, BadRequest)) as train:
        sdk.train(project, max_minutes=6)
    assert train.value.status in (400, 409) and train.value.detail


def test_pagination_follows_next_through_every_page(sdk, owner):
    dataset = sdk.create_project("sdkpages", "image_classification").dataset_id
    names = [f"label{i:02d}" for i in range(7)]
    sdk.ensure_labels(dataset, names)
    pages = []
    original = sdk.session.request

    def counting(method, url, **kwargs):
        pages.append(url)
        return original(method, url, **kwargs)

    sdk.session.request = counting
    got = [item["name"] for item in sdk.paginate(f"/api/v1/datasets/{dataset}/labels", page_size=2)]
    assert sorted(got) == names and len(got) == len(set(got))
    assert len(pages) == 4  # 2 + 2 + 2 + 1
    assert [label.name for label in sdk.labels(dataset)] == got


def test_sample_iterator_follows_the_cursor_while_samples_are_deleted(sdk, owner):
    from datasets.models import Sample
    from tests.labeling.labelkit import make_dataset

    ds = make_dataset(owner, "text_classification")
    with owner.scope():
        made = Sample.objects.bulk_create([
            Sample(dataset=ds, tenant=owner.tenant, source=ds.input_path + "a.txt", name=f"a.txt:{n}",
                   line_number=n, text=f"line {n}")
            for n in range(1, 12)
        ])
    urls = []
    original = sdk.session.request

    def spying(method, url, **kwargs):
        urls.append(url)
        return original(method, url, **kwargs)

    sdk.session.request = spying
    got = []
    for item in sdk.paginate(f"/api/v1/datasets/{ds.pk}/samples", page_size=4):
        got.append(item["id"])
        if len(got) == 2:  # deleting a seen sample must not shift the next page (it did with page numbers)
            with owner.scope():
                Sample.objects.filter(pk=made[0].pk).delete()
    assert got == [str(s.pk) for s in made]
    assert len(urls) == 3 and all("cursor=" in u for u in urls[1:])


def test_the_sdk_imports_without_django_or_any_app():
    """A machine without the platform's server side: django and the apps cannot be imported."""
    code = """
import sys
BLOCKED = ("django", "rest_framework", "projects", "datasets", "labeling", "training", "serving")
class Block:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in BLOCKED:
            raise ImportError("blocked " + name)
sys.meta_path.insert(0, Block())
from exeml.client import Client
from exeml.client.cli import register
print("loaded", sorted(m for m in sys.modules if m.split(".")[0] in BLOCKED))
"""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO), str(REPO / "clients" / "python")])}
    env.pop("DJANGO_SETTINGS_MODULE", None)
    result = subprocess.run([sys.executable, "-W", "ignore", "-c", code], capture_output=True, text=True,
                            env=env, cwd=REPO, timeout=60)
    assert result.returncode == 0, result.stderr
    assert "loaded []" in result.stdout


def _noise_png(path: Path, seed: int, side: int = 24) -> Path:
    import random

    from PIL import Image

    rng = random.Random(seed)
    img = Image.new("RGB", (side, side))
    img.putdata([tuple(rng.randrange(256) for _ in range(3)) for _ in range(side * side)])
    img.save(path, format="PNG")
    return path


def test_upload_splits_into_requests_under_the_limit_and_labels_by_folder(sdk, store, tmp_path, settings):
    """The server's limit is lower than the client's guess: a 413 halves the batch until every
    request fits; a file over the limit on its own is reported, the others are kept."""
    for label, seed in (("red", 0), ("red", 1), ("blue", 2), ("blue", 3), ("blue", 4)):
        (tmp_path / "data" / label).mkdir(parents=True, exist_ok=True)
        _noise_png(tmp_path / "data" / label / f"img{seed}.png", seed)
    _noise_png(tmp_path / "data" / "huge.png", 9, side=120)
    sizes = [p.stat().st_size for p in (tmp_path / "data").rglob("*.png")]
    limit = max(s for s in sizes if s < 10_000) * 2 + 100  # two small files per request at most
    assert max(sizes) > limit
    settings.EXEML_LIMITS = {**settings.EXEML_LIMITS, "upload_request_max_bytes": limit}
    project = sdk.create_project("sdkupload", "image_classification")
    seen = []
    result = sdk.upload(project.dataset_id, tmp_path / "data", labels_from_folders=True,
                        on_progress=lambda files, total_files, done, total: seen.append((files, total_files)))
    assert sorted(a["file"] for a in result.accepted) == [

        "blue-img2.png", "blue-img3.png", "blue-img4.png", "red-img0.png", "red-img1.png"]
    assert [r["file"] for r in result.rejected] == ["huge.png"] and "per request" in result.rejected[0]["reason"]
    assert seen[0] == (0, 6) and seen[-1] == (6, 6)
    labelled = {s.name: s.labels for s in sdk.samples(project.dataset_id)}
    assert labelled == {"blue-img2.png": ["blue"], "blue-img3.png": ["blue"], "blue-img4.png": ["blue"],
                        "red-img0.png": ["red"], "red-img1.png": ["red"]}


def test_upload_of_only_refused_files_reports_them_without_raising(sdk, store, tmp_path):
    """The API answers 400 when no file of a request is accepted; the SDK reports the reasons."""
    project = sdk.create_project("sdkrefused", "image_classification")
    bad = tmp_path / "a+b.png"
    _noise_png(bad, 1)
    result = sdk.upload(project.dataset_id, [bad])
    assert result.accepted == [] and [r["file"] for r in result.rejected] == ["a+b.png"]
    assert "plus" in result.rejected[0]["reason"]


def test_upload_follows_the_import_job_of_a_large_request(celery_worker, live_server, sdk, owner, store, tmp_path,
                                                          capsys):
    """A request over the inline rule answers 202 with a job: ``upload(wait=True)`` follows it
    (``on_import`` on each read) and lists its files like a small upload's; the CLI prints the
    import's progress, then the counts."""
    from exeml_client.cli import main

    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "big.txt").write_bytes(b"".join(b"line %d is fine\n" % i for i in range(3000)))
    (tmp_path / "data" / "a+b.txt").write_bytes(b"refused by its name\n")
    project = sdk.create_project("sdkjob", "text_classification")
    reads = []
    result = sdk.upload(project.dataset_id, tmp_path / "data", on_import=lambda job, done, total: reads.append(
        (job.status, done, total)))
    assert [(a["file"], a["count"]) for a in result.accepted] == [("big.txt", 3000)]
    assert [r["file"] for r in result.rejected] == ["a+b.txt"] and "plus" in result.rejected[0]["reason"]
    assert [j.status for j in result.jobs] == ["succeeded"] and reads[-1] == ("succeeded", 1, 1)
    assert sdk.dataset(project.dataset_id).raw["sample_count"] == 3000

    # wait=False: back once sent, the job to follow.
    (tmp_path / "more").mkdir()
    (tmp_path / "more" / "more.txt").write_bytes(b"".join(b"more %d\n" % i for i in range(2000)))
    sent = sdk.upload(project.dataset_id, tmp_path / "more", wait=False)
    assert sent.accepted == [] and len(sent.jobs) == 1
    assert sdk.wait_job(sent.jobs[0].id, timeout=300).result["accepted"][0]["count"] == 2000

    (tmp_path / "cli").mkdir()
    (tmp_path / "cli" / "cli.txt").write_bytes(b"".join(b"cli %d\n" % i for i in range(1500)))
    code = main(["upload", "sdkjob", str(tmp_path / "cli"), "--url", live_server.url, "--token", owner.token])
    out = capsys.readouterr()
    assert code == 0, out
    assert "import [" in out.err and "job 1/1" in out.err, out.err
    assert "1 files added, 0 refused" in out.out, out.out


def test_team_labeling_through_the_sdk(live_server, sdk, owner, store):
    """Members, tasks, a lock, review and history, as a script would drive them."""
    from tests.labeling.labelkit import make_dataset, text_samples

    ds = make_dataset(owner, "text_classification")
    text_samples(owner, store, ds, ["good", "bad", "fine", "awful"])
    sdk.invite_member("sdk-ann", "labeler", password="a-long-passphrase-1")
    sdk.invite_member("sdk-ben", "labeler", password="a-long-passphrase-2")
    sdk.invite_member("sdk-rev", "reviewer", password="a-long-passphrase-3")
    assert {m["username"]: m["role"] for m in sdk.members()}["sdk-rev"] == "reviewer"
    first, second = sdk.create_tasks(str(ds.pk), ["sdk-ann", "sdk-ben"], per_task=2)
    with Client.login(live_server.url, "sdk-ann", "a-long-passphrase-1", timeout=30) as ann, \
            Client.login(live_server.url, "sdk-rev", "a-long-passphrase-3", timeout=30) as rev:
        assert [t["id"] for t in ann.tasks(str(ds.pk), assignee="me")] == [first["id"]]
        mine = list(ann.samples(str(ds.pk), task=first["id"]))
        theirs = list(ann.samples(str(ds.pk), task=second["id"]))
        assert {s.assignee for s in theirs} == {"sdk-ben"}
        with pytest.raises(Conflict) as locked:
            ann.annotate(str(ds.pk), theirs[0].id, labels=["pos"])
        assert "sdk-ben" in locked.value.detail
        for s in mine:
            ann.annotate(str(ds.pk), s.id, labels=["pos"])
        assert ann.submit_task(str(ds.pk), first["id"])["status"] == "in_review"
        with pytest.raises(Forbidden):
            ann.review_task(str(ds.pk), first["id"], accept=[mine[0].id])
        back = rev.review_task(str(ds.pk), first["id"], accept=[mine[0].id], reject={mine[1].id: "negative"})
        assert back["status"] == "open" and back["progress"]["rejected"] == 1
        fixed = ann.annotate(str(ds.pk), mine[1].id, labels=["neg"])
        assert fixed.review["status"] == "" and fixed.review["comment"] == "negative"
        history = sdk.sample_history(str(ds.pk), mine[1].id)
        assert [(e["username"], e["action"]) for e in history] == [
            ("sdk-ann", "set"), ("sdk-rev", "reject"), ("sdk-ann", "set")
        ]
    sdk.remove_member("sdk-ben")
    assert sdk.task(str(ds.pk), second["id"])["assignee"] is None
