"""The five ExeML project types."""

from django.db import models


class TaskType(models.TextChoices):
    IMAGE_CLASSIFICATION = "image_classification", "Image Classification"
    OBJECT_DETECTION = "object_detection", "Object Detection"
    PREDICTIVE_ANALYTICS = "predictive_analytics", "Predictive Analytics"
    SOUND_CLASSIFICATION = "sound_classification", "Sound Classification"
    TEXT_CLASSIFICATION = "text_classification", "Text Classification"


COLOR_REQUIRED = {TaskType.OBJECT_DETECTION, TaskType.TEXT_CLASSIFICATION}
SINGLE_LABEL = {TaskType.SOUND_CLASSIFICATION, TaskType.TEXT_CLASSIFICATION}
