"""Jobs that run a trained version outside a service: pre-labelling a dataset's unlabelled
samples (as suggestions) and batch prediction over a storage folder.

Both load the version's bundle through the same predictor a service uses, so a suggestion
or a batch result is exactly what the deployed service would answer. They work in bounded
batches (one short transaction per batch) and record usage like training. They run under
``job_heartbeat`` with their storage calls in ``job_wait``: a hung storage shows as "waiting
for storage (since …)", fails the job past EXEML_STORAGE_STALL_SECONDS, and a cancel stops
the job within seconds, even inside a hung read.
"""

from __future__ import annotations

import csv
import io
import itertools
import json
import logging
import re
import time
import uuid
from collections.abc import Iterator
from typing import Any

import numpy as np
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from datasets.formats.csv_table import header_cell_name, open_table
from datasets.models import Dataset, Sample, SampleStatus
from exeml.errors import ApplicationError, WrongState, public_reason
from exeml.jobs.models import Job, JobStatus
from exeml.jobs.services import (
    CANCELLABLE_KINDS,
    JOB_STOPPED,
    job_checkpoint,
    job_create,
    job_heartbeat,
    job_progress,
    job_transition,
    job_wait,
)
from exeml.queues import Queue
from exeml.storage import StoragePathError, ensure_within_roots, parse_storage_path, store_for_tenant
from exeml.task_types import TaskType
from exeml.tenancy.scoping import tenant_scope
from exeml.tenancy.services import quota_check, usage_record_finished
from labeling.suggestions import Predicted, suggestions_write
from serving.runtime import predictor_open
from training.engine.predictors.base import PredictionError
from training.engine.predictors.image import load_image
from training.models import ModelVersion, VersionStatus

log = logging.getLogger(__name__)

PRELABEL_KIND = "prelabel"
BATCH_KIND = "batch_prediction"
MODEL_JOB_KINDS = (PRELABEL_KIND, BATCH_KIND, "label_check")
CANCELLABLE_KINDS.update(MODEL_JOB_KINDS)  # run under job_heartbeat, which notices a cancel
BATCH = 64
FILE_TYPES = {
    TaskType.IMAGE_CLASSIFICATION: (".jpg", ".jpeg", ".png", ".bmp"),
    TaskType.OBJECT_DETECTION: (".jpg", ".jpeg", ".png", ".bmp"),
    TaskType.SOUND_CLASSIFICATION: (".wav",),
    TaskType.TEXT_CLASSIFICATION: (".txt", ".csv"),
    TaskType.PREDICTIVE_ANALYTICS: (".csv",),
}


def _usable(version: ModelVersion) -> None:
    if version.status != VersionStatus.COMPLETED or not version.artifact_path:
        raise WrongState(f"version {version.name} is {version.status}; only a completed version can predict",
                         status_value=version.status)


def _start(*, kind: str, version: ModelVersion, params: dict, target: Dataset | None, user, task) -> Job:
    quota_check(tenant=version.tenant, quota="max_concurrent_model_jobs", adding=1)
    job = job_create(
        kind=kind, params={"version": str(version.pk), **params}, target_type="dataset" if target else "version",
        target_id=target.pk if target else version.pk, user=user,
    )
    tenant_id = str(version.tenant_id)
    transaction.on_commit(lambda: task.apply_async(args=[str(job.pk), tenant_id], queue=Queue.DEFAULT.value))
    return job


def running_model_jobs(tenant) -> int:
    with tenant_scope(tenant):
        return Job.objects.filter(kind__in=MODEL_JOB_KINDS, status__in=(JobStatus.QUEUED, JobStatus.RUNNING)).count()


# ------------------------------------------------------------------ pre-labelling


def prelabel_start(*, version: ModelVersion, user=None) -> Job:
    from serving.tasks import prelabel

    _usable(version)
    dataset = version.project.dataset
    if dataset.task_type == TaskType.PREDICTIVE_ANALYTICS:
        raise ApplicationError("predictive analytics rows are labelled by their label column; use batch prediction",
                               field="version")
    return _start(kind=PRELABEL_KIND, version=version, params={"dataset": str(dataset.pk)}, target=dataset,
                  user=user, task=prelabel)


