"""Text classification files: one sample per line, and ``name_result.txt`` label files.

Row matching (the guide: "the first row in a label file indicates the label of the first
row in the labeled object"): blank lines are skipped in both files, and the i-th non-empty
line of ``name_result.txt`` labels the i-th non-empty line of ``name.txt``. Text lines past
the end of the label file stay unlabelled; surplus labels are ignored (see
:func:`match_result_labels`, which reports both counts).
"""

from datasets.formats.errors import FormatError, check_size
from datasets.formats.filenames import file_kind, stem
from datasets.formats.label_names import check_label_name

MAX_TEXT_BYTES = 8 * 1024 * 1024
RESULT_SUFFIX = "_result"


def decode_text(data: bytes, *, what: str = "text file") -> str:
    """UTF-8 (BOM tolerated), UTF-16 with a BOM, or GB18030 (what Chinese Windows writes)."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return data.decode("utf-16")
        except UnicodeDecodeError:
            raise FormatError(f"{what} starts with a UTF-16 byte-order mark but is not valid UTF-16")
    if b"\x00" in data:
        raise FormatError(f"{what} contains NUL bytes; it looks binary, not text")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        utf8_error = exc
    try:
        return data.decode("gb18030")
    except UnicodeDecodeError:
        raise FormatError(
            f"{what} is not UTF-8 text (invalid byte at offset {utf8_error.start}); save it as UTF-8"
        )


def iter_text_lines(data: bytes, *, max_bytes: int = MAX_TEXT_BYTES) -> list[tuple[int, str]]:
    """(1-based physical line number, stripped text) for every non-empty line.

    Only ``\\n`` (and ``\\r\\n``) end a line, as the guide specifies; ``str.splitlines`` would
    also split on form feeds and U+2028 and shift the row matching with the result file.
    """
    check_size(data, max_bytes=max_bytes, what="text file")
    text = decode_text(data)
    return [(i, line.strip()) for i, line in enumerate(text.split("\n"), start=1) if line.strip()]


def parse_result_labels(data: bytes, *, max_bytes: int = MAX_TEXT_BYTES) -> list[str]:
    """Labels of ``name_result.txt``, one per non-empty line, each a valid label name."""
    if not data:
        return []
    labels: list[str] = []
    for line_no, label in iter_text_lines(data, max_bytes=max_bytes):
        try:
            check_label_name(label)
        except FormatError as exc:
            raise FormatError(f"label file line {line_no}: {exc.reason}")
        labels.append(label)
    return labels


def match_result_labels(
    lines: list[tuple[int, str]], labels: list[str]
) -> tuple[list[tuple[int, str, str | None]], int]:
    """Pair text lines with labels by row index.

    Returns ``(rows, surplus)``: ``rows`` is ``(line_no, text, label or None)`` for every
    text line, ``surplus`` the number of labels that had no text line.
    """
    rows = [(no, text, labels[i] if i < len(labels) else None) for i, (no, text) in enumerate(lines)]
    return rows, max(0, len(labels) - len(lines))


def is_result_file(name: str) -> bool:
    """``x_result.txt`` (or ``.csv``) is a label file, not samples."""
    return file_kind(name) in ("txt", "csv") and stem(name).endswith(RESULT_SUFFIX)


def result_name_for(name: str) -> str:
    """The label file that goes with a text file: ``COMMENTS_1.txt`` -> ``COMMENTS_1_result.txt``."""
    return f"{stem(name)}{RESULT_SUFFIX}.txt"
