"""Names in bytes where storage counts bytes, checked before anything is written; no object
left in storage without its row; the same Unicode rules for folder names as for file names.

Each request runs on the real S3 endpoint (moto) and on the embedded local-folder store,
where an over-long name used to fail inside the file system (a 500 after other files of the
same request were already stored).
"""

from __future__ import annotations

import json

import pytest
from django.conf import settings as django_settings
from django.core.files.uploadedfile import SimpleUploadedFile

from datasets.models import Sample, SourceObject
from datasets.sync import DatasetSync
from exeml.storage import default_store, parse_storage_path, store_for_tenant
from tests.datasets.helpers import folder, jpeg
from tests.datasets.test_dataset_upload import _dataset, _upload

pytestmark = pytest.mark.django_db

EMOJI_NAME = "\U0001f600" * 80 + ".jpg"  # 84 characters, 324 bytes of UTF-8


@pytest.fixture(params=["s3", "local"])
def any_store(request, settings, tmp_path, owner):
    """The platform store: the S3 endpoint, or the embedded local folder."""
    if request.param == "local":
        settings.EXEML_S3_ENDPOINT_URL = ""
        settings.EXEML_LOCAL_STORE_ROOT = tmp_path / "store"
    store = default_store()
    store.ensure_bucket(django_settings.EXEML_BUCKET)
    owner.client.raise_request_exception = False  # a 500 is an answer to assert on, here
    return store


def _stored(actor, base: str) -> list[str]:
    path = parse_storage_path(base)
    return sorted(o.key.rsplit("/", 1)[-1] for o in store_for_tenant(actor.tenant).iter_objects(path.bucket, path.key))


def _rows(actor, dataset_id) -> tuple[list[str], int]:
    with actor.scope():
        keys = sorted(k.rsplit("/", 1)[-1] for k in SourceObject.objects.filter(dataset_id=dataset_id)
                      .values_list("key", flat=True))
        return keys, Sample.objects.filter(dataset_id=dataset_id).count()


# ----------------------------------------------------------------------------- upload


def test_an_emoji_name_over_255_bytes_is_refused_and_the_good_file_beside_it_is_registered(owner, any_store):
    base = folder(owner.tenant)
    ds = _dataset(owner, base=base)
    r = _upload(owner, ds["id"], [("a.jpg", jpeg()), (EMOJI_NAME, jpeg())])
    assert r.status_code == 201, r.content
    assert [a["file"] for a in r.json()["accepted"]] == ["a.jpg"]
    (refused,) = r.json()["rejected"]
    assert refused["file"] == EMOJI_NAME
    assert "324 bytes" in refused["reason"] and "255 bytes" in refused["reason"], refused
    # What is stored is exactly what is registered.
    assert _stored(owner, base) == ["a.jpg"]
    assert _rows(owner, ds["id"]) == (["a.jpg"], 1)


def test_a_refused_multi_file_upload_leaves_no_object_and_no_sample(owner, any_store):
    base = folder(owner.tenant)
    ds = _dataset(owner, base=base)
    r = _upload(owner, ds["id"], [(EMOJI_NAME, jpeg()), ("a+b.jpg", jpeg()), ("x" * 252 + ".jpg", jpeg())])
    assert r.status_code == 400, r.content
    reasons = {x["file"]: x["reason"] for x in r.json()["rejected"]}
    assert "bytes" in reasons[EMOJI_NAME] and "plus" in reasons["a+b.jpg"] and "256 bytes" in reasons["x" * 252 + ".jpg"]
    assert _stored(owner, base) == []
    assert _rows(owner, ds["id"]) == ([], 0)


