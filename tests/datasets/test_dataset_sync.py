"""Synchronize from the S3 endpoint: every type, incremental re-sync, missing objects, label order."""

from __future__ import annotations

import pytest

from datasets.formats.voc import write_voc
from datasets.models import Dataset, Sample, SourceObject
from datasets.services import dataset_sync
from tests.datasets.helpers import create_project, delete_file, jpeg, put_files


def _sync(actor, dataset_id):
    with actor.scope():
        job = dataset_sync(dataset=Dataset.objects.get(pk=dataset_id))
    assert job.status == "succeeded", job.detail
    return job


def _samples(actor, dataset_id, **params):
    r = actor.client.get(f"/api/v1/datasets/{dataset_id}/samples", {"page_size": 500, **params})
    assert r.status_code == 200, r.json()
    return r.json()["results"]


@pytest.mark.django_db
@pytest.mark.parametrize(
    "task_type,samples,labeled",
    [
        ("image_classification", 12, 9),
        ("object_detection", 6, 6),
        ("sound_classification", 12, 9),
        ("text_classification", 12, 10),
    ],
)
def test_each_type_imports_samples_and_prelabels(owner, task_type, samples, labeled):
    project, _base = create_project(owner, task_type)
    ds_id = project["dataset"]["id"]
    job = _sync(owner, ds_id)
    assert job.counts["failed"] == 0, job.errors
    body = owner.client.get(f"/api/v1/datasets/{ds_id}").json()
    assert body["sample_count"] == samples
    assert body["labeled_count"] == labeled
    assert body["unlabeled_count"] == samples - labeled
    assert body["last_sync_job"]["status"] == "succeeded"
    assert body["storage_bytes"] > 0
    rows = _samples(owner, ds_id, labeled="true")
    assert len(rows) == labeled and all(r["labels"] for r in rows)
    if task_type == "object_detection":
        assert all(r["objects"] and len(r["objects"][0]["bbox"]) == 4 for r in rows)
        assert rows[0]["width"] == 64
    if task_type == "sound_classification":
        assert rows[0]["bit_depth"] == 16 and rows[0]["duration"] > 1
    if task_type == "text_classification":
        assert rows[0]["text"] and rows[0]["line_number"] >= 1
        assert {lb for r in rows for lb in r["labels"]} <= {"positive", "negative"}


@pytest.mark.django_db
def test_resync_is_incremental_and_marks_deleted_objects_missing(owner):
    project, base = create_project(owner, "image_classification")
    ds_id = project["dataset"]["id"]
    first = _sync(owner, ds_id)
    assert first.counts["imported"] > 0
    again = _sync(owner, ds_id)
    assert again.counts["imported"] == 0
    assert again.counts["unchanged"] == first.counts["found"]
    with owner.scope():
        assert Sample.objects.filter(dataset_id=ds_id).count() == 12

    delete_file(owner.tenant, base + "img_0001.jpg")
    third = _sync(owner, ds_id)
    assert third.counts["missing"] == 1 and third.counts["imported"] == 0
    with owner.scope():
        gone = Sample.objects.get(dataset_id=ds_id, name="img_0001.jpg")
        assert gone.status == "missing"
        assert SourceObject.objects.get(dataset_id=ds_id, key__endswith="img_0001.jpg").status == "missing"
        assert Sample.objects.filter(dataset_id=ds_id).count() == 12  # kept, not dropped
    assert owner.client.get(f"/api/v1/datasets/{ds_id}").json()["missing_count"] == 1
    assert len(_samples(owner, ds_id, status="missing")) == 1


@pytest.mark.django_db
def test_objects_gone_are_marked_missing_a_batch_at_a_time(owner, settings):
    settings.EXEML_IMPORT_BATCH_ROWS = 2  # 5 objects gone: 3 batches
    project, base = create_project(owner, "image_classification")
    ds_id = project["dataset"]["id"]
    first = _sync(owner, ds_id)
    with owner.scope():
        keys = sorted(
            SourceObject.objects.filter(dataset_id=ds_id, key__endswith=".jpg").values_list("key", flat=True)
        )
    for key in keys[:5]:
        delete_file(owner.tenant, base + key.rsplit("/", 1)[1])
    again = _sync(owner, ds_id)
    assert again.counts["missing"] == 5 and again.counts["unchanged"] == first.counts["found"] - 5
    with owner.scope():
        assert set(
            SourceObject.objects.filter(dataset_id=ds_id, status="missing").values_list("key", flat=True)
        ) == set(keys[:5])
        assert Sample.objects.filter(dataset_id=ds_id, status="missing").count() == 5
        assert Sample.objects.filter(dataset_id=ds_id, status="ok").count() == 12 - 5
    assert _sync(owner, ds_id).counts["missing"] == 0  # already marked: not counted again


