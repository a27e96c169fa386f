"""Team labeling (issue 27): tasks and their locks, review, "only reviewed" training, history."""

from __future__ import annotations

import threading

import pytest
from django.db import connection

from datasets.models import Sample
from exeml.tenancy.models import Role
from labeling.models import AnnotationEvent, LabelingTask
from projects.models import Project
from tests.conftest import Actor, _unique
from tests.labeling.labelkit import make_dataset, text_samples

pytestmark = pytest.mark.django_db


@pytest.fixture
def team(tenant, owner):
    return {
        "owner": owner,
        "alice": Actor(tenant, _unique("alice"), Role.LABELER),
        "bob": Actor(tenant, _unique("bob"), Role.LABELER),
        "rita": Actor(tenant, _unique("rita"), Role.REVIEWER),
    }


def _dataset(owner, store, n=12):
    ds = make_dataset(owner, "text_classification")
    samples = text_samples(owner, store, ds, [f"line number {i}" for i in range(n)])
    return ds, samples


def _tasks(owner, ds, team, per_task=3, **extra):
    r = owner.client.post(
        f"/api/v1/datasets/{ds.pk}/tasks",
        {"assignees": [team["alice"].user.username, team["bob"].user.username], "per_task": per_task, **extra},
        format="json",
    )
    assert r.status_code == 201, r.content
    return r.json()


def _label(actor, ds, sample_id, label="pos"):
    return actor.client.put(
        f"/api/v1/datasets/{ds.pk}/samples/{sample_id}/annotations", {"labels": [label]}, format="json"
    )


def _samples_of(actor, ds, task_id):
    r = actor.client.get(f"/api/v1/datasets/{ds.pk}/samples", {"task": task_id, "page_size": 100})
    assert r.status_code == 200, r.content
    return r.json()["results"]


def test_tasks_split_the_unlabelled_samples_round_robin(team, store):
    owner = team["owner"]
    ds, samples = _dataset(owner, store, n=10)
    created = _tasks(owner, ds, team, per_task=3)
    assert [t["size"] for t in created] == [3, 3, 3, 1]
    alice, bob = team["alice"].user.username, team["bob"].user.username
    assert [t["assignee"] for t in created] == [alice, bob, alice, bob]
    assert all(t["status"] == "open" and t["progress"]["total"] == t["size"] for t in created)
    # Every sample is held by exactly one task; a second split finds nothing left.
    with owner.scope():
        held = Sample.objects.filter(dataset=ds).exclude(task_id=None)
        assert held.count() == 10
        assert held.values("task_id").distinct().count() == 4
    again = owner.client.post(
        f"/api/v1/datasets/{ds.pk}/tasks", {"assignees": [alice], "per_task": 5}, format="json"
    )
    assert again.status_code == 409 and again.json()["status"] == "no_samples"
    # "My tasks": alice sees her two.
    mine = team["alice"].client.get(f"/api/v1/datasets/{ds.pk}/tasks", {"assignee": "me"}).json()
    assert [t["id"] for t in mine["results"]] == [created[0]["id"], created[2]["id"]]


def test_tasks_refuse_unknown_or_unable_assignees_and_keep_nothing(team, store, viewer):
    owner = team["owner"]
    ds, _ = _dataset(owner, store, n=4)
    for assignees, fragment in (
        (["nobody-" + _unique("x")], "not members"),
        ([viewer.user.username], "cannot label"),
    ):
        r = owner.client.post(f"/api/v1/datasets/{ds.pk}/tasks", {"assignees": assignees, "per_task": 2},
                              format="json")
        assert r.status_code == 400 and fragment in r.json()["assignees"][0], r.content
    with owner.scope():
        assert not LabelingTask.objects.exists()
        assert not Sample.objects.exclude(task_id=None).exists()


