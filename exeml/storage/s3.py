"""S3-compatible object store (AWS S3, MinIO, Huawei OBS) through boto3."""

from __future__ import annotations

import io
import re
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any, BinaryIO

import boto3
import botocore.session
from boto3.exceptions import S3UploadFailedError
from boto3.s3.transfer import TransferConfig
from botocore.config import Config
from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    HTTPClientError,
)
from botocore.exceptions import (
    ConnectionError as BotoConnectionError,
)
from botocore.utils import parse_timestamp

from .base import (
    ListPage,
    ObjectInfo,
    ObjectNotFound,
    ObjectStore,
    StorageError,
    TransientStorageError,
    paged,
)
from .watch import stall_timeouts, storage_call

__all__ = ["S3ObjectStore"]

MIN_PART_SIZE = 5 * 1024 * 1024  # S3 refuses multipart parts below 5 MiB (except the last)
_DELETE_BATCH = 1000  # DeleteObjects limit

_NOT_FOUND_CODES = {"404", "NoSuchKey", "NotFound", "NoSuchBucket"}
_TRANSIENT_CODES = {
    "SlowDown",
    "Throttling",
    "ThrottlingException",
    "RequestTimeout",
    "RequestTimeoutException",
    "InternalError",
    "ServiceUnavailable",
    "503",
    "500",
    "502",
    "504",
}


