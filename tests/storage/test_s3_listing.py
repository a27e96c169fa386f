"""The S3 store's listing with its fast timestamp parser answers what botocore's default parser
answers: same keys, sizes, etags, and modification times at the same instant (aware, UTC)."""

from __future__ import annotations

import uuid
from datetime import UTC, timedelta

import boto3
import pytest
from botocore.config import Config
from botocore.utils import parse_timestamp

from exeml.storage import S3ObjectStore
from exeml.storage.s3 import parse_s3_timestamp


@pytest.fixture
def stock_client(s3_endpoint: str, s3_credentials: tuple[str, str, str]):
    """A plain boto3 client to the same endpoint, with botocore's default (dateutil) parser."""
    access, secret, region = s3_credentials
    return boto3.session.Session().client(
        "s3",
        endpoint_url=s3_endpoint,
        aws_access_key_id=access,
        aws_secret_access_key=secret,
        region_name=region,
        config=Config(s3={"addressing_style": "path"}, signature_version="s3v4"),
    )


def test_listing_matches_botocore_default_parser(s3_store: S3ObjectStore, stock_client) -> None:
    bucket = f"t-{uuid.uuid4().hex[:20]}"
    s3_store.ensure_bucket(bucket)
    keys = [f"imgs/img_{i:03d}.jpg" for i in range(12)] + [f"imgs/img_{i:03d}.txt" for i in range(12)]
    for n, key in enumerate(keys):
        s3_store.put(bucket, key, b"x" * (n + 1))
    # Several requests (page_size 5), so every page goes through the store's parser.
    pages = list(s3_store.list_pages(bucket, "imgs/", page_size=5))
    assert len(pages) == 5
    ours = [o for p in pages for o in p.objects]

    stock = [
        item
        for page in stock_client.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix="imgs/")
        for item in page.get("Contents", [])
    ]
    assert [o.key for o in ours] == [i["Key"] for i in stock] == sorted(keys)
    assert [o.size for o in ours] == [i["Size"] for i in stock]
    assert [o.etag for o in ours] == [i["ETag"].strip('"') for i in stock]
    for o, item in zip(ours, stock, strict=True):
        assert item["LastModified"].tzinfo is not None
        assert o.mtime == item["LastModified"]  # the same instant
        assert o.mtime.tzinfo is UTC and o.mtime.utcoffset() == timedelta(0)

    # head() parses the Last-Modified header (RFC 1123), botocore's parser's form.
    head = s3_store.head(bucket, keys[0])
    stock_head = stock_client.head_object(Bucket=bucket, Key=keys[0])
    assert head.mtime == stock_head["LastModified"] and head.mtime.tzinfo is UTC
    assert (head.size, head.etag) == (stock_head["ContentLength"], stock_head["ETag"].strip('"'))


@pytest.mark.parametrize(
    "value",
    [
        "2024-05-01T12:34:56.000Z",  # S3, moto
        "2024-05-01T12:34:56Z",
        "2024-05-01T12:34:56.5Z",
        "2024-05-01T12:34:56.123456789Z",  # past the microsecond: dropped by both
        "Wed, 01 May 2024 12:34:56 GMT",  # HTTP headers
        "1714566896",  # epoch seconds
        "2024-05-01T14:34:56+02:00",
    ],
)
def test_timestamp_parser_same_instant_as_botocore(value: str) -> None:
    ours, theirs = parse_s3_timestamp(value), parse_timestamp(value)
    assert ours == theirs
    assert ours.tzinfo is UTC


def test_timestamp_parser_leaves_naive_values_naive() -> None:
    # No zone given: botocore answers a naive datetime; so does ours (no zone is invented).
    assert parse_s3_timestamp("2024-05-01T12:34:56") == parse_timestamp("2024-05-01T12:34:56")
    assert parse_s3_timestamp("2024-05-01T12:34:56").tzinfo is None
