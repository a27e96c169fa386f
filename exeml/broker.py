"""The embedded broker: kombu's filesystem transport, reading messages in arrival order.

kombu names a message file ``<monotonic ms>_<uuid>.<queue>.msg`` and reads the folder in
text order, so once the millisecond count gains a digit (…9999 → 10000…) newer messages
sort first; with a steady inflow the older ones are never read (a lost deploy stayed
"deploying" for ever). Ordering by the number fixes it without changing the file format,
so a folder written by the stock transport is read the same way.
"""

from __future__ import annotations

import math
import os
import shutil
import tempfile
from queue import Empty

from kombu.exceptions import ChannelError
from kombu.transport import TRANSPORT_ALIASES, filesystem
from kombu.utils.encoding import bytes_to_str
from kombu.utils.json import loads


def _arrival(filename: str) -> tuple[float, str]:
    stamp = filename.split("_", 1)[0]
    return (int(stamp) if stamp.isdigit() else math.inf, filename)


class Channel(filesystem.Channel):
    def _get(self, queue):
        queue_find = f"{queue}.msg"
        for filename in sorted(os.listdir(self.data_folder_in), key=_arrival):
            if filename.partition(".")[2] != queue_find:
                continue
            processed_folder = self.processed_folder if self.store_processed else tempfile.gettempdir()
            try:
                shutil.move(os.path.join(self.data_folder_in, filename), processed_folder)
            except OSError:
                continue  # taken by another worker meanwhile
            path = os.path.join(processed_folder, filename)
            try:
                with open(path, "rb") as f:
                    payload = f.read()
                if not self.store_processed:
                    os.remove(path)
            except OSError as exc:
                raise ChannelError(f"Cannot read file {path!r} from queue.") from exc
            return loads(bytes_to_str(payload))
        raise Empty()


class Transport(filesystem.Transport):
    Channel = Channel


def install() -> None:
    """Make ``filesystem://`` URLs use this transport (called when the Celery app loads)."""
    TRANSPORT_ALIASES["filesystem"] = "exeml.broker:Transport"
