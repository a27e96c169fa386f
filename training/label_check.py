"""The suspected-label-errors job: out-of-fold predictions over the labelled samples of a
single-label dataset (the engine's fast model per task), ranked by confident learning and
stored as label issues for the labeling view."""

from __future__ import annotations

import logging
import shutil
import tempfile
import uuid
from pathlib import Path

import numpy as np
from django.db import transaction
from django.utils import timezone

from datasets.models import Dataset, Sample, SampleStatus
from exeml.errors import ApplicationError, WrongState
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
from exeml.storage import parse_storage_path, store_for_tenant
from exeml.task_types import TaskType
from exeml.tenancy.services import quota_check, usage_record_finished
from labeling.suggestions import SuspectedError, label_issues_replace

log = logging.getLogger(__name__)

LABEL_CHECK_KIND = "label_check"
CANCELLABLE_KINDS.add(LABEL_CHECK_KIND)  # runs under job_heartbeat, which notices a cancel
SUPPORTED = (TaskType.IMAGE_CLASSIFICATION, TaskType.TEXT_CLASSIFICATION, TaskType.SOUND_CLASSIFICATION)
MIN_PER_CLASS = 2
MAX_SAMPLES = 20000


def label_check_start(*, dataset: Dataset, user=None) -> Job:
    from training.tasks import label_check

    if dataset.task_type not in SUPPORTED:
        raise ApplicationError(
            "suspected label errors are computed for image, sound and text classification datasets", field="dataset"
        )
    quota_check(tenant=dataset.tenant, quota="max_concurrent_model_jobs", adding=1)
    job = job_create(kind=LABEL_CHECK_KIND, params={"dataset": str(dataset.pk)}, target_type="dataset",
                     target_id=dataset.pk, user=user)
    tenant_id = str(dataset.tenant_id)
    transaction.on_commit(lambda: label_check.apply_async(args=[str(job.pk), tenant_id], queue=Queue.DEFAULT.value))
    return job


def _labelled(dataset: Dataset) -> list[tuple[Sample, str]]:
    """Single-label labelled samples with their label (multi-label images are skipped)."""
    rows = (
        Sample.objects.filter(dataset=dataset, labeled=True, status=SampleStatus.OK)
        .prefetch_related("annotations__label")
        .order_by("pk")
    )
    out = []
    for sample in rows[: MAX_SAMPLES + 1]:
        names = {a.label.name for a in sample.annotations.all()}
        if len(names) == 1:
            out.append((sample, names.pop()))
    if len(out) > MAX_SAMPLES:
        raise ApplicationError(f"at most {MAX_SAMPLES} labelled samples are checked at once")
    return out


def label_check_run(*, job_id: uuid.UUID | str) -> None:
    """Run the job under its heartbeat: a hung storage shows as "waiting for storage", fails the
    job past EXEML_STORAGE_STALL_SECONDS, and a cancel stops it within seconds."""
    job = Job.objects.get(pk=job_id)
    if job.status != JobStatus.QUEUED:
        return
    job = job_transition(job_id=job.pk, status=JobStatus.RUNNING)
    started = timezone.now()
    workdir = Path(tempfile.mkdtemp(prefix="exeml-label-check-"))
    try:
        with job_heartbeat(job.pk):
            _check(job, workdir)
        job_transition(job_id=job.pk, status=JobStatus.SUCCEEDED)
    except JOB_STOPPED:
        pass  # cancelled or stalled: the heartbeat recorded it
    except Exception as exc:  # noqa: BLE001 - the job row carries the reason
        log.exception("label check %s failed", job.pk)
        try:
            job_transition(job_id=job.pk, status=JobStatus.FAILED, detail=getattr(exc, "message", None) or str(exc))
        except WrongState:
            pass
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
        usage_record_finished(resource=LABEL_CHECK_KIND, resource_id=job.pk,
                              resource_name=str(job.params.get("dataset")), start=started, end=timezone.now())


def _check(job: Job, workdir: Path) -> None:
    from training.engine import label_quality

    dataset = Dataset.objects.select_related("tenant").get(pk=job.params["dataset"])
    labelled = _labelled(dataset)
    counts: dict[str, int] = {}
    for _, label in labelled:
        counts[label] = counts.get(label, 0) + 1
    classes = sorted(c for c, n in counts.items() if n >= MIN_PER_CLASS)
    if len(classes) < 2:
        raise ApplicationError(f"at least two labels with {MIN_PER_CLASS}+ samples each are needed")
    labelled = [(s, lb) for s, lb in labelled if lb in counts and counts[lb] >= MIN_PER_CLASS]
    index = {c: i for i, c in enumerate(classes)}
    y = np.array([index[lb] for _, lb in labelled])
    job_progress(job=job, progress=0.05, counts={"samples": len(labelled), "labels": len(classes)})
    if dataset.task_type == TaskType.TEXT_CLASSIFICATION:
        suspects = label_quality.text_suspects([s.text for s, _ in labelled], y, n_classes=len(classes))
    else:
        store = store_for_tenant(dataset.tenant)
        paths = []
        for n, (sample, _) in enumerate(labelled, start=1):
            src = parse_storage_path(sample.source)
            local = workdir / f"{n}-{Path(src.key).name}"
            # Each download waits in short steps: a cancel or a stall stops the job inside a hung read.
            job_wait(lambda src=src, local=local: store.download_to(src.bucket, src.key, local))
            paths.append(str(local))
            if n % 100 == 0:
                job_progress(job=job, progress=0.05 + 0.45 * n / len(labelled))
        run = label_quality.image_suspects if dataset.task_type == TaskType.IMAGE_CLASSIFICATION else label_quality.sound_suspects
        suspects = run(paths, y, n_classes=len(classes))
    issues = [
        SuspectedError(
            sample_id=labelled[s.index][0].pk, given_label=classes[s.given], suggested_label=classes[s.suggested],
            given_probability=s.given_probability, suggested_probability=s.suggested_probability,
        )
        for s in suspects
    ]
    job_checkpoint()  # cancelled while the model ran: the earlier issues stay as they were
    stored = label_issues_replace(dataset=dataset, job_id=job.pk, issues=issues)
    job_progress(job=job, progress=1.0, result={"issues": stored, "checked": len(labelled)})
