"""Scale: keyset (cursor) pages and the trigger-kept counters.

A client following ``next`` sees every sample exactly once while samples are added and
deleted between its pages; the counters behind label stats, train-check, dataset detail and
the sample list's ``count`` equal a brute-force count after adds, deletes, relabels, status
changes and label deletion, whichever path (API, bulk statement) made the change.
"""

from __future__ import annotations

import uuid
from urllib.parse import urlsplit

import pytest

from datasets.counters import brute_force_counts, counted
from datasets.models import Annotation, Dataset, Label, Sample, SampleStatus
from tests.labeling.labelkit import make_dataset

pytestmark = pytest.mark.django_db


def _samples(actor, ds: Dataset, lines, *, source: str | None = None) -> list[Sample]:
    src = source or ds.input_path + "data.txt"
    with actor.scope():
        return Sample.objects.bulk_create([
            Sample(dataset=ds, tenant=actor.tenant, source=src, name=f"data.txt:{n}", line_number=n, text=f"line {n}")
            for n in lines
        ])


def _path(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.path}?{parts.query}"


def test_keyset_walk_sees_every_sample_once_while_rows_come_and_go(owner):
    ds = make_dataset(owner, "text_classification")
    initial = _samples(owner, ds, range(10, 460, 10))  # 45 samples, gaps for inserts
    by_line = {s.line_number: s.pk for s in initial}
    seen: list[str] = []
    deleted_ahead, added_ahead, added_behind = set(), set(), set()
    url = f"/api/v1/datasets/{ds.pk}/samples?page_size=7"
    step = 0
    while url:
        page = owner.client.get(url)
        assert page.status_code == 200, page.content
        body = page.json()
        assert body["count_is_estimate"] is False
        assert body["next"] is None or "cursor=" in body["next"]
        seen.extend(r["id"] for r in body["results"])
        last_line = body["results"][-1]["line_number"] if body["results"] else 0
        step += 1
        if not body["next"]:
            break
        # Between pages: delete one sample behind the cursor and one ahead, add one behind and one ahead.
        with owner.scope():
            behind = Sample.objects.filter(dataset=ds, line_number__lt=last_line).order_by("?").first()
            ahead = Sample.objects.filter(dataset=ds, line_number__gt=last_line + 5).order_by("-line_number").first()
            if behind is not None:
                behind.delete()
            if ahead is not None:
                deleted_ahead.add(str(ahead.pk))
                ahead.delete()
        with owner.scope():
            taken = set(Sample.objects.filter(dataset=ds).values_list("line_number", flat=True))
        behind_line = next((n for n in range(last_line - 1, 0, -1) if n not in taken), None)
        if behind_line is not None:
            added_behind.update(str(s.pk) for s in _samples(owner, ds, [behind_line]))
        ahead_line = next(n for n in range(last_line + 1, last_line + 100) if n not in taken)
        added_ahead.update(str(s.pk) for s in _samples(owner, ds, [ahead_line]))
        url = _path(body["next"])
        assert step < 40, "the walk did not end"
    assert len(seen) == len(set(seen)), "a sample came twice"
    original = {str(pk) for pk in by_line.values()}
    # Everything there from start to end was seen; what was deleted before its page was not;
    # what was added ahead of the cursor was seen; nothing added behind it was.
    with owner.scope():
        still = {str(pk) for pk in Sample.objects.filter(dataset=ds).values_list("pk", flat=True)}
    assert (original & still) - set(seen) == set()
    assert deleted_ahead & set(seen) == set()
    assert added_ahead & still <= set(seen)
    assert added_behind & set(seen) == set()


def test_previous_link_and_page_number_compatibility(owner):
    ds = make_dataset(owner, "text_classification")
    samples = _samples(owner, ds, range(1, 26))
    ids = [str(s.pk) for s in samples]
    base = f"/api/v1/datasets/{ds.pk}/samples"
    first = owner.client.get(f"{base}?page_size=10").json()
    assert [r["id"] for r in first["results"]] == ids[:10] and first["previous"] is None and first["count"] == 25
    second = owner.client.get(_path(first["next"])).json()
    assert [r["id"] for r in second["results"]] == ids[10:20]
    back = owner.client.get(_path(second["previous"])).json()
    assert [r["id"] for r in back["results"]] == ids[:10] and back["previous"] is None
    # ?page=N still answers (old clients) and its links are cursors.
    page3 = owner.client.get(f"{base}?page_size=10&page=3").json()
    assert [r["id"] for r in page3["results"]] == ids[20:] and page3["next"] is None
    assert "cursor=" in page3["previous"]
    assert owner.client.get(f"{base}?page_size=10&page=9").status_code == 404
    bad = owner.client.get(f"{base}?cursor=not-a-cursor")
    assert bad.status_code == 400 and "cursor" in bad.json()


