"""Parsing and confinement of user-given storage paths: every refusal is deliberate."""

from __future__ import annotations

import pytest

from exeml.storage import (
    LocalObjectStore,
    StorageError,
    StoragePath,
    StoragePathError,
    ensure_within_roots,
    is_under,
    parse_storage_path,
    validate_folder_name,
    validate_folder_name_path,
)

ROOTS = ["s3://exeml/t1/"]


def test_parse_s3_and_obs() -> None:
    assert parse_storage_path("s3://bucket/a/b.jpg") == StoragePath("bucket", "a/b.jpg")
    assert parse_storage_path("obs://bucket/a/b.jpg") == StoragePath("bucket", "a/b.jpg")
    assert parse_storage_path("OBS://bucket/x/") == StoragePath("bucket", "x/")
    assert parse_storage_path("s3://bucket") == StoragePath("bucket", "")
    assert parse_storage_path("s3://bucket/") == StoragePath("bucket", "")
    assert str(parse_storage_path("obs://bucket/a/b.jpg")) == "s3://bucket/a/b.jpg"


@pytest.mark.parametrize(
    ("uri", "reason"),
    [
        ("", "empty"),
        ("   ", "empty"),
        ("bucket/key", "s3:// or obs://"),
        ("http://bucket/key", "s3:// or obs://"),
        ("file:///etc/passwd", "s3:// or obs://"),
        ("s3://", "no bucket"),
        ("s3:///key", "no bucket"),
        ("s3://ab/key", "at least 3"),
        ("s3://Bucket/key", "lowercase"),
        ("s3://bad_bucket/key", "lowercase"),
        ("s3://-bucket/key", "lowercase"),
        ("s3://192.168.1.1/key", "lowercase"),
        ("s3://b" + "x" * 63 + "/key", "at most 63"),
        ("s3://bucket/../other/x", "'..'"),
        ("s3://bucket/a/../../x", "'..'"),
        ("s3://bucket/a/..", "'..'"),
        ("s3://bucket/./a", "'.'"),
        ("s3://bucket/%2e%2e/x", "'..'"),
        ("s3://bucket/a/%2E%2E/x", "'..'"),
        ("s3://bucket/a/%252e%252e/x", "'..'"),
        ("s3://bucket/a/..%2f..%2fx", "'..'"),
        ("s3://bucket/a\\..\\x", "backslash"),
        ("s3://bucket/a%5cb", "backslash"),
        ("s3://bucket//etc/passwd", "absolute"),
        ("s3://bucket/a//b", "'//'"),
        ("s3://bucket/a%2f%2fb", "encoded slashes"),
        ("s3://bucket/a\x00b", "control"),
        ("s3://bucket/a\nb", "control"),
        ("s3://bucket/a%00b", "control"),
        ("s3://bucket/a\x7fb", "control"),
        (" s3://bucket/a", "whitespace"),
        ("s3://bucket/" + "k" * 1025, "1024 bytes"),
        ("s3://bucket/" + "\u00e9" * 128 + "/x", "256 bytes long in UTF-8, longer than 255 bytes"),
        ("s3://bucket/a/" + "\U0001f600" * 64, "256 bytes"),
    ],
)
def test_parse_refuses(uri: str, reason: str) -> None:
    with pytest.raises(StoragePathError) as info:
        parse_storage_path(uri)
    assert reason in info.value.reason


def test_error_is_value_error_with_reason() -> None:
    with pytest.raises(ValueError) as info:
        parse_storage_path("s3://bucket/../x")
    assert isinstance(info.value, StoragePathError)
    assert info.value.reason


def test_path_helpers() -> None:
    p = parse_storage_path("s3://bucket/a/b/c.jpg")
    assert not p.is_folder and p.name == "c.jpg"
    assert p.parent == StoragePath("bucket", "a/b/")
    assert p.parent.parent == StoragePath("bucket", "a/")
    assert p.parent.parent.parent == StoragePath("bucket", "")
    assert StoragePath("bucket", "").parent == StoragePath("bucket", "")
    assert StoragePath("bucket", "a/b/").name == "b"
    assert StoragePath("bucket", "a").as_folder() == StoragePath("bucket", "a/")
    assert StoragePath("bucket", "a/").join("x/y.txt") == StoragePath("bucket", "a/x/y.txt")
    assert StoragePath("bucket", "a").join("sub/") == StoragePath("bucket", "a/sub/")
    assert StoragePath("bucket", "").join("x") == StoragePath("bucket", "x")
    for bad in ["../x", "/x", "a//b", "a\\b", "%2e%2e/x", ""]:
        with pytest.raises(StoragePathError):
            StoragePath("bucket", "a/").join(bad)


