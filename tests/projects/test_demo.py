"""Demo projects: one per type, synchronized at once, quick."""

from __future__ import annotations

import io

import pytest
from django.core.management import CommandError, call_command

from projects.demo import install_demo


@pytest.mark.django_db(transaction=True)
def test_install_demo_creates_five_synced_projects(owner, store):
    # Committed rows: each sync's heartbeat thread reads its job on a connection of its own, and
    # a job it cannot see has ended for it (a sync longer than its 1-s poll, here the detection
    # demo on a busy machine, then stopped with nothing imported).
    projects = install_demo(tenant=owner.tenant, user=owner.user)
    assert sorted(p.task_type for p in projects) == sorted([
        "image_classification", "object_detection", "predictive_analytics", "sound_classification",
        "text_classification"])
    listed = {p["name"]: p for p in owner.client.get("/api/v1/projects").json()["results"]}
    assert set(listed) == {"demo-images", "demo-detection", "demo-table", "demo-sound", "demo-text"}
    for name, project in listed.items():
        detail = owner.client.get(f"/api/v1/projects/{project['id']}").json()
        counts = detail["dataset_counts"]
        assert counts["sample_count"] > 0, name
        if name != "demo-table":
            assert counts["labeled_count"] > 0, name
    table = owner.client.get(f"/api/v1/projects/{listed['demo-table']['id']}").json()
    assert (table["label_column"], table["label_type"]) == ("attr_8", "discrete")
    # Idempotent, and the command `exeml run` calls (by name, so exeml needs nothing from projects).
    out = io.StringIO()
    call_command("demo_install", tenant=owner.tenant.slug, user=owner.user.username, stdout=out)
    assert sorted(out.getvalue().split(": ", 1)[1].strip().split(", ")) == sorted(listed)
    assert owner.client.get("/api/v1/projects").json()["count"] == 5


@pytest.mark.django_db
def test_demo_install_refuses_an_unknown_tenant(owner):
    with pytest.raises(CommandError, match="no tenant 'nobody'"):
        call_command("demo_install", tenant="nobody", user=owner.user.username)
