import io

import numpy as np
import pytest

from datasets.formats.csv_table import (
    check_csv_file_name,
    check_label_column,
    profile_csv,
    profile_csv_bytes,
    read_rows,
    safe_column_names,
)
from datasets.formats.errors import FormatError


def table(rows: int = 200, *, seed: int = 0, extra=None) -> list[list[str]]:
    rng = np.random.default_rng(seed)
    out = []
    for i in range(rows):
        row = [str(int(rng.integers(18, 80))), ["a", "b", "c"][i % 3], f"{rng.normal():.3f}", "same",
               f"{rng.normal() * 10:.2f}", ["yes", "no"][int(rng.integers(2))]]
        if extra:
            row.append(extra(i))
        out.append(row)
    return out


def encode(rows: list[list[str]]) -> bytes:
    return ("\n".join(",".join(r) for r in rows) + "\n").encode()


def test_valid_table_profile():
    rows = table()
    rows[5][4] = ""
    p = profile_csv_bytes(encode(rows))
    assert (p.rows, p.valid_rows, p.distinct_rows) == (200, 200, 200)
    assert [c.name for c in p.columns] == [f"attr_{i}" for i in range(1, 7)]
    assert [c.kind for c in p.columns] == ["numeric", "categorical", "numeric", "categorical", "numeric", "categorical"]
    same = p.column("attr_4")
    assert not same.valid and "single value ('same')" in same.reason
    assert p.column(4).missing_share == pytest.approx(1 / 200)
    assert p.column("attr_2").distinct == 3 and p.column("attr_2").sample_values == ["a", "b", "c"]
    assert len(p.preview_rows) == 20 and p.preview_rows[0] == rows[0]
    assert [c.name for c in p.valid_columns] == ["attr_1", "attr_2", "attr_3", "attr_5", "attr_6"]


def test_streams_from_chunks_split_mid_line():
    data = encode(table()).replace(b"\n", b"\r\n")
    chunks = [data[i : i + 7] for i in range(0, len(data), 7)]
    assert profile_csv(chunks).rows == 200
    assert profile_csv(io.BytesIO(data)).rows == 200


def test_header_is_detected_and_names_the_columns():
    rows = [["age", "group", "score", "const", "amount", "answer"], *table()]
    p = profile_csv_bytes(encode(rows))
    assert p.has_header and p.header_source == "detected" and p.delimiter == ","
    assert [c.name for c in p.columns] == rows[0]
    assert (p.rows, p.valid_rows) == (200, 200)  # the header is no data row
    assert p.preview_rows[0] == rows[1]
    assert p.column("answer") is p.column("attr_6") is p.column(5)  # attr_N stays an alias
    assert check_label_column(p, "answer", "discrete") is None
    assert check_label_column(p, "attr_6", "discrete") is None


def test_header_of_words_over_categories_is_detected_by_the_sniffer():
    rng = np.random.default_rng(1)
    rows = [["country", "size", "code", "answer"]] + [  # codes of one length under longer names
        [str(rng.choice(["FR", "DE", "IT"])), str(rng.choice(["S", "M", "L"])), f"k{i:03d}",
         str(rng.choice(["Y", "N"]))] for i in range(200)
    ]
    p = profile_csv_bytes(encode(rows))
    assert p.has_header and [c.name for c in p.columns] == rows[0]


def test_headerless_modelarts_csv_is_read_as_before():
    rows = table()
    p = profile_csv_bytes(encode(rows))
    assert (p.has_header, p.delimiter, p.rows) == (False, ",", 200)
    assert [c.name for c in p.columns] == [c.key for c in p.columns] == [f"attr_{i}" for i in range(1, 7)]


def test_header_detection_can_be_overridden_both_ways():
    rows = [["age", "group", "score", "const", "amount", "answer"], *table()]
    forced_off = profile_csv_bytes(encode(rows), has_header=False)
    assert not forced_off.has_header and forced_off.header_source == "user" and forced_off.rows == 201
    assert forced_off.column("attr_1").kind == "categorical"  # "age" is now a value
    plain = table(201)
    forced_on = profile_csv_bytes(encode(plain), has_header=True)
    assert forced_on.has_header and forced_on.rows == 200 and forced_on.columns[0].name == plain[0][0]


