"""Reading a batch prediction's results back: the first rows for the console and the whole
file as a download, streamed from the tenant's storage.

The file is the one the job itself wrote (``job.result``), and only while it lies in the
job's own ``batch-<id>/`` folder under the output path and inside the tenant's storage roots
now: a job row can never be turned into a reader of any other object.
"""

from __future__ import annotations

import csv
import io
import json
from typing import Any, BinaryIO

from exeml.errors import ApplicationError
from exeml.jobs.models import Job, JobStatus
from exeml.storage import (
    StorageError,
    StoragePath,
    StoragePathError,
    ensure_within_roots,
    is_under,
    parse_storage_path,
    store_for_tenant,
)
from serving.model_jobs import BATCH_KIND

PREVIEW_MAX_ROWS = 200
# The preview reads at most this much of the file, whatever its size or line lengths.
PREVIEW_MAX_BYTES = 1024 * 1024


OUTPUTS_LISTED = 100  # result files named in the preview (a table's batch writes one per input CSV)


def _checked(job: Job) -> tuple[str, StoragePath]:
    """The job's result URI (a file, or a table batch's folder) and the job's own folder."""
    if job.kind != BATCH_KIND:
        raise ApplicationError("not a batch prediction job", code="not_found", status=404)
    result = job.result or {}
    uri = result.get("results") or result.get("predictions")
    if job.status != JobStatus.SUCCEEDED or not isinstance(uri, str):
        raise ApplicationError("the batch prediction has no results (yet)", code="wrong_state", status=409,
                               extra={"status": job.status})
    try:
        path = parse_storage_path(uri)
        folder = parse_storage_path(job.params["output_path"]).as_folder().join(f"batch-{job.pk}/")
        ensure_within_roots(path, job.tenant.storage_roots)
    except (StoragePathError, KeyError):
        raise ApplicationError("the result file lies outside your storage roots", code="not_found", status=404)
    if path.key != folder.key and not is_under(path, folder):
        raise ApplicationError("the result file lies outside the job's output folder", code="not_found", status=404)
    return uri, folder


def batch_result_outputs(*, job: Job) -> tuple[list[str], bool]:
    """The result files' names under the job's folder (the first OUTPUTS_LISTED) and whether more exist."""
    uri, folder = _checked(job)
    if not uri.endswith("/"):
        return [parse_storage_path(uri).key[len(folder.key):]], False
    names: list[str] = []
    try:
        for obj in store_for_tenant(job.tenant).iter_objects(folder.bucket, folder.key, page_size=OUTPUTS_LISTED + 1):
            names.append(obj.key[len(folder.key):])
            if len(names) > OUTPUTS_LISTED:
                return names[:OUTPUTS_LISTED], True
    except StorageError:
        raise ApplicationError("the results are gone from storage", code="not_found", status=404)
    return names, False


def batch_result_path(*, job: Job, file: str | None = None) -> StoragePath:
    """One result file of a succeeded batch prediction: the one the job wrote, or (a table batch,
    one result per input CSV) ``file`` under the job's own folder, else the first there."""
    uri, folder = _checked(job)
    if not uri.endswith("/"):
        path = parse_storage_path(uri)
        if file not in (None, "", path.key[len(folder.key):]):
            raise ApplicationError("the batch prediction wrote no such file", code="not_found", status=404)
        return path
    if not file:
        names, _more = batch_result_outputs(job=job)
        if not names:
            raise ApplicationError("the batch prediction wrote no result file", code="not_found", status=404)
        file = names[0]
    try:
        path = folder.join(file)
    except StoragePathError:
        raise ApplicationError("not a result file of this batch prediction", field="file")
    if not is_under(path, folder) or path.key.endswith("/"):
        raise ApplicationError("not a result file of this batch prediction", field="file")
    return path


def batch_result_open(*, job: Job, file: str | None = None) -> tuple[StoragePath, BinaryIO]:
    path = batch_result_path(job=job, file=file)
    try:
        return path, store_for_tenant(job.tenant).open(path.bucket, path.key)
    except StorageError:
        raise ApplicationError("the result file is gone from storage", code="not_found", status=404)


def batch_result_preview(*, job: Job, limit: int = 20, file: str | None = None) -> dict[str, Any]:
    """The first ``limit`` results: CSV rows (header + rows, the prediction column last) for a
    table, else one entry per file (per line for texts) with the service's answer."""
    limit = max(1, min(int(limit), PREVIEW_MAX_ROWS))
    path, fh = batch_result_open(job=job, file=file)
    try:
        head = fh.read(PREVIEW_MAX_BYTES + 1)
    finally:
        fh.close()
    cut = len(head) > PREVIEW_MAX_BYTES
    text = head[:PREVIEW_MAX_BYTES].decode("utf-8", errors="replace")
    lines = text.splitlines()
    if cut and lines:
        lines = lines[:-1]  # the last line read may be cut in the middle
    result = job.result or {}
    outputs, more = batch_result_outputs(job=job)
    answer: dict[str, Any] = {
        "path": str(path),
        "name": path.key.rsplit("/", 1)[-1],
        "outputs": outputs,
        "outputs_truncated": more,
        "files": result.get("files"),
        "succeeded": result.get("succeeded"),
        "failed": result.get("failed"),
    }
    if path.key.endswith(".csv"):
        rows = list(csv.reader(io.StringIO("\n".join(lines))))
        header, body = (rows[0], rows[1:]) if rows else ([], [])
        return {**answer, "format": "csv", "columns": header, "rows": body[:limit],
                "truncated": cut or len(body) > limit}
    entries = []
    for line in lines[:limit]:
        try:
            entries.append(json.loads(line))
        except ValueError:
            entries.append({"raw": line})
    return {**answer, "format": "jsonl", "columns": None, "rows": entries, "truncated": cut or len(lines) > limit}