def test_one_task_per_folder(team, store):
    owner = team["owner"]
    ds = make_dataset(owner, "text_classification")
    text_samples(owner, store, ds, ["a", "b"], file="north/x.txt")
    text_samples(owner, store, ds, ["c", "d", "e"], file="south/y.txt")
    r = owner.client.post(
        f"/api/v1/datasets/{ds.pk}/tasks", {"assignees": [team["alice"].user.username], "by_folder": True},
        format="json",
    )
    assert r.status_code == 201, r.content
    created = r.json()
    assert sorted((t["name"].rsplit(" · ", 1)[1], t["size"]) for t in created) == [("north", 2), ("south", 3)]


def test_a_labeler_cannot_save_into_another_labelers_sample(team, store):
    owner, alice, bob = team["owner"], team["alice"], team["bob"]
    ds, _ = _dataset(owner, store, n=6)
    t_alice, t_bob = _tasks(owner, ds, team, per_task=3)
    mine = _samples_of(alice, ds, t_alice["id"])
    theirs = _samples_of(alice, ds, t_bob["id"])
    assert {s["assignee"] for s in theirs} == {bob.user.username}
    assert _label(alice, ds, mine[0]["id"]).status_code == 200
    r = _label(alice, ds, theirs[0]["id"])
    assert r.status_code == 409, r.content
    body = r.json()
    assert body["status"] == "locked" and body["held_by"] == bob.user.username
    assert bob.user.username in body["detail"]
    # A batch touching one locked sample changes none of them.
    r = alice.client.post(
        f"/api/v1/datasets/{ds.pk}/annotations/batch",
        {"sample_ids": [mine[1]["id"], theirs[1]["id"]], "add": ["neg"]}, format="json",
    )
    assert r.status_code == 409 and r.json()["held_by"] == bob.user.username
    with owner.scope():
        assert not Sample.objects.get(pk=mine[1]["id"]).labeled
        assert not Sample.objects.get(pk=theirs[1]["id"]).labeled
    # The owner is held back too: the lock is the assignee's.
    assert _label(owner, ds, theirs[0]["id"]).status_code == 409


@pytest.mark.django_db(transaction=True)
def test_two_labelers_label_their_own_tasks_at_the_same_time(team, store):
    owner, alice, bob = team["owner"], team["alice"], team["bob"]
    ds, _ = _dataset(owner, store, n=16)
    t_alice, t_bob = _tasks(owner, ds, team, per_task=8)
    plans = {
        "alice": (alice, [s["id"] for s in _samples_of(alice, ds, t_alice["id"])]),
        "bob": (bob, [s["id"] for s in _samples_of(bob, ds, t_bob["id"])]),
    }
    codes: dict[str, list[int]] = {"alice": [], "bob": []}
    start = threading.Barrier(2)

    def work(name: str) -> None:
        actor, ids = plans[name]
        try:
            start.wait()
            for sid in ids:
                codes[name].append(_label(actor, ds, sid, "pos" if name == "alice" else "neg").status_code)
        finally:
            connection.close()

    threads = [threading.Thread(target=work, args=(n,)) for n in plans]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert codes == {"alice": [200] * 8, "bob": [200] * 8}
    for name, task in (("alice", t_alice), ("bob", t_bob)):
        samples = _samples_of(owner, ds, task["id"])
        assert {tuple(s["labels"]) for s in samples} == {("pos",) if name == "alice" else ("neg",)}


