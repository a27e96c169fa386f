"""Project writes: create (with its dataset), update, delete."""

from __future__ import annotations

import re
from typing import Any

from django.db import transaction
from django.db.models import ProtectedError

from datasets import validation
from datasets.formats.csv_table import check_label_column
from datasets.importing.table import profile_from_json
from datasets.models import Dataset
from datasets.services import dataset_create
from exeml.errors import ApplicationError, WrongState
from exeml.task_types import TaskType
from exeml.tenancy.services import quota_check
from projects.models import LabelType, Project
from projects.selectors import multi_labelled_count

_PROJECT_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_-]{0,19}$")
ACTIVE_VERSION_STATUSES = ("queued", "running")


def check_project_name(name: Any) -> str:
    if not isinstance(name, str) or not _PROJECT_NAME.match(name):
        raise ApplicationError(
            "name: 1-20 characters, letters, digits, '_' or '-', starting with a letter", field="name"
        )
    return name


@transaction.atomic
def project_create(
    *,
    tenant,
    user=None,
    name: Any,
    task_type: Any,
    description: str = "",
    dataset: dict[str, Any] | None = None,
    training_data: Any = None,
    multi_label: bool | None = None,
    start_sync: bool = True,
) -> Project:
    """Create a project and its dataset (``dataset.source`` "create") or reuse one ("specify").

    Predictive analytics takes ``training_data`` (a CSV in a folder, one project per CSV);
    its dataset is created from it (``dataset`` may give ``name``/``output_path``).
    ``multi_label`` (image classification only) defaults to single-label, or, for a specified
    dataset whose samples already carry several labels, to multi-label.
    """
    name = check_project_name(name)
    if task_type not in TaskType.values:
        raise ApplicationError(f"type must be one of {', '.join(TaskType.values)}", field="type")
    if Project.objects.filter(name=name).exists():
        raise ApplicationError(f"a project named {name!r} already exists", field="name")
    quota_check(tenant=tenant, quota="max_projects", adding=1)
    spec = dataset or {}
    if not isinstance(spec, dict):
        raise ApplicationError('dataset must be {"source": "create", ...} or {"source": "specify", "id"}',
                               field="dataset")
    source = spec.get("source", "create")
    csv_uri = ""
    if task_type == TaskType.PREDICTIVE_ANALYTICS:
        if source == "specify":
            ds = _specified(spec, task_type)
            csv_uri = ds.csv_path
        else:
            csv_uri = str(validation.clean_csv_path(tenant=tenant, path=training_data))
        if Project.objects.filter(training_data=csv_uri).exists():
            raise ApplicationError("another project already uses this CSV file", field="training_data")
        if source != "specify":
            ds = dataset_create(
                tenant=tenant, user=user, task_type=task_type, csv_path=csv_uri,
                name=spec.get("name") or _free_dataset_name(f"{name}-data"),
                output_path=spec.get("output_path"), start_sync=start_sync, field_prefix="dataset.",
                csv_field="training_data",
            )
    elif source == "specify":
        ds = _specified(spec, task_type)
    elif source == "create":
        ds = dataset_create(
            tenant=tenant, user=user, task_type=task_type, name=spec.get("name"),
            input_path=spec.get("input_path"), output_path=spec.get("output_path"), labels=spec.get("labels"),
            start_sync=start_sync, field_prefix="dataset.",
        )
    else:
        raise ApplicationError('dataset.source must be "create" or "specify"', field="dataset.source")
    return Project.objects.create(
        tenant=tenant, name=name, description=description or "", task_type=task_type, dataset=ds,
        training_data=csv_uri, created_by=user,
        multi_label=_multi_label_for(task_type=task_type, dataset=ds, wanted=multi_label),
    )


