"""Demo projects of every type, so a newcomer sees labelled data at once (called by ``exeml run``).

Files come from datasets.demo_data, are written under ``<tenant root>demo/<type>/`` and
synchronized in this process (the worker may not be up yet).
"""

from __future__ import annotations

from datasets import demo_data
from datasets.services import dataset_sync
from exeml.storage import parse_storage_path, store_for_tenant
from exeml.task_types import TaskType
from exeml.tenancy.scoping import tenant_scope
from projects.models import LabelType, Project
from projects.services import project_create, project_update

# name, type, folder, files, labels (colors where the type needs them)
_DEMOS = [
    ("demo-images", TaskType.IMAGE_CLASSIFICATION, "images", lambda: demo_data.image_classification_files(), []),
    ("demo-detection", TaskType.OBJECT_DETECTION, "detection", lambda: demo_data.object_detection_files(n=60),
     [{"name": "circle", "color": "#e6194b"}, {"name": "square", "color": "#3cb44b"}]),
    ("demo-sound", TaskType.SOUND_CLASSIFICATION, "sound", lambda: demo_data.sound_files(), []),
    ("demo-text", TaskType.TEXT_CLASSIFICATION, "text", lambda: demo_data.text_files(lang="en"),
     [{"name": "positive", "color": "#3cb44b"}, {"name": "negative", "color": "#e6194b"}]),
]


def install_demo(*, tenant, user) -> list[Project]:
    """Write the demo files and create one synchronized project per type; skips existing ones."""
    store = store_for_tenant(tenant)
    root = tenant.default_root
    bucket = parse_storage_path(root).bucket
    store.ensure_bucket(bucket)
    projects: list[Project] = []
    with tenant_scope(tenant):
        for name, task_type, folder, make, labels in _DEMOS:
            existing = Project.objects.filter(name=name).first()
            if existing is not None:
                projects.append(existing)
                continue
            base = f"{root}demo/{folder}"
            prefix = parse_storage_path(base + "/").key
            for key, data in make():
                if key == demo_data.SOUND_MANIFEST:
                    data = data.replace(demo_data.ROOT.encode(), base.encode())
                store.put(bucket, prefix + key, data)
            project = project_create(
                tenant=tenant, user=user, name=name, task_type=task_type, start_sync=False,
                description=f"Demo {task_type.label.lower()} project",
                dataset={"source": "create", "name": name, "input_path": base + "/",
                         "output_path": f"{root}demo/output/{folder}/", "labels": labels},
            )
            dataset_sync(dataset=project.dataset, user=user)
            projects.append(project)

        if not Project.objects.filter(name="demo-table").exists():
            csv_key = parse_storage_path(f"{root}demo/table/bank.csv").key
            store.put(bucket, csv_key, demo_data.tabular_csv(rows=400, kind="binary"))
            project = project_create(
                tenant=tenant, user=user, name="demo-table", task_type=TaskType.PREDICTIVE_ANALYTICS,
                training_data=f"{root}demo/table/bank.csv", start_sync=False,
                description="Demo predictive analytics project",
                dataset={"source": "create", "name": "demo-table", "output_path": f"{root}demo/output/table/"},
            )
            project.dataset.refresh_from_db()
            dataset_sync(dataset=project.dataset, user=user)
            project.dataset.refresh_from_db()
            columns = project.dataset.table_profile.get("columns") or []
            if columns:
                project_update(project=project, label_column=columns[-1]["name"], label_type=LabelType.DISCRETE)
            projects.append(project)
        else:
            projects.append(Project.objects.get(name="demo-table"))
    return projects
