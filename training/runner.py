"""Runs one ModelVersion inside a worker: spec, data download, trainer, artifact upload.

Trainers see only a frozen TrainSpec and local files. A pulse thread owns every DB write
while the trainer runs (heartbeat, phase, progress, log tail) and reads stop requests, so
a trainer stuck in one long native call still shows a live worker, and the progress
callback the trainer calls costs nothing but a few attribute writes.
"""

from __future__ import annotations

import importlib.util
import logging
import os
import shutil
import socket
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from pathlib import Path, PurePosixPath

from django.conf import settings
from django.db import close_old_connections, connection
from django.utils import timezone

from exeml.errors import WrongState
from exeml.storage import ObjectNotFound, StoragePath, parse_storage_path, store_for_tenant
from exeml.task_types import TaskType
from exeml.tenancy.scoping import unscoped
from training.engine.spec import (
    BUNDLE_FILE,
    MODEL_FILE,
    Box,
    StopTraining,
    TabularSpec,
    TrainingError,
    TrainSample,
    TrainSpec,
)
from training.log_lines import LogBuffer
from training.models import ModelVersion, VersionStatus
from training.publish_wait import await_dataset_version
from training.transitions import version_transition

logger = logging.getLogger(__name__)

LOG_FILE = "train.log"
PULSE_SECONDS = 2.0  # DB writes of progress, and stop checks, at most this often
# heartbeat_at refreshed at least this often: a worker lost (kill -9, host gone) is noticed
# after EXEML_WORKER_LOST_SECONDS of silence, a few missed beats (training.services).
HEARTBEAT_SECONDS = 3.0
DOWNLOAD_THREADS = 8


def _deadline_margin(budget_s: float) -> float:
    # Room for the last evaluation + export + upload after the trainer's own deadline.
    return min(120.0, 0.1 * budget_s)


class VersionLog(logging.Handler):
    """Collects the run's log lines into train.log and a bounded in-memory copy (head and tail)."""

    def __init__(self, path: Path) -> None:
        super().__init__(level=logging.INFO)
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._file = path.open("a", encoding="utf-8")
        self.kept = LogBuffer()
        self.changed = False
        self.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))

    def emit(self, record: logging.LogRecord) -> None:
        try:
            self.write(self.format(record))
        except Exception:  # logging must never break training
            self.handleError(record)

    def write(self, text: str) -> None:
        with self.lock:
            for line in text.splitlines() or [""]:
                self._file.write(line + "\n")
                self.kept.append(line)
            self._file.flush()
            self.changed = True

    def snapshot(self) -> list[str]:
        with self.lock:
            self.changed = False
            return self.kept.lines()

    def close(self) -> None:
        with self.lock:
            if not self._file.closed:
                self._file.close()
        super().close()