def _map_client_error(exc: ClientError, what: str) -> StorageError:
    error = exc.response.get("Error", {})
    code = str(error.get("Code", ""))
    status = int(exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode") or 0)
    message = f"{what}: {code or status} {error.get('Message', '')}".strip()
    if code in _NOT_FOUND_CODES or status == 404:
        return ObjectNotFound(message)
    if code in _TRANSIENT_CODES or status >= 500 or status == 429:
        return TransientStorageError(message)
    return StorageError(message)


def _map_error(exc: BaseException, what: str) -> StorageError:
    if isinstance(exc, ClientError):
        return _map_client_error(exc, what)
    if isinstance(exc, S3UploadFailedError):
        # boto3's transfer manager wraps the ClientError; classify by what it wrapped.
        cause = exc.__cause__ or exc.__context__
        if isinstance(cause, ClientError):
            return _map_client_error(cause, what)
        text = str(exc)
        if any(
            code in text for code in ("SlowDown", "InternalError", "ServiceUnavailable", "RequestTimeout")
        ):
            return TransientStorageError(f"{what}: {text}")
        return StorageError(f"{what}: {text}")
    if isinstance(exc, BotoConnectionError | HTTPClientError):
        return TransientStorageError(f"{what}: {exc}")
    return StorageError(f"{what}: {exc}")


@contextmanager
def _mapped(what: str) -> Iterator[None]:
    try:
        yield
    except (ClientError, BotoCoreError, S3UploadFailedError) as exc:
        raise _map_error(exc, what) from exc


@contextmanager
def _errors(what: str) -> Iterator[Callable[..., None]]:
    """One storage call: its errors mapped, its time watched (yields a progress callback)."""
    with storage_call(what) as alive, _mapped(what):
        yield alive


# The form S3, MinIO and OBS give LastModified in a listing: "2024-05-01T12:34:56.000Z".
_ISO_UTC = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(?:\.[0-9]+)?Z")


def parse_s3_timestamp(value: Any) -> datetime:
    """The timestamp parser of our S3 clients: aware datetimes in UTC, at the same instant as
    botocore's default parser (``botocore.utils.parse_timestamp``).

    botocore's default runs every listed LastModified through dateutil's generic parser,
    about 40 µs each: most of a listing's client-side cost (1.7 s of 2.6 s for 40,000
    keys). The listing's ISO-8601 form takes datetime.fromisoformat (about 1 µs); any other
    form (RFC 1123 headers, epoch seconds) goes to botocore's parser. That one answers in
    a tzinfo that depends on the machine's zone (dateutil's tzlocal() where the process
    runs in UTC, tzutc() elsewhere); both answers are given in ``datetime.UTC``, as the
    local backend's are.
    """
    if isinstance(value, str) and _ISO_UTC.fullmatch(value):
        # "Z" gives datetime.UTC; digits past the microsecond are dropped, as dateutil drops them.
        return datetime.fromisoformat(value)
    parsed = parse_timestamp(value)
    return parsed.astimezone(UTC) if parsed.tzinfo is not None else parsed


def _info_from(key: str, size: Any, etag: Any, mtime: Any) -> ObjectInfo:
    return ObjectInfo(key=key, size=int(size or 0), etag=str(etag or "").strip('"'), mtime=mtime)


def _entries(pages: Iterator[dict[str, Any]], what: str) -> Iterator[ObjectInfo | str]:
    """Folders (common prefixes) then objects of each list_objects_v2 response, in order."""
    while True:
        with _errors(what):
            raw = next(pages, None)
        if raw is None:
            return
        for item in raw.get("CommonPrefixes", []) or []:
            yield item["Prefix"]
        for item in raw.get("Contents", []) or []:
            yield _info_from(item["Key"], item.get("Size"), item.get("ETag"), item.get("LastModified"))


class _BodyReader(io.RawIOBase):
    """Wraps botocore's StreamingBody so mid-stream network errors become storage errors."""

    def __init__(self, body: Any, what: str) -> None:
        self._body = body
        self._what = what

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        with _errors(self._what):
            chunk = self._body.read(len(buffer))
        n = len(chunk)
        buffer[:n] = chunk
        return n

    def close(self) -> None:
        if not self.closed:
            self._body.close()
        super().close()


class S3ObjectStore(ObjectStore):
    def __init__(
        self,
        endpoint_url: str | None,
        access_key: str | None,
        secret_key: str | None,
        region: str | None = None,
        *,
        multipart_threshold: int = 8 * 1024 * 1024,
        stall_seconds: float = 300,
        connect_timeout: float | None = None,
        read_timeout: float | None = None,
    ) -> None:
        self.endpoint_url = endpoint_url or None
        self.region = region or "us-east-1"
        self.multipart_threshold = multipart_threshold
        # A hung endpoint costs one call at most 3 × (connect + read) plus backoff, within
        # the stall limit (10 s + 60 s at the default 300 s); the job's watch enforces the limit.
        bounded_connect, bounded_read = stall_timeouts(stall_seconds)
        config = Config(
            # Path-style: MinIO and OBS behind a plain host name have no per-bucket DNS.
            s3={"addressing_style": "path"},
            signature_version="s3v4",
            retries={"max_attempts": 3, "mode": "standard"},
            connect_timeout=connect_timeout or bounded_connect,
            read_timeout=read_timeout or bounded_read,
        )
        # A session per store: boto3's default session is not thread-safe to create clients from.
        # Its response parsers use our timestamp parser (botocore's supported hook, as the AWS
        # CLI's own timestamp setting uses it), for this store's clients only.
        core = botocore.session.get_session()
        core.get_component("response_parser_factory").set_parser_defaults(timestamp_parser=parse_s3_timestamp)
        session = boto3.session.Session(botocore_session=core)
        self.client = session.client(
            "s3",
            endpoint_url=self.endpoint_url,
            aws_access_key_id=access_key or None,
            aws_secret_access_key=secret_key or None,
            region_name=self.region,
            config=config,
        )
        self.transfer_config = TransferConfig(
            multipart_threshold=multipart_threshold,
            multipart_chunksize=max(multipart_threshold, MIN_PART_SIZE),
            use_threads=True,
            max_concurrency=4,
        )

    def __repr__(self) -> str:
        return f"S3ObjectStore({self.endpoint_url!r}, region={self.region!r})"

    # --- buckets ------------------------------------------------------------------------

    def bucket_exists(self, bucket: str) -> bool:
        try:
            with _errors(f"head bucket {bucket}"):
                self.client.head_bucket(Bucket=bucket)
        except ObjectNotFound:
            return False
        return True

    def ensure_bucket(self, bucket: str) -> None:
        if self.bucket_exists(bucket):
            return
        kwargs: dict[str, Any] = {"Bucket": bucket}
        if self.region != "us-east-1":
            kwargs["CreateBucketConfiguration"] = {"LocationConstraint": self.region}
        try:
            with _errors(f"create bucket {bucket}"):
                self.client.create_bucket(**kwargs)
        except StorageError as exc:
            # Lost a race with another worker creating the same bucket.
            if "BucketAlreadyOwnedByYou" not in str(exc):
                raise

    # --- listing ------------------------------------------------------------------------

    def list_pages(
        self, bucket: str, prefix: str = "", *, page_size: int = 1000, recursive: bool = True
    ) -> Iterator[ListPage]:
        if page_size < 1:
            raise ValueError("page_size must be positive")
        params: dict[str, Any] = {
            "Bucket": bucket,
            "Prefix": prefix,
            "PaginationConfig": {"PageSize": min(page_size, 1000)},
        }
        if not recursive:
            params["Delimiter"] = "/"
        what = f"list s3://{bucket}/{prefix}"
        with _mapped(what):  # no request yet: each page is one below
            pages = iter(self.client.get_paginator("list_objects_v2").paginate(**params))
        # Re-chunked so a page never exceeds page_size even when the server mixes
        # objects and common prefixes in one response.
        yield from paged(_entries(pages, what), page_size)

    # --- objects ------------------------------------------------------------------------

    def head(self, bucket: str, key: str) -> ObjectInfo:
        with _errors(f"head s3://{bucket}/{key}"):
            resp = self.client.head_object(Bucket=bucket, Key=key)
        return _info_from(key, resp.get("ContentLength"), resp.get("ETag"), resp.get("LastModified"))

    def open(self, bucket: str, key: str) -> BinaryIO:
        what = f"get s3://{bucket}/{key}"
        with _errors(what):
            resp = self.client.get_object(Bucket=bucket, Key=key)
        return io.BufferedReader(_BodyReader(resp["Body"], what), buffer_size=256 * 1024)  # type: ignore[return-value]

    def put(
        self, bucket: str, key: str, data: bytes | BinaryIO, *, content_type: str | None = None
    ) -> ObjectInfo:
        if not key:
            raise StorageError("empty key")
        extra = {"ContentType": content_type} if content_type else {}
        if isinstance(data, bytes | bytearray | memoryview) and len(data) < self.multipart_threshold:
            # One plain PUT; skips the transfer manager's thread pool, which dominates for small objects.
            with _errors(f"put s3://{bucket}/{key}"):
                self.client.put_object(Bucket=bucket, Key=key, Body=bytes(data), **extra)
            return self.head(bucket, key)
        fileobj: BinaryIO = (
            io.BytesIO(bytes(data)) if isinstance(data, bytes | bytearray | memoryview) else data
        )
        with _errors(f"put s3://{bucket}/{key}") as alive:
            # upload_fileobj sends one PUT below the threshold and a multipart upload above it;
            # each part sent is progress, so a long upload that moves is no stall.
            self.client.upload_fileobj(
                fileobj, bucket, key, ExtraArgs=extra or None, Config=self.transfer_config, Callback=alive
            )
        return self.head(bucket, key)

    def delete(self, bucket: str, key: str) -> None:
        try:
            with _errors(f"delete s3://{bucket}/{key}"):
                self.client.delete_object(Bucket=bucket, Key=key)
        except ObjectNotFound:
            pass  # missing bucket: nothing to delete

    def delete_many(self, bucket: str, keys: Iterable[str]) -> int:
        total = 0
        batch: list[str] = []
        for key in keys:
            batch.append(key)
            if len(batch) == _DELETE_BATCH:
                total += self._delete_batch(bucket, batch)
                batch = []
        if batch:
            total += self._delete_batch(bucket, batch)
        return total

    def _delete_batch(self, bucket: str, keys: list[str]) -> int:
        with _errors(f"delete {len(keys)} objects in s3://{bucket}"):
            resp = self.client.delete_objects(
                Bucket=bucket, Delete={"Objects": [{"Key": k} for k in keys], "Quiet": True}
            )
        errors = [e for e in resp.get("Errors", []) if e.get("Code") != "NoSuchKey"]
        if errors:
            first = errors[0]
            cls = TransientStorageError if first.get("Code") in _TRANSIENT_CODES else StorageError
            raise cls(f"could not delete {len(errors)} objects, e.g. {first.get('Key')}: {first.get('Code')}")
        return len(keys)

    def copy(self, src_bucket: str, src_key: str, dst_bucket: str, dst_key: str) -> ObjectInfo:
        with _errors(f"copy s3://{src_bucket}/{src_key} to s3://{dst_bucket}/{dst_key}") as alive:
            # The managed copy switches to multipart copy for large objects (CopyObject stops at 5 GB).
            self.client.copy(
                {"Bucket": src_bucket, "Key": src_key},
                dst_bucket,
                dst_key,
                Config=self.transfer_config,
                Callback=alive,
            )
        return self.head(dst_bucket, dst_key)

    def presigned_get_url(self, bucket: str, key: str, expires: int = 3600) -> str | None:
        with _mapped(f"presign s3://{bucket}/{key}"):  # signed locally, no request
            return self.client.generate_presigned_url(
                "get_object", Params={"Bucket": bucket, "Key": key}, ExpiresIn=int(expires)
            )
