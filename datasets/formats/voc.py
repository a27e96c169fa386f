"""PASCAL VOC annotations (object detection labels, ``x.jpg`` + ``x.xml``).

Parsing goes through defusedxml with DTDs, entities and external references forbidden, so
billion-laughs and ``file:///etc/passwd`` entities are refused before anything expands.
The guide marks pose/truncated/occluded/difficult as mandatory; files written by common
labelling tools sometimes omit them, so missing ones default (Unspecified / 0) while
``name``, ``bndbox`` and ``size`` stay mandatory.
"""

import math
import xml.etree.ElementTree as ET
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import defusedxml
import defusedxml.ElementTree as DET

from datasets.formats.errors import FormatError, check_size

MAX_VOC_BYTES = 1_000_000


@dataclass(frozen=True)
class VocObject:
    name: str
    xmin: float
    ymin: float
    xmax: float
    ymax: float
    difficult: bool = False
    truncated: bool = False
    occluded: bool = False
    pose: str = "Unspecified"
    confidence: float | None = None


@dataclass(frozen=True)
class VocAnnotation:
    filename: str
    width: int
    height: int
    depth: int
    objects: list[VocObject] = field(default_factory=list)
    folder: str = ""
    segmented: bool = False


def parse_voc(data: bytes, *, max_bytes: int = MAX_VOC_BYTES) -> VocAnnotation:
    check_size(data, max_bytes=max_bytes, what="annotation file")
    try:
        root = DET.fromstring(data, forbid_dtd=True, forbid_entities=True, forbid_external=True)
    except defusedxml.DTDForbidden:
        raise FormatError("annotation XML declares a DTD, which is not allowed")
    except defusedxml.EntitiesForbidden:
        raise FormatError("annotation XML declares entities, which are not allowed")
    except defusedxml.ExternalReferenceForbidden:
        raise FormatError("annotation XML references an external resource, which is not allowed")
    except defusedxml.DefusedXmlException as exc:
        raise FormatError(f"annotation XML is not allowed: {exc}")
    except ET.ParseError as exc:
        raise FormatError(f"annotation is not well-formed XML: {exc}")
    if _local(root.tag) != "annotation":
        raise FormatError(f"root element is <{_local(root.tag)}>, expected <annotation> (PASCAL VOC)")

    size = root.find("size")
    if size is None:
        raise FormatError("annotation has no <size> element")
    width = _int(size, "width", "size")
    height = _int(size, "height", "size")
    depth = _int(size, "depth", "size", default=3)
    objects = [_object(el, i) for i, el in enumerate(root.findall("object"), start=1)]
    return VocAnnotation(
        filename=_text(root, "filename", default=""),
        width=width,
        height=height,
        depth=depth,
        objects=objects,
        folder=_text(root, "folder", default=""),
        segmented=_flag(root, "segmented"),
    )


def box_problems(ann: VocAnnotation, width: int, height: int) -> list[str]:
    """Reasons why ``ann`` cannot label an image of ``width`` x ``height`` (empty when fine).

    The guide: an image whose box exceeds the image bounds is not counted as labelled.
    VOC coordinates are pixel indexes, so ``xmax == width`` is still inside.
    """
    problems: list[str] = []
    if (ann.width, ann.height) != (width, height) and ann.width and ann.height:
        problems.append(
            f"annotation says the image is {ann.width}x{ann.height}, but it is {width}x{height}"
        )
    for i, o in enumerate(ann.objects, start=1):
        where = f"object {i} ({o.name})"
        if o.xmin >= o.xmax:
            problems.append(f"{where}: xmin {_num(o.xmin)} is not less than xmax {_num(o.xmax)}")
        if o.ymin >= o.ymax:
            problems.append(f"{where}: ymin {_num(o.ymin)} is not less than ymax {_num(o.ymax)}")
        if o.xmin < 0 or o.ymin < 0:
            problems.append(f"{where}: box starts outside the image ({_num(o.xmin)}, {_num(o.ymin)})")
        if o.xmax > width or o.ymax > height:
            problems.append(
                f"{where}: box ends at ({_num(o.xmax)}, {_num(o.ymax)}), outside the "
                f"{width}x{height} image"
            )
    return problems


