"""Parsing and checking of user-given storage paths (``s3://bucket/key``, ``obs://bucket/key``).

Pure functions, no Django and no I/O. Every path a user types goes through
``parse_storage_path`` and then ``ensure_within_roots`` before any store call; suspicious
input is refused rather than "fixed", so that what is checked is exactly what is used.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from urllib.parse import unquote

__all__ = [
    "MAX_FOLDER_PATH_CHARS",
    "MAX_KEY_BYTES",
    "MAX_NAME_BYTES",
    "StoragePath",
    "StoragePathError",
    "check_name",
    "check_name_bytes",
    "ensure_within_roots",
    "is_under",
    "parse_storage_path",
    "validate_bucket_name",
    "validate_folder_name",
    "validate_folder_name_path",
    "validate_key",
]

SCHEMES = ("s3", "obs")
# Storage counts bytes, not characters: 80 emoji are 80 characters but 320 bytes. These two
# limits are checked here, in UTF-8 bytes, for every key and every name before anything is
# written (upload, storage objects, folders, the keys a sync lists).
MAX_KEY_BYTES = 1024  # S3/OBS limit on an object key
MAX_NAME_BYTES = 255  # one path component: what a file system holds (NAME_MAX; the embedded store)
MAX_FOLDER_PATH_CHARS = 1023  # guide: "absolute path of a folder cannot exceed 1,023 characters"
# Characters no name may hold, whatever it names (a file, a folder): invisible or
# direction-changing ones make a name display as something it is not ("gnp.exe" shown as
# "exe.png" by U+202E), and lone surrogates cannot be encoded at all.
_REFUSED_CATEGORIES = {
    "Cc": "a control character",
    "Cf": "an invisible formatting character (zero-width or text-direction)",
    "Cs": "an unpaired surrogate",
    "Zl": "a line separator",
    "Zp": "a paragraph separator",
}
FOLDER_FORBIDDEN_CHARS = set('\\/:*?"<>|')

# S3 bucket rules (OBS uses the same): 3-63 chars, lowercase letters, digits, dots and
# hyphens, starting and ending with a letter or digit, not shaped like an IP address.
_BUCKET_RE = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
_IP_RE = re.compile(r"^\d{1,3}(\.\d{1,3}){3}$")
_MAX_DECODE_ROUNDS = 5


class StoragePathError(ValueError):
    """A storage path that is malformed, unsafe or not allowed for the caller."""

    def __init__(self, reason: str, path: str | None = None) -> None:
        super().__init__(reason if path is None else f"{reason}: {path!r}")
        self.reason = reason
        self.path = path


@dataclass(frozen=True)
class StoragePath:
    """A validated location: ``key == ""`` is the bucket root; a key ending in ``/`` is a folder."""

    bucket: str
    key: str

    def __str__(self) -> str:
        # obs:// is accepted as an alias on input; the canonical form is always s3://.
        return f"s3://{self.bucket}/{self.key}"

    @property
    def is_folder(self) -> bool:
        return self.key == "" or self.key.endswith("/")

    @property
    def name(self) -> str:
        """Last segment without a trailing slash; the bucket name for the bucket root."""
        if not self.key:
            return self.bucket
        return self.key.rstrip("/").rsplit("/", 1)[-1]

    @property
    def parent(self) -> StoragePath:
        """The folder holding this object or folder; the bucket root is its own parent."""
        stripped = self.key.rstrip("/")
        if "/" not in stripped:
            return StoragePath(self.bucket, "")
        return StoragePath(self.bucket, stripped.rsplit("/", 1)[0] + "/")

    def as_folder(self) -> StoragePath:
        if self.is_folder:
            return self
        return StoragePath(self.bucket, self.key + "/")

    def join(self, name: str) -> StoragePath:
        """Child path ``name`` (may hold ``/`` and end with ``/``) under this path taken as a folder."""
        if not name:
            raise StoragePathError("empty name")
        if name.startswith("/"):
            raise StoragePathError("name must be relative", name)
        base = self.as_folder().key
        return StoragePath(self.bucket, validate_key(base + name))


def validate_bucket_name(bucket: str) -> str:
    if len(bucket) < 3:
        raise StoragePathError("bucket name must have at least 3 characters", bucket)
    if len(bucket) > 63:
        raise StoragePathError("bucket name must have at most 63 characters", bucket)
    if not _BUCKET_RE.match(bucket) or ".." in bucket or _IP_RE.match(bucket):
        raise StoragePathError(
            "bucket name may hold only lowercase letters, digits, '.' and '-', "
            "and must start and end with a letter or digit",
            bucket,
        )
    return bucket


def _has_control_chars(text: str) -> bool:
    return any(ord(ch) < 0x20 or 0x7F <= ord(ch) <= 0x9F for ch in text)


def _utf8_len(text: str) -> int:
    # "surrogatepass": a lone surrogate is refused by check_name with its reason, not a crash here.
    return len(text.encode("utf-8", "surrogatepass"))


def check_name_bytes(name: str, *, what: str = "name") -> None:
    """Refuse a path component longer than MAX_NAME_BYTES bytes of UTF-8."""
    size = _utf8_len(name)
    if size > MAX_NAME_BYTES:
        raise StoragePathError(f"{what} is {size} bytes long in UTF-8, longer than {MAX_NAME_BYTES} bytes", name)


def check_name(name: str, *, what: str = "name") -> None:
    """The rules every name of a thing in storage keeps, file or folder: no control, invisible
    or direction-changing character, and at most MAX_NAME_BYTES bytes. (Each caller adds its
    own rules on top: the guide's file-name rules, the folder-name punctuation.)"""
    for ch in name:
        kind = _REFUSED_CATEGORIES.get(unicodedata.category(ch))
        if kind is not None:
            raise StoragePathError(f"{what} contains {kind} (U+{ord(ch):04X})", name)
    check_name_bytes(name, what=what)


def _check_unsafe(text: str, original: str) -> None:
    if "\\" in text:
        raise StoragePathError("backslashes are not allowed", original)
    if _has_control_chars(text):
        raise StoragePathError("control characters are not allowed", original)
    if any(seg in (".", "..") for seg in text.split("/")):
        raise StoragePathError("'.' and '..' path segments are not allowed", original)


def validate_key(key: str) -> str:
    """Check an object key (no scheme, no bucket); returns it unchanged."""
    if key.startswith("/"):
        raise StoragePathError("absolute keys are not allowed", key)
    if "//" in key:
        raise StoragePathError("empty path segments ('//') are not allowed", key)
    _check_unsafe(key, key)
    # A key is used literally, but a decoding layer further along (a proxy, a browser,
    # a presigned URL) must not be able to turn it into a traversal either.
    decoded = key
    for _ in range(_MAX_DECODE_ROUNDS):
        nxt = unquote(decoded)
        if nxt == decoded:
            break
        decoded = nxt
        _check_unsafe(decoded, key)
        if decoded.startswith("/") or "//" in decoded:
            raise StoragePathError("encoded slashes are not allowed", key)
    if any("\ud800" <= ch <= "\udfff" for ch in key):
        raise StoragePathError("unpaired surrogates are not allowed", key)
    size = _utf8_len(key)
    if size > MAX_KEY_BYTES:
        raise StoragePathError(f"key is {size} bytes long in UTF-8, longer than {MAX_KEY_BYTES} bytes", key)
    for segment in key.split("/"):
        check_name_bytes(segment, what="a path component")
    return key


def parse_storage_path(uri: str) -> StoragePath:
    """Parse ``s3://bucket/key`` or ``obs://bucket/key``; raise StoragePathError if unsafe."""
    if not isinstance(uri, str) or not uri.strip():
        raise StoragePathError("empty storage path")
    if uri != uri.strip():
        raise StoragePathError("leading or trailing whitespace is not allowed", uri)
    scheme, sep, rest = uri.partition("://")
    if not sep or scheme.lower() not in SCHEMES:
        raise StoragePathError("storage path must start with s3:// or obs://", uri)
    if "\\" in rest:
        raise StoragePathError("backslashes are not allowed", uri)
    if _has_control_chars(rest):
        raise StoragePathError("control characters are not allowed", uri)
    bucket, _, key = rest.partition("/")
    if not bucket:
        raise StoragePathError("storage path has no bucket", uri)
    validate_bucket_name(bucket)
    try:
        validate_key(key)
    except StoragePathError as exc:
        raise StoragePathError(exc.reason, uri) from None
    return StoragePath(bucket, key)


def _as_path(value: StoragePath | str) -> StoragePath:
    return value if isinstance(value, StoragePath) else parse_storage_path(value)


def is_under(child: StoragePath | str, parent: StoragePath | str) -> bool:
    """True when ``child`` is ``parent`` (taken as a folder) or lies beneath it.

    Compares whole segments: ``t1x/a`` is not under ``t1/``.
    """
    child_p, parent_p = _as_path(child), _as_path(parent)
    if child_p.bucket != parent_p.bucket:
        return False
    prefix = parent_p.as_folder().key
    return prefix == "" or child_p.key.startswith(prefix)


def ensure_within_roots(path: StoragePath | str, roots: Sequence[StoragePath | str]) -> StoragePath:
    """Return ``path`` if it lies under one of ``roots``, else raise StoragePathError.

    A path naming a root folder without its trailing slash (``s3://b/t1`` for root
    ``s3://b/t1/``) is accepted and returned as the folder.
    """
    candidate = _as_path(path)
    for root in roots:
        root_p = _as_path(root).as_folder()
        if is_under(candidate, root_p):
            return candidate
        if candidate.bucket == root_p.bucket and candidate.key and candidate.key + "/" == root_p.key:
            return root_p
    raise StoragePathError("path lies outside your storage roots", str(candidate))


def validate_folder_name(name: str) -> str:
    """The guide's rules for a folder name as typed (``a/b/c`` creates three levels)."""
    if not name:
        raise StoragePathError("folder name is empty")
    if name[0] in "./" or name[-1] in "./":
        raise StoragePathError("folder name cannot start or end with '.' or '/'", name)
    for segment in name.split("/"):
        _validate_folder_segment(segment, name)
    return name


def _validate_folder_segment(segment: str, original: str) -> None:
    if not segment:
        raise StoragePathError("folder name has an empty level ('//')", original)
    if FOLDER_FORBIDDEN_CHARS.intersection(segment):
        raise StoragePathError('folder name cannot contain any of \\/:*?"<>|', original)
    if segment.startswith(".") or segment.endswith("."):
        raise StoragePathError("folder name cannot start or end with '.'", original)
    try:
        # The same character and byte rules as a file name (one folder level is one
        # directory on the embedded store).
        check_name(segment, what="folder name")
    except StoragePathError as exc:
        raise StoragePathError(exc.reason, original) from None


def validate_folder_name_path(path: StoragePath | str) -> StoragePath:
    """Check a folder to create against the guide's rules; return it as a folder path.

    Every level must satisfy the name rules and ``bucket/key`` must fit in 1,023 characters.
    """
    p = _as_path(path)
    stripped = p.key.rstrip("/")
    if not stripped:
        raise StoragePathError("a folder needs a name below the bucket", str(p))
    if p.key.endswith("//"):
        raise StoragePathError("folder name has an empty level ('//')", str(p))
    for segment in stripped.split("/"):
        _validate_folder_segment(segment, str(p))
    if len(f"{p.bucket}/{stripped}") > MAX_FOLDER_PATH_CHARS:
        raise StoragePathError(f"folder path is longer than {MAX_FOLDER_PATH_CHARS} characters", str(p))
    return StoragePath(p.bucket, stripped + "/")
