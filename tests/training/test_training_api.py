"""Train requests, preconditions, validation, permissions: no worker needed (the enqueue
runs on commit, which these transaction-wrapped tests never reach)."""

from __future__ import annotations

import pytest
from django.test import override_settings

from exeml.tenancy.models import UsageRecord
from exeml.tenancy.scoping import unscoped
from tests.training.helpers_training import make_flavor, tabular_project, text_project, train
from training import services
from training.models import ModelVersion

pytestmark = pytest.mark.django_db


def test_train_check_and_post_refuse_with_the_unmet_preconditions(owner, store):
    project = text_project(owner, store, per_class=10)  # the guide wants more than 20 per class
    r = owner.client.get(f"/api/v1/projects/{project.pk}/train-check")
    assert r.status_code == 200
    body = r.json()
    assert body["ok"] is False
    assert any("more than 20" in reason for reason in body["reasons"]), body

    r = train(owner, project)
    assert r.status_code == 400
    assert r.json()["reasons"] == body["reasons"]
    assert r.json()["detail"] == body["reasons"][0]
    with owner.scope():
        assert not ModelVersion.objects.filter(project=project).exists()


def test_continuous_label_on_a_text_column_is_refused_before_training(owner, store):
    project = tabular_project(owner, store, label_column="attr_2", label_type="continuous")
    body = owner.client.get(f"/api/v1/projects/{project.pk}/train-check").json()
    assert body["ok"] is False
    assert "non-numeric" in body["reasons"][0]
    assert train(owner, project).status_code == 400


def test_train_creates_queued_numbered_versions_with_params(owner, store):
    owner.tenant.quota.max_running_trainings_per_project = 10  # several versions queued at once
    owner.tenant.quota.save()
    project = text_project(owner, store)
    assert owner.client.get(f"/api/v1/projects/{project.pk}/train-check").json() == {"ok": True, "reasons": []}
    r = train(owner, project, max_minutes=30, preference="accuracy_first", train_ratio=0.75)
    assert r.status_code == 202, r.content
    v1 = r.json()
    assert v1["name"] == "V001"
    assert v1["status"] == "queued"
    assert v1["queue_position"] >= 1
    assert v1["flavor"] == "train-cpu-ci3"
    assert v1["params"] == {
        "train_ratio": 0.75, "max_minutes": 30, "preference": "accuracy_first", "flavor": "train-cpu-ci3",
        "incremental_from": None, "refit_on_all": True,
    }
    assert v1["dataset_version"]["name"] == "V001"
    # The same dataset version can be trained again; numbering goes on.
    r = train(owner, project, dataset_version=v1["dataset_version"]["id"], refit_on_all=False)
    assert r.status_code == 202, r.content
    v2 = r.json()
    assert v2["params"]["refit_on_all"] is False
    assert v2["name"] == "V002" and v2["dataset_version"]["id"] == v1["dataset_version"]["id"]
    assert v2["queue_position"] == v1["queue_position"] + 1

    listed = owner.client.get(f"/api/v1/projects/{project.pk}/versions").json()
    assert listed["count"] == 2
    assert [v["name"] for v in listed["results"]] == ["V002", "V001"]
    assert "eval_predictions" not in listed["results"][0]
    by_name = owner.client.get(f"/api/v1/projects/{project.pk}/versions/v001").json()
    assert by_name["id"] == v1["id"]
    detail = owner.client.get(f"/api/v1/projects/{project.pk}/versions/{v1['id']}?include=eval_predictions").json()
    assert detail["eval_predictions"] == []


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"train_ratio": 1.0}, "train_ratio"),
        ({"train_ratio": 0}, "train_ratio"),
        ({"max_minutes": 5}, "max_minutes"),
        ({"max_minutes": 6001}, "max_minutes"),
        ({"preference": "fastest"}, "preference"),
        ({"flavor": "no-such-flavor"}, "flavor"),
        ({"flavor": "train-free-gpu", "max_minutes": 61}, "max_minutes"),
        ({"incremental_from": "V001"}, "incremental_from"),  # no completed V001 to start from
        ({"refit_on_all": "sometimes"}, "refit_on_all"),
    ],
)
def test_train_parameters_are_validated(owner, store, body, field):
    project = text_project(owner, store)
    r = train(owner, project, **body)
    assert r.status_code == 400, r.content
    assert field in r.json(), r.json()