def _distribution(predictor, task_type: str, data: Any) -> np.ndarray:
    """Class probabilities of one sample, from the predictor a service would run."""
    if task_type == TaskType.IMAGE_CLASSIFICATION:
        return np.asarray(predictor.probabilities(load_image(data)), dtype=np.float64).reshape(-1)
    if task_type == TaskType.TEXT_CLASSIFICATION:
        return np.asarray(predictor.probabilities([data["text"]])[0], dtype=np.float64)
    features = predictor.features(data)[None].astype(np.float32)
    return np.asarray(predictor.probabilities(features)[0], dtype=np.float64)


def suggestion_from(predictor, task_type: str, sample_id: uuid.UUID, data: Any) -> Predicted:
    """A suggestion and its uncertainty (margin for classification, least box score for detection)."""
    if task_type == TaskType.OBJECT_DETECTION:
        response = predictor.predict(data)
        objects = [
            # The service answers [y_min, x_min, y_max, x_max]; annotations store [xmin, ymin, xmax, ymax].
            {"label": label, "bbox": [b[1], b[0], b[3], b[2]], "score": float(s)}
            for label, b, s in zip(response["detection_classes"], response["detection_boxes"],
                                   response["detection_scores"], strict=True)
        ]
        best = max((o["score"] for o in objects), default=0.0)
        return Predicted(sample_id, {"objects": objects}, best, 1.0 - best)
    proba = _distribution(predictor, task_type, data)
    order = np.argsort(-proba)
    top1 = float(proba[order[0]])
    top2 = float(proba[order[1]]) if len(order) > 1 else 0.0
    return Predicted(sample_id, {"labels": [predictor.labels[int(order[0])]]}, top1, 1.0 - (top1 - top2))


def _unlabelled(dataset: Dataset) -> Iterator[list[Sample]]:
    """Unlabelled samples in primary-key pages (keyset paging: no long-lived cursor)."""
    last = None
    while True:
        qs = Sample.objects.filter(dataset=dataset, labeled=False, status=SampleStatus.OK).order_by("pk")
        if last is not None:
            qs = qs.filter(pk__gt=last)
        page = list(qs[:BATCH])
        if not page:
            return
        last = page[-1].pk
        yield page


def _sample_input(store, task_type: str, sample: Sample) -> Any:
    if task_type == TaskType.TEXT_CLASSIFICATION:
        return {"text": sample.text}
    path = parse_storage_path(sample.source)
    return store.read_bytes(path.bucket, path.key, max_bytes=settings.EXEML_LIMITS["inference_max_bytes"])


def prelabel_run(*, job_id: uuid.UUID | str) -> None:
    job, version = _begin(job_id)
    if job is None:
        return
    _run_model_job(job, version, "pre-labelling", _prelabel)


def _prelabel(job: Job, version: ModelVersion) -> None:
    dataset = Dataset.objects.get(pk=job.params["dataset"])
    total = Sample.objects.filter(dataset=dataset, labeled=False, status=SampleStatus.OK).count()
    predictor = job_wait(lambda: predictor_open(version=version, threads=1))
    store = store_for_tenant(dataset.tenant)
    done = written = 0
    clock = time.monotonic()
    for page in _unlabelled(dataset):
        job_checkpoint()
        items, errors = [], []
        for sample in page:
            try:
                data = job_wait(lambda sample=sample: _sample_input(store, dataset.task_type, sample))
                items.append(suggestion_from(predictor, dataset.task_type, sample.pk, data))
            except JOB_STOPPED:
                raise  # cancelled or stalled: the job ends, not the file
            except Exception as exc:  # noqa: BLE001 - one broken file must not end the job
                errors.append({"file": sample.name, "reason": _reason(exc)})
        job_checkpoint()  # a cancel while the page was read writes none of its suggestions
        written += suggestions_write(dataset=dataset, source_id=version.pk, source_name=version.name, items=items)
        done += len(page)
        job_progress(job=job, progress=min(0.99, done / max(total, 1)), new_errors=errors,
                     counts={"samples": done, "total": total, "suggestions": written,
                             "eta_seconds": _eta(clock, done, total)})
    job_progress(job=job, result={"suggestions": written, "version": version.name})


