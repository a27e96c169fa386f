"""Where models run: the local artifact cache and each web process's LRU of predictors.

Imports only Django, the object store and training.engine.predictors (numpy, onnxruntime,
tokenizers, soundfile, PIL): never torch, ultralytics, LightGBM or librosa, so a web
process stays small and starts fast.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import shutil
import tempfile
import threading
import uuid
from collections import OrderedDict
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.conf import settings

from exeml.storage import parse_storage_path, store_for_tenant
from training.engine.item_features import FEATURES_FILE
from training.engine.predictors import Predictor, load_predictor

log = logging.getLogger(__name__)

COMPLETE_MARKER = ".complete"
CUDA_WARNING = "CUDA not available; running on CPU"


# --- Artifact cache ------------------------------------------------------------------


def artifact_dir(version_id: uuid.UUID | str) -> Path:
    return Path(settings.EXEML_ARTIFACT_CACHE) / str(version_id)


@contextlib.contextmanager
def _host_lock(target: Path) -> Iterator[None]:
    # Each call opens the lock file anew, so flock excludes threads of one process as well as
    # other processes.
    target.parent.mkdir(parents=True, exist_ok=True)
    with open(target.parent / f".{target.name}.lock", "a+b") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


# Bundle files only a later training reads (incremental: training/runner.py fetches the whole
# bundle itself).
TRAINING_ONLY_FILES = frozenset({FEATURES_FILE})


def artifact_fetch(*, version: Any) -> Path:
    """The local folder holding ``version``'s bundle, downloaded once per host.

    Downloads into a temporary sibling folder and renames it into place, so a
    half-downloaded bundle is never used. Processes sharing the cache (a host's web
    processes and worker) take a file lock per version around the download (threads of one process too): without it, one
    that finished second replaced the folder another had just put and was loading from.
    The training side's files are left in storage (``TRAINING_ONLY_FILES``: the per-item
    features an incremental version reuses, up to hundreds of MB): a predictor never reads
    them, and the downloadable model is the model, not a cache of the owner's data.
    """
    target = artifact_dir(version.pk)
    if (target / COMPLETE_MARKER).is_file():
        return target
    with _host_lock(target):
        if (target / COMPLETE_MARKER).is_file():
            return target
        if not version.artifact_path:
            raise FileNotFoundError(f"version {version.name} has no artifact")
        folder = parse_storage_path(version.artifact_path).as_folder()
        store = store_for_tenant(version.tenant)
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(dir=target.parent, prefix=f".{version.pk}-"))
        try:
            count = 0
            for obj in store.iter_objects(folder.bucket, folder.key):
                relative = obj.key[len(folder.key):].lstrip("/")
                if not relative or relative.endswith("/") or relative in TRAINING_ONLY_FILES:
                    continue
                destination = (tmp / relative).resolve()
                if not destination.is_relative_to(tmp.resolve()):
                    continue  # a key with ".." must not escape the cache
                store.download_to(folder.bucket, obj.key, destination)
                count += 1
            if count == 0 or not (tmp / "bundle.json").is_file():
                raise FileNotFoundError(f"no bundle (bundle.json) under {version.artifact_path}")
            (tmp / COMPLETE_MARKER).write_text("ok")
            if target.exists():
                shutil.rmtree(target, ignore_errors=True)  # an incomplete earlier attempt
            try:
                os.replace(tmp, target)
            except OSError:
                if not (target / COMPLETE_MARKER).is_file():
                    raise
        finally:
            if tmp.exists():
                shutil.rmtree(tmp, ignore_errors=True)
    return target


# --- Execution providers ---------------------------------------------------------------


def providers_for(device: str) -> tuple[list[str], str]:
    """(onnxruntime providers, warning) for a flavor's device."""
    if device != "gpu":
        return ["CPUExecutionProvider"], ""
    os.environ.setdefault("ORT_DISABLE_TELEMETRY", "1")
    import onnxruntime as ort

    if "CUDAExecutionProvider" in ort.get_available_providers():
        return ["CUDAExecutionProvider", "CPUExecutionProvider"], ""
    # A GPU flavor on a host whose onnxruntime is the CPU build (see docs/operations.md, GPU hosts).
    log.warning("%s (onnxruntime providers: %s)", CUDA_WARNING, ", ".join(ort.get_available_providers()))
    return ["CPUExecutionProvider"], CUDA_WARNING


def intra_op_threads() -> int:
    # Requests run concurrently in a thread pool; half the cores per session keeps two
    # concurrent predictions from oversubscribing the machine.
    return max(1, (os.cpu_count() or 2) // 2)


# --- Predictor LRU -----------------------------------------------------------------------


@dataclass(frozen=True)
class PredictorKey:
    version_id: str
    device: str


class PredictorCache:
    """A thread-safe LRU of loaded predictors; one load at a time per key."""

    def __init__(self, size: int) -> None:
        self.size = max(1, size)
        self._items: OrderedDict[PredictorKey, Predictor] = OrderedDict()
        self._guard = threading.Lock()
        self._load_locks: dict[PredictorKey, threading.Lock] = {}

    def get(self, key: PredictorKey) -> Predictor | None:
        with self._guard:
            predictor = self._items.get(key)
            if predictor is not None:
                self._items.move_to_end(key)
            return predictor

    def get_or_load(self, key: PredictorKey, loader) -> Predictor:
        predictor = self.get(key)
        if predictor is not None:
            return predictor
        with self._guard:
            lock = self._load_locks.setdefault(key, threading.Lock())
        with lock:
            predictor = self.get(key)
            if predictor is not None:
                return predictor
            predictor = loader()
            with self._guard:
                self._items[key] = predictor
                self._items.move_to_end(key)
                while len(self._items) > self.size:
                    evicted, _ = self._items.popitem(last=False)
                    self._load_locks.pop(evicted, None)
            return predictor

    def evict_version(self, version_id: uuid.UUID | str) -> None:
        with self._guard:
            for key in [k for k in self._items if k.version_id == str(version_id)]:
                self._items.pop(key, None)

    def clear(self) -> None:
        with self._guard:
            self._items.clear()
            self._load_locks.clear()

    def __len__(self) -> int:
        return len(self._items)


_cache: PredictorCache | None = None
_cache_guard = threading.Lock()


def predictor_cache() -> PredictorCache:
    global _cache
    with _cache_guard:
        if _cache is None:
            _cache = PredictorCache(settings.EXEML_SERVICE_CACHE_SIZE)
        return _cache


def predictor_open(*, version: Any, device: str = "cpu", threads: int | None = None) -> Predictor:
    """A fresh predictor for ``version`` (fetching its bundle if this host lacks it)."""
    bundle_dir = artifact_fetch(version=version)
    providers, _ = providers_for(device)
    return load_predictor(
        bundle_dir, providers=providers, intra_op_threads=threads if threads is not None else intra_op_threads()
    )


def predictor_for_service(service: Any) -> Predictor:
    """The cached predictor of a running service, loaded on first use in this process."""
    version = service.model_version
    key = PredictorKey(str(version.pk), service.flavor.device)
    return predictor_cache().get_or_load(key, lambda: predictor_open(version=version, device=key.device))
