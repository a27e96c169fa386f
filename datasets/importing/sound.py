"""Sound classification: 16-bit WAV files; labels arrive through a manifest."""

from __future__ import annotations

from typing import Any

from django.conf import settings

from datasets.formats.sound import inspect_wav
from datasets.importing.base import Importer, Role, limit


class SoundImporter(Importer):
    task_type = "sound_classification"
    data_kinds = ("wav",)

    def max_bytes(self, role: Role) -> int:
        return limit("sound_max_bytes") if role == Role.DATA else super().max_bytes(role)

    def inspect(self, name: str, data: bytes) -> list[dict[str, Any]]:
        info = inspect_wav(
            data, max_bytes=limit("sound_max_bytes"), min_seconds=float(settings.EXEML_LIMITS["sound_min_seconds"])
        )
        return [{
            "line_number": 0, "format": "WAV", "duration": info.duration, "sample_rate": info.sample_rate,
            "channels": info.channels, "bit_depth": info.bit_depth,
        }]