class Pulse(threading.Thread):
    """Writes heartbeat/phase/progress/log tail and notices stop requests, off the trainer's thread."""

    def __init__(self, version_id, log: VersionLog, worker: str | None = None) -> None:
        super().__init__(name=f"pulse-{version_id}", daemon=True)
        self.version_id = version_id
        # The row is this run's only while it names this worker: a run handed back (its
        # heartbeat stalled) and taken by another worker is lost here, never run twice.
        self.worker = worker
        self.log = log
        self.phase = "starting"
        self.progress = 0.0
        self.stop_requested = threading.Event()
        self.lost = False  # the row left "running" under us (reaped, or stopped by an admin)
        self._done = threading.Event()
        self._written: tuple[str, float] | None = None
        self._last_beat = 0.0
        self.live: dict = {}
        self.live_changed = False

    def report(self, phase: str, fraction: float, *, live: dict | None = None) -> None:
        """The trainer's ProgressFn; ``live`` is the engine's leaderboard/curve/ETA snapshot."""
        self.phase, self.progress = phase[:40], max(0.0, min(1.0, float(fraction)))
        if live is not None:
            self.live, self.live_changed = live, True
        if self.stop_requested.is_set():
            raise StopTraining("stopped by the user" if not self.lost else "the version is no longer running")

    def run(self) -> None:
        try:
            while not self._done.wait(PULSE_SECONDS):
                try:
                    self.beat()
                except Exception:  # a DB hiccup must not kill the heartbeat for good
                    logger.warning("heartbeat write failed", exc_info=True)
                    close_old_connections()
        finally:
            connection.close()

    def beat(self, *, force: bool = False) -> None:
        now = time.monotonic()
        state = (self.phase, round(self.progress, 4))
        with unscoped():  # the heartbeat thread has no tenant in scope; the row is known by id
            rows = ModelVersion.all_tenants.filter(pk=self.version_id, status=VersionStatus.RUNNING)
            if self.worker:
                rows = rows.filter(worker=self.worker)
        if (
            force or state != self._written or self.log.changed or self.live_changed
            or now - self._last_beat >= HEARTBEAT_SECONDS
        ):
            fields = {"heartbeat_at": timezone.now(), "phase": state[0], "progress": state[1]}
            if self.log.changed:
                fields["log_tail"] = self.log.snapshot()
            if self.live_changed:
                self.live_changed = False
                fields["live"] = self.live
            if rows.update(**fields) == 0:
                self._lose()
                return
            self._written, self._last_beat = state, now
        # Checked on every pulse, so a stop lands within PULSE_SECONDS of the request.
        row = rows.values_list("stop_requested", flat=True).first()
        if row is None:
            self._lose()
        elif row:
            self.stop_requested.set()

    def _lose(self) -> None:
        self.lost = True
        self.stop_requested.set()

    def finish(self) -> None:
        self._done.set()
        self.join(timeout=30)


def _dead_here(worker: str) -> bool:
    """Whether ``worker`` (host:pid, as _worker_name writes it) was a process on this host
    that is gone: Celery hands a task whose pool process was killed straight back to the queue
    (reject_on_worker_lost), so its heartbeat may not be silent yet when it comes back."""
    host, _, pid = worker.rpartition(":")
    if host != socket.gethostname() or not pid.isdigit():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except OSError:
        return False
    try:  # a zombie (killed, not yet reaped by its parent) is gone too
        return open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()[0] == "Z"
    except (OSError, IndexError):
        return False


def _take_over(version_id) -> bool:
    from training.services import version_hand_back

    silent = timezone.now() - timedelta(seconds=3 * HEARTBEAT_SECONDS)
    running = ModelVersion.objects.filter(pk=version_id, status=VersionStatus.RUNNING).values_list(
        "heartbeat_at", "worker").first()
    if running is None:
        return False
    heartbeat_at, worker = running
    if not (heartbeat_at is None or heartbeat_at < silent or _dead_here(worker or "")):
        return False
    try:
        version = version_hand_back(version_id=version_id, reason="its worker stopped during the training",
                                    enqueue=False)  # this delivery runs it
    except WrongState:
        return False
    return version.status == VersionStatus.QUEUED


def _worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"[:200]


def _device(flavor) -> str:
    # CPU flavors never need torch's probe; torch is heavy to import for tabular jobs.
    if flavor.device != "gpu" or importlib.util.find_spec("torch") is None:
        return "cpu"
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


