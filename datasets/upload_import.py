"""The import of a large upload, run by a worker: the ``dataset_upload`` job.

The request wrote the files to their final place in the input path (shared storage: the
worker may run on another host) and listed them in the job's params; this job reads them
back, registers them through the same page import as a sync, and ends with the upload's
answer in ``result`` ({accepted, rejected}), each refused file in ``errors`` with its reason.
Progress counts rows written (a text file's lines), with an ETA in ``counts.eta_seconds``.

All or nothing: a refused file's new object goes; when no file is accepted the job fails
with the reasons; a cancelled or failed import removes every new object of the upload with
its rows (re-uploaded objects keep their new content; the next sync re-reads them).
"""

from __future__ import annotations

import logging
import time
import uuid
from typing import Any

from datasets.models import Dataset
from datasets.sync import DatasetSync, Outcome, _chunks
from datasets.upload import StoredFile, UploadRejected, finish_upload, forget_new, sort_outcomes
from exeml.errors import WrongState, public_reason
from exeml.jobs.models import Job, JobStatus
from exeml.jobs.services import JOB_STOPPED, job_checkpoint, job_heartbeat, job_progress, job_transition
from exeml.jobs.slowdown import cancellable_sleep, delay_for_tests

log = logging.getLogger(__name__)

# Files imported together: a page of a sync (labels in a later page find their samples).
FILES_PER_PAGE = 200
# Progress is written at most this often (a row batch takes a fraction of a second).
PROGRESS_EVERY_SECONDS = 0.5
_DONE = (JobStatus.SUCCEEDED, JobStatus.FAILED, JobStatus.CANCELLED)


def row_delay_key_for_tests(dataset_id: Any) -> str:
    """The shared-cache key a test sets to slow this dataset's upload imports (seconds per row)."""
    return f"exeml-test:upload-row-delay:{dataset_id}"


def dataset_upload_run(*, job_id: uuid.UUID | str) -> Job:
    """The body of the upload task: import the job's stored files and record the answer."""
    job = Job.objects.get(pk=job_id)
    if job.status in _DONE:
        return job
    stored = [StoredFile.from_json(raw) for raw in job.params.get("files", [])]
    dataset = Dataset.objects.select_related("tenant").filter(pk=job.target_id).first()
    if dataset is None:
        return _end(job, JobStatus.FAILED, "the dataset was deleted before its upload was imported")
    if job.status != JobStatus.RUNNING:
        job = job_transition(job_id=job.pk, status=JobStatus.RUNNING)
    run = UploadImport(dataset=dataset, job=job, stored=stored)
    try:
        with job_heartbeat(job.pk):
            answer = run.run()
    except UploadRejected as exc:
        return _end(job, JobStatus.FAILED, exc.message)
    except JOB_STOPPED:
        run.undo()  # cancelled (or storage stalled, recorded by the heartbeat): nothing of it stays
        return Job.objects.get(pk=job.pk)
    except Exception as exc:
        log.exception("upload import %s failed", job.pk)
        run.undo()
        return _end(job, JobStatus.FAILED, f"the import failed, no file was kept: {public_reason(exc)}")
    log.info("upload import %s done: %d accepted, %d refused", job.pk, len(answer["accepted"]), len(answer["rejected"]))
    return _end(job, JobStatus.SUCCEEDED, None)


def _end(job: Job, status: str, detail: str | None) -> Job:
    try:
        return job_transition(job_id=job.pk, status=status, detail=detail)
    except WrongState:
        return Job.objects.get(pk=job.pk)  # ended meanwhile (a cancel, the reaper)


class UploadImport:
    def __init__(self, *, dataset: Dataset, job: Job, stored: list[StoredFile]) -> None:
        self.dataset, self.job, self.stored = dataset, job, stored
        self.sync = DatasetSync(dataset=dataset)
        self.sync.on_rows = self._on_rows
        self.sync.leave_uploads = False  # these are its own files
        self.rejected: list[dict[str, Any]] = list(job.params.get("rejected", []))
        self.files_done = 0
        self.page_len = 0
        self.page_rows = 0
        self.rows = 0
        self.started = time.monotonic()
        self.last_write = 0.0
        self.row_delay = delay_for_tests(row_delay_key_for_tests(self.dataset.pk))

    def run(self) -> dict[str, list[dict[str, Any]]]:
        outcomes: dict[str, Outcome] = {}
        for page in _chunks(self.stored, FILES_PER_PAGE):
            job_checkpoint()
            self.page_len, self.page_rows = len(page), 0
            # preloaded={}: every file is read back from the store and imported, changed or not.
            outcomes.update(self.sync.process_page([s.info for s in page], preloaded={}))
            self.files_done += len(page)
            self._progress(self.files_done / max(1, len(self.stored)), force=True)
        job_checkpoint()  # a cancel that came during the last page still undoes it
        accepted: list[dict[str, Any]] = []
        known = len(self.rejected)
        refused_new = sort_outcomes(self.stored, outcomes, accepted, self.rejected)
        new_errors = self.rejected[known:]
        job_progress(
            job=self.job, new_errors=new_errors, result={"accepted": accepted, "rejected": self.rejected},
            counts={"accepted": len(accepted), "rejected": len(self.rejected), "eta_seconds": 0},
        )
        return finish_upload(self.sync, self.stored, refused_new, accepted, self.rejected)

    def undo(self) -> None:
        try:
            forget_new(self.sync, [s.info.key for s in self.stored if s.new])
        except Exception:  # noqa: BLE001 - the job's own outcome is recorded regardless
            log.exception("upload import %s stopped; could not undo its new objects", self.job.pk)

    # ------------------------------------------------------------------ progress

    def _on_rows(self, rows: int, page_total: int) -> None:
        self.rows += rows
        self.page_rows += rows
        if self.row_delay:
            cancellable_sleep(self.row_delay * rows)
        fraction = self.page_rows / page_total if page_total else 1.0
        # Rows are most of an import's time: the page's files count as done in step with them.
        done = self.files_done + self.page_len * min(1.0, fraction)
        self._progress(min(0.99, done / max(1, len(self.stored))))
        job_checkpoint()

    def _progress(self, progress: float, *, force: bool = False) -> None:
        now = time.monotonic()
        if not force and now - self.last_write < PROGRESS_EVERY_SECONDS:
            return
        self.last_write = now
        elapsed = now - self.started
        eta = round(elapsed / progress * (1 - progress)) if progress >= 0.01 else None
        job_progress(job=self.job, progress=progress, counts={
            "files_done": self.files_done, "samples_written": self.rows, "eta_seconds": eta,
        })
