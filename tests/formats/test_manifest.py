import json
from datetime import datetime

import pytest

from datasets.formats.manifest import (
    ANNOTATION_TYPES,
    ManifestAnnotation,
    ManifestEntry,
    ManifestLineError,
    make_annotation,
    manifest_line,
    parse_manifest,
    text_source,
)

REFERENCE_LINE = (
    '{"source":"s3://b/p/1.jpg","usage":"TRAIN","annotation":[{"type":"modelarts/image_classification",'
    '"name":"cat","annotated-by":"human","creation-time":"2019-01-23 11:30:30"}]}'
)


def test_writes_exactly_the_reference_format():
    ann = make_annotation("image_classification", name="cat", creation_time=datetime(2019, 1, 23, 11, 30, 30))
    assert manifest_line(source="s3://b/p/1.jpg", usage="TRAIN", annotations=[ann]) == REFERENCE_LINE


def test_detection_and_text_lines():
    det = make_annotation("object_detection", annotation_loc="s3://b/p/1.xml", creation_time="2019-01-23 11:30:30")
    line = json.loads(manifest_line(source="s3://b/p/1.jpg", usage="EVAL", annotations=[det]))
    assert line["annotation"][0] == {
        "type": "modelarts/object_detection", "annotation-loc": "s3://b/p/1.xml", "annotation-format": "PASCAL VOC",
        "annotated-by": "human", "creation-time": "2019-01-23 11:30:30",
    }
    txt = manifest_line(source=text_source("这款手机很好用"), usage="TRAIN",
                        annotations=[make_annotation("text_classification", name="positive")])
    assert '"source":"content://这款手机很好用"' in txt
    (entry,) = parse_manifest([txt])
    assert entry.text == "这款手机很好用"


def test_annotation_types():
    assert ANNOTATION_TYPES["sound_classification"] == "modelarts/audio_classification"
    assert set(ANNOTATION_TYPES) == {"image_classification", "object_detection", "sound_classification",
                                     "text_classification"}


def test_round_trip():
    entries = [
        ("s3://b/1.jpg", "TRAIN", [make_annotation("image_classification", name="cat", creation_time="2024-01-01 00:00:00"),
                                   make_annotation("image_classification", name="dog", annotated_by="modelarts/active-learning",
                                                   confidence=0.75)]),
        ("s3://b/2.jpg", "EVAL", [make_annotation("object_detection", annotation_loc="s3://b/2.xml")]),
        ("s3://b/3.wav", None, [make_annotation("sound_classification", name="tone")]),
        ("content://line with \"quotes\"\nand newline", "TEST", [make_annotation("text_classification", name="neg")]),
        ("s3://b/4.jpg", "INFERENCE", []),
    ]
    text = "\n".join(manifest_line(source=s, usage=u, annotations=a) for s, u, a in entries) + "\n"
    parsed = list(parse_manifest(text.encode().splitlines(keepends=True)))
    assert parsed == [ManifestEntry(i, s, u, a) for i, (s, u, a) in enumerate(entries, start=1)]


def test_bad_lines_are_reported_and_parsing_goes_on():
    lines = [
        b"\xef\xbb\xbf" + REFERENCE_LINE.encode(),
        b"",
        b"{not json",
        b"[1, 2]",
        b'{"usage":"TRAIN"}',
        b'{"source":"s3://b/x.jpg","usage":"VALIDATE"}',
        b'{"source":"s3://b/x.jpg","annotation":[{"type":"modelarts/segmentation","name":"a"}]}',
        b'{"source":"s3://b/x.jpg","annotation":[{"type":"modelarts/object_detection"}]}',
        b'{"source":"s3://b/x.jpg","annotation":[{"type":"modelarts/image_classification","name":"a b"}]}',
        b'{"source":"s3://b/x.jpg","annotation":[{"type":"modelarts/image_classification","name":"a","confidence":3}]}',
        b'{"source":"s3://b/x.jpg","annotation":[{"type":"modelarts/image_classification","name":"a",'
        b'"creation-time":"yesterday"}]}',
        b"\xff\xfe",
        b'{"source":"s3://b/y.jpg","usage":"eval"}',
    ]
    out = list(parse_manifest(lines))
    assert isinstance(out[0], ManifestEntry) and out[0].annotations[0] == ManifestAnnotation(
        "modelarts/image_classification", "cat", "human", "2019-01-23 11:30:30")
    errors = {e.line_no: e.reason for e in out if isinstance(e, ManifestLineError)}
    assert sorted(errors) == list(range(3, 13))
    assert "not valid JSON" in errors[3]
    assert "not a JSON object" in errors[4]
    assert '"source"' in errors[5]
    assert "VALIDATE" in errors[6]
    assert "unsupported type" in errors[7]
    assert "annotation-loc" in errors[8]
    assert "space" in errors[9]
    assert "0..1" in errors[10]
    assert "YYYY-MM-DD" in errors[11]
    assert "UTF-8" in errors[12]
    assert out[-1] == ManifestEntry(13, "s3://b/y.jpg", "EVAL", [])


def test_unknown_task_type():
    from datasets.formats.errors import FormatError

    with pytest.raises(FormatError):
        make_annotation("predictive_analytics", name="x")
