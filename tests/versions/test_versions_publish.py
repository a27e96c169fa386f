"""Dataset versions: manifest per type, stratified seeded split, names, predictive analytics."""

from __future__ import annotations

from collections import Counter

import pytest

from datasets import demo_data
from datasets.formats.manifest import ManifestEntry, parse_manifest
from datasets.formats.voc import parse_voc
from datasets.models import DatasetVersion, DatasetVersionItem
from datasets.versioning import dataset_version_publish, eval_count, stratified_split
from exeml.errors import ApplicationError
from exeml.task_types import TaskType
from tests.labeling.labelkit import (
    detection_samples,
    image_samples,
    label,
    make_dataset,
    put,
    read,
    sound_samples,
    text_samples,
)

pytestmark = pytest.mark.django_db


def versions_url(ds) -> str:
    return f"/api/v1/datasets/{ds.pk}/versions"


def entries(store, version) -> list[ManifestEntry]:
    parsed = list(parse_manifest(read(store, version.manifest_path).decode().splitlines()))
    assert all(isinstance(e, ManifestEntry) for e in parsed), parsed
    return parsed


def _labelled_images(owner, store, per_class=(5, 7, 3)):
    ds = make_dataset(owner, TaskType.IMAGE_CLASSIFICATION, name="flowers")
    samples = image_samples(owner, store, ds, n=sum(per_class) + 1)
    k = 0
    for cls, n in zip(("rose", "tulip", "daisy"), per_class, strict=True):
        for s in samples[k : k + n]:
            label(owner, s, [cls])
        k += n
    return ds, samples


def test_image_manifest_parses_back_to_the_samples(owner, store, capsys):
    ds, samples = _labelled_images(owner, store)
    r = owner.client.post(versions_url(ds), {"train_ratio": 0.8}, format="json")
    assert r.status_code == 201, r.json()
    body = r.json()
    assert body["name"] == "V001" and body["manifest_path"].endswith("/out/flowers-V001.manifest")
    with owner.scope():
        version = DatasetVersion.objects.get(pk=body["id"])
        items = {i.source: i for i in DatasetVersionItem.objects.filter(version=version)}
    lines = entries(store, version)
    by_source = {e.source: e for e in lines}
    labelled = {s.source for s in samples[:15]}
    assert set(by_source) == labelled == set(items)  # the unlabelled one is not frozen
    for e in lines:
        assert [a.name for a in e.annotations] == items[e.source].labels
        assert e.usage == items[e.source].usage
        assert e.annotations[0].type == "modelarts/image_classification"
        assert e.annotations[0].annotated_by == "human" and e.annotations[0].creation_time
    counts = body["counts"]
    assert counts["total"] == 15 and counts["train"] + counts["eval"] == 15
    for cls, n in (("rose", 5), ("tulip", 7), ("daisy", 3)):
        got = counts["per_label"][cls]
        assert got["train"] + got["eval"] == n
        assert abs(got["train"] - n * 0.8) <= 1 and got["eval"] >= 1
    print("MANIFEST image:", read(store, version.manifest_path).decode().splitlines()[0])

    again = owner.client.post(versions_url(ds), {"train_ratio": 0.8}, format="json").json()
    assert again["name"] == "V002" and again["counts"] == counts
    with owner.scope():
        v2 = DatasetVersion.objects.get(pk=again["id"])
    assert [(e.source, e.usage) for e in entries(store, v2)] == [(e.source, e.usage) for e in lines]
    other_seed = owner.client.post(versions_url(ds), {"train_ratio": 0.8, "seed": 7}, format="json").json()
    with owner.scope():
        v3 = DatasetVersion.objects.get(pk=other_seed["id"])
    assert {e.source for e in entries(store, v3) if e.usage == "EVAL"} != {
        e.source for e in lines if e.usage == "EVAL"
    }
    listing = owner.client.get(versions_url(ds)).json()
    assert [v["name"] for v in listing["results"]] == ["V003", "V002", "V001"]
    detail = owner.client.get(f"{versions_url(ds)}/{v2.pk}")
    assert detail.status_code == 200 and detail.json()["name"] == "V002"


def test_names_ratio_and_empty(owner, store):
    ds, _ = _labelled_images(owner, store)
    assert owner.client.post(versions_url(ds), {"name": "first.run-1"}, format="json").status_code == 201
    r = owner.client.post(versions_url(ds), {"name": "first.run-1"}, format="json")
    assert r.status_code == 400 and "name" in r.json()
    r = owner.client.post(versions_url(ds), {"name": "bad name!"}, format="json")
    assert r.status_code == 400 and "name" in r.json()
    for ratio in (0, 1, 1.5, -0.2):
        r = owner.client.post(versions_url(ds), {"train_ratio": ratio}, format="json")
        assert r.status_code == 400 and "train_ratio" in r.json(), ratio
    r = owner.client.post(versions_url(ds), {}, format="json")
    assert r.json()["name"] == "V002"  # numbers count every version, named or not
    empty = make_dataset(owner, TaskType.IMAGE_CLASSIFICATION)
    image_samples(owner, store, empty, n=2)
    r = owner.client.post(versions_url(empty), {}, format="json")
    assert r.status_code == 400
    # versions are immutable: no update or delete routes
    with owner.scope():
        vid = DatasetVersion.objects.filter(dataset=ds).first().pk
    assert owner.client.patch(f"{versions_url(ds)}/{vid}", {"name": "x"}, format="json").status_code == 405
    assert owner.client.delete(f"{versions_url(ds)}/{vid}").status_code == 405


