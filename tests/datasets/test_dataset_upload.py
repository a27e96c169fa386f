"""Upload (Add files): limits, per-file reasons, hostile files, labels alongside, quota."""

from __future__ import annotations

import struct
import uuid
import zlib

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from datasets import demo_data
from datasets.models import Dataset, SourceObject
from datasets.services import dataset_sync
from exeml.tenancy.models import Quota
from tests.datasets.helpers import LABELS, folder, jpeg, png, put_files, wav
from tests.datasets.test_dataset_sync import BILLION_LAUGHS, EXTERNAL


@pytest.fixture(autouse=True)
def _bucket(store):
    return store


def _dataset(actor, task_type="image_classification", base=None) -> dict:
    base = base or folder(actor.tenant)
    r = actor.client.post("/api/v1/datasets", {
        "name": "d" + uuid.uuid4().hex[:8], "type": task_type, "input_path": base,
        "output_path": base.rstrip("/") + "-out/", "labels": LABELS.get(task_type, []),
    }, format="json")
    assert r.status_code == 201, r.json()
    return r.json()


def _multipart(files: list[tuple[str, bytes]]) -> tuple[bytes, str]:
    """Build the body by hand: Django's test client would strip path components from names."""
    boundary = "----exeml" + uuid.uuid4().hex
    parts = []
    for name, data in files:
        parts.append(
            f'--{boundary}\r\nContent-Disposition: form-data; name="files"; filename="{name}"\r\n'
            f"Content-Type: application/octet-stream\r\n\r\n".encode() + data + b"\r\n"
        )
    return b"".join(parts) + f"--{boundary}--\r\n".encode(), f"multipart/form-data; boundary={boundary}"


def _upload(actor, dataset_id, files):
    body, content_type = _multipart(files)
    return actor.client.generic("POST", f"/api/v1/datasets/{dataset_id}/samples", body, content_type=content_type)


def _bomb_png() -> bytes:
    """A valid small PNG whose header claims 20000 x 20000 pixels."""
    data = bytearray(png())
    ihdr = bytearray(data[12:29])  # type + 13 bytes of IHDR
    ihdr[4:12] = struct.pack(">II", 20000, 20000)
    data[12:29] = ihdr
    data[29:33] = struct.pack(">I", zlib.crc32(bytes(ihdr)) & 0xFFFFFFFF)
    return bytes(data)


@pytest.mark.django_db
def test_upload_images_with_labels_and_hostile_files(owner):
    ds = _dataset(owner)
    r = _upload(owner, ds["id"], [
        ("a.jpg", jpeg()), ("a.txt", b"cat\n"), ("b.png", png()),
        ("bomb.png", _bomb_png()), ("trunc.jpg", jpeg()[:-200]), ("empty.jpg", b""),
        ("../evil.jpg", jpeg()), ("a+b.jpg", jpeg()), ("notes.md", b"x"), ("bad.txt", b"has space\n"),
    ])
    assert r.status_code == 201, r.json()
    body = r.json()
    accepted = {a["file"]: a for a in body["accepted"]}
    rejected = {x["file"]: x["reason"] for x in body["rejected"]}
    assert set(accepted) == {"a.jpg", "a.txt", "b.png"}
    assert "too large" in rejected["bomb.png"] or "MP" in rejected["bomb.png"]
    assert "damaged" in rejected["trunc.jpg"]
    assert "empty" in rejected["empty.jpg"]
    assert ".." in rejected["../evil.jpg"]
    assert "plus" in rejected["a+b.jpg"]
    assert "not a file type" in rejected["notes.md"]
    assert "space" in rejected["bad.txt"]
    sample = owner.client.get(f"/api/v1/datasets/{ds['id']}/samples/{accepted['a.jpg']['id']}").json()
    assert sample["labels"] == ["cat"] and sample["labeled"] and sample["width"] == 16
    # Registered as seen: a sync finds nothing new.
    with owner.scope():
        job = dataset_sync(dataset=Dataset.objects.get(pk=ds["id"]))
        assert SourceObject.objects.filter(dataset_id=ds["id"]).count() == 3
    assert job.counts["imported"] == 0 and job.counts["unchanged"] == 3, job.counts
    assert owner.client.get(f"/api/v1/datasets/{ds['id']}").json()["storage_bytes"] > 0


def _stored(actor, base: str) -> list[str]:
    from exeml.storage import parse_storage_path, store_for_tenant

    path = parse_storage_path(base)
    return [o.key for o in store_for_tenant(actor.tenant).iter_objects(path.bucket, path.key)]