# ------------------------------------------------------------------ batch prediction


def batch_predict_start(*, version: ModelVersion, input_path: str, output_path: str, user=None) -> Job:
    from serving.tasks import batch_predict

    _usable(version)
    roots = version.tenant.storage_roots
    paths = {}
    for field, value in (("input_path", input_path), ("output_path", output_path)):
        try:
            paths[field] = ensure_within_roots(value, roots)
        except StoragePathError as exc:
            raise ApplicationError(exc.reason, field=field)
    out = paths["output_path"].as_folder()
    inp = paths["input_path"]
    if str(out).startswith(str(inp.as_folder())):
        raise ApplicationError("the output folder must not lie inside the input folder", field="output_path")
    return _start(kind=BATCH_KIND, version=version, params={"input_path": str(inp), "output_path": str(out)},
                  target=None, user=user, task=batch_predict)


def _inputs(store, task_type: str, inp) -> Iterator[tuple[str, str]]:
    """(bucket, key) of each input file: the object itself when the path names a file."""
    suffixes = FILE_TYPES[task_type]
    if not inp.key.endswith("/") and inp.key.lower().endswith(suffixes) and store.exists(inp.bucket, inp.key):
        yield inp.bucket, inp.key
        return
    folder = inp.as_folder()
    for obj in store.iter_objects(folder.bucket, folder.key):
        if not obj.key.endswith("/"):
            yield folder.bucket, obj.key


def batch_predict_run(*, job_id: uuid.UUID | str) -> None:
    job, version = _begin(job_id)
    if job is None:
        return
    _run_model_job(job, version, "batch prediction", _batch_predict)


def _batch_predict(job: Job, version: ModelVersion) -> None:
    task_type = version.project.task_type
    store = store_for_tenant(version.tenant)
    inp = parse_storage_path(job.params["input_path"])
    out = parse_storage_path(job.params["output_path"]).join(f"batch-{job.pk}/")
    predictor = job_wait(lambda: predictor_open(version=version, threads=1))
    keys = job_wait(lambda: list(_inputs(store, task_type, inp)))
    limit = settings.EXEML_BATCH_PREDICTION_MAX_FILES
    if len(keys) > limit:
        raise ApplicationError(f"the input holds {len(keys)} files; at most {limit} per batch prediction")
    lines: list[str] = []
    ok = failed = 0
    clock = time.monotonic()
    max_bytes = settings.EXEML_BATCH_PREDICTION_MAX_FILE_BYTES
    for n, (bucket, key) in enumerate(keys, start=1):
        uri = f"s3://{bucket}/{key}"
        name = key.rsplit("/", 1)[-1]
        errors: list[dict] = []
        if not key.lower().endswith(FILE_TYPES[task_type]):
            errors.append({"file": name, "reason": f"not a {'/'.join(FILE_TYPES[task_type])} file"})
        else:
            try:
                data = job_wait(lambda bucket=bucket, key=key: store.read_bytes(bucket, key, max_bytes=max_bytes))
                if task_type == TaskType.PREDICTIVE_ANALYTICS:
                    # One result per file: files may differ in header and separator.
                    result = _predict_table(predictor, data, max_bytes)
                    target = out.join(_result_name(key, inp))
                    job_wait(lambda target=target, result=result: store.put(
                        target.bucket, target.key, result, content_type="text/csv"))
                elif task_type == TaskType.TEXT_CLASSIFICATION:
                    for line_no, text in enumerate(_text_lines(data), start=1):
                        lines.append(json.dumps({"file": uri, "line": line_no, "text": text,
                                                 "result": predictor.predict({"text": text})}, ensure_ascii=False))
                else:
                    lines.append(json.dumps({"file": uri, "result": predictor.predict(data)}, ensure_ascii=False))
                ok += 1
            except JOB_STOPPED:
                raise  # cancelled or stalled: the job ends, not the file
            except Exception as exc:  # noqa: BLE001 - reported per file
                errors.append({"file": name, "reason": _reason(exc)})
        failed += len(errors)
        if errors or n % BATCH == 0 or n == len(keys):
            job_progress(job=job, progress=min(0.99, n / max(len(keys), 1)), new_errors=errors,
                         counts={"files": n, "total": len(keys), "succeeded": ok, "failed": failed,
                                 "eta_seconds": _eta(clock, n, len(keys))})
    written = {}
    if task_type == TaskType.PREDICTIVE_ANALYTICS:
        written["predictions"] = str(out)  # <input name>_predictions.csv per file, in this folder
    else:
        target = out.join("results.jsonl")
        body = ("\n".join(lines) + ("\n" if lines else "")).encode()
        written["results"] = str(target)
        job_wait(lambda: store.put(target.bucket, target.key, body, content_type="application/x-ndjson"))
    job.refresh_from_db()
    job_progress(job=job, result={**written, "files": len(keys), "succeeded": ok, "failed": failed})


