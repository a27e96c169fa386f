"""File-name rules shared by every project type, and file kinds by extension.

The guide: "The name of files in a dataset cannot contain Chinese characters, plus signs
(+), spaces, or tabs." We also refuse what would be unsafe as an object-store key or a
local path (separators, "..", control characters), since names become keys.
"""

import re

from datasets.formats.errors import FormatError
from exeml.storage.paths import StoragePathError, check_name, check_name_bytes

# CJK ideographs and the punctuation/full-width forms that come with Chinese text.
_CJK = re.compile(
    "["
    "\u2e80-\u2fdf"  # CJK radicals, Kangxi radicals
    "\u3000-\u303f"  # CJK symbols and punctuation (ideographic space, 、。)
    "\u3400-\u4dbf"  # extension A
    "\u4e00-\u9fff"  # unified ideographs
    "\uf900-\ufaff"  # compatibility ideographs
    "\ufe30-\ufe4f"  # compatibility forms
    "\uff00-\uffef"  # full-width forms (，：)
    "\U00020000-\U0002ebef"  # extensions B-F
    "\U00030000-\U0003134f"  # extension G
    "]"
)

_EXTENSIONS = {
    ".jpg": "image",
    ".jpeg": "image",
    ".png": "image",
    ".bmp": "image",
    ".xml": "xml",
    ".txt": "txt",
    ".csv": "csv",
    ".wav": "wav",
    ".manifest": "manifest",
}


def contains_chinese(text: str) -> bool:
    return _CJK.search(text) is not None


def check_file_name(name: str) -> None:
    """Raise FormatError when ``name`` (a base name, not a path) breaks the naming rules."""
    if not name:
        raise FormatError("file name is empty")
    try:
        # In bytes, as the store counts (80 emoji are 320 bytes); first, so that no later
        # message repeats a huge name.
        check_name_bytes(name, what="file name")
    except StoragePathError as exc:
        raise FormatError(exc.reason) from None
    if name in (".", "..") or ".." in name:
        raise FormatError(f"file name {name!r} contains '..'")
    if "/" in name or "\\" in name:
        raise FormatError(f"file name {name!r} contains a path separator")
    if "+" in name:
        raise FormatError(f"file name {name!r} contains a plus sign (+)")
    if "\t" in name:
        raise FormatError(f"file name {name!r} contains a tab")
    if any(ch.isspace() for ch in name):
        raise FormatError(f"file name {name!r} contains a space")
    try:
        check_name(name, what=f"file name {name!r}")  # the rules folder names keep too
    except StoragePathError as exc:
        raise FormatError(exc.reason) from None
    if contains_chinese(name):
        raise FormatError(f"file name {name!r} contains Chinese characters")


def extensions_of(kind: str) -> list[str]:
    """The extensions (without the dot) of a file kind, as users see them: ["jpg", "jpeg", ...]."""
    return [ext[1:] for ext, k in _EXTENSIONS.items() if k == kind]


def file_kind(name: str) -> str | None:
    """"image" | "xml" | "txt" | "csv" | "wav" | "manifest" by extension, else None."""
    dot = name.rfind(".")
    if dot <= 0:
        return None
    return _EXTENSIONS.get(name[dot:].lower())


def stem(name: str) -> str:
    """The name without its last extension: "10.jpg" -> "10" (pairs x.jpg with x.txt/x.xml)."""
    dot = name.rfind(".")
    return name[:dot] if dot > 0 else name
