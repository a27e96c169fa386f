"""Model-assisted labeling through the API and a real worker: pre-labels (suggestions),
label-next order, accepting above a confidence, suspected label errors, batch prediction."""

from __future__ import annotations

import io
import json
import random

import pytest
from PIL import Image

from datasets.models import Annotation
from exeml.jobs.models import Job
from labeling.models import Suggestion
from tests.conftest import wait_for
from tests.labeling.labelkit import add_file_sample, label, make_dataset, read, text_samples
from tests.serving.serving_helpers import make_version

pytestmark = pytest.mark.django_db(transaction=True)


def _png(color) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (16, 16), color).save(buf, format="PNG")
    return buf.getvalue()


def _wait_job(actor, job_id: str, timeout: float = 120) -> Job:
    def done():
        with actor.scope():
            job = Job.objects.get(pk=job_id)
        return job if job.status in ("succeeded", "failed", "cancelled") else None

    return wait_for(done, timeout=timeout, message="job")


def test_prelabel_suggests_only_unlabelled_and_accept_takes_exactly_the_confident(
    owner, outsider, store, image_bundle, celery_worker
):
    version = make_version(owner, store, image_bundle)
    dataset = version.project.dataset
    # The tiny model's logits are the mean colour channels: pure colours are confident
    # (softmax 0.58), grey is a three-way tie, so the most uncertain.
    samples = {
        name: add_file_sample(owner, store, dataset, f"{name}.png", _png(rgb), width=16, height=16, format="png")
        for name, rgb in {"red": (255, 0, 0), "green": (0, 255, 0), "blue": (0, 0, 255), "grey": (128, 128, 128),
                          "done": (255, 0, 0)}.items()
    }
    label(owner, samples["done"], ["blue"])  # labelled by hand, and "wrongly": must stay as is

    r = owner.client.post(f"/api/v1/projects/{version.project_id}/versions/V001/prelabel")
    assert r.status_code == 202, r.json()
    job = _wait_job(owner, r.json()["id"])
    assert job.status == "succeeded", job.detail
    assert job.counts["suggestions"] == 4 and job.counts["total"] == 4, (job.counts, job.errors)

    with owner.scope():
        suggested = {s.sample.name: s for s in Suggestion.objects.filter(dataset=dataset).select_related("sample")}
        assert set(suggested) == {"red.png", "green.png", "blue.png", "grey.png"}
        assert suggested["red.png"].payload == {"labels": ["red"]}
        # Suggestions are not labels.
        assert not dataset.samples.filter(labeled=True).exclude(pk=samples["done"].pk).exists()

    nxt = owner.client.get(f"/api/v1/datasets/{dataset.pk}/label-next").json()
    assert nxt["results"][0]["name"] == "grey.png"

    page = owner.client.get(f"/api/v1/datasets/{dataset.pk}/suggestions?min_confidence=0.5").json()
    assert {row["sample"]["name"] for row in page["results"]} == {"red.png", "green.png", "blue.png"}

    r = owner.client.post(f"/api/v1/datasets/{dataset.pk}/suggestions/accept", {"min_confidence": 0.5}, format="json")
    assert r.status_code == 200 and r.json() == {"accepted": 3, "skipped": 0}
    with owner.scope():
        labelled = {s.name for s in dataset.samples.filter(labeled=True)}
        assert labelled == {"red.png", "green.png", "blue.png", "done.png"}
        auto = Annotation.objects.filter(sample__dataset=dataset, annotated_by="auto").select_related("label", "sample")
        assert {(a.sample.name, a.label.name) for a in auto} == {
            ("red.png", "red"), ("green.png", "green"), ("blue.png", "blue")
        }
        assert all(a.confidence and a.confidence > 0.5 for a in auto)
        assert Annotation.objects.get(sample=samples["done"]).label.name == "blue"
        assert Suggestion.objects.get(sample=samples["grey"]).status == "pending"

    r = owner.client.post(f"/api/v1/datasets/{dataset.pk}/suggestions/accept", {"min_confidence": 2}, format="json")
    assert r.status_code == 400 and "min_confidence" in r.json()

    # Another tenant sees none of it.
    assert outsider.client.get(f"/api/v1/datasets/{dataset.pk}/suggestions").status_code == 404
    assert outsider.client.get(f"/api/v1/datasets/{dataset.pk}/label-next").status_code == 404
    assert outsider.client.post(f"/api/v1/projects/{version.project_id}/versions/V001/prelabel").status_code == 404
    assert outsider.client.post(f"/api/v1/jobs/{job.pk}/cancel").status_code == 404
    # A finished job cannot be cancelled.
    assert owner.client.post(f"/api/v1/jobs/{job.pk}/cancel").status_code == 409


