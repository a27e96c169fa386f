import pytest

from datasets.formats.errors import FormatError
from datasets.formats.filenames import check_file_name, file_kind, stem
from datasets.formats.label_names import check_label_name, is_valid_label_name
from datasets.formats.labels_txt import parse_image_labels_txt


@pytest.mark.parametrize("name", ["10.jpg", "IMG_20180919_114745.JPEG", "a-b_c.v2.png", "data.csv", "x.manifest"])
def test_good_file_names(name):
    check_file_name(name)


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("../etc.jpg", "'..'"),
        ("a/b.jpg", "path separator"),
        ("a\\b.jpg", "path separator"),
        ("a+b.jpg", "plus sign"),
        ("a b.jpg", "space"),
        ("a\tb.jpg", "tab"),
        ("a\x01b.jpg", "control character"),
        ("猫.jpg", "Chinese"),
        ("cat，1.jpg", "Chinese"),
        ("", "empty"),
    ],
)
def test_bad_file_names(name, reason):
    with pytest.raises(FormatError) as exc:
        check_file_name(name)
    assert reason in exc.value.reason


@pytest.mark.parametrize(
    ("name", "kind"),
    [("a.JPG", "image"), ("a.jpeg", "image"), ("a.png", "image"), ("a.Bmp", "image"), ("a.xml", "xml"),
     ("a.txt", "txt"), ("a.CSV", "csv"), ("a.wav", "wav"), ("v1.manifest", "manifest"), ("a.gif", None),
     ("jpg", None), (".jpg", None)],
)
def test_file_kind(name, kind):
    assert file_kind(name) == kind


def test_stem():
    assert stem("10.jpg") == "10" and stem("a.b.xml") == "a.b"


@pytest.mark.parametrize("name", ["cat", "猫", "big-dog_2", "x" * 32, "Ünïcode"])
def test_good_label_names(name):
    check_label_name(name)


@pytest.mark.parametrize(
    ("name", "reason"),
    [("", "empty"), ("x" * 33, "33 characters"), ("a b", "space"), ("a+b", "'+'"), ("a/b", "'/'")],
)
def test_bad_label_names(name, reason):
    with pytest.raises(FormatError) as exc:
        check_label_name(name)
    assert reason in exc.value.reason
    assert not is_valid_label_name(name)


def test_image_labels_txt_strips_and_dedupes():
    assert parse_image_labels_txt(b"\xef\xbb\xbfcat\r\n dog \n\ncat\n") == ["cat", "dog"]
    assert parse_image_labels_txt("猫\n".encode()) == ["猫"]
    assert parse_image_labels_txt(b"") == []


def test_image_labels_txt_rejects_bad_label():
    with pytest.raises(FormatError) as exc:
        parse_image_labels_txt(b"cat\nbig dog\n")
    assert "line 2" in exc.value.reason and "space" in exc.value.reason