def _multi_label_for(*, task_type: str, dataset: Dataset, wanted: bool | None) -> bool:
    """The mode a project gets: only image classification may be multi-label, and a
    single-label project may not start on data whose samples carry several labels."""
    if task_type != TaskType.IMAGE_CLASSIFICATION:
        if wanted:
            raise ApplicationError(
                f"only image classification projects can be multi-label; a {TaskType(task_type).label} "
                + ("project labels each box" if task_type == TaskType.OBJECT_DETECTION else "sample carries one label"),
                field="multi_label",
            )
        return False
    several = multi_labelled_count(dataset=dataset) if dataset.pk else 0
    if wanted is None:
        return several > 0
    if not wanted and several:
        raise _several_labels(several)
    return bool(wanted)


def _several_labels(count: int) -> ApplicationError:
    return ApplicationError(
        f"{count} sample{'s' if count != 1 else ''} of the dataset carr{'y' if count != 1 else 'ies'} several "
        "labels; keep one label on each (or keep the project multi-label) first",
        code="wrong_state", field="multi_label", status=409, extra={"samples": count},
    )


def _specified(spec: dict[str, Any], task_type: str) -> Dataset:
    ds = Dataset.objects.filter(pk=spec.get("id")).first() if _is_uuid(spec.get("id")) else None
    if ds is None:
        raise ApplicationError("no such dataset", field="dataset.id")
    if ds.task_type != task_type:
        raise ApplicationError(f"the dataset is of type {ds.task_type}, not {task_type}", field="dataset.id")
    return ds


def _is_uuid(value: Any) -> bool:
    import uuid

    try:
        uuid.UUID(str(value))
    except ValueError:
        return False
    return True


def _free_dataset_name(base: str) -> str:
    taken = set(Dataset.objects.filter(name__startswith=base).values_list("name", flat=True))
    if base not in taken:
        return base
    n = 2
    while f"{base}-{n}" in taken:
        n += 1
    return f"{base}-{n}"


def project_update(
    *, project: Project, description: str | None = None, label_column: str | None = None,
    label_type: str | None = None, multi_label: bool | None = None, require_review: bool | None = None,
) -> Project:
    """Description for all types; label column and type for predictive analytics (checked on the profile);
    single-/multi-label for image classification (single only when no sample carries several labels)."""
    fields = ["updated_at"]
    if description is not None:
        project.description = description
        fields.append("description")
    if require_review is not None:
        if require_review and project.task_type == TaskType.PREDICTIVE_ANALYTICS:
            raise ApplicationError("predictive analytics has no per-sample annotations to review", field="require_review")
        project.require_review = require_review
        fields.append("require_review")
    if multi_label is not None and multi_label != project.multi_label:
        project.multi_label = _multi_label_for(task_type=project.task_type, dataset=project.dataset, wanted=multi_label)
        fields.append("multi_label")
    if label_column is not None or label_type is not None:
        if project.task_type != TaskType.PREDICTIVE_ANALYTICS:
            raise ApplicationError("only predictive analytics projects have a label column", field="label_column")
        column = label_column if label_column is not None else project.label_column
        kind = label_type if label_type is not None else (project.label_type or LabelType.DISCRETE)
        if kind not in LabelType.values:
            raise ApplicationError("label_type must be discrete or continuous", field="label_type")
        profile = profile_from_json(project.dataset.table_profile)
        if profile is None:
            raise ApplicationError(
                "the training data has not been profiled yet; synchronize the dataset first", field="label_column"
            )
        reason = check_label_column(profile, column, kind)
        if reason:
            about_type = "continuous" in reason or "discrete" in reason
            raise ApplicationError(reason, field="label_type" if about_type else "label_column")
        project.label_column, project.label_type = profile.column(column).name, kind
        fields += ["label_column", "label_type"]
    project.save(update_fields=fields)
    return project


def project_delete(*, project: Project) -> None:
    """Delete the project and its versions; the dataset and the files in storage are kept."""
    active = project.versions.filter(status__in=ACTIVE_VERSION_STATUSES).first()
    if active is not None:
        raise WrongState(f"version {active.name} is {active.status}; stop it first", status_value="training")
    try:
        project.delete()
    except ProtectedError as exc:
        raise WrongState(f"the project is still in use: {exc.args[0]}", status_value="in_use")
