"""The version row keeps a training log's first and last lines, and says how many it left out."""

from __future__ import annotations

from training import log_lines
from training.log_lines import HEAD_LINES, TAIL_LINES, LogBuffer, bounded
from training.runner import VersionLog


def test_a_short_log_is_kept_whole():
    lines = [f"line {i}" for i in range(HEAD_LINES + TAIL_LINES)]
    assert bounded(lines) == lines


def test_a_long_log_keeps_its_start_and_its_end_and_counts_the_rest():
    n = HEAD_LINES + TAIL_LINES + 1234
    kept = bounded(f"line {i}" for i in range(n))
    assert kept[:HEAD_LINES] == [f"line {i}" for i in range(HEAD_LINES)]
    assert kept[HEAD_LINES] == log_lines.marker(1234)
    assert kept[HEAD_LINES + 1:] == [f"line {i}" for i in range(n - TAIL_LINES, n)]


def test_lines_appended_to_a_cut_row_keep_its_head_and_add_to_its_count():
    n = HEAD_LINES + TAIL_LINES + 10
    row = bounded(f"line {i}" for i in range(n))
    again = bounded([*row, "no worker took the training within 60 s; sent again"])
    assert again[:HEAD_LINES] == row[:HEAD_LINES]
    assert log_lines.omitted_in(again[HEAD_LINES]) == 11
    assert again[-1].startswith("no worker took the training")
    assert len(again) == HEAD_LINES + 1 + TAIL_LINES


def test_an_ordinary_line_is_not_read_as_a_marker():
    assert log_lines.omitted_in("… twelve lines not kept here") is None
    buf = LogBuffer(["… 12 apples"])
    assert buf.lines() == ["… 12 apples"]


def test_the_workers_log_handler_keeps_the_same_shape(tmp_path):
    log = VersionLog(tmp_path / "train.log")
    try:
        n = HEAD_LINES + TAIL_LINES + 7
        for i in range(n):
            log.write(f"line {i}")
        kept = log.snapshot()
    finally:
        log.close()
    assert kept[0] == "line 0" and kept[HEAD_LINES] == log_lines.marker(7) and kept[-1] == f"line {n - 1}"
    # The file beside the model has every line.
    assert (tmp_path / "train.log").read_text().count("\n") == n