def run_version(*, version_id) -> None:
    """Train one version end to end; every outcome ends in a finished status."""
    try:
        version = version_transition(version_id=version_id, status=VersionStatus.RUNNING, worker=_worker_name())
    except WrongState as exc:
        # Stopped while queued, or redelivered after it finished: nothing to do. Redelivered
        # while "running" with a silent heartbeat: its worker was stopped; it starts again.
        if not _take_over(version_id):
            logger.info("version %s not started: %s", version_id, exc.message)
            return
        version = version_transition(version_id=version_id, status=VersionStatus.RUNNING, worker=_worker_name())
    # A folder per run: a run handed back while its worker was alive after all (a stalled
    # heartbeat) must not delete the folder of the run that replaced it, nor use its files.
    runs = Path(settings.EXEML_WORK_DIR) / str(version.pk)
    workdir = runs / f"run-{int(version.params.get('restarts', 0))}"
    shutil.rmtree(runs, ignore_errors=True)  # earlier runs of this version were handed back
    log = VersionLog(workdir / LOG_FILE)
    training_logger = logging.getLogger("training")
    training_logger.addHandler(log)
    previous_level = training_logger.level
    if training_logger.getEffectiveLevel() > logging.INFO:
        training_logger.setLevel(logging.INFO)
    pulse = Pulse(version.pk, log, worker=version.worker)
    pulse.start()
    outcome: tuple[str, dict] = (VersionStatus.FAILED, {"error": "internal error: the run ended without a result"})
    try:
        outcome = _train(version=version, workdir=workdir, pulse=pulse, log=log)
    except StopTraining as exc:
        logger.info("training stopped: %s", exc)
        outcome = (VersionStatus.STOPPED, {})
    except TrainingError as exc:
        logger.error("training failed: %s", exc)
        outcome = (VersionStatus.FAILED, {"error": str(exc)})
    except Exception as exc:
        logger.exception("training crashed")  # the traceback lands in train.log and the worker's log
        outcome = (VersionStatus.FAILED, {"error": f"internal error: {type(exc).__name__}: {exc}"})
    finally:
        pulse.finish()
        training_logger.removeHandler(log)
        training_logger.setLevel(previous_level)
        log.close()
    status, fields = outcome
    try:
        if _taken_by_another_run(version):
            # Handed back (its heartbeat went silent) and queued or taken again: the row is not
            # this run's any more, whatever this run's outcome (it may have crashed on the
            # folder the new run cleared).
            logger.warning("version %s: this run (%s) was replaced by another; its outcome %s is dropped",
                           version.name, version.worker, status)
            return
        if pulse.lost and status == VersionStatus.STOPPED:
            status, fields = VersionStatus.FAILED, {}
        _upload_log(version=version, log=log)
        try:
            version_transition(version_id=version.pk, status=status, log_tail=log.snapshot(), **fields)
        except WrongState as exc:
            logger.warning("version %s finished as %s but is now %s", version.name, status, exc.extra.get("status"))
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
        try:
            runs.rmdir()  # the version's folder too, unless another run of it uses it now
        except OSError:
            pass


def _taken_by_another_run(version: ModelVersion) -> bool:
    row = ModelVersion.objects.filter(pk=version.pk).values_list("status", "worker").first()
    return row is not None and row[0] in (VersionStatus.QUEUED, VersionStatus.RUNNING) and row[1] != version.worker


def _train(*, version: ModelVersion, workdir: Path, pulse: Pulse, log: VersionLog) -> tuple[str, dict]:
    project = version.project
    params = version.params
    logger.info(
        "training %s %s (%s) on %s: max %s min, preference %s",
        project.name, version.name, project.task_type, version.worker, params.get("max_minutes"),
        params.get("preference"),
    )
    await_dataset_version(version, pulse.report)
    pulse.report("downloading data", 0.0)
    spec = build_spec(version=version, data_dir=workdir / "data")
    data = (
        f"{len(spec.tabular.columns)} CSV columns, label {spec.tabular.label_column} ({spec.tabular.label_type})"
        if spec.tabular
        else f"{len(spec.samples)} samples, {len(spec.labels)} labels"
    )
    logger.info(
        "dataset version %s: %s; device %s, %d threads", version.dataset_version.name, data, spec.device, spec.threads
    )
    from training.engine.trainers import get_trainer

    trainer = get_trainer(project.task_type)
    reasons = trainer.validate(spec)
    if reasons:
        raise TrainingError("; ".join(reasons))
    budget = float(params.get("max_minutes", 60)) * 60.0
    started = time.monotonic()
    deadline = started + budget - _deadline_margin(budget)
    result = trainer.fit(spec, workdir, deadline, pulse.report)
    for line in result.log:
        log.write(f"trainer: {line}")
    logger.info(
        "trained in %.1f s%s; metrics %s",
        time.monotonic() - started, " (stopped by the time limit)" if result.stopped_by_deadline else "",
        result.metrics,
    )
    pulse.phase, pulse.progress = "uploading", 1.0  # no stop check: the model is already trained
    artifact_path, size = upload_bundle(version=version, bundle_dir=Path(result.bundle_dir))
    return VersionStatus.COMPLETED, {
        "metrics": result.metrics,
        "evaluation": result.evaluation,
        "eval_predictions": result.eval_predictions,
        "stopped_by_deadline": bool(result.stopped_by_deadline),
        "artifact_path": artifact_path,
        "artifact_size": size,
        "phase": "done",
    }


