"""Per-item features a version keeps for the next one (incremental training, issue 29).

The expensive per-item features of a training (sound: the clip summary statistics and log-mel
spectrograms; images: the Lite0 backbone embeddings; text: the MiniLM sentence embeddings) are
written into the version's bundle (``item_features.npz``), each row keyed by the item's
content (a sha256 of the clip's or image's bytes, of the text's UTF-8), each set tagged with
its extractor's identity (its name, parameters, a code version and the versions of the
packages that compute it). A version trained "incrementally from V00k" opens V00k's file and
takes the rows whose key it has, for the extractor it runs now: a changed extractor (another
image size, another audio configuration, a new code version or package) reuses nothing. It
computes only the rest, and keeps all of them (reused and new) for the next version.

Rows are float32, as the trainers compute them: the served graph recomputes every feature
from the raw item, and the served check compares it with the Python model to 1e-5, which
float16 (about 3 significant digits) would not keep. The file is bounded (MAX_BYTES): above
it, sets are left out (the largest first) and the log says so. TF-IDF and the pixel models'
features are not kept: they are cheap, and TF-IDF depends on the whole corpus.
"""

from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np

logger = logging.getLogger(__name__)

FEATURES_FILE = "item_features.npz"
MAX_BYTES = 256 * 2**20
# A feature's code version: bump it when the code that computes a set changes its numbers.
CODE_VERSIONS: dict[str, int] = {"sound_summary": 1, "sound_log_mel": 1, "lite0_embedding": 1, "minilm_embedding": 1}
_META = "__meta__"


def content_key(content: bytes | str) -> str:
    """The item's key: a sha256 of its bytes (a text: of its UTF-8)."""
    data = content.encode("utf-8") if isinstance(content, str) else content
    return hashlib.sha256(data).hexdigest()[:40]


def _version(package: str) -> str:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return "absent"


def extractor_id(name: str, params: dict[str, Any] | None = None, packages: tuple[str, ...] = ()) -> str:
    """The identity a set's rows are reused under: its name, the code version, its parameters
    and the versions of the packages computing it."""
    return json.dumps({
        "name": name, "code": CODE_VERSIONS.get(name, 0), "params": params or {},
        "packages": {p: _version(p) for p in packages},
    }, sort_keys=True, default=str)


@dataclass
class ItemFeatures:
    """One extractor's features in a run: the base version's rows it may reuse, and the rows
    this run ends with (``keep``), which the bundle writes."""

    name: str
    extractor: str
    base: dict[str, np.ndarray] = field(default_factory=dict)
    note: str = ""  # why nothing could be reused, for the log
    reused: int = 0
    computed: int = 0
    keys: list[str] = field(default_factory=list)
    rows: list[np.ndarray] = field(default_factory=list)

    @classmethod
    def open(cls, name: str, extractor: str, base_bundle_dir: str | Path | None) -> ItemFeatures:
        out = cls(name, extractor)
        if not base_bundle_dir:
            return out
        path = Path(base_bundle_dir) / FEATURES_FILE
        if not path.is_file():
            out.note = "the base version kept no item features"
            return out
        try:
            with np.load(path, allow_pickle=False) as npz:
                meta = json.loads(str(npz[_META]))
                if name not in meta:
                    out.note = f"the base version kept no {name} features"
                elif meta[name] != extractor:
                    out.note = f"the base version's {name} features come from another extractor"
                else:
                    keys, values = npz[f"{name}.keys"], npz[f"{name}.values"]
                    out.base = {k.decode("ascii"): values[i] for i, k in enumerate(keys)}
        except (OSError, ValueError, KeyError) as exc:
            out.note = f"the base version's item features are unreadable ({exc})"
        return out

    def get(self, key: str) -> np.ndarray | None:
        """The base's row for ``key`` (counted as reused), or None."""
        row = self.base.get(key)
        if row is not None:
            self.reused += 1
        return row

    def keep(self, keys: list[str], rows: np.ndarray | list[np.ndarray]) -> None:
        """The run's rows of this set, in any order (reused and computed alike)."""
        self.keys, self.rows = list(keys), list(rows)

    def describe(self, total: int | None = None) -> str:
        total = self.reused + self.computed if total is None else total
        line = f"incremental: reused {self.reused} of {total} item features ({self.name}) from the base version"
        return line + (f"; {self.note}" if self.note and not self.reused else "")

    def record(self) -> dict[str, int]:
        return {"reused": self.reused, "computed": self.computed}


def save(bundle_dir: Path, sets: list[ItemFeatures], log: list[str] | None = None,
         max_bytes: int = MAX_BYTES) -> Path | None:
    """Write the sets' kept rows to ``bundle_dir/item_features.npz`` (float32), leaving out the
    largest sets while the file would exceed ``max_bytes``."""
    arrays: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    for s in sets:
        if s.keys and len(s.keys) == len(s.rows):
            values = np.stack([np.asarray(r, dtype=np.float32) for r in s.rows])
            arrays[s.name] = (np.array(s.keys, dtype="S40"), values)
    by_size = sorted(arrays, key=lambda n: -arrays[n][1].nbytes)
    while arrays and sum(v.nbytes + k.nbytes for k, v in arrays.values()) > max_bytes:
        name = by_size.pop(0)
        mb = arrays.pop(name)[1].nbytes / 2**20
        line = f"item features: {name} not kept for the next version ({mb:.0f} MB, above {max_bytes / 2**20:.0f} MB)"
        logger.info(line)
        if log is not None:
            log.append(line)
    if not arrays:
        return None
    extractors = {s.name: s.extractor for s in sets if s.name in arrays}
    payload: dict[str, np.ndarray] = {_META: np.array(json.dumps(extractors))}
    for name, (keys, values) in arrays.items():
        payload[f"{name}.keys"], payload[f"{name}.values"] = keys, values
    path = Path(bundle_dir) / FEATURES_FILE
    with path.open("wb") as fh:
        np.savez(fh, **payload)
    return path


def load(bundle_dir: str | Path, name: str) -> dict[str, np.ndarray]:
    """A bundle's kept rows of one set, by key ({} when it has none)."""
    path = Path(bundle_dir) / FEATURES_FILE
    if not path.is_file():
        return {}
    with np.load(path, allow_pickle=False) as npz:
        if f"{name}.keys" not in npz.files:
            return {}
        values = npz[f"{name}.values"]
        return {k.decode("ascii"): values[i] for i, k in enumerate(npz[f"{name}.keys"])}
