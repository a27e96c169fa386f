"""The same behaviour from both backends: local folder and S3 (moto server or a real endpoint)."""

from __future__ import annotations

import io
import os

import pytest
import requests

from exeml.storage import LocalObjectStore, ObjectNotFound, ObjectStore, S3ObjectStore, StorageError

MULTIPART_THRESHOLD = 5 * 1024 * 1024  # matches conftest; moto refuses parts under 5 MiB


def _keys(store: ObjectStore, bucket: str, prefix: str = "") -> list[str]:
    return [o.key for o in store.iter_objects(bucket, prefix)]


def test_bucket_lifecycle(store: ObjectStore, bucket: str) -> None:
    assert store.bucket_exists(bucket)
    assert not store.bucket_exists("exeml-no-such-bucket")
    store.ensure_bucket(bucket)  # idempotent
    with pytest.raises(ObjectNotFound):
        list(store.list_pages("exeml-no-such-bucket"))


def test_put_head_read_roundtrip(store: ObjectStore, bucket: str) -> None:
    info = store.put(bucket, "a/b/c.txt", b"hello", content_type="text/plain")
    assert (info.key, info.size) == ("a/b/c.txt", 5)
    assert info.etag and info.mtime.tzinfo is not None
    head = store.head(bucket, "a/b/c.txt")
    assert head.size == 5 and head.etag == info.etag
    assert store.read_bytes(bucket, "a/b/c.txt") == b"hello"
    assert store.exists(bucket, "a/b/c.txt")
    assert not store.exists(bucket, "a/b/c.tx")


def test_missing_objects_raise_not_found(store: ObjectStore, bucket: str) -> None:
    with pytest.raises(ObjectNotFound):
        store.head(bucket, "nope.txt")
    with pytest.raises(ObjectNotFound):
        store.open(bucket, "nope.txt")
    with pytest.raises(ObjectNotFound):
        store.read_bytes(bucket, "nope.txt")
    with pytest.raises(ObjectNotFound):
        store.copy(bucket, "nope.txt", bucket, "dst.txt")


def test_etag_changes_with_content(store: ObjectStore, bucket: str) -> None:
    first = store.put(bucket, "x.bin", b"aaaa")
    second = store.put(bucket, "x.bin", b"bbbb")  # same size, possibly same mtime second
    assert first.etag != second.etag
    assert store.head(bucket, "x.bin").etag == second.etag
    assert store.read_bytes(bucket, "x.bin") == b"bbbb"
    listed = {o.key: o.etag for o in store.iter_objects(bucket)}
    assert listed["x.bin"] == second.etag


def test_list_pagination_and_order(store: ObjectStore, bucket: str) -> None:
    keys = [f"img/{i:02d}.jpg" for i in range(7)] + ["img-a.txt", "img/sub/z.jpg", "other/q.txt"]
    for key in keys:
        store.put(bucket, key, key.encode())
    pages = list(store.list_pages(bucket, "", page_size=3))
    assert len(pages) == 4
    assert all(len(p.objects) <= 3 for p in pages)
    listed = [o.key for p in pages for o in p.objects]
    assert listed == sorted(keys)  # S3 order: "img-a.txt" before "img/.."
    sizes = {o.key: o.size for p in pages for o in p.objects}
    assert sizes["img/sub/z.jpg"] == len(b"img/sub/z.jpg")


def test_list_prefix(store: ObjectStore, bucket: str) -> None:
    for key in ["cats/1.jpg", "cats/2.jpg", "cars/1.jpg", "cat.txt", "dogs/1.jpg"]:
        store.put(bucket, key, b"x")
    assert _keys(store, bucket, "cats/") == ["cats/1.jpg", "cats/2.jpg"]
    assert _keys(store, bucket, "ca") == ["cars/1.jpg", "cat.txt", "cats/1.jpg", "cats/2.jpg"]
    assert _keys(store, bucket, "cats/2") == ["cats/2.jpg"]
    assert _keys(store, bucket, "zebra/") == []
    assert _keys(store, bucket, "cat.txt/") == []


def test_list_non_recursive_folders(store: ObjectStore, bucket: str) -> None:
    for key in ["root.txt", "a/1.txt", "a/2.txt", "a/deep/3.txt", "b/4.txt", "a-x.txt"]:
        store.put(bucket, key, b"x")
    pages = list(store.list_pages(bucket, "", recursive=False))
    folders = [f for p in pages for f in p.folders]
    objects = [o.key for p in pages for o in p.objects]
    assert folders == ["a/", "b/"]
    assert objects == ["a-x.txt", "root.txt"]
    pages = list(store.list_pages(bucket, "a/", recursive=False))
    assert [f for p in pages for f in p.folders] == ["a/deep/"]
    assert [o.key for p in pages for o in p.objects] == ["a/1.txt", "a/2.txt"]
    # folders count toward the page size too
    small = list(store.list_pages(bucket, "", recursive=False, page_size=1))
    assert len(small) == 4 and all(len(p.objects) + len(p.folders) == 1 for p in small)


