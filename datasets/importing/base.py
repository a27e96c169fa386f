"""The small interface every project type's importer implements."""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from django.conf import settings

from datasets.formats.errors import FormatError
from datasets.formats.filenames import check_file_name, extensions_of, file_kind, stem
from datasets.labels import ImportedAnnotations
from exeml.storage import StoragePathError, validate_key


class Role(StrEnum):
    DATA = "data"
    LABEL = "label"
    MANIFEST = "manifest"


def limit(name: str) -> int:
    return int(settings.EXEML_LIMITS[name])


def sibling(key: str, name: str) -> str:
    """``a/b/10.jpg`` + ``10.txt`` -> ``a/b/10.txt``."""
    folder = key.rsplit("/", 1)[0] + "/" if "/" in key else ""
    return folder + name


def base_name(key: str) -> str:
    return key.rsplit("/", 1)[-1]


def check_object_name(folder: str, name: str) -> None:
    """The data rules on a file's name, for uploads and syncs alike: FormatError if broken.

    ``name`` follows the guide's naming rules (no "+", spaces, tabs, Chinese, separators);
    ``folder + name`` must also be a safe key (names decoding to a traversal, such as
    "%2e%2e%2f...", are refused).
    """
    check_file_name(name)
    try:
        validate_key(folder + name)
    except StoragePathError as exc:
        raise FormatError(f"file name {name!r}: {exc.reason}") from None


_KIND_WORDS = {"image": "image", "wav": "sound", "txt": "text"}
# Extensions of formats users often have but the importers do not read, by media kind: their
# reason says "not a supported image type" rather than a generic "not accepted".
_MEDIA = {
    **dict.fromkeys((".gif", ".webp", ".tif", ".tiff", ".heic", ".heif", ".avif", ".svg", ".ico", ".jfif"), "image"),
    **dict.fromkeys((".mp3", ".flac", ".ogg", ".m4a", ".aac", ".wma", ".aif", ".aiff", ".opus"), "sound"),
    **dict.fromkeys((".doc", ".docx", ".pdf", ".rtf", ".md", ".json", ".tsv", ".xlsx", ".xls"), "text"),
}


class Importer:
    """Defaults suit types whose only label source is a manifest (sound)."""

    task_type: str = ""
    data_kinds: tuple[str, ...] = ()
    label_kind: str | None = None
    accepts_manifest = True

    def role(self, name: str) -> Role | None:
        kind = file_kind(name)
        if kind in self.data_kinds:
            return Role.DATA
        if kind is not None and kind == self.label_kind:
            return Role.LABEL
        if kind == "manifest" and self.accepts_manifest:
            return Role.MANIFEST
        return None

    def unsupported_reason(self, name: str) -> str:
        """Why a file of this name is refused (its ``role`` is None), naming what is accepted.

        e.g. ".gif is not a supported image type (jpg, jpeg, png, bmp)": a user who drops a
        folder of mixed files learns both what was left out and what to convert it to.
        """
        dot = name.rfind(".")
        ext = name[dot:].lower() if dot > 0 else ""
        data = ", ".join(e for k in self.data_kinds for e in extensions_of(k))
        kind = _KIND_WORDS.get(self.data_kinds[0], self.data_kinds[0]) if self.data_kinds else "data"
        accepted = [f"{kind} files: {data}"]
        if self.label_kind:
            accepted.append(f"label files: {', '.join(extensions_of(self.label_kind))}")
        if self.accepts_manifest:
            accepted.append("manifest")
        if not ext:
            return f"the file has no extension; accepted here: {'; '.join(accepted)}"
        if _MEDIA.get(ext) == kind:
            return f"{ext} is not a supported {kind} type ({data})"
        return f"{ext} is not a file type accepted by this dataset ({'; '.join(accepted)})"

    def max_bytes(self, role: Role) -> int:
        if role == Role.LABEL:
            return limit("xml_max_bytes")
        return limit("text_max_bytes")

    def inspect(self, name: str, data: bytes) -> list[dict[str, Any]]:
        """Sample fields per sample this data file yields (each with ``line_number``)."""
        raise NotImplementedError

    def label_key_for(self, data_key: str) -> str | None:
        return None

    def data_keys_for(self, label_key: str) -> list[str]:
        return []

    def parse_labels(self, data: bytes, samples: list[Any]) -> list[ImportedAnnotations]:
        """Annotations a label file gives ``samples`` (its data file's samples); FormatError if bad."""
        return []


_IMAGE_EXTS = (".jpg", ".jpeg", ".png", ".bmp", ".JPG", ".JPEG", ".PNG", ".BMP")


def image_keys_for(label_key: str) -> list[str]:
    return [sibling(label_key, stem(base_name(label_key)) + ext) for ext in _IMAGE_EXTS]