def test_batch_prediction_writes_one_result_per_file_and_names_the_broken_one(
    owner, outsider, store, image_bundle, celery_worker
):
    version = make_version(owner, store, image_bundle)
    root = owner.tenant.default_root
    folder = root + "batch-in/"
    for name, data in {"a.png": _png((255, 0, 0)), "b.png": _png((0, 0, 255)), "c.jpg": _png((0, 255, 0)),
                       "broken.jpg": b"this is not an image", "notes.md": b"# readme"}.items():
        store.put(folder.split("/", 3)[2], folder.split("/", 3)[3] + name, data)
    body = {"input_path": folder, "output_path": root + "batch-out/"}
    assert owner.client.post(f"/api/v1/projects/{version.project_id}/versions/V001/batch-predict",
                             {**body, "output_path": "s3://elsewhere/x/"}, format="json").status_code == 400
    assert outsider.client.post(f"/api/v1/projects/{version.project_id}/versions/V001/batch-predict",
                                body, format="json").status_code == 404
    r = owner.client.post(f"/api/v1/projects/{version.project_id}/versions/V001/batch-predict", body, format="json")
    assert r.status_code == 202, r.json()
    job = _wait_job(owner, r.json()["id"])
    assert job.status == "succeeded", job.detail
    assert job.counts["succeeded"] == 3 and job.counts["failed"] == 2
    reasons = {e["file"]: e["reason"] for e in job.errors}
    assert set(reasons) == {"broken.jpg", "notes.md"} and reasons["broken.jpg"]
    lines = [json.loads(x) for x in read(store, job.result["results"]).decode().splitlines()]
    by_file = {x["file"].rsplit("/", 1)[-1]: x["result"]["predicted_label"] for x in lines}
    assert by_file == {"a.png": "red", "b.png": "blue", "c.jpg": "green"}


POSITIVE = ["wonderful", "great", "excellent", "lovely", "superb", "delightful", "brilliant", "fantastic"]
NEGATIVE = ["terrible", "awful", "horrible", "dreadful", "boring", "disappointing", "poor", "bad"]


def test_suspected_label_errors_rank_flipped_labels_first(owner, outsider, store, celery_worker, capsys):
    from exeml.task_types import TaskType

    rng = random.Random(3)
    texts, truth = [], []
    for i in range(80):
        positive = i % 2 == 0
        words = rng.sample(POSITIVE if positive else NEGATIVE, 3)
        texts.append(f"the film was {words[0]} and {words[1]}, really {words[2]} number {i}")
        truth.append("pos" if positive else "neg")
    flipped = set(rng.sample(range(80), 8))  # 10 % of the labels are wrong
    dataset = make_dataset(owner, TaskType.TEXT_CLASSIFICATION)
    samples = text_samples(owner, store, dataset, texts)
    for i, s in enumerate(samples):
        given = truth[i] if i not in flipped else ("neg" if truth[i] == "pos" else "pos")
        label(owner, s, [given])

    assert outsider.client.post(f"/api/v1/datasets/{dataset.pk}/label-issues/scan").status_code == 404
    r = owner.client.post(f"/api/v1/datasets/{dataset.pk}/label-issues/scan")
    assert r.status_code == 202, r.json()
    job = _wait_job(owner, r.json()["id"])
    assert job.status == "succeeded", job.detail
    issues = owner.client.get(f"/api/v1/datasets/{dataset.pk}/label-issues?page_size=100").json()["results"]
    flipped_ids = {str(samples[i].pk) for i in flipped}
    top = [row["sample"]["id"] for row in issues[: len(flipped)]]
    precision = len(set(top) & flipped_ids) / len(flipped)
    with capsys.disabled():
        print(f"\nsuspected label errors: precision@{len(flipped)} = {precision:.2f} ({len(issues)} listed)")
    assert precision >= 0.75
    first = issues[0]
    assert first["suggested_label"] != first["given_label"]

    r = owner.client.post(f"/api/v1/datasets/{dataset.pk}/label-issues/{first['id']}/resolve", {"action": "fix"},
                          format="json")
    assert r.status_code == 200 and r.json()["status"] == "fixed"
    with owner.scope():
        fixed = Annotation.objects.get(sample_id=first["sample"]["id"])
        assert fixed.label.name == first["suggested_label"]
    r = owner.client.post(f"/api/v1/datasets/{dataset.pk}/label-issues/{first['id']}/resolve", {"action": "fix"},
                          format="json")
    assert r.status_code == 400
    assert outsider.client.get(f"/api/v1/datasets/{dataset.pk}/label-issues").status_code == 404
