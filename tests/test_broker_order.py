"""The embedded broker reads messages in arrival order, also across a change in digit count."""

from __future__ import annotations

import json
import uuid

from kombu import Connection

from exeml.broker import _arrival


def test_messages_are_read_oldest_first_across_a_digit_boundary(tmp_path):
    folder = tmp_path / "broker"
    folder.mkdir()
    # What kombu's _put writes: <monotonic ms>_<uuid>.<queue>.msg; 9999 is older than 10000.
    with Connection("filesystem://", transport_options={"data_folder_in": str(folder), "data_folder_out": str(folder)}) as conn:
        channel = conn.default_channel
        assert type(channel).__module__ == "exeml.broker"
        for stamp, body in ((10001, "newest"), (9999, "oldest"), (10000, "middle")):
            name = f"{stamp}_{uuid.uuid4()}.q.msg"
            (folder / name).write_text(json.dumps({"body": body}))
        got = [channel._get("q")["body"] for _ in range(3)]
    assert got == ["oldest", "middle", "newest"]
    assert sorted(["10000_a", "9999_b", "x_c"], key=_arrival) == ["9999_b", "10000_a", "x_c"]
