"""The Celery app: broker from settings, queues from exeml.queues, beat schedule here."""

from __future__ import annotations

import os

from celery import Celery
from kombu import Queue as KombuQueue

from exeml import broker
from exeml.queues import ALL_QUEUES, Queue

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "exeml.settings")
# Workers never reach the network and never spin idle threads (ML-NOTES.md).
for _name, _value in {
    "OMP_WAIT_POLICY": "PASSIVE",
    "ORT_DISABLE_TELEMETRY": "1",
    "HF_HUB_OFFLINE": "1",
    "TRANSFORMERS_OFFLINE": "1",
    "YOLO_OFFLINE": "1",
    "YOLO_AUTOINSTALL": "0",
}.items():
    os.environ.setdefault(_name, _value)

broker.install()
app = Celery("exeml")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.conf.task_queues = [KombuQueue(name) for name in ALL_QUEUES]
app.conf.task_default_queue = Queue.DEFAULT.value
app.conf.task_acks_late = True
# A task whose pool process dies goes back to the queue; the runner resumes only a training
# whose heartbeat went silent, at most EXEML_MAX_TRAINING_RESTARTS times.
app.conf.task_reject_on_worker_lost = True
app.conf.worker_prefetch_multiplier = 1
app.conf.task_ignore_result = True
app.conf.broker_connection_retry_on_startup = True
app.conf.worker_hijack_root_logger = False
# Several beats may run (a hot standby on another host): only the lock's holder acts.
app.conf.beat_scheduler = "exeml.beat:LeaderScheduler"


def _beat_schedule() -> dict:
    from django.conf import settings

    every = settings.CELERY_BEAT_INTERVAL_SECONDS
    # Periodic tasks, declared in one place.
    # Ticks missed while the workers were busy expire instead of piling up in the queue.
    options = {"expires": every}
    lost = settings.EXEML_WORKER_LOST_CHECK_SECONDS
    return {
        "reap-stale-training": {"task": "training.reap_stale_versions", "schedule": every, "options": options},
        # A training whose worker died is handed back in seconds, not after the heartbeat window.
        "reap-lost-training": {"task": "training.reap_lost_trainings", "schedule": lost, "options": {"expires": lost}},
        "autostop-services": {"task": "serving.autostop_services", "schedule": every, "options": options},
    }


@app.on_after_configure.connect
def _configure_beat(sender, **kwargs) -> None:
    sender.conf.beat_schedule = _beat_schedule()


app.autodiscover_tasks(["exeml", "projects", "datasets", "labeling", "training", "serving"])
