"""Image classification pre-labels: ``10.txt`` beside ``10.jpg``, one label per line
(several lines = several labels, multi-label allowed)."""

from datasets.formats.text import parse_result_labels

MAX_LABELS_TXT_BYTES = 64 * 1024


def parse_image_labels_txt(data: bytes, *, max_bytes: int = MAX_LABELS_TXT_BYTES) -> list[str]:
    """Distinct labels in file order; an empty file means the image is unlabelled."""
    # Same line rules and label checks as a text result file, duplicates dropped.
    return list(dict.fromkeys(parse_result_labels(data, max_bytes=max_bytes)))
