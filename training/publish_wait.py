"""A training of a large dataset waits for the dataset_version job that publishes its data.

The train request starts that job and answers at once (``services._publish_training_data``);
the run, on a training worker, waits here for the job (run by any worker on the default
queue), reporting its progress as the version's phase, then trains on the version it wrote.
A stop request ends the wait (the job still publishes: the dataset version is kept, usable by
the next training). A job that fails or is cancelled fails the training with its reason.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from exeml.jobs.models import Job, JobStatus
from training.engine.spec import TrainingError
from training.models import ModelVersion

logger = logging.getLogger("training.runner")

POLL_SECONDS = 1.0
# A job that has not finished in this long (no worker consumes the default queue, say) fails
# the training with a reason instead of holding a training worker for ever.
WAIT_LIMIT_SECONDS = 3600.0


def await_dataset_version(
    version: ModelVersion, report: Callable[[str, float], None], *, clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> None:
    """Sets ``version.dataset_version`` once its publishing job has succeeded; raises
    TrainingError when the job failed, or StopTraining (from ``report``) when stopped."""
    if version.dataset_version_id is not None:
        return
    job_id = version.params.get("dataset_version_job")
    if not job_id:
        raise TrainingError("the version has no dataset version and no job publishing one")
    started = clock()
    logger.info("waiting for job %s to publish the dataset version this training trains on", job_id)
    while True:
        job = Job.objects.filter(pk=job_id).first()
        if job is None:
            raise TrainingError("the job publishing the training data was deleted")
        if job.status == JobStatus.SUCCEEDED:
            ModelVersion.objects.filter(pk=version.pk).update(dataset_version_id=job.result["version"])
            version.refresh_from_db(fields=["dataset_version"])
            logger.info("dataset version %s published in %.1f s", version.dataset_version.name, clock() - started)
            return
        if job.status in (JobStatus.FAILED, JobStatus.CANCELLED):
            raise TrainingError(f"the training data could not be published ({job.status}): {job.detail or 'no reason given'}")
        if clock() - started > WAIT_LIMIT_SECONDS:
            raise TrainingError(
                f"the training data was not published within {WAIT_LIMIT_SECONDS / 60:.0f} min (job {job_id} is "
                f"{job.status}); is a worker consuming the default queue?"
            )
        written, total = int(job.counts.get("samples_written", 0)), int(job.counts.get("samples", 0))
        report(f"publishing data {written}/{total}" if total else "publishing data", 0.0)
        sleep(POLL_SECONDS)