def test_filtered_keyset_pages_and_counts(owner):
    ds = make_dataset(owner, "text_classification")
    samples = _samples(owner, ds, range(1, 31))
    with owner.scope():
        pos = Label.objects.create(dataset=ds, name="pos")
        for s in samples[::3]:
            Annotation.objects.create(sample=s, label=pos)
        Sample.objects.filter(pk__in=[s.pk for s in samples[::3]]).update(labeled=True)
    base = f"/api/v1/datasets/{ds.pk}/samples?page_size=4"
    for query, expected in (("&label=pos", samples[::3]), ("&labeled=false", [s for s in samples if s not in samples[::3]])):
        url, got = base + query, []
        while url:
            body = owner.client.get(url).json()
            assert body["count"] == len(expected)
            got += [r["id"] for r in body["results"]]
            url = _path(body["next"]) if body["next"] else None
        assert got == [str(s.pk) for s in expected]


def _assert_counters(actor, ds: Dataset) -> None:
    with actor.scope():
        assert counted(dataset=ds) == brute_force_counts(dataset=ds)
    truth = brute_force_counts(dataset=ds)
    stats = actor.client.get(f"/api/v1/datasets/{ds.pk}/label-stats").json()
    assert {lb["name"]: lb["count"] for lb in stats["labels"]} == truth["labels"]
    assert stats["labeled"] == truth["labeled"] and stats["unlabeled"] == truth["samples"] - truth["labeled"]
    detail = actor.client.get(f"/api/v1/datasets/{ds.pk}").json()
    assert (detail["sample_count"], detail["labeled_count"], detail["missing_count"]) == (
        truth["samples"], truth["labeled"], truth["missing"]
    )
    listed = actor.client.get(f"/api/v1/datasets/{ds.pk}/samples?page_size=1").json()
    assert listed["count"] == truth["samples"] and listed["count_is_estimate"] is False


@pytest.mark.parametrize("task_type", ["text_classification", "object_detection"])
def test_counters_equal_a_brute_force_count(owner, task_type):
    ds = make_dataset(owner, task_type)
    client = owner.client
    for name, color in (("a", "#ff0000"), ("b", "#00ff00"), ("c", "#0000ff")):
        r = client.post(f"/api/v1/datasets/{ds.pk}/labels", {"name": name, "color": color}, format="json")
        assert r.status_code == 201, r.content
    samples = _samples(owner, ds, range(1, 13))
    _assert_counters(owner, ds)

    def put(sample, labels):
        if task_type == "object_detection":
            body = {"objects": [{"label": lb, "bbox": [1 + i, 1, 5 + i, 5]} for i, lb in enumerate(labels)]}
        else:
            body = {"labels": labels}
        r = client.put(f"/api/v1/datasets/{ds.pk}/samples/{sample.pk}/annotations", body, format="json")
        assert r.status_code == 200, r.content

    if task_type == "object_detection":
        with owner.scope():
            Sample.objects.filter(dataset=ds).update(width=100, height=100)
        put(samples[0], ["a", "a", "b"])  # two boxes of one label: the image counts once for it
    else:
        put(samples[0], ["a"])
    for s in samples[1:6]:
        put(s, ["a"])
    put(samples[6], ["b"])
    _assert_counters(owner, ds)
    put(samples[1], ["c"])  # relabel
    put(samples[2], [])  # unlabel
    _assert_counters(owner, ds)
    if task_type == "object_detection":  # boxes are drawn one image at a time
        for s in samples[6:10]:
            put(s, ["b", "c"] if s == samples[6] else ["c"])
    else:
        r = client.post(f"/api/v1/datasets/{ds.pk}/annotations/batch",
                        {"sample_ids": [str(s.pk) for s in samples[6:10]], "add": ["c"]}, format="json")
        assert r.status_code == 200, r.content
    _assert_counters(owner, ds)
    r = client.post(f"/api/v1/datasets/{ds.pk}/samples/delete", {"ids": [str(samples[3].pk), str(samples[11].pk)]},
                    format="json")
    assert r.status_code == 200, r.content
    _assert_counters(owner, ds)
    with owner.scope():  # a sync marks files gone: one bulk UPDATE, then some come back
        Sample.objects.filter(pk__in=[samples[0].pk, samples[6].pk, samples[7].pk]).update(status=SampleStatus.MISSING)
    _assert_counters(owner, ds)
    with owner.scope():
        Sample.objects.filter(pk=samples[7].pk).update(status=SampleStatus.OK)
        Annotation.objects.filter(sample=samples[4]).delete()
        Sample.objects.filter(pk=samples[4].pk).update(labeled=False)
    _assert_counters(owner, ds)
    r = client.delete(f"/api/v1/datasets/{ds.pk}/labels/c?mode=label_and_samples")
    assert r.status_code in (200, 204), r.content
    _assert_counters(owner, ds)
    with owner.scope():  # an annotation moved to another label by a bulk statement
        b = Label.objects.get(dataset=ds, name="b")
        Annotation.objects.filter(sample=samples[5]).update(label=b)
    _assert_counters(owner, ds)
    _samples(owner, ds, [100 + i for i in range(5)], source=ds.input_path + f"{uuid.uuid4().hex}.txt")
    _assert_counters(owner, ds)