def test_review_rejection_goes_back_to_the_labeler_with_the_comment(team, store):
    owner, alice, rita = team["owner"], team["alice"], team["rita"]
    ds, _ = _dataset(owner, store, n=6)
    task = _tasks(owner, ds, team, per_task=3)[0]
    base = f"/api/v1/datasets/{ds.pk}/tasks/{task['id']}"
    ids = [s["id"] for s in _samples_of(alice, ds, task["id"])]
    # Not all labelled: submit refuses, naming how many.
    _label(alice, ds, ids[0])
    r = alice.client.post(f"{base}/submit")
    assert r.status_code == 409 and "2 sample(s)" in r.json()["detail"]
    for sid in ids[1:]:
        assert _label(alice, ds, sid).status_code == 200
    # Only the assignee submits; a reviewer cannot label.
    assert team["bob"].client.post(f"{base}/submit").status_code == 409
    assert _label(rita, ds, ids[0], "neg").status_code == 403
    r = alice.client.post(f"{base}/submit")
    assert r.status_code == 200 and r.json()["status"] == "in_review"
    # In review, nobody changes the samples, the labeler included; a labeler cannot review.
    assert _label(alice, ds, ids[0], "neg").json()["status"] == "in_review"
    decisions = [{"sample_id": sid, "decision": "accept"} for sid in ids[:2]]
    assert alice.client.post(f"{base}/review", {"decisions": decisions}, format="json").status_code == 403
    # A rejection needs a comment.
    r = rita.client.post(f"{base}/review", {"decisions": [{"sample_id": ids[2], "decision": "reject"}]},
                         format="json")
    assert r.status_code == 400 and "comment" in str(r.json())
    decisions.append({"sample_id": ids[2], "decision": "reject", "comment": "this one is negative"})
    r = rita.client.post(f"{base}/review", {"decisions": decisions}, format="json")
    assert r.status_code == 200, r.content
    assert r.json()["status"] == "open" and r.json()["returned"] == 1
    assert r.json()["progress"] == {"total": 3, "labeled": 3, "accepted": 2, "rejected": 1}
    # The labeler sees the comment on the sample, and fixes it: its review starts over.
    rejected = [s for s in _samples_of(alice, ds, task["id"]) if s["review"]["status"] == "rejected"]
    assert [(s["id"], s["review"]["comment"], s["review"]["by"]) for s in rejected] == [
        (ids[2], "this one is negative", rita.user.username)
    ]
    assert _label(alice, ds, ids[2], "neg").status_code == 200
    assert alice.client.post(f"{base}/submit").json()["status"] == "in_review"
    r = rita.client.post(f"{base}/review", {"decisions": [{"sample_id": ids[2], "decision": "accept"}]},
                         format="json")
    assert r.json()["status"] == "done"
    # Done: the lock is gone, the reviews stay on the samples.
    with owner.scope():
        rows = list(Sample.objects.filter(pk__in=ids))
        assert all(s.task_id is None and s.assignee_id is None for s in rows)
        assert {s.review_status for s in rows} == {"accepted"}
    # Any later change voids the sample's review.
    assert _label(owner, ds, ids[0], "neg").status_code == 200
    with owner.scope():
        assert Sample.objects.get(pk=ids[0]).review_status == ""


def test_only_reviewed_annotations_block_training_until_review(team, store):
    owner, alice, rita = team["owner"], team["alice"], team["rita"]
    ds, _ = _dataset(owner, store, n=4)
    with owner.scope():
        project = Project.objects.create(name=_unique("p")[:20], task_type="text_classification", dataset=ds)
    check = f"/api/v1/projects/{project.pk}/train-check"
    task = _tasks(owner, ds, team, per_task=4)[0]
    ids = [s["id"] for s in _samples_of(alice, ds, task["id"])]
    for sid in ids:
        _label(alice, ds, sid)

    def review_reason() -> list[str]:
        return [r for r in owner.client.get(check).json()["reasons"] if "review" in r]

    assert review_reason() == []  # off by default
    r = owner.client.patch(f"/api/v1/projects/{project.pk}", {"require_review": True}, format="json")
    assert r.status_code == 200 and r.json()["require_review"] is True
    assert review_reason() and review_reason()[0].startswith("4 labelled sample(s)")
    r = owner.client.post(f"/api/v1/projects/{project.pk}/train", {}, format="json")
    assert r.status_code in (400, 409) and "review" in str(r.json())
    alice.client.post(f"/api/v1/datasets/{ds.pk}/tasks/{task['id']}/submit")
    rita.client.post(
        f"/api/v1/datasets/{ds.pk}/tasks/{task['id']}/review",
        {"decisions": [{"sample_id": sid, "decision": "accept"} for sid in ids]}, format="json",
    )
    assert review_reason() == []


