"""Image classification pre-labels: ``10.txt`` beside ``10.jpg``, one label per line
(several lines = several labels, multi-label allowed)."""

from datasets.formats.errors import FormatError
from datasets.formats.label_names import check_label_name
from datasets.formats.text import iter_text_lines

MAX_LABELS_TXT_BYTES = 64 * 1024


def parse_image_labels_txt(data: bytes, *, max_bytes: int = MAX_LABELS_TXT_BYTES) -> list[str]:
    """Distinct labels in file order; an empty file means the image is unlabelled."""
    if not data:
        return []
    labels: list[str] = []
    for line_no, label in iter_text_lines(data, max_bytes=max_bytes):
        try:
            check_label_name(label)
        except FormatError as exc:
            raise FormatError(f"label file line {line_no}: {exc.reason}")
        if label not in labels:
            labels.append(label)
    return labels