def test_categorical_first_row_is_not_a_header():
    rows = table()
    rows[0] = ["x1", "a", "1.0", "same", "2.0", "yes"]  # one word, but numbers below other words: data
    assert profile_csv_bytes(encode(rows)).rows == 200


def test_header_names_are_made_safe():
    assert safe_column_names(["  age ", "", "age", "attr_1", "attr_4", "predictioncol", "a\tb  c"]) == [
        "age", "attr_2", "age_2", "attr_1_4", "attr_4_5", "predictioncol_6", "a b c",
    ]


@pytest.mark.parametrize("sep", [";", "\t", "|"])
def test_other_separators_are_detected(sep):
    rows = [["age", "group", "score", "const", "amount", "answer"], *table()]
    rows[3][2] = "1,5" if sep == ";" else rows[3][2]  # a decimal comma is a value, not a separator
    data = ("\n".join(sep.join(r) for r in rows) + "\n").encode()
    p = profile_csv_bytes(data)
    assert p.delimiter == sep and p.has_header and len(p.columns) == 6 and p.rows == 200
    assert p.preview_rows[2][2] == rows[3][2]


def test_quoted_fields_with_separators_and_quotes_inside():
    header = "id;city;remark;amount;answer"
    lines = [header] + [
        f'{i};"Paris; France";"say ""hi"" {i % 40}";{i * 1.5};{"yes" if i % 3 else "no"}' for i in range(200)
    ]
    data = ("\ufeff" + "\r\n".join(lines) + "\r\n").encode()  # BOM and CRLF, as Excel writes
    p = profile_csv_bytes(data)
    assert (p.delimiter, p.quotechar, p.has_header) == (";", '"', True)
    assert [c.name for c in p.columns] == ["id", "city", "remark", "amount", "answer"]
    assert p.preview_rows[1] == ["1", "Paris; France", 'say "hi" 1', "1.5", "yes"]
    rows = list(read_rows(io.BytesIO(data), p.dialect))
    assert len(rows) == 200 and rows[1] == p.preview_rows[1]


def test_bom_is_stripped_from_the_first_name():
    rows = [["age", "group", "score", "const", "amount", "answer"], *table()]
    p = profile_csv_bytes(b"\xef\xbb\xbf" + encode(rows))
    assert p.columns[0].name == "age"


def test_malformed_quote_names_row_and_column():
    lines = ["id,remark,amount,answer"] + [f'{i},"ok {i}",{i * 2},{i % 2}' for i in range(200)]
    lines[57] = '56,"bad" quote,112,0'
    with pytest.raises(FormatError) as exc:
        profile_csv_bytes(("\n".join(lines) + "\n").encode())
    assert exc.value.reason.startswith("row 58, column 2: text follows a closing quote")


def test_unclosed_quote_names_row_and_column():
    lines = ["id,remark,amount,answer"] + [f"{i},ok {i},{i * 2},{i % 2}" for i in range(200)]
    lines[-1] = '199,"never closed,398,1'
    with pytest.raises(FormatError) as exc:
        profile_csv_bytes(("\n".join(lines) + "\n").encode())
    assert exc.value.reason.startswith("row 201, column 2: a quoted field is not closed")


@pytest.mark.parametrize("encoding", ["utf-8", "gb18030"])
def test_chinese_is_rejected(encoding):
    rows = table()
    rows[3][1] = "北京"
    data = ("\n".join(",".join(r) for r in rows)).encode(encoding)
    with pytest.raises(FormatError) as exc:
        profile_csv_bytes(data)
    assert "line 4 contains Chinese characters" in exc.value.reason


@pytest.mark.parametrize("stamp", ["2020-01-{d:02d}", "2020/01/{d:02d} 12:00", "12:{d:02d}:00", "{d:02d}-01-20"])
def test_timestamp_column_is_rejected(stamp):
    rows = table(extra=lambda i: stamp.format(d=i % 28 + 1))
    with pytest.raises(FormatError) as exc:
        profile_csv_bytes(encode(rows))
    assert "column attr_7 holds timestamps" in exc.value.reason