def test_a_samples_history_says_who_changed_what(team, store):
    owner, alice, rita = team["owner"], team["alice"], team["rita"]
    ds, _ = _dataset(owner, store, n=3)
    task = _tasks(owner, ds, team, per_task=3)[0]
    sid = _samples_of(alice, ds, task["id"])[0]["id"]
    _label(alice, ds, sid, "pos")
    _label(alice, ds, sid, "pos")  # no change: no event
    _label(alice, ds, sid, "neg")
    history = owner.client.get(f"/api/v1/datasets/{ds.pk}/samples/{sid}/history").json()["results"]
    assert [(e["username"], e["action"], e["before"], e["after"]) for e in history] == [
        (alice.user.username, "set", {"labels": []}, {"labels": ["pos"]}),
        (alice.user.username, "set", {"labels": ["pos"]}, {"labels": ["neg"]}),
    ]
    with owner.scope():
        event = AnnotationEvent.objects.filter(sample_id=sid).first()
    event.comment = "tampered"
    with pytest.raises(ValueError, match="append-only"):
        event.save()
    activity = owner.client.get(f"/api/v1/datasets/{ds.pk}/activity").json()
    assert [(a["username"], a["samples_labeled"]) for a in activity] == [(alice.user.username, 1)]
    assert rita.client.get(f"/api/v1/datasets/{ds.pk}/activity").status_code == 200


def test_cancel_and_reassign(team, store):
    owner, alice, bob = team["owner"], team["alice"], team["bob"]
    ds, _ = _dataset(owner, store, n=4)
    task = _tasks(owner, ds, team, per_task=4)[0]
    base = f"/api/v1/datasets/{ds.pk}/tasks/{task['id']}"
    assert alice.client.patch(base, {"assignee": bob.user.username}, format="json").status_code == 403
    r = owner.client.patch(base, {"assignee": bob.user.username}, format="json")
    assert r.status_code == 200 and r.json()["assignee"] == bob.user.username
    sid = _samples_of(owner, ds, task["id"])[0]["id"]
    assert _label(alice, ds, sid).status_code == 409
    assert _label(bob, ds, sid).status_code == 200
    r = owner.client.post(f"{base}/cancel")
    assert r.status_code == 200 and r.json()["status"] == "cancelled"
    with owner.scope():
        assert not Sample.objects.filter(dataset=ds).exclude(task_id=None).exists()
        assert Sample.objects.get(pk=sid).labeled  # what was labelled stays
    assert _label(alice, ds, sid, "neg").status_code == 200


def test_another_tenants_task_is_404(team, store, outsider):
    owner = team["owner"]
    ds, _ = _dataset(owner, store, n=2)
    task = _tasks(owner, ds, team, per_task=2)[0]
    assert outsider.client.get(f"/api/v1/datasets/{ds.pk}/tasks/{task['id']}").status_code == 404
    ds_other = make_dataset(outsider, "text_classification")
    assert outsider.client.get(f"/api/v1/datasets/{ds_other.pk}/tasks/{task['id']}").status_code == 404


def test_label_next_order_gives_the_most_uncertain_samples_first(team, store):
    import uuid as _uuid

    from labeling.models import Suggestion

    owner = team["owner"]
    ds, samples = _dataset(owner, store, n=6)
    with owner.scope():
        for s, uncertainty in zip(samples, [0.1, 0.9, 0.2, 0.8, 0.3, 0.7], strict=True):
            Suggestion.objects.create(dataset=ds, sample=s, source_id=_uuid.uuid4(), source_name="V001",
                                      payload={"labels": ["pos"]}, confidence=1 - uncertainty, uncertainty=uncertainty)
    first = _tasks(owner, ds, team, per_task=3, order="label_next", max_samples=3)
    assert len(first) == 1
    held = {s["id"] for s in _samples_of(owner, ds, first[0]["id"])}
    assert held == {str(samples[i].pk) for i in (1, 3, 5)}
    # The rest stay free for the next split.
    rest = _tasks(owner, ds, team, per_task=10)
    assert [t["size"] for t in rest] == [3]


