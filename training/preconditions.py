"""Can this project train now? Data rules (labeling.stats), flavor rules and quotas.

``train_reasons`` powers both the Train button's check (GET train-check) and the POST:
every unmet condition is a plain sentence the console shows as is.
"""

from __future__ import annotations

from django.utils import timezone

from exeml.errors import ApplicationError, QuotaExceeded
from exeml.task_types import TaskType
from exeml.tenancy import services as tenancy_services
from exeml.tenancy.models import Flavor, FlavorPurpose, Tenant, UsageRecord
from exeml.tenancy.scoping import tenant_scope
from labeling.audit import review_missing
from labeling.stats import train_preconditions

# Every type: image, detection and sound continue the base's weights or models; every
# searching trainer (tables, text, single-label images, sound) also starts its search from the
# base version's best configurations (training/engine/warm_start.py).
INCREMENTAL_TASK_TYPES = {
    TaskType.IMAGE_CLASSIFICATION,
    TaskType.OBJECT_DETECTION,
    TaskType.SOUND_CLASSIFICATION,
    TaskType.TEXT_CLASSIFICATION,
    TaskType.PREDICTIVE_ANALYTICS,
}


def flavor_resolve(*, task_type: str, code: str | None) -> Flavor:
    """The train flavor named ``code`` (400 on ``flavor`` if unusable), or the default CPU one."""
    flavor = tenancy_services.flavor_resolve(purpose=FlavorPurpose.TRAIN, task_type=task_type, code=code)
    if task_type == TaskType.PREDICTIVE_ANALYTICS and flavor.device != "cpu":
        raise ApplicationError("predictive analytics trains on CPU flavors only", field="flavor")
    return flavor


def training_minutes_this_month(tenant: Tenant) -> float:
    start = timezone.now().replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    with tenant_scope(tenant):
        records = UsageRecord.objects.filter(resource="training", start__gte=start)
        return round(sum(records.values_list("minutes", flat=True)), 2)


def quota_checks(*, tenant: Tenant) -> None:
    """Raise QuotaExceeded (403) when another training may not start."""
    tenancy_services.quota_check(tenant=tenant, quota="max_concurrent_trainings", adding=1)
    limit = tenancy_services.quota_for(tenant).max_training_minutes_per_month
    used = tenancy_services.quota_usage(tenant=tenant, quota="max_training_minutes_per_month")
    if used >= limit:
        raise QuotaExceeded(quota="max_training_minutes_per_month", limit=limit, used=used)


def data_reasons(*, project, dataset_version=None) -> list[str]:
    """Unmet data preconditions: of the given frozen version, else of the live dataset.

    The rules and their sentences are labeling's, the same the label statistics show.
    """
    reasons = train_preconditions(
        dataset=project.dataset,
        task_type=project.task_type,
        label_column=project.label_column or None,
        label_type=project.label_type or None,
        version=dataset_version,
        multi_label=bool(project.multi_label),
    )
    if project.require_review:
        unreviewed = review_missing(dataset=project.dataset, version=dataset_version)
        if unreviewed:
            reasons.append(
                f"{unreviewed} labelled sample(s) are not accepted in review yet, and this project trains only "
                "on reviewed annotations (review them, or turn off 'only reviewed annotations')"
            )
    return reasons


def train_reasons(*, project, tenant: Tenant, flavor_code: str | None = None, dataset_version=None) -> list[str]:
    """Everything that keeps the Train button disabled, as sentences (empty when training may start)."""
    reasons = data_reasons(project=project, dataset_version=dataset_version)
    try:
        flavor_resolve(task_type=project.task_type, code=flavor_code)
    except ApplicationError as exc:
        reasons.append(exc.message)
    try:
        quota_checks(tenant=tenant)
    except QuotaExceeded as exc:
        reasons.append(exc.message)
    return reasons