def test_an_upload_that_fails_midway_removes_what_it_stored(owner, any_store, monkeypatch):
    """Any failure after the objects are written (here: an exception once the page import has
    registered them) leaves neither an object nor a row nor a sample of the request."""
    base = folder(owner.tenant)
    ds = _dataset(owner, base=base)
    assert _upload(owner, ds["id"], [("old.jpg", jpeg())]).status_code == 201
    real = DatasetSync.process_page

    def process_then_fail(self, *args, **kwargs):
        real(self, *args, **kwargs)
        raise RuntimeError("simulated failure after registration")

    monkeypatch.setattr(DatasetSync, "process_page", process_then_fail)
    r = _upload(owner, ds["id"], [("a.jpg", jpeg()), ("a.txt", b"cat\n"), ("b.jpg", jpeg())])
    assert r.status_code == 500
    assert _stored(owner, base) == ["old.jpg"]
    assert _rows(owner, ds["id"]) == (["old.jpg"], 1)


# ----------------------------------------------------------------------------- storage objects


def _put_object(actor, path: str):
    body = {"path": path, "file": SimpleUploadedFile("local.csv", b"1,a\n2,b\n")}
    return actor.client.post("/api/v1/storage/objects", body, format="multipart")


@pytest.mark.parametrize(("name", "size"), [("a" * 300 + ".csv", 304), ("\U0001f600" * 70 + ".csv", 284)])
def test_a_storage_object_name_over_255_bytes_is_a_400_naming_the_field(owner, any_store, name, size):
    base = folder(owner.tenant)
    r = _put_object(owner, base + name)
    assert r.status_code == 400, r.content
    assert f"{size} bytes" in r.json()["path"][0] and "255 bytes" in r.json()["path"][0], r.json()
    assert _stored(owner, base) == []


# ----------------------------------------------------------------------------- folders and file names


INVISIBLE = [
    ("\u202e", "U+202E"),  # right-to-left override: "a\u202egnp.exe" shows as "aexe.png"
    ("\u200b", "U+200B"),  # zero-width space
    ("\u200d", "U+200D"),  # zero-width joiner
    ("\ufeff", "U+FEFF"),  # zero-width no-break space (byte order mark)
    ("\u2028", "U+2028"),  # line separator
]


@pytest.mark.parametrize(("char", "code"), INVISIBLE)
def test_folder_names_refuse_the_characters_file_names_refuse(owner, any_store, char, code):
    base = folder(owner.tenant)
    # Sent as JSON escapes ("\u202e"), as a hostile client would.
    body = json.dumps({"path": base + f"a{char}b/c"}, ensure_ascii=True)
    r = owner.client.generic("POST", "/api/v1/storage/folders", body, content_type="application/json")
    assert r.status_code == 400, r.content
    assert "folder name" in r.json()["path"][0] and code in r.json()["path"][0], r.json()
    assert _stored(owner, base) == []
    # The same rules refuse it in a file name (a line separator counts as a space there first).
    ds = _dataset(owner, base=base)
    r = _upload(owner, ds["id"], [(f"a{char}b.jpg", jpeg())])
    assert r.status_code == 400, r.content
    reason = r.json()["rejected"][0]["reason"]
    assert code in reason or "space" in reason, reason
    assert _stored(owner, base) == []


def test_sync_reports_an_over_long_key_and_imports_the_rest(owner, store):
    """Keys put behind the platform's back (S3 holds components over 255 bytes) are reported
    by sync with the same byte rule, not imported."""
    from datasets.models import Dataset
    from datasets.services import dataset_sync
    from tests.datasets.helpers import put_files

    base = folder(owner.tenant)
    put_files(owner.tenant, base, [(EMOJI_NAME, jpeg()), ("a.jpg", jpeg())])
    ds = _dataset(owner, base=base)
    with owner.scope():
        job = dataset_sync(dataset=Dataset.objects.get(pk=ds["id"]))
        names = list(Sample.objects.filter(dataset_id=ds["id"]).values_list("name", flat=True))
    assert job.status == "succeeded", job.detail
    assert names == ["a.jpg"]
    (error,) = job.errors
    assert error["file"].endswith(EMOJI_NAME) and "324 bytes" in error["reason"], error
