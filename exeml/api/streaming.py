"""A stored object as a download: streamed in chunks, the file closed however the response ends."""

from __future__ import annotations

from collections.abc import Iterator
from typing import BinaryIO

from django.http import StreamingHttpResponse

CHUNK_BYTES = 1024 * 1024


def _chunks(fh: BinaryIO, size: int = CHUNK_BYTES) -> Iterator[bytes]:
    try:
        while chunk := fh.read(size):
            yield chunk
    finally:
        fh.close()


def attachment(fh: BinaryIO, *, filename: str, content_type: str) -> StreamingHttpResponse:
    response = StreamingHttpResponse(_chunks(fh), content_type=content_type)
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response