def test_detection_manifest_points_at_voc_files(owner, store):
    ds = make_dataset(owner, TaskType.OBJECT_DETECTION, name="cars")
    samples = detection_samples(owner, store, ds, n=6, with_boxes=True)
    with owner.scope():
        version = dataset_version_publish(dataset=ds, train_ratio=0.7, seed=3)
    lines = entries(store, version)
    assert len(lines) == len(samples)
    print("MANIFEST detection:", read(store, version.manifest_path).decode().splitlines()[0])
    by_source = {s.source: s for s in samples}
    for e in lines:
        (a,) = e.annotations
        assert a.type == "modelarts/object_detection" and a.annotation_format == "PASCAL VOC"
        assert f"/out/cars-{version.name}/annotations/" in a.annotation_loc
        voc = parse_voc(read(store, a.annotation_loc))
        with owner.scope():
            want = sorted(
                (x.label.name, x.bbox) for x in by_source[e.source].annotations.select_related("label")
            )
        assert sorted((o.name, [o.xmin, o.ymin, o.xmax, o.ymax]) for o in voc.objects) == want
        assert (voc.width, voc.height) == (160, 160)
    assert version.counts["eval"] >= 1


@pytest.mark.parametrize("task_type", [TaskType.SOUND_CLASSIFICATION, TaskType.TEXT_CLASSIFICATION])
def test_sound_and_text_manifests(owner, store, task_type):
    ds = make_dataset(owner, task_type)
    if task_type == TaskType.SOUND_CLASSIFICATION:
        samples = sound_samples(owner, store, ds, n=4)
    else:
        samples = text_samples(owner, store, ds, ["so good", "so bad", "great, really", "awful"])
    for s, cls in zip(samples, ["pos", "neg", "pos", "neg"], strict=True):
        label(owner, s, [cls])
    with owner.scope():
        version = dataset_version_publish(dataset=ds)
    lines = entries(store, version)
    print(f"MANIFEST {task_type}:", read(store, version.manifest_path).decode().splitlines()[0])
    if task_type == TaskType.TEXT_CLASSIFICATION:
        assert sorted(e.text for e in lines) == sorted(s.text for s in samples)
        assert lines[0].annotations[0].type == "modelarts/text_classification"
    else:
        assert sorted(e.source for e in lines) == sorted(s.source for s in samples)
        assert lines[0].annotations[0].type == "modelarts/audio_classification"
    assert Counter(e.usage for e in lines) == {"TRAIN": 2, "EVAL": 2}  # 2 per class, one each side


def test_predictive_analytics_freezes_the_csv(owner, store):
    ds = make_dataset(owner, TaskType.PREDICTIVE_ANALYTICS, name="bank")
    data = demo_data.tabular_csv(rows=300, kind="binary")
    csv_path = ds.input_path + "bank.csv"
    put(store, csv_path, data)
    with owner.scope():
        ds.csv_path = csv_path
        ds.save()
        with pytest.raises(ApplicationError) as err:
            dataset_version_publish(dataset=ds)
        assert err.value.field == "label_column"
        with pytest.raises(ApplicationError) as err:
            dataset_version_publish(dataset=ds, label_column="attr_2", label_type="continuous")
        assert err.value.field == "label_column"
        v1 = dataset_version_publish(dataset=ds, label_column="attr_8", label_type="discrete", seed=1)
        v2 = dataset_version_publish(dataset=ds, label_column="attr_8", label_type="discrete", seed=1)
    p = v1.params
    assert p["csv_path"] == csv_path and p["rows"] == 300 and p["label_column"] == "attr_8" and p["etag"]
    assert p["eval_rows"] == v2.params["eval_rows"]
    assert abs(len(p["eval_rows"]) - 60) <= 2
    labels = [line.split(",")[-1] for line in data.decode().splitlines()]
    eval_labels = Counter(labels[i] for i in p["eval_rows"])
    for cls, n in Counter(labels).items():
        assert abs(eval_labels[cls] - n * 0.2) <= 1
    (entry,) = entries(store, v1)
    assert entry.source == csv_path
    print("MANIFEST predictive_analytics:", read(store, v1.manifest_path).decode().strip())
    r = owner.client.post(versions_url(ds), {"label_column": "attr_8", "label_type": "discrete"}, format="json")
    assert r.status_code == 201 and r.json()["counts"]["total"] == 300


