"""Export jobs end to end: API → Celery worker → storage/zip → download, read back."""

from __future__ import annotations

import io
import json
import zipfile

import pytest

from datasets.export.coco import coco_boxes
from datasets.export.yolo import parse_yolo_file
from datasets.formats.voc import parse_voc
from datasets.versioning import dataset_version_publish
from exeml.jobs.models import Job
from exeml.task_types import TaskType
from tests.conftest import wait_for
from tests.labeling.labelkit import (
    detection_samples,
    exists,
    image_samples,
    label,
    make_dataset,
    read,
    root,
    text_samples,
)

pytestmark = pytest.mark.django_db(transaction=True)


def export(actor, ds, **body) -> dict:
    r = actor.client.post(f"/api/v1/datasets/{ds.pk}/exports", body, format="json")
    assert r.status_code == 202, r.json()
    job_id = r.json()["id"]

    def done():
        with actor.scope():
            job = Job.objects.get(pk=job_id)
        return job if job.status in ("succeeded", "failed") else None

    job = wait_for(done, timeout=60, message="export job")
    assert job.status == "succeeded", job.detail
    return {"id": job_id, "result": job.result}


def download(actor, ds, job_id) -> zipfile.ZipFile:
    r = actor.client.get(f"/api/v1/datasets/{ds.pk}/exports/{job_id}/download")
    assert r.status_code == 200 and r["Content-Type"] == "application/zip"
    return zipfile.ZipFile(io.BytesIO(b"".join(r.streaming_content)))


def test_detection_exports_read_back(owner, store, celery_worker):
    ds = make_dataset(owner, TaskType.OBJECT_DETECTION, name="cars")
    samples = detection_samples(owner, store, ds, n=6, with_boxes=True)
    with owner.scope():
        version = dataset_version_publish(dataset=ds, train_ratio=0.7)
        want = {
            s.name: sorted((a.label.name, tuple(a.bbox)) for a in s.annotations.select_related("label"))
            for s in samples
        }
        usage = {i.source.rsplit("/", 1)[-1]: i.usage for i in version.items.all()}

    coco = export(owner, ds, version=str(version.pk), format="coco", target="zip")
    assert coco["result"]["zip"].endswith(f"/out/exports/{coco['id']}.zip")
    zf = download(owner, ds, coco["id"])
    got = {}
    for split in ("train", "val"):
        for name, boxes in coco_boxes(json.loads(zf.read(f"annotations/instances_{split}.json"))).items():
            got[name] = sorted(boxes)
            assert usage[name] == ("TRAIN" if split == "train" else "EVAL")
            assert zf.read(f"{split}/{name}")[:2] == b"\xff\xd8"  # the JPEG itself
    assert got == want

    target = root(owner) + "exports/yolo-run/"
    yolo = export(owner, ds, version=str(version.pk), format="yolo", target="storage", path=target)
    assert yolo["result"]["path"] == target
    names = [line.split(": ", 1)[1] for line in read(store, target + "data.yaml").decode().splitlines()
             if line.startswith("  ")]
    for s in samples:
        split = "train" if usage[s.name] == "TRAIN" else "val"
        stem = s.name[:-4]
        text = read(store, f"{target}labels/{split}/{stem}.txt").decode()
        assert sorted(parse_yolo_file(text, 160, 160, names)) == want[s.name]
        assert exists(store, f"{target}images/{split}/{s.name}")

    voc = export(owner, ds, format="voc", target="zip")  # current labels, no version
    zf = download(owner, ds, voc["id"])
    ann = parse_voc(zf.read(f"Annotations/{samples[0].name[:-4]}.xml"))
    assert sorted((o.name, (o.xmin, o.ymin, o.xmax, o.ymax)) for o in ann.objects) == want[samples[0].name]

    manifest = export(owner, ds, version=str(version.pk), format="manifest", target="zip")
    zf = download(owner, ds, manifest["id"])
    assert zf.read("cars-V001.manifest") == read(store, version.manifest_path)


def test_classification_exports_and_refusals(owner, viewer, store, celery_worker):
    img = make_dataset(owner, TaskType.IMAGE_CLASSIFICATION)
    a, b, c = image_samples(owner, store, img, n=3)
    label(owner, a, ["cat"])
    label(owner, b, ["cat", "dog"])
    job = export(owner, img, format="folders", target="zip")
    names = set(download(owner, img, job["id"]).namelist())
    assert names == {f"train/cat/{a.name}", f"train/cat/{b.name}", f"train/dog/{b.name}"}

    txt = make_dataset(owner, TaskType.TEXT_CLASSIFICATION)
    t1, t2 = text_samples(owner, store, txt, ["nice", "awful"])
    label(owner, t1, ["pos"])
    label(owner, t2, ["neg"])
    zf = download(owner, txt, export(owner, txt, format="folders", target="zip")["id"])
    assert zf.read("train/texts.txt") == b"nice\nawful\n"  # (source, line) order
    assert zf.read("train/texts_result.txt") == b"pos\nneg\n"

    url = f"/api/v1/datasets/{img.pk}/exports"
    assert owner.client.post(url, {"format": "coco"}, format="json").status_code == 400
    r = owner.client.post(url, {"format": "folders", "target": "storage", "path": "s3://elsewhere/x/"}, format="json")
    assert r.status_code == 400 and "path" in r.json()
    r = owner.client.post(url, {"format": "folders", "target": "storage"}, format="json")
    assert r.status_code == 400 and "path" in r.json()
    assert viewer.client.post(url, {"format": "folders"}, format="json").status_code == 403
    # a viewer may download what was exported
    assert viewer.client.get(f"{url}/{job['id']}/download").status_code == 200


def test_an_export_whose_task_gives_up_ends_failed(owner):
    """After its retries the task's failure hook ends the job; a finished job is left alone."""
    from datasets.export.service import EXPORT_JOB_KIND
    from datasets.tasks import dataset_export
    from exeml.jobs.services import job_create, job_transition
    from exeml.storage import TransientStorageError

    with owner.scope():
        running = job_create(kind=EXPORT_JOB_KIND, target_type="dataset")
        job_transition(job_id=running.pk, status="running")
        done = job_create(kind=EXPORT_JOB_KIND, target_type="dataset")
        job_transition(job_id=done.pk, status="running")
        job_transition(job_id=done.pk, status="succeeded")
    for job in (running, done):
        dataset_export.on_failure(
            TransientStorageError("storage unreachable"), "task-id", (str(job.pk), str(owner.tenant.pk)), {}, None
        )
    with owner.scope():
        running.refresh_from_db()
        done.refresh_from_db()
    # The reason names the failure, never the storage endpoint (public_reason).
    assert running.status == "failed"
    assert running.detail == "the export failed: the object storage could not be reached; try again later"
    assert done.status == "succeeded"
