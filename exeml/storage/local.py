"""Object store on a local folder: ``root/<bucket>/<key>``; used in embedded/dev mode and tests."""

from __future__ import annotations

import hashlib
import io
import os
import shutil
import tempfile
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import BinaryIO

from .base import ListPage, ObjectInfo, ObjectNotFound, ObjectStore, StorageError, paged
from .paths import StoragePathError, validate_bucket_name, validate_key

__all__ = ["LocalObjectStore"]

_COPY_CHUNK = 1024 * 1024
_TMP_DIR = ".tmp"  # under root; not a valid bucket name, so never listed


def _etag(st: os.stat_result) -> str:
    # A change token, not a content hash: hashing 100k files on every listing is too slow.
    # Writes always go through a fresh temp file + os.replace, so a content change gives a
    # new inode and ctime even when size and mtime happen to match.
    token = f"{st.st_size}:{st.st_mtime_ns}:{st.st_ctime_ns}:{st.st_ino}:{st.st_dev}"
    return hashlib.md5(token.encode(), usedforsecurity=False).hexdigest()


def _info(key: str, st: os.stat_result) -> ObjectInfo:
    return ObjectInfo(
        key=key,
        size=st.st_size,
        etag=_etag(st),
        mtime=datetime.fromtimestamp(st.st_mtime, tz=UTC),
    )