@pytest.mark.django_db
def test_an_upload_whose_every_file_is_rejected_is_400_and_stores_nothing(owner):
    base = folder(owner.tenant)
    ds = _dataset(owner, base=base)
    r = _upload(owner, ds["id"], [("a+b.jpg", jpeg()), ("empty.jpg", b""), ("notes.md", b"x"), ("photo.gif", b"GIF89a")])
    assert r.status_code == 400, r.content
    body = r.json()
    # The field is named, with a summary naming each file and its reason...
    assert isinstance(body["files"], list) and len(body["files"]) == 1
    assert "none of the 4 files was accepted" in body["files"][0] and "a+b.jpg: " in body["files"][0]
    assert "photo.gif: .gif is not a supported image type (jpg, jpeg, png, bmp)" in body["files"][0]
    # ...and the reasons per file in the shape of a partial success.
    assert body["accepted"] == []
    rejected = {x["file"]: x["reason"] for x in body["rejected"]}
    assert set(rejected) == {"a+b.jpg", "empty.jpg", "notes.md", "photo.gif"}
    assert "plus" in rejected["a+b.jpg"] and "empty" in rejected["empty.jpg"]
    assert rejected["notes.md"].startswith(".md is not a file type accepted by this dataset (image files: jpg")
    assert rejected["photo.gif"] == ".gif is not a supported image type (jpg, jpeg, png, bmp)"
    assert _stored(owner, base) == []
    with owner.scope():
        assert not SourceObject.objects.filter(dataset_id=ds["id"]).exists()
    assert owner.client.get(f"/api/v1/datasets/{ds['id']}").json()["sample_count"] == 0


@pytest.mark.django_db
def test_an_upload_refused_after_storing_keeps_nothing_either(owner):
    """Files that pass the per-file checks but are refused at import (here: the sample quota)."""
    with owner.scope():
        Quota.objects.filter(tenant=owner.tenant).update(max_samples_per_dataset=2)
    base = folder(owner.tenant)
    ds = _dataset(owner, "text_classification", base=base)
    r = _upload(owner, ds["id"], [("a.txt", b"one\ntwo\nthree\n")])
    assert r.status_code == 400, r.content
    assert r.json()["accepted"] == [] and "quota of 2 samples" in r.json()["rejected"][0]["reason"]
    assert r.json()["files"][0].startswith("the file was not accepted: a.txt: ")
    assert _stored(owner, base) == []
    with owner.scope():
        assert not SourceObject.objects.filter(dataset_id=ds["id"]).exists()
    # A partial success still answers 201, the refused file listed.
    r = _upload(owner, ds["id"], [("b.txt", b"one\ntwo\n"), ("c+d.txt", b"x\n")])
    assert r.status_code == 201, r.content
    assert [a["file"] for a in r.json()["accepted"]] == ["b.txt"]
    assert [x["file"] for x in r.json()["rejected"]] == ["c+d.txt"]
    # A file refused at import beside an accepted one is not kept either.
    r = _upload(owner, ds["id"], [("e.txt", b"over\nthe\nquota\n")])
    assert r.status_code == 400, r.content
    with owner.scope():
        Quota.objects.filter(tenant=owner.tenant).update(max_samples_per_dataset=3)
    r = _upload(owner, ds["id"], [("f.txt", b"three\n"), ("g.txt", b"four\nfive\n")])
    assert r.status_code == 201, r.content
    assert [a["file"] for a in r.json()["accepted"]] == ["f.txt"]
    assert [x["file"] for x in r.json()["rejected"]] == ["g.txt"]
    assert sorted(k.rsplit("/", 1)[-1] for k in _stored(owner, base)) == ["b.txt", "f.txt"]
    with owner.scope():
        assert sorted(o.key.rsplit("/", 1)[-1] for o in SourceObject.objects.filter(dataset_id=ds["id"])) == [
            "b.txt", "f.txt"]


@pytest.mark.django_db
def test_upload_to_a_predictive_analytics_dataset_is_400(owner):
    from tests.labeling.labelkit import make_dataset

    ds = {"id": make_dataset(owner, "predictive_analytics").pk}
    r = _upload(owner, ds["id"], [("t.csv", b"a,b\n1,2\n")])
    assert r.status_code == 400 and r.json()["accepted"] == [], r.content
    assert "synchronize" in r.json()["rejected"][0]["reason"]


@pytest.mark.django_db
def test_upload_detection_with_hostile_xml(owner):
    ds = _dataset(owner, "object_detection")
    r = _upload(owner, ds["id"], [("a.jpg", jpeg()), ("a.xml", BILLION_LAUGHS), ("b.xml", EXTERNAL)])
    rejected = {x["file"]: x["reason"] for x in r.json()["rejected"]}
    assert set(rejected) == {"a.xml", "b.xml"} and "not allowed" in rejected["a.xml"]
    assert [a["file"] for a in r.json()["accepted"]] == ["a.jpg"]