def test_predictive_analytics_trains_on_cpu_flavors_only(owner, store):
    project = tabular_project(owner, store)
    r = train(owner, project, flavor="train-gpu-ci1")
    assert r.status_code == 400
    assert "flavor" in r.json()


def test_dataset_version_must_belong_to_the_project(owner, store):
    first, second = text_project(owner, store), text_project(owner, store)
    v = train(owner, first).json()
    r = train(owner, second, dataset_version=v["dataset_version"]["id"])
    assert r.status_code == 400 and "dataset_version" in r.json()


def test_concurrent_training_quota(owner, store):
    project = text_project(owner, store)
    quota = owner.tenant.quota
    quota.max_concurrent_trainings = 1
    quota.save()
    assert train(owner, project).status_code == 202
    r = train(owner, project)
    assert r.status_code == 403
    assert r.json()["quota"] == "max_concurrent_trainings" and r.json()["used"] == 1
    reasons = owner.client.get(f"/api/v1/projects/{project.pk}/train-check").json()["reasons"]
    assert any("max_concurrent_trainings" in reason for reason in reasons)


def test_monthly_training_minutes_quota(owner, store):
    project = text_project(owner, store)
    quota = owner.tenant.quota
    quota.max_training_minutes_per_month = 10
    quota.save()
    with owner.scope():
        from django.utils import timezone

        UsageRecord.objects.create(
            resource="training", resource_id=project.pk, start=timezone.now(), end=timezone.now(), minutes=10.5
        )
    r = train(owner, project)
    assert r.status_code == 403 and r.json()["quota"] == "max_training_minutes_per_month"


def test_stop_a_queued_version_then_409(owner, store):
    project = text_project(owner, store)
    v = train(owner, project).json()
    r = owner.client.post(f"/api/v1/projects/{project.pk}/versions/{v['id']}/stop")
    assert r.status_code == 200
    assert r.json()["status"] == "stopped" and r.json()["queue_position"] is None
    assert r.json()["finished_at"] is not None
    r = owner.client.post(f"/api/v1/projects/{project.pk}/versions/{v['id']}/stop")
    assert r.status_code == 409 and r.json()["status"] == "stopped"
    logs = owner.client.get(f"/api/v1/projects/{project.pk}/versions/V001/logs").json()
    assert logs["lines"] == ["stopped before it started"]
    with owner.scope():
        # It never ran: no usage is recorded.
        assert not UsageRecord.objects.filter(resource_id=v["id"]).exists()


def test_transitions_are_checked(owner, store):
    from exeml.errors import WrongState
    from training.transitions import version_transition

    project = text_project(owner, store)
    v = train(owner, project).json()
    with owner.scope():
        version_transition(version_id=v["id"], status="failed", error="boom")
        with pytest.raises(WrongState):
            version_transition(version_id=v["id"], status="running")


def test_other_tenants_get_404_and_viewers_403(owner, viewer, outsider, store):
    project = text_project(owner, store)
    v = train(owner, project).json()
    base = f"/api/v1/projects/{project.pk}"
    for url in (f"{base}/versions", f"{base}/versions/{v['id']}", f"{base}/versions/V001",
                f"{base}/versions/{v['id']}/logs", f"{base}/train-check"):
        assert outsider.client.get(url).status_code == 404, url
    assert outsider.client.post(f"{base}/train", {}, format="json").status_code == 404
    assert outsider.client.post(f"{base}/versions/{v['id']}/stop").status_code == 404

    assert viewer.client.get(f"{base}/versions").status_code == 200
    assert viewer.client.get(f"{base}/versions/V001").status_code == 200
    assert viewer.client.post(f"{base}/train", {}, format="json").status_code == 403
    assert viewer.client.post(f"{base}/versions/{v['id']}/stop").status_code == 403
    assert owner.client.get(f"{base}/versions/V999").status_code == 404