def test_overlap_samples_are_labelled_blind_and_give_agreement(team, store):
    owner, alice, bob, rita = team["owner"], team["alice"], team["bob"], team["rita"]
    ds, _ = _dataset(owner, store, n=8)
    created = _tasks(owner, ds, team, per_task=4, overlap=0.5)
    label_tasks = [t for t in created if t["kind"] == "label"]
    overlap_tasks = [t for t in created if t["kind"] == "overlap"]
    assert [t["size"] for t in label_tasks] == [4, 4]
    # Half of the samples get a second labeler: never the one whose task holds them.
    assert sum(t["size"] for t in overlap_tasks) == 4
    actors = {alice.user.username: alice, bob.user.username: bob}
    holder = {}
    for t in label_tasks:
        for s in _samples_of(owner, ds, t["id"]):
            holder[s["id"]] = t["assignee"]
    # Truth alternates over the overlap samples, so each side's label counts are known.
    doubled = sorted(s["id"] for t in overlap_tasks for s in _samples_of(owner, ds, t["id"]))
    order = doubled + sorted(set(holder) - set(doubled))
    truth = {sid: ("pos" if i % 2 else "neg") for i, sid in enumerate(order)}
    for t in label_tasks:
        for s in _samples_of(owner, ds, t["id"]):
            assert _label(actors[t["assignee"]], ds, s["id"], truth[s["id"]]).status_code == 200
    disagreed = doubled[0]
    for t in overlap_tasks:
        second = actors[t["assignee"]]
        seen = _samples_of(second, ds, t["id"])
        assert all(holder[s["id"]] != t["assignee"] for s in seen)
        # Blind: the second labeler sees no labels before giving their own.
        assert all(s["labels"] == [] and not s["labeled"] for s in seen)
        for s in seen:
            answer = truth[s["id"]]
            if s["id"] == disagreed:
                answer = "neg" if answer == "pos" else "pos"
            r = _label(second, ds, s["id"], answer)
            assert r.status_code == 200 and r.json()["labels"] == [answer]
        assert second.client.post(f"/api/v1/datasets/{ds.pk}/tasks/{t['id']}/submit").json()["status"] == "done"
    # The sample's own annotations are still the first labeler's.
    with owner.scope():
        from datasets.models import Annotation

        kept = Annotation.objects.select_related("label").get(sample_id=disagreed)
        assert kept.label.name == truth[disagreed]
        assert not Sample.objects.exclude(overlap_task_id=None).exists()
    for t in label_tasks:
        base = f"/api/v1/datasets/{ds.pk}/tasks/{t['id']}"
        assert actors[t["assignee"]].client.post(f"{base}/submit").status_code == 200
        ids = [s["id"] for s in _samples_of(owner, ds, t["id"])]
        rita.client.post(f"{base}/review", {"decisions": [{"sample_id": i, "decision": "accept"} for i in ids]},
                         format="json")
    figures = owner.client.get(f"/api/v1/datasets/{ds.pk}/agreement").json()
    between = figures["between_labelers"]
    assert between["samples"] == 4 and between["exact"] == 0.75
    # 3 of 4 agree; the first side gives neg/pos twice each, the second pos 3 times: chance
    # agreement (2*1 + 2*3)/16 = 1/2, so kappa = (3/4 - 1/2) / (1 - 1/2) = 0.5.
    assert between["kappa"] == 0.5
    assert {lb["label"] for lb in between["labels"]} == {"neg", "pos"}
    assert len(figures["pairs"]) == 1
    # Against the reviewed result, each first labeler agrees fully; the second labeler's slip shows.
    by_name = {row["username"]: row for row in figures["with_reviewed"]}
    # Each labeler: their 4 samples and the 2 they labelled second.
    assert {row["samples"] for row in by_name.values()} == {6}
    assert sorted(row["exact"] for row in by_name.values()) == [round(5 / 6, 4), 1.0]


def test_overlap_needs_two_assignees(team, store):
    owner = team["owner"]
    ds, _ = _dataset(owner, store, n=4)
    r = owner.client.post(f"/api/v1/datasets/{ds.pk}/tasks",
                          {"assignees": [team["alice"].user.username], "per_task": 2, "overlap": 0.2}, format="json")
    assert r.status_code == 400 and "two assignees" in r.json()["overlap"][0]