def write_voc(
    *,
    filename: str,
    width: int,
    height: int,
    depth: int = 3,
    objects: Iterable[VocObject | Mapping[str, Any]],
    folder: str = "",
) -> bytes:
    """A VOC file in the layout of the guide's Table 3-1 (UTF-8, with XML declaration)."""
    root = ET.Element("annotation")
    ET.SubElement(root, "folder").text = folder
    ET.SubElement(root, "filename").text = filename
    size = ET.SubElement(root, "size")
    ET.SubElement(size, "width").text = str(int(width))
    ET.SubElement(size, "height").text = str(int(height))
    ET.SubElement(size, "depth").text = str(int(depth))
    ET.SubElement(root, "segmented").text = "0"
    for item in objects:
        o = item if isinstance(item, VocObject) else VocObject(**item)
        el = ET.SubElement(root, "object")
        ET.SubElement(el, "name").text = o.name
        ET.SubElement(el, "pose").text = o.pose
        ET.SubElement(el, "truncated").text = str(int(o.truncated))
        ET.SubElement(el, "occluded").text = str(int(o.occluded))
        ET.SubElement(el, "difficult").text = str(int(o.difficult))
        if o.confidence is not None:
            ET.SubElement(el, "confidence").text = f"{o.confidence:g}"
        box = ET.SubElement(el, "bndbox")
        for tag in ("xmin", "ymin", "xmax", "ymax"):
            ET.SubElement(box, tag).text = _num(getattr(o, tag))
    ET.indent(root)
    return ET.tostring(root, encoding="utf-8", xml_declaration=True) + b"\n"


def _object(el: ET.Element, index: int) -> VocObject:
    where = f"object {index}"
    name = _text(el, "name", where=where).strip()
    if not name:
        raise FormatError(f"{where} has an empty <name>")
    box = el.find("bndbox")
    if box is None:
        # Polygons and other shapes exist in ModelArts' VOC dialect; ExeML uses rectangles only.
        raise FormatError(f"{where} ({name}) has no <bndbox>; only rectangles are supported")
    coords = {tag: _float(box, tag, f"{where} bndbox") for tag in ("xmin", "ymin", "xmax", "ymax")}
    confidence = None
    if el.find("confidence") is not None:
        confidence = _float(el, "confidence", where)
        if not 0.0 <= confidence <= 1.0:
            raise FormatError(f"{where} confidence {confidence:g} is outside 0..1")
    return VocObject(
        name=name,
        difficult=_flag(el, "difficult"),
        truncated=_flag(el, "truncated"),
        occluded=_flag(el, "occluded"),
        pose=_text(el, "pose", default="Unspecified").strip() or "Unspecified",
        confidence=confidence,
        **coords,
    )


_MISSING = object()


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _text(parent: ET.Element, tag: str, *, where: str = "annotation", default: Any = _MISSING) -> str:
    el = parent.find(tag)
    if el is None or el.text is None:
        if default is _MISSING:
            raise FormatError(f"{where} has no <{tag}>")
        return default
    return el.text


def _float(parent: ET.Element, tag: str, where: str) -> float:
    raw = _text(parent, tag, where=where).strip()
    try:
        value = float(raw)
    except ValueError:
        raise FormatError(f"{where} <{tag}> is {raw!r}, not a number")
    if not math.isfinite(value):
        raise FormatError(f"{where} <{tag}> is {raw!r}, not a finite number")
    return value


def _int(parent: ET.Element, tag: str, where: str, default: int | None = None) -> int:
    if parent.find(tag) is None and default is not None:
        return default
    value = _float(parent, tag, where)
    if value != int(value) or value < 0:
        raise FormatError(f"{where} <{tag}> is {_num(value)}, not a whole number >= 0")
    return int(value)


def _flag(parent: ET.Element, tag: str) -> bool:
    raw = (_text(parent, tag, default="0") or "0").strip().lower()
    return raw in ("1", "true", "yes")


def _num(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:g}"
