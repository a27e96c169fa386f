"""Celery queues, in one enum."""

from enum import StrEnum


class Queue(StrEnum):
    DEFAULT = "default"
    TRAIN_CPU = "train.cpu"
    TRAIN_GPU = "train.gpu"
    TRAIN_FREE = "train.free"


ALL_QUEUES = [q.value for q in Queue]