def test_agreement_figures():
    from labeling.agreement import cohen_kappa, compare

    assert cohen_kappa(["a", "a", "b", "b"], ["a", "a", "b", "b"]) == 1.0
    assert cohen_kappa(["a", "b", "a", "b"], ["b", "a", "b", "a"]) == -1.0
    assert cohen_kappa(["a", "a"], ["a", "a"]) is None
    boxes = [{"label": "cat", "bbox": [0, 0, 10, 10]}, {"label": "dog", "bbox": [20, 20, 30, 30]}]
    shifted = [{"label": "cat", "bbox": [1, 1, 11, 11]}, {"label": "dog", "bbox": [50, 50, 60, 60]}]
    out = compare([({"labels": ["cat", "dog"], "objects": boxes}, {"labels": ["cat", "dog"], "objects": shifted})],
                  detection=True, single=False)
    assert out["f1"] == 0.5 and out["exact"] == 0.0
    assert {lb["label"]: lb["f1"] for lb in out["labels"]} == {"cat": 1.0, "dog": 0.0}


def test_activity_credits_reviews_to_who_labelled(team, store):
    owner, alice, rita = team["owner"], team["alice"], team["rita"]
    ds, _ = _dataset(owner, store, n=3)
    task = _tasks(owner, ds, team, per_task=3)[0]
    base = f"/api/v1/datasets/{ds.pk}/tasks/{task['id']}"
    ids = [s["id"] for s in _samples_of(alice, ds, task["id"])]
    for sid in ids:
        _label(alice, ds, sid)
    alice.client.post(f"{base}/submit")
    rita.client.post(f"{base}/review", {"decisions": [
        {"sample_id": ids[0], "decision": "accept"}, {"sample_id": ids[1], "decision": "accept"},
        {"sample_id": ids[2], "decision": "reject", "comment": "no"},
    ]}, format="json")
    (row,) = owner.client.get(f"/api/v1/datasets/{ds.pk}/activity").json()
    assert row["username"] == alice.user.username
    assert (row["samples_labeled"], row["reviewed"], row["accepted"], row["rejected"]) == (3, 3, 2, 1)
    assert row["acceptance_rate"] == round(2 / 3, 4)
    assert row["median_seconds_per_sample"] is not None


def test_a_dataset_version_records_who_labelled_and_who_reviewed(team, store):
    from django.test import override_settings

    from datasets.models import DatasetVersionItem
    from labeling.audit import review_missing

    owner, alice, rita = team["owner"], team["alice"], team["rita"]
    ds, _ = _dataset(owner, store, n=4)
    task = _tasks(owner, ds, team, per_task=4)[0]
    ids = [s["id"] for s in _samples_of(alice, ds, task["id"])]
    for sid in ids:
        _label(alice, ds, sid)
    alice.client.post(f"/api/v1/datasets/{ds.pk}/tasks/{task['id']}/submit")
    rita.client.post(
        f"/api/v1/datasets/{ds.pk}/tasks/{task['id']}/review",
        {"decisions": [{"sample_id": sid, "decision": "accept"} for sid in ids[:3]]}, format="json",
    )
    with override_settings(EXEML_VERSION_INLINE_MAX_SAMPLES=100):
        r = owner.client.post(f"/api/v1/datasets/{ds.pk}/versions", {"seed": 1}, format="json")
    assert r.status_code == 201, r.content
    with owner.scope():
        items = {str(i.sample_id): i for i in DatasetVersionItem.objects.filter(version_id=r.json()["id"])}
        assert {i.labeled_by for i in items.values()} == {alice.user.username}
        assert [items[sid].reviewed_by for sid in ids] == [rita.user.username] * 3 + [""]
        # "Only reviewed" judged on the frozen version counts what it recorded.
        from datasets.models import DatasetVersion

        assert review_missing(dataset=ds, version=DatasetVersion.objects.get(pk=r.json()["id"])) == 1