@pytest.mark.django_db
def test_upload_sound_rules(owner):
    ds = _dataset(owner, "sound_classification")
    r = _upload(owner, ds["id"], [
        ("ok.wav", wav()), ("eight.wav", wav(bits=8)), ("float.wav", wav(bits=32, fmt_code=3)),
        ("short.wav", wav(seconds=0.5)), ("big.wav", b"RIFF" + b"\x00" * (4 * 1024 * 1024 + 10)),
    ])
    rejected = {x["file"]: x["reason"] for x in r.json()["rejected"]}
    assert [a["file"] for a in r.json()["accepted"]] == ["ok.wav"]
    assert "8-bit" in rejected["eight.wav"]
    assert "float" in rejected["float.wav"]
    assert "longer than" in rejected["short.wav"]
    assert "4 MB" in rejected["big.wav"]


@pytest.mark.django_db
def test_upload_text_lines_and_result_labels(owner):
    ds = _dataset(owner, "text_classification")
    r = _upload(owner, ds["id"], [("t.txt", "good one\n\n很好\nbad\n".encode()), ("t_result.txt", b"positive\nnegative\n")])
    assert r.status_code == 201
    accepted = {a["file"]: a for a in r.json()["accepted"]}
    assert accepted["t.txt"]["count"] == 3
    rows = owner.client.get(f"/api/v1/datasets/{ds['id']}/samples").json()["results"]
    assert [(x["text"], x["labels"], x["line_number"]) for x in rows] == [
        ("good one", ["positive"], 1), ("很好", ["negative"], 3), ("bad", [], 4)]
    content = owner.client.get(rows[1]["content_url"])
    assert content.status_code == 200 and content.content.decode() == "很好"


@pytest.mark.django_db
def test_upload_limits(owner):
    ds = _dataset(owner)
    big = b"\xff\xd8" + b"\x00" * (5 * 1024 * 1024 + 10)
    r = _upload(owner, ds["id"], [("big.jpg", big), ("a.jpg", jpeg())])
    assert r.status_code == 201
    assert "5 MB" in r.json()["rejected"][0]["reason"] and r.json()["accepted"][0]["file"] == "a.jpg"
    r = _upload(owner, ds["id"], [("x.jpg", big), ("y.jpg", big)])
    assert r.status_code == 413, r.content


def _png_49_megapixels() -> bytes:
    """A real 7000x7000 PNG (flat grey): a few tens of KB, seconds of CPU to decode."""
    import io

    from PIL import Image

    buf = io.BytesIO()
    Image.new("L", (7000, 7000), 128).save(buf, format="PNG")
    return buf.getvalue()


@pytest.mark.django_db
def test_an_image_of_too_many_pixels_is_refused_at_upload_and_at_sync_naming_file_and_size(owner):
    big = _png_49_megapixels()
    reason = "image is 7000×7000 pixels (49.0 MP), more than the limit of 21.0 MP"
    base = folder(owner.tenant)
    ds = _dataset(owner, base=base)
    r = _upload(owner, ds["id"], [("a.jpg", jpeg()), ("big.png", big)])
    assert r.status_code == 201, r.content
    assert r.json()["rejected"] == [{"file": "big.png", "reason": reason}]
    assert _stored(owner, base) == [base.split("/", 3)[3] + "a.jpg"]
    # Put there behind the upload's back: the sync refuses it with the same reason.
    put_files(owner.tenant, base, [("big2.png", big)])
    with owner.scope():
        job = dataset_sync(dataset=Dataset.objects.get(pk=ds["id"]))
    assert job.status == "succeeded" and job.counts["failed"] == 1, job.counts
    assert [(e["file"].rsplit("/", 1)[-1], e["reason"]) for e in job.errors] == [("big2.png", reason)]


@pytest.mark.django_db
def test_upload_storage_quota(owner):
    ds = _dataset(owner)
    with owner.scope():
        Quota.objects.filter(tenant=owner.tenant).update(max_storage_bytes=100)
    r = _upload(owner, ds["id"], [("a.jpg", jpeg())])
    assert r.status_code == 403 and r.json()["code"] == "quota_exceeded" and r.json()["quota"] == "max_storage_bytes"


