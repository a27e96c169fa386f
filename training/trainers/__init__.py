"""Registry of trainers by task type; imports are lazy so the web process stays light."""

from __future__ import annotations

import importlib

from .base import Trainer

_REGISTRY: dict[str, str] = {
    "predictive_analytics": "training.trainers.tabular:TabularTrainer",
    "text_classification": "training.trainers.text:TextTrainer",
    "sound_classification": "training.trainers.sound:SoundTrainer",
    "image_classification": "training.trainers.image:ImageTrainer",
    "object_detection": "training.trainers.detection:DetectionTrainer",
}


def get_trainer(task_type: str) -> Trainer:
    try:
        target = _REGISTRY[task_type]
    except KeyError:
        raise ValueError(f"no trainer for task type {task_type!r}") from None
    module_name, class_name = target.split(":")
    return getattr(importlib.import_module(module_name), class_name)()
