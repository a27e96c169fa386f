"""REFERENCE.md: the guide's limits are defaults of settings, not literals in code."""

from __future__ import annotations

import uuid

import pytest
from django.test import override_settings

from tests.contract.shapes import assert_field_error
from tests.labeling.labelkit import image_samples, label, make_dataset

pytestmark = pytest.mark.django_db


def _project_with(owner, store, per_class: int):
    from projects.models import Project

    ds = make_dataset(owner, "image_classification")
    for i, sample in enumerate(image_samples(owner, store, ds, n=2 * per_class)):
        label(owner, sample, ["a" if i % 2 else "b"])
    with owner.scope():
        return Project.objects.create(name="p" + uuid.uuid4().hex[:6], task_type="image_classification", dataset=ds)


def test_train_minimum_per_class_is_a_setting(owner, store):
    project = _project_with(owner, store, per_class=2)
    url = f"/api/v1/projects/{project.pk}/train-check"
    body = owner.client.get(url).json()
    assert body["ok"] is False and any("at least 5" in r for r in body["reasons"])
    with override_settings(EXEML_TRAIN_MIN_PER_CLASS={"image_classification": 2}):
        assert owner.client.get(url).json() == {"ok": True, "reasons": []}


def test_train_minutes_bounds_are_settings(owner, store):
    project = _project_with(owner, store, per_class=5)
    url = f"/api/v1/projects/{project.pk}/train"
    with override_settings(EXEML_MAX_TRAIN_MINUTES=100):
        assert_field_error(owner.client.post(url, {"max_minutes": 101}, format="json"), "max_minutes")


def test_auto_stop_hours_are_settings(owner):
    from serving.services import auto_stop_parse

    assert auto_stop_parse(None) == (True, 1.0)
    with override_settings(EXEML_AUTO_STOP_MAX_HOURS=48, EXEML_AUTO_STOP_DEFAULT_HOURS=2):
        assert auto_stop_parse({"enabled": True, "hours": 30}) == (True, 30.0)
        assert auto_stop_parse(None) == (True, 2.0)
