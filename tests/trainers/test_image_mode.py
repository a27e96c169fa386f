"""The image trainer follows the project's single-/multi-label mode (params["multilabel"])."""

from __future__ import annotations

from training.engine.spec import TrainSample, TrainSpec
from training.engine.trainers.image import ImageTrainer, is_multilabel


def _spec(labels_per_sample, **params) -> TrainSpec:
    samples = tuple(
        TrainSample(id=str(i), usage="train", path=f"/nowhere/{i}.jpg", labels=tuple(names))
        for i, names in enumerate(labels_per_sample)
    )
    return TrainSpec(task_type="image_classification", labels=("cat", "dog", "pet"), samples=samples, params=params)


def test_the_project_mode_wins_over_the_data():
    one_each = [["cat"], ["dog"]]
    assert is_multilabel(_spec(one_each, multilabel=True)) is True  # sigmoid although no image has two labels
    assert is_multilabel(_spec(one_each, multilabel=False)) is False
    assert is_multilabel(_spec(one_each)) is False  # no mode given: read from the data, as before
    assert is_multilabel(_spec([["cat", "pet"], ["dog"]])) is True


def test_a_single_label_project_with_several_labels_on_an_image_says_so():
    reasons = ImageTrainer().validate(_spec([["cat", "pet"], ["dog"], ["cat"]], multilabel=False))
    assert any("1 image carries several labels in a single-label project" in r for r in reasons), reasons
    reasons = ImageTrainer().validate(_spec([["cat", "pet"], ["dog"], ["cat"]], multilabel=True))
    assert not any("several labels" in r for r in reasons), reasons