def test_within_roots_accepts_paths_under_root() -> None:
    assert ensure_within_roots("s3://exeml/t1/data/x.jpg", ROOTS) == StoragePath("exeml", "t1/data/x.jpg")
    assert ensure_within_roots("obs://exeml/t1/", ROOTS) == StoragePath("exeml", "t1/")
    # the root folder named without its slash means the folder
    assert ensure_within_roots("s3://exeml/t1", ROOTS) == StoragePath("exeml", "t1/")
    assert ensure_within_roots("s3://own/anything", ["s3://own"]) == StoragePath("own", "anything")


@pytest.mark.parametrize(
    "uri",
    [
        "s3://other-bucket/x",
        "s3://exeml/t2/x",  # another tenant's root
        "s3://exeml/t1x/data.csv",  # prefix confusion: t1x is not under t1/
        "s3://exeml/t1.csv",
        "s3://exeml/",
        "s3://exeml",
        "s3://exeml/x/t1/y",
    ],
)
def test_within_roots_refuses_outside(uri: str) -> None:
    with pytest.raises(StoragePathError) as info:
        ensure_within_roots(uri, ROOTS)
    assert info.value.reason == "path lies outside your storage roots"


@pytest.mark.parametrize("uri", ["s3://exeml/t1/../t2/x", "s3://exeml/t1/%2e%2e/t2/x", "s3://exeml/t1//x"])
def test_within_roots_refuses_traversal(uri: str) -> None:
    with pytest.raises(StoragePathError):
        ensure_within_roots(uri, ROOTS)


def test_within_roots_with_several_roots_and_none() -> None:
    roots = ["s3://exeml/t1/", "obs://shared-data/t1-public/"]
    assert ensure_within_roots("s3://shared-data/t1-public/a", roots).bucket == "shared-data"
    with pytest.raises(StoragePathError):
        ensure_within_roots("s3://exeml/t1/a", [])


def test_is_under_compares_whole_segments() -> None:
    assert is_under("s3://exeml/t1/a", "s3://exeml/t1")
    assert is_under("s3://exeml/t1/a", "s3://exeml/t1/")
    assert not is_under("s3://exeml/t10/a", "s3://exeml/t1")
    assert not is_under("s3://exeml2/t1/a", "s3://exeml/t1/")
    assert is_under("s3://exeml/anything", "s3://exeml/")


@pytest.mark.parametrize("name", ["data", "a/b/c", "v1.0", "my-data_2", "a.b/c.d"])
def test_folder_name_ok(name: str) -> None:
    assert validate_folder_name(name) == name


@pytest.mark.parametrize(
    "name",
    [
        "",
        ".hidden",
        "data.",
        "/data",
        "data/",
        "a//b",
        "a:b",
        "a*b",
        "a?b",
        'a"b',
        "a<b",
        "a>b",
        "a|b",
        "a\\b",
        "a/.b/c",
        "a/b./c",
    ],
)
def test_folder_name_refused(name: str) -> None:
    with pytest.raises(StoragePathError):
        validate_folder_name(name)


def test_folder_path_rules() -> None:
    assert validate_folder_name_path("s3://exeml/t1/a/b/c") == StoragePath("exeml", "t1/a/b/c/")
    assert validate_folder_name_path("s3://exeml/t1/a/") == StoragePath("exeml", "t1/a/")
    for bad in [
        "s3://exeml/",
        "s3://exeml/t1/a:b/",
        "s3://exeml/t1/.x",
        "s3://exeml/t1/x./y",
        "s3://exeml/t1/a|b",
    ]:
        with pytest.raises(StoragePathError):
            validate_folder_name_path(bad)
    # "exeml/" + key must fit in 1,023 characters
    longest = "s3://exeml/" + "/".join(["a" * 99] * 10) + "/" + "b" * 17
    assert len(longest) - len("s3://") == 1023
    validate_folder_name_path(longest)
    with pytest.raises(StoragePathError, match="1023"):
        validate_folder_name_path(longest + "b")


def test_local_store_refuses_escape_even_without_path_layer(tmp_path) -> None:
    root = tmp_path / "store"
    store = LocalObjectStore(root)
    store.ensure_bucket("bkt")
    (tmp_path / "secret.txt").write_bytes(b"secret")
    for key in ["../../secret.txt", "/etc/passwd", "a/../../secret.txt", "a\\b"]:
        with pytest.raises(StorageError):
            store.read_bytes("bkt", key)
        with pytest.raises(StorageError):
            store.put("bkt", key, b"x")
    # a symlink planted inside the bucket must not lead outside it
    (root / "bkt" / "link").symlink_to(tmp_path)
    with pytest.raises(StorageError):
        store.read_bytes("bkt", "link/secret.txt")
    assert "link/secret.txt" not in [o.key for o in store.iter_objects("bkt")]
    with pytest.raises(StorageError):
        store.ensure_bucket("..")