# ----------------------------------------------------------------------------- spec


def build_spec(*, version: ModelVersion, data_dir: Path) -> TrainSpec:
    """A frozen TrainSpec with every file the trainer needs already on local disk."""
    project = version.project
    dataset_version = version.dataset_version
    store = store_for_tenant(project.tenant)
    data_dir.mkdir(parents=True, exist_ok=True)
    common = {
        "task_type": project.task_type,
        "max_seconds": float(version.params.get("max_minutes", 60)) * 60.0,
        "preference": version.params.get("preference", "balance"),
        "device": _device(version.flavor),
        "threads": int(settings.EXEML_WORKER_THREADS),
        "seed": int(dataset_version.seed or 0),
        "base_bundle_dir": _download_base(version=version, store=store, target=data_dir.parent / "base"),
        "params": {"refit_on_all": bool(version.params.get("refit_on_all", True))},
    }
    if project.task_type == TaskType.IMAGE_CLASSIFICATION:
        # The project's mode, not a guess from the data: a multi-label project whose images
        # happen to carry one label each still trains one sigmoid per label.
        common["params"]["multilabel"] = bool(project.multi_label)
    if project.task_type == TaskType.PREDICTIVE_ANALYTICS:
        tabular = _tabular_spec(project=project, dataset_version=dataset_version, store=store, data_dir=data_dir)
        return TrainSpec(labels=(), tabular=tabular, **common)
    samples = _samples(dataset_version=dataset_version, task_type=project.task_type, store=store, data_dir=data_dir)
    used = sorted({lb for s in samples for lb in s.labels} | {b.label for s in samples for b in s.boxes})
    declared = [lb.name for lb in project.dataset.labels.all()]
    labels = tuple([lb for lb in declared if lb in used] + [lb for lb in used if lb not in declared])
    return TrainSpec(labels=labels, samples=tuple(samples), **common)


def _samples(*, dataset_version, task_type: str, store, data_dir: Path) -> list[TrainSample]:
    items = list(dataset_version.items.all().order_by("id"))
    text = task_type == TaskType.TEXT_CLASSIFICATION
    downloads: list[tuple[str, str, Path]] = []
    samples = []
    for n, item in enumerate(items):
        path = ""
        if not text:
            src = parse_storage_path(item.source)
            local = data_dir / f"{n:06d}{PurePosixPath(src.key).suffix.lower()}"
            downloads.append((src.bucket, src.key, local))
            path = str(local)
        boxes = tuple(
            Box(label=b["label"], xmin=b["bbox"][0], ymin=b["bbox"][1], xmax=b["bbox"][2], ymax=b["bbox"][3])
            for b in (item.boxes or [])
        )
        samples.append(
            TrainSample(
                id=str(item.sample_id or item.pk),
                usage="eval" if item.usage == "EVAL" else "train",
                path=path,
                text=item.text if text else "",
                labels=tuple(item.labels or ()),
                boxes=boxes,
                width=item.width or 0,
                height=item.height or 0,
            )
        )
    if downloads:
        with ThreadPoolExecutor(DOWNLOAD_THREADS) as pool:
            list(pool.map(lambda d: _download(store, *d, version_name=dataset_version.name), downloads))
        logger.info("downloaded %d files", len(downloads))
    return samples


def _download(store, bucket: str, key: str, local: Path, *, version_name: str) -> None:
    try:
        store.download_to(bucket, key, local)
    except ObjectNotFound:
        raise TrainingError(
            f"s3://{bucket}/{key} of dataset version {version_name} is missing from storage; "
            "synchronize the dataset and train again"
        ) from None


