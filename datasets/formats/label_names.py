"""Label names: "a maximum of 32 characters, including Chinese characters, uppercase and
lowercase letters, digits, hyphens (-), and underscores (_)" (guide). Letters of any script
are accepted, since this project supports any language.
"""

from datasets.formats.errors import FormatError

MAX_LABEL_LENGTH = 32


def check_label_name(name: str) -> None:
    if not name:
        raise FormatError("label name is empty")
    if len(name) > MAX_LABEL_LENGTH:
        raise FormatError(f"label {name[:40]!r} is {len(name)} characters long, more than {MAX_LABEL_LENGTH}")
    bad = sorted({ch for ch in name if not (ch.isalnum() or ch in "_-")})
    if bad:
        shown = ", ".join("space" if ch == " " else repr(ch) for ch in bad)
        raise FormatError(
            f"label {name!r} contains {shown}; use letters, digits, '-' and '_' only"
        )


def is_valid_label_name(name: str) -> bool:
    try:
        check_label_name(name)
    except FormatError:
        return False
    return True