def test_label_next_pages_by_uncertainty_then_the_rest(owner):
    from labeling.models import Suggestion

    ds = make_dataset(owner, "text_classification")
    samples = _samples(owner, ds, range(1, 12))
    source_id = uuid.uuid4()
    with owner.scope():
        for i, s in enumerate(samples[:6]):
            Suggestion.objects.create(dataset=ds, sample=s, source_id=source_id, source_name="V001",
                                      payload={"labels": ["a"]}, confidence=0.5, uncertainty=i / 10)
    url, got = f"/api/v1/datasets/{ds.pk}/label-next?page_size=4", []
    while url:
        body = owner.client.get(url).json()
        assert body["count"] == 11
        got += [(r["id"], r["uncertainty"]) for r in body["results"]]
        url = _path(body["next"]) if body["next"] else None
    assert [g[0] for g in got] == [str(s.pk) for s in samples[5::-1]] + [str(s.pk) for s in samples[6:]]
    assert [g[1] for g in got[6:]] == [None] * 5


@pytest.mark.django_db(transaction=True)
def test_crossed_concurrent_relabels_neither_fail_nor_drift(owner):
    """Two users relabel at once, one a→b and the other b→a: each change takes the label
    counters in the opposite order; the counters must stay right and neither request fail
    (on PostgreSQL the dataset's counter row is locked first, so they queue, not deadlock)."""
    import threading

    from django.db import connection

    from exeml.tenancy.scoping import tenant_scope
    from labeling.services import sample_annotations_set

    ds = make_dataset(owner, "text_classification")
    samples = _samples(owner, ds, range(1, 41))
    with owner.scope():
        for name in ("a", "b"):
            Label.objects.create(dataset=ds, name=name, color="#ff0000" if name == "a" else "#00ff00")
        for i, s in enumerate(samples):
            sample_annotations_set(dataset=ds, sample_id=s.pk, labels=["a" if i % 2 else "b"])
    errors: list[BaseException] = []

    def relabel(mine: list[Sample], to: str) -> None:
        try:
            with tenant_scope(owner.tenant):
                dataset = Dataset.objects.get(pk=ds.pk)
                for _ in range(3):
                    for s in mine:
                        sample_annotations_set(dataset=dataset, sample_id=s.pk, labels=[to])
                    to = "a" if to == "b" else "b"
        except BaseException as exc:  # noqa: BLE001 - reported by the assertion below
            errors.append(exc)
        finally:
            connection.close()

    threads = [
        threading.Thread(target=relabel, args=(samples[1::2], "b")),  # a → b
        threading.Thread(target=relabel, args=(samples[0::2], "a")),  # b → a
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert not errors, errors
    _assert_counters(owner, ds)