def test_split_rules_pure():
    assert [eval_count(n, 0.8) for n in (1, 2, 3, 5, 10, 11)] == [0, 1, 1, 1, 2, 2]
    keys = list(range(40))
    labels = [["common", "rare"] if i < 3 else ["common"] for i in keys]
    usage = stratified_split(keys, labels, train_ratio=0.8, seed=0)
    assert usage == stratified_split(keys, labels, train_ratio=0.8, seed=0)
    rare_eval = [usage[i] for i in range(3)].count("EVAL")
    assert rare_eval == 1  # stratified by the rarest label: 3 rare → 1 eval
    assert usage.count("EVAL") == 1 + eval_count(37, 0.8)
    # a class that is never the rarest still gets an eval sample
    always_with_rare = [["a", "b"], ["a", "b"], ["b"], ["b"], ["b"]]
    u = stratified_split(list(range(5)), always_with_rare, train_ratio=0.9, seed=0)
    assert "EVAL" in [u[0], u[1]] and "TRAIN" in [u[0], u[1]]


def _outputs(store, ds) -> list[str]:
    from exeml.storage import parse_storage_path

    out = parse_storage_path(ds.output_path)
    return [o.key for o in store.iter_objects(out.bucket, out.key)]


@pytest.mark.parametrize("body", [{"seed": 10**23}, {"seed": 2**31}, {"seed": str(10**23)}])
def test_a_number_out_of_range_is_a_400_naming_the_field_and_writes_nothing(owner, store, body):
    """The seed column holds 32 bits: 10**23 was a 500 after the manifest was written."""
    ds, _ = _labelled_images(owner, store)
    owner.client.raise_request_exception = False
    r = owner.client.post(versions_url(ds), body, format="json")
    assert r.status_code == 400 and "seed" in r.json(), r.content
    assert "2147483647" in str(r.json()["seed"])
    assert _outputs(store, ds) == []
    with owner.scope():
        assert not DatasetVersion.objects.filter(dataset=ds).exists()
        with pytest.raises(ApplicationError) as exc:
            dataset_version_publish(dataset=ds, seed=10**23)  # the service checks it too
    assert exc.value.field == "seed"
    assert _outputs(store, ds) == []
    r = owner.client.post(versions_url(ds), {"seed": 2**31 - 1}, format="json")
    assert r.status_code == 201 and r.json()["seed"] == 2**31 - 1, r.content


def test_a_publish_that_fails_after_writing_removes_its_files(owner, store, monkeypatch):
    """Detection writes one VOC file per sample, then the manifest, then the rows: a failure
    at any step after the first write leaves none of them in the output path."""
    import datasets.versioning as versioning

    ds = make_dataset(owner, TaskType.OBJECT_DETECTION, name="cars")
    detection_samples(owner, store, ds, n=4, with_boxes=True)

    def broken_counts(self):
        raise RuntimeError("simulated failure after the files were written")

    # The counts are summed last, after every VOC file and the manifest were put.
    monkeypatch.setattr(versioning._Counts, "as_dict", broken_counts)
    with owner.scope(), pytest.raises(RuntimeError):
        dataset_version_publish(dataset=ds, seed=1)
    assert _outputs(store, ds) == []
    with owner.scope():
        assert not DatasetVersion.objects.filter(dataset=ds).exists()


@pytest.mark.parametrize("task_type", [TaskType.IMAGE_CLASSIFICATION, TaskType.OBJECT_DETECTION])
def test_a_publish_in_small_batches_equals_one_in_a_single_batch(owner, store, monkeypatch, task_type):
    """Large datasets are frozen a batch at a time (bounded memory): the split, the manifest,
    the VOC files and the counts must not depend on the batch size."""
    import datasets.versioning as versioning

    if task_type == TaskType.OBJECT_DETECTION:
        ds = make_dataset(owner, task_type, name="cars")
        detection_samples(owner, store, ds, n=7, with_boxes=True)
    else:
        ds, _ = _labelled_images(owner, store)
    with owner.scope():
        whole = dataset_version_publish(dataset=ds, seed=5)
    monkeypatch.setattr(versioning, "FREEZE_BATCH", 2)
    with owner.scope():
        batched = dataset_version_publish(dataset=ds, seed=5)

    def comparable(version):
        lines = read(store, version.manifest_path).decode().replace(f"-{version.name}/", "-V/").splitlines()
        with owner.scope():
            items = list(DatasetVersionItem.objects.filter(version=version).order_by("source", "line_number")
                         .values_list("sample_id", "usage", "labels"))
        return lines, items, version.counts

    assert comparable(batched) == comparable(whole)
