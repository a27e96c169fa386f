"""Registry of trainers by task type; imports are lazy so the web process stays light."""

from __future__ import annotations

import importlib

from training.engine.spec import Trainer

_REGISTRY: dict[str, str] = {
    "predictive_analytics": "training.engine.trainers.tabular:TabularTrainer",
    "text_classification": "training.engine.trainers.text:TextTrainer",
    "sound_classification": "training.engine.trainers.sound:SoundTrainer",
    "image_classification": "training.engine.trainers.image:ImageTrainer",
    "object_detection": "training.engine.trainers.detection:DetectionTrainer",
}


def get_trainer(task_type: str) -> Trainer:
    try:
        target = _REGISTRY[task_type]
    except KeyError:
        raise ValueError(f"no trainer for task type {task_type!r}") from None
    module_name, class_name = target.split(":")
    return getattr(importlib.import_module(module_name), class_name)()