@pytest.mark.django_db
def test_label_file_before_or_after_its_image_and_changed_label_file(owner):
    project, base = create_project(
        owner, "image_classification", files=[("a.txt", b"cat\n"), ("b.jpg", jpeg())]
    )
    ds_id = project["dataset"]["id"]
    _sync(owner, ds_id)
    put_files(owner.tenant, base, [("a.jpg", jpeg()), ("b.txt", b"dog\nsmall\n")])
    _sync(owner, ds_id)
    labels = {r["name"]: r["labels"] for r in _samples(owner, ds_id)}
    assert labels == {"a.jpg": ["cat"], "b.jpg": ["dog", "small"]}
    put_files(owner.tenant, base, [("b.txt", b"bird\n")])
    job = _sync(owner, ds_id)
    assert job.counts["imported"] == 1
    labels = {r["name"]: r["labels"] for r in _samples(owner, ds_id)}
    assert labels["b.jpg"] == ["bird"]
    assert {lb["name"] for lb in _labels(owner, ds_id)} >= {"cat", "dog", "bird"}


def _labels(owner, ds_id):
    from datasets.models import Label

    with owner.scope():
        return list(Label.objects.filter(dataset_id=ds_id).values("name", "color"))


@pytest.mark.django_db
def test_voc_box_outside_the_image_leaves_it_unlabelled_with_reason(owner):
    voc_ok = write_voc(
        filename="a.jpg",
        width=16,
        height=16,
        objects=[{"name": "cat", "xmin": 1, "ymin": 1, "xmax": 10, "ymax": 10}],
    )
    voc_bad = write_voc(
        filename="b.jpg",
        width=16,
        height=16,
        objects=[{"name": "cat", "xmin": 1, "ymin": 1, "xmax": 40, "ymax": 10}],
    )
    files = [("a.jpg", jpeg()), ("a.xml", voc_ok), ("b.jpg", jpeg()), ("b.xml", voc_bad)]
    project, _ = create_project(owner, "object_detection", files=files)
    _sync(owner, project["dataset"]["id"])
    rows = {r["name"]: r for r in _samples(owner, project["dataset"]["id"])}
    assert rows["a.jpg"]["labeled"] and rows["a.jpg"]["objects"] == [
        {"label": "cat", "bbox": [1.0, 1.0, 10.0, 10.0]}
    ]
    assert not rows["b.jpg"]["labeled"]
    assert "outside" in rows["b.jpg"]["label_reason"]


BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>
<annotation><size><width>16</width><height>16</height></size><object><name>&lol3;</name></object></annotation>"""
EXTERNAL = b"""<?xml version="1.0"?>
<!DOCTYPE foo [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<annotation><size><width>16</width><height>16</height></size><object><name>&xxe;</name>
<bndbox><xmin>1</xmin><ymin>1</ymin><xmax>2</xmax><ymax>2</ymax></bndbox></object></annotation>"""


@pytest.mark.django_db
def test_hostile_files_in_storage_are_reported_per_file(owner):
    files = [
        ("a.jpg", jpeg()),
        ("a.xml", BILLION_LAUGHS),
        ("b.jpg", jpeg()),
        ("b.xml", EXTERNAL),
        ("c.jpg", jpeg()[:-200]),
        ("d.jpg", b""),
        ("readme.md", b"hello"),
    ]
    project, _ = create_project(owner, "object_detection", files=files)
    job = _sync(owner, project["dataset"]["id"])
    reasons = {e["file"].rsplit("/", 1)[-1]: e["reason"] for e in job.errors}
    assert "DTD" in reasons["a.xml"] or "entit" in reasons["a.xml"]
    assert "b.xml" in reasons
    assert "damaged" in reasons["c.jpg"]
    assert "empty" in reasons["d.jpg"]
    assert reasons["readme.md"].startswith(
        ".md is not a file type accepted by this dataset (image files: jpg"
    )
    assert job.counts["failed"] == 4 and job.counts["skipped"] == 1
    rows = {r["name"]: r for r in _samples(owner, project["dataset"]["id"])}
    assert set(rows) == {"a.jpg", "b.jpg"} and not rows["a.jpg"]["labeled"]


@pytest.mark.django_db
def test_manifest_imports_labels_and_refuses_sources_outside_the_roots(owner, other_tenant):
    from datasets.formats.manifest import make_annotation, manifest_line

    def line(source, name):
        return manifest_line(
            source=source, usage="TRAIN", annotations=[make_annotation("image_classification", name=name)]
        )

    project, base = create_project(
        owner, "image_classification", files=[("a.jpg", jpeg()), ("b.jpg", jpeg())]
    )
    elsewhere = f"{other_tenant.default_root}x.jpg"
    manifest = "\n".join(
        [line(base + "a.jpg", "cat"), line(base + "b.jpg", "dog"), line(elsewhere, "cat"), "{not json"]
    ).encode()
    put_files(owner.tenant, base, [("z.manifest", manifest)])
    job = _sync(owner, project["dataset"]["id"])
    labels = {r["name"]: r["labels"] for r in _samples(owner, project["dataset"]["id"])}
    assert labels == {"a.jpg": ["cat"], "b.jpg": ["dog"]}
    reasons = [e["reason"] for e in job.errors]
    assert any("outside your storage roots" in r for r in reasons) and any("JSON" in r for r in reasons)


@pytest.mark.django_db
def test_changed_text_file_keeps_matching_lines_and_drops_removed_ones(owner):
    project, base = create_project(
        owner,
        "text_classification",
        files=[("t.txt", b"one\ntwo\nthree\n"), ("t_result.txt", b"positive\nnegative\npositive\n")],
    )
    ds_id = project["dataset"]["id"]
    _sync(owner, ds_id)
    put_files(owner.tenant, base, [("t.txt", b"one\nTWO\n")])
    _sync(owner, ds_id)
    rows = {r["line_number"]: r for r in _samples(owner, ds_id, status="all")}
    assert (
        rows[1]["labels"] == ["positive"] and rows[2]["text"] == "TWO" and rows[2]["labels"] == ["negative"]
    )
    assert rows[3]["status"] == "missing"


@pytest.mark.django_db
def test_failure_midway_keeps_pages_done_and_next_run_finishes(owner, monkeypatch):
    from datasets import sync as sync_module

    project, _ = create_project(owner, "image_classification")
    ds_id = project["dataset"]["id"]
    monkeypatch.setattr(sync_module, "PAGE_SIZE", 5)
    real = sync_module.DatasetSync.process_page
    calls = {"n": 0}

    def failing(self, infos, preloaded=None):
        calls["n"] += 1
        if calls["n"] == 2:
            raise RuntimeError("worker lost")
        return real(self, infos, preloaded)

    monkeypatch.setattr(sync_module.DatasetSync, "process_page", failing)
    with owner.scope():
        job = dataset_sync(dataset=Dataset.objects.get(pk=ds_id))
        assert job.status == "failed" and "worker lost" in job.detail
        assert 0 < Sample.objects.filter(dataset_id=ds_id).count() < 12
    monkeypatch.setattr(sync_module.DatasetSync, "process_page", real)
    job = _sync(owner, ds_id)
    with owner.scope():
        assert Sample.objects.filter(dataset_id=ds_id).count() == 12
    assert job.counts["unchanged"] > 0 and job.counts["imported"] > 0
    labeled = owner.client.get(f"/api/v1/datasets/{ds_id}").json()["labeled_count"]
    assert labeled == 9


@pytest.mark.django_db
def test_sync_applies_the_upload_name_rules_per_file(owner):
    bad = {"a+b.jpg": "plus sign", "with space.jpg": "space", "tab\there.jpg": "tab", "中文.jpg": "Chinese"}
    project, _ = create_project(
        owner, "image_classification", files=[("ok.jpg", jpeg())] + [(n, jpeg()) for n in bad]
    )
    job = _sync(owner, project["dataset"]["id"])
    reasons = {e["file"].rsplit("/", 1)[-1]: e["reason"] for e in job.errors}
    assert set(reasons) == set(bad), job.errors
    for name, why in bad.items():
        assert why in reasons[name], reasons[name]
    assert job.counts["failed"] == len(bad) and job.counts["imported"] == 1
    assert [r["name"] for r in _samples(owner, project["dataset"]["id"])] == ["ok.jpg"]


@pytest.mark.django_db
def test_refused_files_are_listed_up_to_a_bound_with_the_total(owner, monkeypatch):
    from exeml.jobs import services as job_services

    monkeypatch.setattr(job_services, "MAX_JOB_ERRORS", 5)
    files = [("ok.jpg", jpeg())] + [(f"clip{i}.mp3", b"x") for i in range(8)]
    project, _ = create_project(owner, "image_classification", files=files)
    job = _sync(owner, project["dataset"]["id"])
    # The first five named, with the total: a 100,000-file folder does not make a huge row.
    assert len(job.errors) == 5 and job.counts["errors_total"] == 8 and job.counts["skipped"] == 8
    assert all(e["reason"].startswith(".mp3 is not a file type accepted by this dataset") for e in job.errors)
    with owner.scope():
        rows = SourceObject.objects.filter(dataset_id=project["dataset"]["id"], key__endswith=".mp3")
        assert {r.status for r in rows} == {"ignored"} and all(".mp3" in r.reason for r in rows)
