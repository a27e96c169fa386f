"""The object store interface shared by the S3 and local-folder backends."""

from __future__ import annotations

import os
import shutil
import tempfile
from abc import ABC, abstractmethod
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import BinaryIO

__all__ = [
    "ListPage",
    "ObjectInfo",
    "ObjectNotFound",
    "ObjectStore",
    "StorageError",
    "TransientStorageError",
]

_COPY_CHUNK = 1024 * 1024


class StorageError(Exception):
    """A storage operation failed for a reason that retrying will not fix."""


class ObjectNotFound(StorageError):
    """The bucket or object does not exist."""


class TransientStorageError(StorageError):
    """Network trouble, a 5xx or throttling: the Celery task may retry."""


@dataclass(frozen=True)
class ObjectInfo:
    key: str
    size: int
    # A change token: equal etags mean unchanged content. Not necessarily an MD5 of the
    # content (multipart S3 uploads and the local backend use other tokens).
    etag: str
    mtime: datetime  # timezone-aware, UTC


@dataclass
class ListPage:
    objects: list[ObjectInfo] = field(default_factory=list)
    folders: list[str] = field(default_factory=list)  # full keys ending in "/", recursive=False only


def paged(entries: Iterable[ObjectInfo | str], page_size: int) -> Iterator[ListPage]:
    """Group a backend's listing (folder keys as ``str``, objects as ObjectInfo) into pages of
    at most ``page_size`` entries, so a page never exceeds it whatever the backend returns."""
    page, count = ListPage(), 0
    for entry in entries:
        if isinstance(entry, str):
            page.folders.append(entry)
        else:
            page.objects.append(entry)
        count += 1
        if count >= page_size:
            yield page
            page, count = ListPage(), 0
    if count:
        yield page


class ObjectStore(ABC):
    """Buckets of objects addressed by key; folders are key prefixes ending in ``/``.

    Keys passed here must already be validated (``exeml.storage.paths``); backends still
    defend themselves, but user-facing messages come from the path layer.
    """

    @abstractmethod
    def ensure_bucket(self, bucket: str) -> None:
        """Create the bucket if it does not exist."""

    @abstractmethod
    def bucket_exists(self, bucket: str) -> bool: ...

    @abstractmethod
    def list_pages(
        self, bucket: str, prefix: str = "", *, page_size: int = 1000, recursive: bool = True
    ) -> Iterator[ListPage]:
        """Yield pages in key order; each holds at most ``page_size`` objects plus folders.

        ``recursive=False`` groups keys below the next ``/`` after ``prefix`` into
        ``folders`` (S3 common prefixes). Raises ObjectNotFound if the bucket is missing.
        """

    @abstractmethod
    def head(self, bucket: str, key: str) -> ObjectInfo:
        """Metadata of one object; raises ObjectNotFound."""

    @abstractmethod
    def open(self, bucket: str, key: str) -> BinaryIO:
        """A streaming reader; the caller closes it. Raises ObjectNotFound."""

    @abstractmethod
    def put(
        self, bucket: str, key: str, data: bytes | BinaryIO, *, content_type: str | None = None
    ) -> ObjectInfo:
        """Write an object (a key ending in ``/`` with empty data creates a folder)."""

    @abstractmethod
    def delete(self, bucket: str, key: str) -> None:
        """Delete an object; a missing object is not an error."""

    @abstractmethod
    def copy(self, src_bucket: str, src_key: str, dst_bucket: str, dst_key: str) -> ObjectInfo: ...

    @abstractmethod
    def presigned_get_url(self, bucket: str, key: str, expires: int = 3600) -> str | None:
        """A URL a browser can GET directly, or None when the caller must stream the bytes."""

    # Convenience built on the primitives; backends may override for speed.

    def iter_objects(self, bucket: str, prefix: str = "", *, page_size: int = 1000) -> Iterator[ObjectInfo]:
        for page in self.list_pages(bucket, prefix, page_size=page_size, recursive=True):
            yield from page.objects

    def exists(self, bucket: str, key: str) -> bool:
        try:
            self.head(bucket, key)
        except ObjectNotFound:
            return False
        return True

    def delete_many(self, bucket: str, keys: Iterable[str]) -> int:
        """Delete keys; returns how many were requested. Missing keys are fine."""
        count = 0
        for key in keys:
            self.delete(bucket, key)
            count += 1
        return count

    def read_bytes(self, bucket: str, key: str, *, max_bytes: int | None = None) -> bytes:
        """Whole object in memory; refuses objects over ``max_bytes`` before reading them."""
        if max_bytes is not None:
            info = self.head(bucket, key)
            if info.size > max_bytes:
                raise StorageError(f"object {key!r} is {info.size} bytes, more than the limit of {max_bytes}")
        with self.open(bucket, key) as fh:
            if max_bytes is None:
                return fh.read()
            # The object may have grown since head(); never hold more than the limit.
            data = fh.read(max_bytes + 1)
        if len(data) > max_bytes:
            raise StorageError(f"object {key!r} is larger than the limit of {max_bytes} bytes")
        return data

    def download_to(self, bucket: str, key: str, path: str | os.PathLike[str]) -> Path:
        """Stream an object into a local file, atomically (temp file in the same folder)."""
        target = Path(path)
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp_name = tempfile.mkstemp(dir=target.parent, prefix=".download-")
        try:
            with os.fdopen(fd, "wb") as out, self.open(bucket, key) as src:
                shutil.copyfileobj(src, out, _COPY_CHUNK)
            os.replace(tmp_name, target)
        except BaseException:
            Path(tmp_name).unlink(missing_ok=True)
            raise
        return target
