"""ModelArts manifest files (JSON Lines, one sample per line), read and written.

A line as ModelArts writes it::

    {"source":"s3://b/p/1.jpg","usage":"TRAIN","annotation":[{"type":"modelarts/image_classification",
     "name":"cat","annotated-by":"human","creation-time":"2019-01-23 11:30:30"}]}

Text samples carry the text itself: ``"source":"content://the text"``. Detection
annotations point at a VOC file through ``annotation-loc`` with
``"annotation-format":"PASCAL VOC"``. Predictive analytics has no manifest form (its data
is the CSV itself), so it has no entry in :data:`ANNOTATION_TYPES`.

Parsing never aborts on a bad line: it yields a :class:`ManifestLineError` for that line
and goes on, so an import can report "3 of 500 lines skipped" with reasons.
"""

import json
import math
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from datasets.formats.errors import FormatError
from datasets.formats.label_names import check_label_name

TASK_TYPES = (
    "image_classification",
    "object_detection",
    "predictive_analytics",
    "sound_classification",
    "text_classification",
)
ANNOTATION_TYPES: dict[str, str] = {
    "image_classification": "modelarts/image_classification",
    "object_detection": "modelarts/object_detection",
    "sound_classification": "modelarts/audio_classification",
    "text_classification": "modelarts/text_classification",
}
TASK_TYPE_OF = {v: k for k, v in ANNOTATION_TYPES.items()}
USAGES = ("TRAIN", "EVAL", "TEST", "INFERENCE")
VOC_FORMAT = "PASCAL VOC"
TEXT_SCHEME = "content://"
TIME_FORMAT = "%Y-%m-%d %H:%M:%S"
MAX_LINE_CHARS = 1024 * 1024


@dataclass(frozen=True)
class ManifestAnnotation:
    type: str  # one of ANNOTATION_TYPES' values
    name: str | None = None  # the label; None for detection (labels live in the VOC file)
    annotated_by: str | None = "human"  # or e.g. "modelarts/active-learning" for pre-labels
    creation_time: str | None = None  # "YYYY-MM-DD HH:MM:SS"
    confidence: float | None = None
    annotation_loc: str | None = None  # detection: URI of the VOC xml
    annotation_format: str | None = None  # detection: "PASCAL VOC"


@dataclass(frozen=True)
class ManifestEntry:
    line_no: int
    source: str
    usage: str | None
    annotations: list[ManifestAnnotation] = field(default_factory=list)
    inference_loc: str | None = None

    @property
    def text(self) -> str | None:
        """The text of a ``content://`` sample, else None."""
        return source_text(self.source)


@dataclass(frozen=True)
class ManifestLineError:
    line_no: int
    reason: str


def text_source(text: str) -> str:
    return TEXT_SCHEME + text


def source_text(source: str) -> str | None:
    return source[len(TEXT_SCHEME) :] if source.startswith(TEXT_SCHEME) else None


def format_time(value: datetime) -> str:
    return value.strftime(TIME_FORMAT)


def make_annotation(
    task_type: str,
    *,
    name: str | None = None,
    annotation_loc: str | None = None,
    annotated_by: str | None = "human",
    creation_time: datetime | str | None = None,
    confidence: float | None = None,
) -> ManifestAnnotation:
    """An annotation for ``task_type`` (detection gets ``annotation-format`` set)."""
    kind = ANNOTATION_TYPES.get(task_type)
    if kind is None:
        raise FormatError(f"task type {task_type!r} has no manifest annotation type")
    if isinstance(creation_time, datetime):
        creation_time = format_time(creation_time)
    return ManifestAnnotation(
        type=kind,
        name=name,
        annotated_by=annotated_by,
        creation_time=creation_time,
        confidence=confidence,
        annotation_loc=annotation_loc,
        annotation_format=VOC_FORMAT if kind == ANNOTATION_TYPES["object_detection"] else None,
    )


def manifest_line(
    *,
    source: str,
    usage: str | None,
    annotations: Iterable[ManifestAnnotation | Mapping[str, Any]],
    inference_loc: str | None = None,
) -> str:
    """One manifest line, compact JSON as ModelArts writes it, without the trailing newline."""
    out: dict[str, Any] = {"source": source}
    if usage is not None:
        out["usage"] = usage
    if inference_loc is not None:
        out["inference-loc"] = inference_loc
    items = []
    for a in annotations:
        ann = a if isinstance(a, ManifestAnnotation) else ManifestAnnotation(**a)
        item: dict[str, Any] = {"type": ann.type}
        for key, value in (
            ("name", ann.name),
            ("annotation-loc", ann.annotation_loc),
            ("annotation-format", ann.annotation_format),
            ("annotated-by", ann.annotated_by),
            ("creation-time", ann.creation_time),
            ("confidence", ann.confidence),
        ):
            if value is not None:
                item[key] = value
        items.append(item)
    out["annotation"] = items
    return json.dumps(out, ensure_ascii=False, separators=(",", ":"))


