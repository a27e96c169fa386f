"""The operator's admin spans tenants through the one ``unscoped()`` escape: every tenant-owned
model's pages work, show the tenant, and refuse rows that mix tenants."""

from __future__ import annotations

import uuid

import pytest
from django.contrib import admin
from django.contrib.auth import get_user_model
from django.test import Client, RequestFactory
from django.urls import reverse
from django.utils import timezone

from datasets.models import Annotation, Dataset, DatasetVersion, Label, ObjectStatus, Sample, SourceObject
from exeml.jobs.models import Job
from exeml.tenancy.admin import OperatorAdminScopeMiddleware, TenantOwnedAdmin
from exeml.tenancy.models import Flavor, UsageRecord
from exeml.tenancy.scoping import TenantOwned, is_unscoped, tenant_scope, unscoped
from projects.models import Project
from serving.models import Service
from training.models import ModelVersion

pytestmark = pytest.mark.django_db


@pytest.fixture
def operator_client(db) -> Client:
    operator = get_user_model().objects.create_superuser(f"op{uuid.uuid4().hex[:8]}", password="pw-operator-1")
    client = Client(raise_request_exception=False)
    client.force_login(operator)
    return client


def _rows_of(tenant) -> dict[type, TenantOwned]:
    """One row of every tenant-owned model the admin may show, all of ``tenant``."""
    flavor = Flavor.objects.order_by("code").first()
    with tenant_scope(tenant):
        dataset = Dataset.objects.create(name="d", task_type="image_classification",
                                         input_path="s3://b/in/", output_path="s3://b/out/")
        source = SourceObject.objects.create(dataset=dataset, key="in/a.jpg", etag="e", status=ObjectStatus.IMPORTED)
        sample = Sample.objects.create(dataset=dataset, source_object=source, source="s3://b/in/a.jpg", name="a.jpg")
        label = Label.objects.create(dataset=dataset, name="cat")
        project = Project.objects.create(name="p", task_type="image_classification", dataset=dataset)
        data_version = DatasetVersion.objects.create(dataset=dataset, name="V001", number=1, manifest_path="s3://b/m")
        version = ModelVersion.objects.create(project=project, name="V001", number=1, dataset_version=data_version,
                                              flavor=flavor, queue="train.cpu")
        service = Service.objects.create(name="s", model_version=version, flavor=flavor)
        rows = [
            dataset, source, sample, label, Annotation.objects.create(sample=sample, label=label), project,
            data_version, version, service, Job.objects.create(kind="probe"),
            UsageRecord.objects.create(resource="service", resource_id=service.pk, start=timezone.now()),
        ]
    return {type(row): row for row in rows}


def _tenant_owned_admins() -> list[tuple[type, admin.ModelAdmin]]:
    return [(m, a) for m, a in admin.site._registry.items() if issubclass(m, TenantOwned)]


def test_every_tenant_owned_models_admin_pages_work_for_the_operator(operator_client, tenant, other_tenant):
    rows = _rows_of(tenant)  # two tenants: a filter of one choice is not shown
    registered = _tenant_owned_admins()
    assert len(registered) >= 10
    for model, model_admin in registered:
        assert isinstance(model_admin, TenantOwnedAdmin), model
        assert model in rows, f"add a {model.__name__} row to _rows_of"
        name = f"admin:{model._meta.app_label}_{model._meta.model_name}"
        row = rows[model]

        listing = operator_client.get(reverse(f"{name}_changelist"))
        assert listing.status_code == 200, model
        assert "tenant" in listing.context["cl"].list_display, model
        assert f"tenant__id__exact={tenant.pk}" in listing.content.decode(), model  # the tenant filter
        assert str(row.pk) in listing.content.decode(), model

        change = operator_client.get(reverse(f"{name}_change", args=[row.pk]))
        assert change.status_code == 200, model
        assert tenant.slug in change.content.decode(), model  # the tenant, read-only

        if model_admin.has_add_permission(change.wsgi_request):
            add = operator_client.get(reverse(f"{name}_add"))
            assert add.status_code == 200, model
            assert add.context["adminform"].form.fields["tenant"].required, model


def test_an_add_chooses_the_tenant_and_refuses_another_tenants_rows(operator_client, tenant, other_tenant):
    mine, theirs = _rows_of(tenant)[Dataset], _rows_of(other_tenant)[Dataset]
    url = reverse("admin:datasets_label_add")

    mixed = operator_client.post(url, {"tenant": tenant.pk, "dataset": theirs.pk, "name": "dog"})
    assert mixed.status_code == 200
    errors = mixed.context["adminform"].form.errors
    assert "belongs to tenant" in " ".join(errors["dataset"]), errors
    assert operator_client.post(url, {"dataset": mine.pk, "name": "dog"}).context["adminform"].form.errors["tenant"]
    with unscoped():
        assert not Label.all_tenants.filter(name="dog").exists()

    saved = operator_client.post(url, {"tenant": tenant.pk, "dataset": mine.pk, "name": "dog"})
    assert saved.status_code == 302, saved.context["adminform"].form.errors if saved.context else saved
    with unscoped():
        assert Label.all_tenants.get(name="dog").tenant_id == tenant.pk

    # The unique checks see the tenant: a clash is a form error, not an IntegrityError.
    clash = operator_client.post(reverse("admin:datasets_dataset_add"), {
        "tenant": tenant.pk, "name": mine.name, "task_type": "image_classification",
        "input_path": "s3://b/x/", "output_path": "s3://b/y/", "storage_bytes": 0, "table_profile": "{}"})
    assert clash.status_code == 200
    assert clash.context["adminform"].form.non_field_errors()


def test_a_change_refuses_another_tenants_rows(operator_client, tenant, other_tenant):
    rows, theirs = _rows_of(tenant), _rows_of(other_tenant)[Dataset]
    label = rows[Label]
    url = reverse("admin:datasets_label_change", args=[label.pk])
    r = operator_client.post(url, {"dataset": theirs.pk, "name": "cat2"})
    assert r.status_code == 200
    assert r.context["adminform"].form.errors["dataset"]
    with unscoped():
        label = Label.all_tenants.get(pk=label.pk)
    assert (label.dataset_id, label.name, label.tenant_id) == (rows[Dataset].pk, "cat", tenant.pk)


@pytest.mark.parametrize("path, staff, unscoped_seen", [
    ("/admin/datasets/label/", True, True),
    ("/admin/datasets/label/", False, False),
    ("/admin/", None, False),  # anonymous
    ("/api/v1/projects", True, False),  # the operator outside the admin
])
def test_only_the_operators_admin_requests_are_unscoped(path, staff, unscoped_seen, django_user_model):
    from django.contrib.auth.models import AnonymousUser

    seen = []
    middleware = OperatorAdminScopeMiddleware(lambda request: seen.append(is_unscoped()))
    request = RequestFactory().get(path)
    request.user = AnonymousUser() if staff is None else django_user_model(username="u", is_staff=staff)
    middleware(request)
    assert seen == [unscoped_seen]
    assert not is_unscoped()
