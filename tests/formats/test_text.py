import pytest

from datasets.formats.errors import FormatError
from datasets.formats.text import (
    is_result_file,
    iter_text_lines,
    match_result_labels,
    parse_result_labels,
    result_name_for,
)


def test_lines_are_numbered_stripped_and_blank_lines_skipped():
    data = b"\xef\xbb\xbffirst line \r\n\n  second\n\n"
    assert iter_text_lines(data) == [(1, "first line"), (3, "second")]


def test_form_feed_does_not_split_a_line():
    assert iter_text_lines("a\x0cb\u2028c\nd".encode()) == [(1, "a\x0cb\u2028c"), (2, "d")]


def test_chinese_utf8_and_gb18030():
    text = "这款手机很好用\n物流太慢了\n"
    assert [t for _, t in iter_text_lines(text.encode())] == ["这款手机很好用", "物流太慢了"]
    assert [t for _, t in iter_text_lines(text.encode("gb18030"))] == ["这款手机很好用", "物流太慢了"]


def test_utf16_with_bom():
    assert iter_text_lines("héllo\nwörld".encode("utf-16")) == [(1, "héllo"), (2, "wörld")]


@pytest.mark.parametrize(
    ("data", "reason"),
    [(b"", "empty"), (b"caf\xe9\nbar\n", "not UTF-8"), (b"a\x00b", "binary")],
)
def test_bad_text(data, reason):
    with pytest.raises(FormatError) as exc:
        iter_text_lines(data)
    assert reason in exc.value.reason


def test_size_limit():
    with pytest.raises(FormatError) as exc:
        iter_text_lines(b"x\n" * 100, max_bytes=100)
    assert "larger than" in exc.value.reason


def test_result_labels_match_by_row_as_in_the_guide():
    text = (
        b"It touches good and responds quickly.\n\nThe volume button stuck.\n"
        b"It's a gift for Father's Day.\nUnlabelled tail line\n"
    )
    labels = parse_result_labels(b"positive\nnegative \n\npositive\n")
    assert labels == ["positive", "negative", "positive"]
    rows, surplus = match_result_labels(iter_text_lines(text), labels)
    assert rows == [
        (1, "It touches good and responds quickly.", "positive"),
        (3, "The volume button stuck.", "negative"),
        (4, "It's a gift for Father's Day.", "positive"),
        (5, "Unlabelled tail line", None),
    ]
    assert surplus == 0
    assert match_result_labels([(1, "a")], ["x", "y"])[1] == 1


def test_result_label_must_be_a_valid_name():
    with pytest.raises(FormatError) as exc:
        parse_result_labels(b"positive\nvery good\n")
    assert "line 2" in exc.value.reason


def test_result_file_names():
    assert is_result_file("COMMENTS_20180919_114745_result.txt")
    assert is_result_file("a_result.csv")
    assert not is_result_file("COMMENTS_20180919_114745.txt")
    assert not is_result_file("a_result.jpg")
    assert result_name_for("COMMENTS_1.txt") == "COMMENTS_1_result.txt"