def test_timestamp_column_can_be_marked_instead():
    rows = table(extra=lambda i: f"2020-01-{i % 28 + 1:02d}")
    col = profile_csv_bytes(encode(rows), allow_timestamps=True).column("attr_7")
    assert not col.valid and "timestamps" in col.reason


def test_too_few_rows():
    with pytest.raises(FormatError) as exc:
        profile_csv_bytes(encode(table(150)))
    assert "only 150 valid rows; more than 150 are needed" in exc.value.reason
    assert profile_csv_bytes(encode(table(151))).valid_rows == 151


def test_too_few_distinct_records():
    rows = table(99) * 2
    with pytest.raises(FormatError) as exc:
        profile_csv_bytes(encode(rows))
    assert "only 99 distinct records" in exc.value.reason


def test_ragged_rows():
    rows = table()
    rows[41] = rows[41][:-1]
    with pytest.raises(FormatError) as exc:
        profile_csv_bytes(encode(rows))
    assert "row 42 has 5 columns, the first row has 6" in exc.value.reason


def test_ragged_row_under_a_header_with_another_separator():
    rows = [["a", "b", "c", "d", "e", "f", "g", "h"]] + [
        [str(i), f"k{i % 7}", *(f"{i * j}" for j in range(1, 6)), "yes" if i % 2 else "no"] for i in range(200)
    ]
    rows[56].append("extra")
    with pytest.raises(FormatError) as exc:
        profile_csv_bytes(("\n".join(";".join(r) for r in rows) + "\n").encode())
    assert exc.value.reason.startswith("row 57 has 9 columns, the header has 8")


def test_single_column():
    with pytest.raises(FormatError) as exc:
        profile_csv_bytes(b"1\n2\n3\n")
    assert "row 1 has a single column" in exc.value.reason


def test_too_few_valid_columns():
    rows = [[str(i), "k", f"{i * 2}", ""] for i in range(200)]
    with pytest.raises(FormatError) as exc:
        profile_csv_bytes(encode(rows))
    assert "only 2 valid columns" in exc.value.reason and "attr_2" in exc.value.reason


def test_blank_and_all_empty_rows_are_not_valid():
    rows = table()
    data = encode(rows) + b"\n\n,,,,,\n"
    p = profile_csv_bytes(data)
    assert (p.rows, p.valid_rows) == (201, 200)


def test_size_limit_and_empty():
    with pytest.raises(FormatError) as exc:
        profile_csv_bytes(encode(table()), max_bytes=1000)
    assert "larger than" in exc.value.reason
    with pytest.raises(FormatError) as exc:
        profile_csv_bytes(b"")
    assert "no data rows" in exc.value.reason


def test_label_column_rules():
    rows = table(extra=lambda i: str(i % 30))
    p = profile_csv_bytes(encode(rows))
    assert check_label_column(p, "attr_7", "continuous") is None
    assert check_label_column(p, "attr_6", "discrete") is None
    assert "non-numeric" in check_label_column(p, "attr_6", "continuous")
    assert "single value" in check_label_column(p, "attr_4", "discrete")
    assert "no column" in check_label_column(p, "attr_99", "discrete")
    assert "unknown label type" in check_label_column(p, 0, "ordinal")

    few = profile_csv_bytes(encode(table(extra=lambda i: str(i % 10))))
    assert "only 10 distinct values" in check_label_column(few, 6, "continuous")
    assert check_label_column(few, 6, "discrete") is None

    sci = profile_csv_bytes(encode(table(extra=lambda i: f"{i}e3")))
    assert sci.column(6).kind == "numeric"
    assert "non-numeric" in check_label_column(sci, 6, "continuous")  # digits only, no exponent


def test_label_leaves_too_few_features():
    rows = [[str(i), ["a", "b"][i % 2], "k"] for i in range(200)]
    p = profile_csv_bytes(encode(rows), min_valid_columns=2)
    assert "only 1 valid column(s) remain" in check_label_column(p, 1, "discrete")


def test_csv_file_name():
    check_csv_file_name("bank-data_2.csv")
    with pytest.raises(FormatError):
        check_csv_file_name("bank data.csv")
    with pytest.raises(FormatError):
        check_csv_file_name("bank.txt")