def _result_name(key: str, inp) -> str:
    """``data.csv`` → ``data_predictions.csv``, keeping the file's path under the input folder."""
    folder = inp.as_folder().key
    rel = key[len(folder):] if key.startswith(folder) else key.rsplit("/", 1)[-1]
    stem = rel[: -len(".csv")] if rel.lower().endswith(".csv") else rel
    return f"{stem}_predictions.csv"


def _text_lines(data: bytes) -> list[str]:
    text = data.decode("utf-8-sig", errors="strict")
    return [line for line in text.splitlines() if line.strip()]


class TableRefused(ValueError):
    """A batch CSV whose columns do not fit the model's inputs (the file is refused, the job goes on)."""


def _predict_table(predictor, data: bytes, max_bytes: int) -> bytes:
    """One batch CSV → the same CSV (its header, separator and quoting) with the prediction
    columns appended: ``prediction``, and ``probability`` (of the predicted class) for a
    discrete label.

    The file's dialect and header are found by the profile's own detection, file by file.
    With a header, its cells name the model's columns (the training header's names, or
    ``attr_N``) in any order; other columns are kept and not used. Without one, the columns
    are the training CSV's, the label column left out or in its place."""
    spec = predictor.bundle["input_spec"]
    dialect, rows = open_table(io.BytesIO(data), max_bytes=max_bytes)
    _, first = next(rows, (0, None))
    if first is None:
        raise TableRefused("the file has no data rows")
    keys, header = _table_columns(spec, first, dialect.has_header)
    if header is None:
        rows = itertools.chain([(1, first)], rows)
    discrete = predictor.bundle["postprocessing"]["kind"] != "regression"
    extra = _unique(["prediction", "probability"] if discrete else ["prediction"], header or keys)
    buf = io.StringIO()
    writer = csv.writer(buf, delimiter=dialect.delimiter, quotechar=dialect.quotechar)
    # A header-less file gets the attr_N header it had before (ModelArts' column names).
    writer.writerow([*(header or keys), *extra])
    width = len(keys)
    while chunk := list(itertools.islice(rows, 1000)):
        for row_no, fields in chunk:
            if len(fields) != width:
                raise TableRefused(f"row {row_no} has {len(fields)} columns, the {'header' if header else 'first row'} "
                                   f"has {width}")
        records = [{k: v for k, v in zip(keys, fields, strict=True) if k is not None} for _, fields in chunk]
        try:
            values, proba = predictor.run(records)
        except PredictionError as exc:
            raise TableRefused(_line_of(str(exc), chunk)) from None
        for i, (_, fields) in enumerate(chunk):
            if proba is None:
                writer.writerow([*fields, str(float(values[i]))])
            else:
                k = int(values[i])
                writer.writerow([*fields, predictor.labels[k], str(float(proba[i][k]))])
    return buf.getvalue().encode()