def parse_manifest(lines: Iterable[bytes | str]) -> Iterator[ManifestEntry | ManifestLineError]:
    """Entries of a manifest; blank lines are skipped, bad lines yield ManifestLineError."""
    for line_no, raw in enumerate(lines, start=1):
        try:
            text = raw.decode("utf-8-sig" if line_no == 1 else "utf-8") if isinstance(raw, bytes) else raw
        except UnicodeDecodeError:
            yield ManifestLineError(line_no, "line is not UTF-8 text")
            continue
        text = text.lstrip("\ufeff").strip()
        if not text:
            continue
        try:
            yield _entry(line_no, text)
        except FormatError as exc:
            yield ManifestLineError(line_no, exc.reason)


def _entry(line_no: int, text: str) -> ManifestEntry:
    if len(text) > MAX_LINE_CHARS:
        raise FormatError(f"line is longer than {MAX_LINE_CHARS} characters")
    try:
        obj = json.loads(text)
    except (json.JSONDecodeError, RecursionError) as exc:
        raise FormatError(f"not valid JSON: {exc}")
    if not isinstance(obj, dict):
        raise FormatError("line is not a JSON object")
    source = obj.get("source")
    if not isinstance(source, str) or not source.strip():
        raise FormatError("missing or empty \"source\"")
    usage = obj.get("usage")
    if usage is not None:
        if not isinstance(usage, str) or usage.upper() not in USAGES:
            raise FormatError(f"\"usage\" is {usage!r}; expected one of {', '.join(USAGES)}")
        usage = usage.upper()
    raw_annotations = obj.get("annotation", [])
    if raw_annotations is None:
        raw_annotations = []
    if not isinstance(raw_annotations, list):
        raise FormatError("\"annotation\" is not a list")
    annotations = [_annotation(a, i) for i, a in enumerate(raw_annotations, start=1)]
    inference_loc = obj.get("inference-loc")
    if inference_loc is not None and not isinstance(inference_loc, str):
        raise FormatError("\"inference-loc\" is not a string")
    return ManifestEntry(
        line_no=line_no, source=source, usage=usage, annotations=annotations, inference_loc=inference_loc
    )


def _annotation(obj: Any, index: int) -> ManifestAnnotation:
    where = f"annotation {index}"
    if not isinstance(obj, dict):
        raise FormatError(f"{where} is not a JSON object")
    kind = obj.get("type")
    if kind not in TASK_TYPE_OF:
        raise FormatError(f"{where} has unsupported type {kind!r}")
    strings = {}
    for key in ("name", "annotated-by", "creation-time", "annotation-loc", "annotation-format"):
        value = obj.get(key)
        if value is not None and not isinstance(value, str):
            raise FormatError(f"{where} \"{key}\" is not a string")
        strings[key] = value
    name = strings["name"]
    if kind == ANNOTATION_TYPES["object_detection"]:
        if not strings["annotation-loc"]:
            raise FormatError(f"{where} (object detection) has no \"annotation-loc\"")
        fmt = strings["annotation-format"] or VOC_FORMAT
        if fmt.upper() != VOC_FORMAT:
            raise FormatError(f"{where} annotation-format {fmt!r} is not supported; only PASCAL VOC is")
        strings["annotation-format"] = VOC_FORMAT
    else:
        if not name:
            raise FormatError(f"{where} has no \"name\" (label)")
        try:
            check_label_name(name)
        except FormatError as exc:
            raise FormatError(f"{where}: {exc.reason}")
    created = strings["creation-time"]
    if created is not None:
        try:
            datetime.strptime(created, TIME_FORMAT)
        except ValueError:
            raise FormatError(f"{where} creation-time {created!r} is not YYYY-MM-DD HH:MM:SS")
    confidence = obj.get("confidence")
    if confidence is not None:
        if isinstance(confidence, bool) or not isinstance(confidence, int | float) or not (
            math.isfinite(confidence) and 0 <= confidence <= 1
        ):
            raise FormatError(f"{where} confidence {confidence!r} is not a number in 0..1")
        confidence = float(confidence)
    return ManifestAnnotation(
        type=kind,
        name=name,
        annotated_by=strings["annotated-by"],
        creation_time=created,
        confidence=confidence,
        annotation_loc=strings["annotation-loc"],
        annotation_format=strings["annotation-format"],
    )