def _tabular_spec(*, project, dataset_version, store, data_dir: Path) -> TabularSpec:
    from datasets.formats.csv_table import profile_csv
    from datasets.formats.errors import FormatError

    params = dataset_version.params or {}
    csv_uri = params.get("csv_path") or project.dataset.csv_path or project.training_data
    if not csv_uri:
        raise TrainingError("the project has no training CSV")
    src = parse_storage_path(csv_uri)
    expected = params.get("etag")
    try:
        current = store.head(src.bucket, src.key).etag
    except ObjectNotFound:
        raise TrainingError(f"the training CSV {csv_uri} is missing from storage") from None
    if expected and current != expected:
        raise TrainingError(
            f"the training CSV {csv_uri} changed after dataset version {dataset_version.name} was published; "
            "publish a new version"
        )
    local = store.download_to(src.bucket, src.key, data_dir / "train.csv")
    # The dialect publish recorded (a version published before dialects: the guide's CSV).
    has_header = bool(params.get("has_header", False))
    try:
        with local.open("rb") as fh:
            profile = profile_csv(fh, allow_timestamps=True, has_header=has_header)
    except FormatError as exc:
        raise TrainingError(f"the training CSV is not usable: {exc}") from None
    label_ref = params.get("label_column") or project.label_column
    label_type = params.get("label_type") or project.label_type or "discrete"
    if not label_ref:
        raise TrainingError("no label column is set")
    try:
        label_column = profile.column(label_ref).key
    except KeyError:
        raise TrainingError(f"the training CSV has no column {label_ref!r}; choose the label column again") from None
    return TabularSpec(
        csv_path=str(local),
        columns=tuple(c.key for c in profile.columns),
        names=tuple(c.name for c in profile.columns) if profile.has_header else (),
        kinds={c.key: c.kind for c in profile.columns},
        label_column=label_column,
        label_type=label_type,
        dropped=tuple(c.key for c in profile.columns if not c.valid and c.key != label_column),
        eval_rows=tuple(int(i) for i in params.get("eval_rows") or ()),
        delimiter=profile.delimiter,
        quotechar=profile.quotechar,
        has_header=profile.has_header,
    )


def _download_base(*, version: ModelVersion, store, target: Path) -> str | None:
    base = version.incremental_from
    if base is None or not base.artifact_path:
        return None
    folder = parse_storage_path(base.artifact_path).as_folder()
    count = 0
    for obj in store.iter_objects(folder.bucket, folder.key):
        rel = obj.key[len(folder.key):]
        if rel and not rel.endswith("/") and rel != LOG_FILE:
            store.download_to(folder.bucket, obj.key, target / rel)
            count += 1
    if not (target / MODEL_FILE).is_file():
        raise TrainingError(f"version {base.name}'s model files are missing from {base.artifact_path}")
    logger.info("incremental training from %s (%d files)", base.name, count)
    return str(target)


# ----------------------------------------------------------------------------- artifacts


def artifact_folder(version: ModelVersion) -> StoragePath:
    """``<dataset output path>/models/<project name>/<V001>/``."""
    output = parse_storage_path(version.project.dataset.output_path).as_folder()
    return output.join(f"models/{version.project.name}/{version.name}/")


def upload_bundle(*, version: ModelVersion, bundle_dir: Path) -> tuple[str, int]:
    """Upload every file the trainer wrote; returns (folder uri, total bytes)."""
    for required in (MODEL_FILE, BUNDLE_FILE):
        if not (bundle_dir / required).is_file():
            raise TrainingError(f"the trainer did not write {required}")
    folder = artifact_folder(version)
    store = store_for_tenant(version.project.tenant)
    total = 0
    for path in sorted(p for p in bundle_dir.rglob("*") if p.is_file()):
        rel = path.relative_to(bundle_dir).as_posix()
        with path.open("rb") as fh:
            store.put(folder.bucket, folder.key + rel, fh)
        total += path.stat().st_size
    logger.info("uploaded the model (%d bytes) to %s", total, folder)
    return str(folder), total


def _upload_log(*, version: ModelVersion, log: VersionLog) -> None:
    if not log.path.is_file():
        return
    try:
        folder = artifact_folder(version)
        with log.path.open("rb") as fh:
            store_for_tenant(version.project.tenant).put(
                folder.bucket, folder.key + LOG_FILE, fh, content_type="text/plain; charset=utf-8"
            )
    except Exception:  # the log is a convenience; never let it change the outcome
        logger.warning("could not upload %s for %s", LOG_FILE, version.name, exc_info=True)