@pytest.mark.django_db
@pytest.mark.parametrize("content,reason", [
    # A header and quoted fields are read now (tests/formats/test_csv_table.py); a row with
    # more columns than the others, or a quote left open, is still refused with the row.
    (demo_data.tabular_csv(rows=200) + b"1,2,3,4,5,6,7,8,9\n", "columns"),
    (demo_data.tabular_csv(rows=200).replace(b"north", b'"north', 1), "not closed"),
    (demo_data.tabular_csv(rows=200).replace(b"north", "北".encode()), "Chinese"),
    (demo_data.tabular_csv(rows=100), "valid rows"),
])
def test_csv_rules_reported_by_sync(owner, content, reason):
    base = folder(owner.tenant)
    put_files(owner.tenant, base, [("t.csv", content)])
    r = owner.client.post("/api/v1/projects", {"name": "t" + uuid.uuid4().hex[:6], "type": "predictive_analytics",
                                               "training_data": base + "t.csv"}, format="json")
    assert r.status_code == 201
    with owner.scope():
        job = dataset_sync(dataset=Dataset.objects.get(pk=r.json()["dataset"]["id"]))
    assert job.status == "succeeded" and job.counts["failed"] == 1
    assert reason in job.errors[0]["reason"], job.errors
    preview = owner.client.get(f"/api/v1/datasets/{r.json()['dataset']['id']}/preview")
    assert preview.status_code == 409


def _table_state(actor, dataset_id: str) -> tuple[str, str]:
    r = actor.client.get(f"/api/v1/datasets/{dataset_id}/preview")
    assert r.status_code == 409, r.content
    return r.json()["status"], r.json()["detail"]


def _sync(actor, dataset_id: str):
    with actor.scope():
        return dataset_sync(dataset=Dataset.objects.get(pk=dataset_id))


@pytest.mark.django_db
def test_a_missing_or_refused_csv_says_why_and_a_new_csv_put_over_it_is_profiled(owner):
    """The console's "Upload a new CSV": the replacement goes to the dataset's CSV path through
    POST /storage/objects (overwrite) and a sync profiles it; until then the preview's 409 names
    what is wrong, a CSV that is not there included (before: "not profiled yet; synchronize")."""
    base = folder(owner.tenant)
    r = owner.client.post("/api/v1/projects", {"name": "t" + uuid.uuid4().hex[:6], "type": "predictive_analytics",
                                               "training_data": base + "t.csv"}, format="json")
    assert r.status_code == 201, r.content
    ds_id = r.json()["dataset"]["id"]
    _sync(owner, ds_id)
    state, reason = _table_state(owner, ds_id)
    assert state == "csv_invalid" and "the CSV file does not exist" in reason and "upload a new CSV" in reason

    put_files(owner.tenant, base, [("t.csv", demo_data.tabular_csv(rows=200) + b"1,2,3,4,5,6,7,8,9\n")])
    _sync(owner, ds_id)
    state, reason = _table_state(owner, ds_id)
    assert state == "csv_invalid" and "row 201 has 9 columns" in reason, reason

    header = b"Age;Job title;City;Income;Balance;Contacts;Married;Answer\n"
    rows = demo_data.tabular_csv(rows=200, kind="binary").decode().splitlines()
    good = header + "".join(f'{r.split(",")[0]};"{r.split(",")[1]}; senior";{";".join(r.split(",")[2:])}\n'
                            for r in rows).encode()
    put = owner.client.post("/api/v1/storage/objects", {
        "path": base + "t.csv", "overwrite": "true", "file": SimpleUploadedFile("my export.csv", good),
    }, format="multipart")
    assert put.status_code == 201, put.content
    job = _sync(owner, ds_id)
    assert job.status == "succeeded" and job.counts["imported"] == 1, (job.counts, job.errors)
    preview = owner.client.get(f"/api/v1/datasets/{ds_id}/preview")
    assert preview.status_code == 200, preview.content
    body = preview.json()
    assert [c["name"] for c in body["columns"]][:2] == ["Age", "Job title"]
    assert body["dialect"]["delimiter"] == ";" and body["dialect"]["has_header"] is True
    assert body["rows"][0][1].endswith("; senior")


@pytest.mark.django_db
def test_an_upload_of_200_files_as_the_sdk_batches_them_is_taken(owner):
    """Django refuses more than DATA_UPLOAD_MAX_NUMBER_FILES files (default 100) with an HTML
    400; the SDK and the console send up to 200 a request."""
    ds = _dataset(owner, "text_classification")
    files = [(f"t{i:03d}.txt", f"line {i} alpha\nline {i} beta\n".encode()) for i in range(200)]
    r = _upload(owner, ds["id"], files)
    assert r.status_code in (201, 202), r.content[:300]
    assert r["Content-Type"].startswith("application/json")