def _table_columns(spec: dict, first: list[str], has_header: bool) -> tuple[list[str | None], list[str] | None]:
    """(the model column of each file column, None for one not used; the file's header or None)."""
    columns = list(spec["columns"])
    names = dict(zip(spec.get("names") or columns, columns, strict=True))
    known = {**names, **{c: c for c in columns}}
    cells = [header_cell_name(c) for c in first]
    # A first row made only of the model's column names is a header, whatever the detection guessed.
    if has_header or all(c in known for c in cells):
        key_of = {c: names.get(c) or (c if c in columns else None) for c in cells}
        keys = [key_of[c] for c in cells]
        seen: dict[str, str] = {}
        for cell, key in zip(first, keys, strict=True):
            if key is None:
                continue
            if key in seen:
                raise TableRefused(f"columns {seen[key]!r} and {cell!r} are the same model column {_shown(key, spec)!r}")
            seen[key] = cell
        missing = [f["name"] for f in spec["features"] if f["name"] not in seen]
        if missing:
            raise TableRefused(
                "the header lacks the model's column(s) " + ", ".join(_shown(k, spec, alias=True) for k in missing)
                + f"; the header has {', '.join(repr(c) for c in first)}"
            )
        return keys, list(first)
    without_label = [c for c in columns if c != spec["label_column"]]
    for keys in (without_label, columns):
        if len(first) == len(keys):
            return [None if k == spec["label_column"] else k for k in keys], None
    raise TableRefused(
        f"the first row has {len(first)} columns; a file without a header needs the training CSV's "
        f"{len(without_label)} columns (the label column left out), or a header row naming the columns"
    )


def _shown(key: str, spec: dict, *, alias: bool = False) -> str:
    """A model column as the user knows it: its header name (and attr_N alias)."""
    names = dict(zip(spec["columns"], spec.get("names") or spec["columns"], strict=True))
    name = names.get(key, key)
    return f"{name!r} (or {key!r})" if alias and name != key else (repr(key) if alias else name)


def _unique(wanted: list[str], taken: list) -> list[str]:
    """The prediction columns' names, suffixed when the file already has a column so named."""
    used = {str(t) for t in taken}
    out = []
    for name in wanted:
        candidate, n = name, 1
        while candidate in used:
            n += 1
            candidate = f"{name}_{n}"
        used.add(candidate)
        out.append(candidate)
    return out


def _line_of(message: str, chunk: list[tuple[int, list[str]]]) -> str:
    """A predictor's ``record i`` as the file's row number."""
    match = re.search(r"\(record (\d+)\)|req_data\[(\d+)\]", message)
    if not match:
        return message
    i = int(match.group(1) or match.group(2))
    return f"row {chunk[i][0]}: {message}" if i < len(chunk) else message


# ------------------------------------------------------------------ shared


def _begin(job_id) -> tuple[Job | None, ModelVersion | None]:
    job = Job.objects.get(pk=job_id)
    if job.status != JobStatus.QUEUED:
        return None, None  # redelivered, or cancelled while queued
    job = job_transition(job_id=job.pk, status=JobStatus.RUNNING)
    return job, ModelVersion.objects.select_related("project").get(pk=job.params["version"])


def _run_model_job(job: Job, version: ModelVersion, what: str, body) -> None:
    """Run ``body(job, version)`` under the job's heartbeat and record how it ended, and the usage."""
    started = timezone.now()
    version.tenant  # noqa: B018 - loaded here: the storage calls in job_wait threads run no queries
    try:
        with job_heartbeat(job.pk):
            body(job, version)
    except JOB_STOPPED:
        _finish(job, version, started, None)  # cancelled or stalled: the heartbeat recorded it
    except Exception as exc:  # noqa: BLE001 - the job row carries the reason
        log.exception("%s %s failed", what, job.pk)
        _finish(job, version, started, JobStatus.FAILED, _reason(exc))
    else:
        _finish(job, version, started, JobStatus.SUCCEEDED)


def _finish(job: Job, version: ModelVersion, started, status: str | None, detail: str | None = None) -> None:
    """End the job as ``status`` (None: it has ended already) and record its usage."""
    try:
        if status is not None:
            job_transition(job_id=job.pk, status=status, detail=detail)
    except WrongState:
        log.warning("job %s ended as %s but was no longer running", job.pk, status)
    usage_record_finished(resource=job.kind, resource_id=job.pk, resource_name=f"{version.project.name}-{version.name}",
                          start=started, end=timezone.now())


def _eta(clock: float, done: int, total: int) -> float | None:
    if done <= 0:
        return None
    return round((time.monotonic() - clock) / done * max(0, total - done), 1)


def _reason(exc: Exception) -> str:
    if isinstance(exc, UnicodeDecodeError):
        return "not UTF-8 text"
    return public_reason(exc)
