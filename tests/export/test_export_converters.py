"""Pure converters: YOLO and COCO read back into the same boxes."""

from __future__ import annotations

import json
from types import SimpleNamespace

import pytest

from datasets.export.base import unique_file_names
from datasets.export.coco import build_coco, coco_boxes, coco_files
from datasets.export.folders import folder_files, text_files
from datasets.export.voc import voc_files
from datasets.export.yolo import box_to_yolo, parse_yolo_file, yolo_files, yolo_to_box
from datasets.formats.voc import parse_voc

BOXES = [
    ((0, 0, 640, 480), 640, 480),
    ((10, 20, 50, 60), 160, 160),
    ((1, 2, 3, 4), 7, 9),
    ((10.5, 33.25, 99.75, 100.125), 333, 211),
    ((0.001, 0.002, 1919.999, 1079.5), 1920, 1080),
    ((17, 3, 18, 4), 4096, 3000),
]


@pytest.mark.parametrize(("box", "w", "h"), BOXES)
def test_yolo_round_trip_is_exact(box, w, h):
    line = box_to_yolo(box, w, h)
    assert len(line.split()) == 4 and all(0 <= float(v) <= 1 for v in line.split())
    assert yolo_to_box(line, w, h) == tuple(float(v) for v in box)
    assert yolo_to_box("3 " + line, w, h) == tuple(float(v) for v in box)


def test_yolo_rejects_bad_lines():
    with pytest.raises(ValueError):
        yolo_to_box("0 0.5 0.5", 10, 10)
    with pytest.raises(ValueError):
        box_to_yolo((0, 0, 1, 1), 0, 10)


def _item(name, usage, boxes, w=160, h=160):
    return SimpleNamespace(
        name=name, source=f"s3://b/in/{name}", width=w, height=h, usage=usage, boxes=boxes,
        labels=sorted({b["label"] for b in boxes}), text="",
    )


ITEMS = [
    _item("a.jpg", "TRAIN", [{"label": "car", "bbox": [1, 2, 30, 40]}, {"label": "bus", "bbox": [5.5, 6, 7, 8.25]}]),
    _item("b.jpg", "EVAL", [{"label": "car", "bbox": [0, 0, 160, 160]}]),
    _item("a.jpg", "TRAIN", [{"label": "bus", "bbox": [10, 10, 20, 20]}], w=333, h=211),
]


def test_coco_round_trip():
    names = ["bus", "car"]
    doc = json.loads(json.dumps(build_coco([(i.name, i.width, i.height, i.boxes) for i in ITEMS[:2]], names)))
    back = coco_boxes(doc)
    assert back == {
        "a.jpg": [("car", (1.0, 2.0, 30.0, 40.0)), ("bus", (5.5, 6.0, 7.0, 8.25))],
        "b.jpg": [("car", (0.0, 0.0, 160.0, 160.0))],
    }
    files = {f.path: f for f in coco_files(ITEMS, names)}
    assert set(files) == {"train/a.jpg", "train/a_2.jpg", "val/b.jpg",
                          "annotations/instances_train.json", "annotations/instances_val.json"}
    train = coco_boxes(json.loads(files["annotations/instances_train.json"].data))
    assert train["a_2.jpg"] == [("bus", (10.0, 10.0, 20.0, 20.0))]


def test_yolo_files_read_back():
    names = ["bus", "car"]
    files = {f.path: f for f in yolo_files(ITEMS, names)}
    assert files["images/val/b.jpg"].source == "s3://b/in/b.jpg"
    assert b"names:" in files["data.yaml"].data
    got = parse_yolo_file(files["labels/train/a.txt"].data.decode(), 160, 160, names)
    assert got == [("car", (1.0, 2.0, 30.0, 40.0)), ("bus", (5.5, 6.0, 7.0, 8.25))]
    got = parse_yolo_file(files["labels/train/a_2.txt"].data.decode(), 333, 211, names)
    assert got == [("bus", (10.0, 10.0, 20.0, 20.0))]


def test_voc_and_folders():
    files = {f.path: f for f in voc_files(ITEMS)}
    voc = parse_voc(files["Annotations/a.xml"].data)
    assert [(o.name, o.xmin, o.ymax) for o in voc.objects] == [("car", 1, 40), ("bus", 5.5, 8.25)]
    assert files["ImageSets/Main/train.txt"].data == b"a\na_2\n"
    assert files["ImageSets/Main/val.txt"].data == b"b\n"
    multi = [_item("m.jpg", "TRAIN", [{"label": "x", "bbox": [0, 0, 1, 1]}, {"label": "y", "bbox": [0, 0, 1, 1]}])]
    assert sorted(f.path for f in folder_files(multi)) == ["train/x/m.jpg", "train/y/m.jpg"]
    texts = [SimpleNamespace(text="hi\nthere", labels=["pos"], usage="TRAIN"),
             SimpleNamespace(text="bye", labels=["neg"], usage="EVAL")]
    out = {f.path: f.data for f in text_files(texts)}
    assert out == {"train/texts.txt": b"hi there\n", "train/texts_result.txt": b"pos\n",
                   "val/texts.txt": b"bye\n", "val/texts_result.txt": b"neg\n"}
    assert unique_file_names(["a.jpg", "a.jpg", "a", "a"]) == ["a.jpg", "a_2.jpg", "a", "a_2"]