def test_empty_folder_marker(store: ObjectStore, bucket: str) -> None:
    store.put(bucket, "new/folder/", b"")
    pages = list(store.list_pages(bucket, "new/", recursive=False))
    assert [f for p in pages for f in p.folders] == ["new/folder/"]
    assert store.head(bucket, "new/folder/").size == 0
    assert "new/folder/" in _keys(store, bucket)


def test_open_streams(store: ObjectStore, bucket: str) -> None:
    payload = os.urandom(300_000)
    store.put(bucket, "blob.bin", payload)
    chunks = []
    with store.open(bucket, "blob.bin") as fh:
        while chunk := fh.read(65536):
            assert len(chunk) <= 65536
            chunks.append(chunk)
    assert b"".join(chunks) == payload
    assert len(chunks) >= 5


def test_read_bytes_max_bytes(store: ObjectStore, bucket: str) -> None:
    store.put(bucket, "ten.bin", b"0123456789")
    assert store.read_bytes(bucket, "ten.bin", max_bytes=10) == b"0123456789"
    with pytest.raises(StorageError, match="limit"):
        store.read_bytes(bucket, "ten.bin", max_bytes=9)


def test_put_from_stream_and_download(store: ObjectStore, bucket: str, tmp_path) -> None:
    payload = os.urandom(100_000)
    info = store.put(bucket, "s/stream.bin", io.BytesIO(payload))
    assert info.size == len(payload)
    target = store.download_to(bucket, "s/stream.bin", tmp_path / "dl" / "out.bin")
    assert target.read_bytes() == payload
    assert [p.name for p in target.parent.iterdir()] == ["out.bin"]  # no temp file left


def test_put_multipart(store: ObjectStore, bucket: str) -> None:
    payload = os.urandom(MULTIPART_THRESHOLD + 1)
    info = store.put(bucket, "big.bin", io.BytesIO(payload))
    assert info.size == len(payload)
    if isinstance(store, S3ObjectStore):
        assert info.etag.endswith("-2")  # multipart etag: md5-of-parts plus part count
    assert store.read_bytes(bucket, "big.bin") == payload


def test_delete_and_delete_many(store: ObjectStore, bucket: str) -> None:
    for i in range(5):
        store.put(bucket, f"d/{i}.txt", b"x")
    store.delete(bucket, "d/0.txt")
    store.delete(bucket, "d/0.txt")  # missing is fine
    assert not store.exists(bucket, "d/0.txt")
    assert store.delete_many(bucket, (f"d/{i}.txt" for i in range(1, 4))) == 3
    store.delete_many(bucket, ["d/missing.txt"])
    assert _keys(store, bucket) == ["d/4.txt"]


def test_copy(store: ObjectStore, bucket: str) -> None:
    store.put(bucket, "src/a.txt", b"payload")
    other = bucket + "-dst"
    store.ensure_bucket(other)
    info = store.copy(bucket, "src/a.txt", other, "copied/a.txt")
    assert info.size == 7
    assert store.read_bytes(other, "copied/a.txt") == b"payload"
    assert store.read_bytes(bucket, "src/a.txt") == b"payload"


def test_presigned_get(store: ObjectStore, bucket: str) -> None:
    store.put(bucket, "p/file.txt", b"presigned body")
    url = store.presigned_get_url(bucket, "p/file.txt", expires=60)
    if isinstance(store, LocalObjectStore):
        assert url is None  # caller streams through open() instead
        return
    assert url is not None
    resp = requests.get(url, timeout=10)
    assert resp.status_code == 200
    assert resp.content == b"presigned body"


def test_list_is_lazy(store: ObjectStore, bucket: str) -> None:
    for i in range(6):
        store.put(bucket, f"l/{i}.txt", b"x")
    pages = store.list_pages(bucket, "l/", page_size=2)
    first = next(pages)
    assert [o.key for o in first.objects] == ["l/0.txt", "l/1.txt"]
    pages.close()


def test_local_mtime_resolution_does_not_hide_changes(tmp_path) -> None:
    store = LocalObjectStore(tmp_path)
    store.ensure_bucket("bkt")
    etags = set()
    for i in range(20):
        etags.add(store.put("bkt", "same.txt", b"%02d" % i).etag)
    assert len(etags) == 20


def test_delete_many_batches_over_1000(store: ObjectStore, bucket: str) -> None:
    keys = [f"many/{i:04d}" for i in range(1003)]
    for key in keys:
        store.put(bucket, key, b"")
    assert sum(len(p.objects) for p in store.list_pages(bucket, "many/")) == 1003
    assert store.delete_many(bucket, iter(keys)) == 1003
    assert _keys(store, bucket, "many/") == []


def test_unreachable_endpoint_is_transient() -> None:
    from exeml.storage import TransientStorageError

    dead = S3ObjectStore("http://127.0.0.1:9", "a", "b", "us-east-1", connect_timeout=1)
    with pytest.raises(TransientStorageError):
        dead.head("bucket", "key")
