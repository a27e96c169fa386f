"""Projects with real data in the object store, built the way the product builds them:
files in storage, Sample/Label/Annotation rows, then the real publish at train time."""

from __future__ import annotations

import json
import uuid

from datasets import demo_data
from datasets.models import Annotation, Dataset, Label, Sample
from exeml.tenancy.models import Flavor
from projects.models import Project
from tests.conftest import wait_for

TERMINAL = {"completed", "failed", "stopped"}


def make_flavor(*, queue: str, task_types: list[str] | None = None) -> Flavor:
    code = f"test-{uuid.uuid4().hex[:8]}"
    return Flavor.objects.create(
        code=code, name=f"Test {code}", purpose="train", device="cpu", queue=queue, task_types=task_types or []
    )


def _dataset(actor, store, *, task_type: str, files: list[tuple[str, bytes]], name: str) -> tuple[Dataset, str]:
    root = actor.tenant.default_root
    tag = uuid.uuid4().hex[:6]
    input_path, output_path = f"{root}{name}-{tag}/in/", f"{root}{name}-{tag}/out/"
    bucket, _, prefix = input_path[len("s3://"):].partition("/")
    for key, data in files:
        store.put(bucket, prefix + key, data)
    dataset = Dataset.objects.create(
        name=f"{name}-{tag}", task_type=task_type, input_path=input_path, output_path=output_path
    )
    return dataset, input_path


def _label(actor, dataset: Dataset, sample: Sample, name: str, labels: dict[str, Label]) -> None:
    if name not in labels:
        labels[name] = Label.objects.create(dataset=dataset, name=name, color="#ff0000")
    Annotation.objects.create(sample=sample, label=labels[name], created_by=actor.user)


def text_project(actor, store, *, per_class: int = 30, name: str = "txt") -> Project:
    with actor.scope():
        files = demo_data.text_files(per_class=per_class, unlabelled=2)
        dataset, input_path = _dataset(actor, store, task_type="text_classification", files=files, name=name)
        lines = dict(files)["reviews.txt"].decode().splitlines()
        results = dict(files)["reviews_result.txt"].decode().splitlines()
        labels: dict[str, Label] = {}
        for n, line in enumerate(lines, start=1):
            labelled = n <= len(results)
            sample = Sample.objects.create(
                dataset=dataset, source=input_path + "reviews.txt", name="reviews.txt", line_number=n, text=line,
                labeled=labelled,
            )
            if labelled:
                _label(actor, dataset, sample, results[n - 1], labels)
        return Project.objects.create(
            name=f"{name}{uuid.uuid4().hex[:6]}", task_type="text_classification", dataset=dataset,
            created_by=actor.user,
        )


def sound_project(actor, store, *, per_class: int = 8, name: str = "snd") -> Project:
    with actor.scope():
        files = demo_data.sound_files(per_class=per_class, seconds=1.2)
        dataset, input_path = _dataset(actor, store, task_type="sound_classification", files=files, name=name)
        manifest = dict(files)[demo_data.SOUND_MANIFEST].decode().splitlines()
        labelled = {}
        for line in manifest:
            entry = json.loads(line)
            labelled[entry["source"].rsplit("/", 1)[-1]] = entry["annotation"][0]["name"]
        labels: dict[str, Label] = {}
        for key, _ in files:
            if not key.endswith(".wav"):
                continue
            sample = Sample.objects.create(
                dataset=dataset, source=input_path + key, name=key, labeled=key in labelled, duration=1.2,
                sample_rate=16000, channels=1, bit_depth=16,
            )
            if key in labelled:
                _label(actor, dataset, sample, labelled[key], labels)
        return Project.objects.create(
            name=f"{name}{uuid.uuid4().hex[:6]}", task_type="sound_classification", dataset=dataset,
            created_by=actor.user,
        )


def tabular_project(
    actor, store, *, rows: int = 400, kind: str = "binary", label_column: str = "attr_8",
    label_type: str = "discrete", name: str = "tab",
) -> Project:
    with actor.scope():
        files = [("bank.csv", demo_data.tabular_csv(rows=rows, kind=kind))]
        dataset, input_path = _dataset(actor, store, task_type="predictive_analytics", files=files, name=name)
        dataset.csv_path = input_path + "bank.csv"
        dataset.save(update_fields=["csv_path"])
        return Project.objects.create(
            name=f"{name}{uuid.uuid4().hex[:6]}", task_type="predictive_analytics", dataset=dataset,
            training_data=dataset.csv_path, label_column=label_column, label_type=label_type,
            created_by=actor.user,
        )


def train(actor, project: Project, **body):
    return actor.client.post(f"/api/v1/projects/{project.pk}/train", body, format="json")


def version_get(actor, project: Project, ref: str, **params) -> dict:
    r = actor.client.get(f"/api/v1/projects/{project.pk}/versions/{ref}", params)
    assert r.status_code == 200, r.content
    return r.json()


def wait_status(actor, project: Project, ref: str, statuses: set[str], timeout: float = 90) -> dict:
    def reached():
        data = version_get(actor, project, ref)
        return data if data["status"] in statuses else None

    return wait_for(reached, timeout=timeout, interval=0.5, message=f"version {ref} to reach {statuses}")