def test_reaper_fails_silent_running_versions(owner, store):
    project = text_project(owner, store)
    v = train(owner, project, flavor=make_flavor(queue="train.nobody").code).json()
    with owner.scope():
        from datetime import timedelta

        from django.utils import timezone

        from training.transitions import version_transition

        version_transition(version_id=v["id"], status="running", worker="gone:1")
        ModelVersion.objects.filter(pk=v["id"]).update(heartbeat_at=timezone.now() - timedelta(seconds=300))
    with override_settings(EXEML_HEARTBEAT_TIMEOUT_SECONDS=120):
        reaped = services.reap_stale_versions()
    with owner.scope():
        failed = ModelVersion.objects.get(pk=v["id"])
    assert reaped == [failed.pk]
    assert failed.status == "failed"
    assert failed.error.startswith("the training worker stopped responding (no heartbeat for 30")
    with unscoped():
        assert UsageRecord.all_tenants.filter(resource_id=failed.pk).count() == 1


def test_version_list_has_no_n_plus_one(owner, store, django_assert_max_num_queries):
    project = text_project(owner, store)
    owner.tenant.quota.max_concurrent_trainings = 10
    owner.tenant.quota.max_running_trainings_per_project = 10
    owner.tenant.quota.save()
    frozen = train(owner, project).json()["dataset_version"]["id"]
    url = f"/api/v1/projects/{project.pk}/versions"
    # auth + membership + project + count + page + queue positions; not one per version.
    with django_assert_max_num_queries(8):
        assert owner.client.get(url).json()["count"] == 1
    for _ in range(4):
        assert train(owner, project, dataset_version=frozen).status_code == 202
    with django_assert_max_num_queries(8):
        assert owner.client.get(url).json()["count"] == 5


def test_train_check_counts_images_with_several_labels_in_a_single_label_project(owner, store):
    """An import from storage (txt label files) may bring several labels per image; the
    single-label trainer would fail on them, so the check says how many and what to do."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from projects.models import Project
    from tests.labeling.labelkit import image_samples, label, make_dataset

    dataset = make_dataset(owner, "image_classification")
    samples = image_samples(owner, store, dataset, n=12)
    for i, sample in enumerate(samples):
        label(owner, sample, ["circle" if i % 2 else "square"])
    with owner.scope():
        project = Project.objects.create(name="single1", task_type="image_classification", dataset=dataset,
                                         created_by=owner.user)
    url = f"/api/v1/projects/{project.pk}/train-check"
    assert owner.client.get(url).json() == {"ok": True, "reasons": []}
    with CaptureQueriesContext(connection) as one:
        owner.client.get(url)

    for sample in samples[:3]:
        label(owner, sample, ["circle", "square"])  # as an import of a two-line .txt label file leaves it
    with CaptureQueriesContext(connection) as three:
        body = owner.client.get(url).json()
    expected = "3 images carry several labels; keep one each or make the project multi-label"
    assert body == {"ok": False, "reasons": [expected]}
    # With one label each the counters answer (the labels' sample counts add up to the
    # labelled samples) and no annotation is read; with several, one aggregate, not a query
    # per image.
    assert not any('"datasets_annotation"' in q["sql"] for q in one.captured_queries)
    assert len(three.captured_queries) == len(one.captured_queries) + 1
    r = train(owner, project)
    assert r.status_code == 400 and r.json()["reasons"] == [expected]

    with owner.scope():
        Project.objects.filter(pk=project.pk).update(multi_label=True)
    assert owner.client.get(url).json() == {"ok": True, "reasons": []}