class LocalObjectStore(ObjectStore):
    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = Path(root)

    def __repr__(self) -> str:
        return f"LocalObjectStore({str(self.root)!r})"

    # --- path mapping -------------------------------------------------------------------

    def _bucket_dir(self, bucket: str) -> Path:
        try:
            validate_bucket_name(bucket)
        except StoragePathError as exc:
            raise StorageError(str(exc)) from None
        return self.root / bucket

    def _path(self, bucket: str, key: str) -> Path:
        """Filesystem path of a key; refuses anything that would leave the bucket folder."""
        bucket_dir = self._bucket_dir(bucket)
        try:
            validate_key(key)
        except StoragePathError as exc:
            raise StorageError(str(exc)) from None
        if "\x00" in key:
            raise StorageError("NUL in key")
        path = bucket_dir / key if key else bucket_dir
        # Belt and braces: symlinks or anything the key checks missed must not escape.
        base = bucket_dir.resolve()
        resolved = path.resolve()
        if resolved != base and base not in resolved.parents:
            raise StorageError(f"key {key!r} resolves outside the bucket")
        return path

    def _require_bucket(self, bucket: str) -> Path:
        bucket_dir = self._bucket_dir(bucket)
        if not bucket_dir.is_dir():
            raise ObjectNotFound(f"bucket {bucket!r} does not exist")
        return bucket_dir

    def _tmp_file(self) -> tuple[int, str]:
        tmp_dir = self.root / _TMP_DIR
        tmp_dir.mkdir(parents=True, exist_ok=True)
        return tempfile.mkstemp(dir=tmp_dir, prefix="put-")

    # --- buckets ------------------------------------------------------------------------

    def ensure_bucket(self, bucket: str) -> None:
        self._bucket_dir(bucket).mkdir(parents=True, exist_ok=True)

    def bucket_exists(self, bucket: str) -> bool:
        return self._bucket_dir(bucket).is_dir()

    # --- listing ------------------------------------------------------------------------

    def _walk(
        self, directory: Path, key_prefix: str, name_prefix: str, recursive: bool
    ) -> Iterator[tuple[str, str, os.stat_result | None]]:
        """Yield ("obj"|"folder", key, stat) in S3 key order (UTF-8 byte order of full keys).

        Directories sort as ``name/`` so ``a-b`` comes before ``a/x`` like on S3.
        Only one directory's entries are held at a time.
        """
        try:
            with os.scandir(directory) as it:
                entries = [e for e in it if e.name.startswith(name_prefix)]
        except (FileNotFoundError, NotADirectoryError):
            return
        decorated = []
        for entry in entries:
            is_dir = entry.is_dir(follow_symlinks=False)
            if not is_dir and not entry.is_file(follow_symlinks=False):
                continue  # symlinks, sockets, devices are not objects
            sort_name = entry.name + "/" if is_dir else entry.name
            decorated.append((sort_name.encode("utf-8", "surrogateescape"), entry, is_dir))
        decorated.sort(key=lambda item: item[0])
        for _, entry, is_dir in decorated:
            key = key_prefix + entry.name
            if not is_dir:
                try:
                    st = entry.stat(follow_symlinks=False)
                except FileNotFoundError:
                    continue  # deleted while we were listing
                yield "obj", key, st
            elif not recursive:
                yield "folder", key + "/", None
            else:
                empty = True
                for item in self._walk(Path(entry.path), key + "/", "", True):
                    empty = False
                    yield item
                if empty:
                    # An empty folder is shown as its marker object, like an S3 "a/" key.
                    yield "obj", key + "/", entry.stat(follow_symlinks=False)

    def list_pages(
        self, bucket: str, prefix: str = "", *, page_size: int = 1000, recursive: bool = True
    ) -> Iterator[ListPage]:
        if page_size < 1:
            raise ValueError("page_size must be positive")
        bucket_dir = self._require_bucket(bucket)
        dir_part, _, name_prefix = prefix.rpartition("/")
        key_prefix = dir_part + "/" if dir_part else ""
        start = self._path(bucket, key_prefix) if key_prefix else bucket_dir
        yield from paged(self._entries(start, key_prefix, name_prefix, recursive), page_size)

    def _entries(
        self, start: Path, key_prefix: str, name_prefix: str, recursive: bool
    ) -> Iterator[ObjectInfo | str]:
        for kind, key, st in self._walk(start, key_prefix, name_prefix, recursive):
            if kind == "folder":
                yield key
                continue
            assert st is not None
            info = _info(key, st)
            if key.endswith("/"):
                info = ObjectInfo(key, 0, info.etag, info.mtime)
            yield info

    # --- objects ------------------------------------------------------------------------

    def head(self, bucket: str, key: str) -> ObjectInfo:
        self._require_bucket(bucket)
        path = self._path(bucket, key)
        try:
            st = path.stat()
        except (FileNotFoundError, NotADirectoryError):
            raise ObjectNotFound(f"{bucket}/{key} does not exist") from None
        if key.endswith("/") or key == "":
            if not path.is_dir():
                raise ObjectNotFound(f"{bucket}/{key} does not exist")
            return ObjectInfo(key, 0, _etag(st), datetime.fromtimestamp(st.st_mtime, tz=UTC))
        if not path.is_file():
            raise ObjectNotFound(f"{bucket}/{key} does not exist")
        return _info(key, st)

    def open(self, bucket: str, key: str) -> BinaryIO:
        self._require_bucket(bucket)
        path = self._path(bucket, key)
        if key.endswith("/"):
            if path.is_dir():
                return io.BytesIO(b"")
            raise ObjectNotFound(f"{bucket}/{key} does not exist")
        try:
            return path.open("rb")
        except (FileNotFoundError, NotADirectoryError, IsADirectoryError):
            raise ObjectNotFound(f"{bucket}/{key} does not exist") from None

    def put(
        self, bucket: str, key: str, data: bytes | BinaryIO, *, content_type: str | None = None
    ) -> ObjectInfo:
        self._require_bucket(bucket)
        if not key:
            raise StorageError("empty key")
        path = self._path(bucket, key)
        if key.endswith("/"):
            if data if isinstance(data, bytes | bytearray) else data.read(1):
                raise StorageError(f"folder key {key!r} cannot hold data")
            self._mkdirs(path)
            return self.head(bucket, key)
        self._mkdirs(path.parent)
        if path.is_dir():
            raise StorageError(f"{key!r} is a folder here; the local store cannot hold both")
        fd, tmp_name = self._tmp_file()
        try:
            with os.fdopen(fd, "wb") as out:
                if isinstance(data, bytes | bytearray | memoryview):
                    out.write(data)
                else:
                    shutil.copyfileobj(data, out, _COPY_CHUNK)
            os.replace(tmp_name, path)
        except BaseException:
            Path(tmp_name).unlink(missing_ok=True)
            raise
        return self.head(bucket, key)

    def _mkdirs(self, directory: Path) -> None:
        try:
            directory.mkdir(parents=True, exist_ok=True)
        except (FileExistsError, NotADirectoryError):
            raise StorageError(
                f"{directory.name!r} is an object here; the local store cannot nest under it"
            ) from None

    def delete(self, bucket: str, key: str) -> None:
        if not self.bucket_exists(bucket) or not key:
            return
        path = self._path(bucket, key)
        if key.endswith("/"):
            # Like deleting an S3 folder marker: the folder stays while it holds objects.
            try:
                path.rmdir()
            except OSError:
                pass
            return
        try:
            if path.is_file() or path.is_symlink():
                path.unlink()
        except FileNotFoundError:
            pass

    def copy(self, src_bucket: str, src_key: str, dst_bucket: str, dst_key: str) -> ObjectInfo:
        with self.open(src_bucket, src_key) as src:
            return self.put(dst_bucket, dst_key, src)

    def presigned_get_url(self, bucket: str, key: str, expires: int = 3600) -> str | None:
        return None
