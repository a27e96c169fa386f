import pytest

from datasets.formats.errors import FormatError
from datasets.formats.voc import VocObject, box_problems, parse_voc, write_voc

GUIDE_EXAMPLE = b"""<?xml version="1.0" encoding="UTF-8" standalone="no"?>
<annotation>
    <folder>NA</folder>
    <filename>bike_1_1593531469339.png</filename>
    <source><database>Unknown</database></source>
    <size><width>554</width><height>606</height><depth>3</depth></size>
    <segmented>0</segmented>
    <object>
        <name>Dog</name><pose>Unspecified</pose><truncated>0</truncated>
        <occluded>0</occluded><difficult>1</difficult><confidence>0.8</confidence>
        <bndbox><xmin>279</xmin><ymin>52</ymin><xmax>474</xmax><ymax>278</ymax></bndbox>
    </object>
    <object>
        <name>Cat</name><pose>Unspecified</pose><truncated>1</truncated>
        <occluded>0</occluded><difficult>0</difficult>
        <bndbox><xmin>279.5</xmin><ymin>198</ymin><xmax>456</xmax><ymax>421</ymax></bndbox>
    </object>
</annotation>
"""


def test_parse_guide_example():
    ann = parse_voc(GUIDE_EXAMPLE)
    assert (ann.filename, ann.width, ann.height, ann.depth, ann.folder) == ("bike_1_1593531469339.png", 554, 606, 3, "NA")
    dog, cat = ann.objects
    assert dog == VocObject("Dog", 279, 52, 474, 278, difficult=True, confidence=0.8)
    assert cat.truncated and cat.xmin == 279.5 and cat.confidence is None
    assert box_problems(ann, 554, 606) == []


def test_write_then_parse_round_trip():
    objs = [VocObject("circle", 1, 2, 30, 40), VocObject("猫", 5, 5, 9, 9, occluded=True, confidence=0.25)]
    data = write_voc(filename="a.jpg", width=50, height=60, depth=3, objects=objs, folder="f")
    ann = parse_voc(data)
    assert ann.objects == objs and (ann.width, ann.height, ann.filename, ann.folder) == (50, 60, "a.jpg", "f")


def test_write_accepts_dicts():
    data = write_voc(filename="a.jpg", width=5, height=5, objects=[{"name": "x", "xmin": 0, "ymin": 0, "xmax": 5, "ymax": 5}])
    assert parse_voc(data).objects[0].name == "x"


def test_no_objects_is_an_empty_list():
    ann = parse_voc(write_voc(filename="a.jpg", width=5, height=5, objects=[]))
    assert ann.objects == []


def test_box_problems():
    objs = [VocObject("a", 0, 0, 100, 50), VocObject("b", 10, 10, 5, 20), VocObject("c", -1, 0, 10, 10),
            VocObject("d", 0, 0, 101, 10)]
    ann = parse_voc(write_voc(filename="a.jpg", width=100, height=50, objects=objs))
    problems = box_problems(ann, 100, 50)
    assert len(problems) == 3
    assert "xmin 10 is not less than xmax 5" in problems[0]
    assert "object 3 (c): box starts outside" in problems[1]
    assert "outside the 100x50 image" in problems[2]
    assert "annotation says the image is 100x50, but it is 200x50" in box_problems(ann, 200, 50)[0]


BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol9 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
]>
<annotation><filename>&lol9;</filename></annotation>
"""

EXTERNAL_ENTITY = b"""<?xml version="1.0"?>
<!DOCTYPE annotation [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<annotation><filename>&xxe;</filename><size><width>1</width><height>1</height><depth>3</depth></size></annotation>
"""

EXTERNAL_DTD = b"""<?xml version="1.0"?>
<!DOCTYPE annotation SYSTEM "http://example.invalid/voc.dtd">
<annotation><filename>a</filename></annotation>
"""


@pytest.mark.parametrize("data", [BILLION_LAUGHS, EXTERNAL_ENTITY, EXTERNAL_DTD])
def test_hostile_xml_is_refused(data):
    with pytest.raises(FormatError) as exc:
        parse_voc(data)
    assert "not allowed" in exc.value.reason


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"", "empty"),
        (b"<annotation><size>", "not well-formed"),
        (b"<root/>", "expected <annotation>"),
        (b"<annotation><filename>a</filename></annotation>", "no <size>"),
        (b"<annotation><size><width>a</width><height>1</height></size></annotation>", "'a', not a number"),
        (b"<annotation><size><width>1</width><height>1</height></size><object><name>x</name></object></annotation>",
         "only rectangles"),
        (b"<annotation><size><width>1</width><height>1</height></size><object><bndbox/></object></annotation>",
         "has no <name>"),
        (b"<annotation><size><width>9</width><height>9</height></size><object><name>x</name><confidence>2</confidence>"
         b"<bndbox><xmin>1</xmin><ymin>1</ymin><xmax>2</xmax><ymax>2</ymax></bndbox></object></annotation>",
         "outside 0..1"),
    ],
)
def test_bad_voc(data, reason):
    with pytest.raises(FormatError) as exc:
        parse_voc(data)
    assert reason in exc.value.reason


def test_size_limit():
    with pytest.raises(FormatError) as exc:
        parse_voc(GUIDE_EXAMPLE, max_bytes=100)
    assert "larger than" in exc.value.reason
