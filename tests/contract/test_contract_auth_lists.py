"""API.md conventions: auth, me, flavors, quotas, jobs, error shapes, pagination, schema."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from exeml.jobs.models import Job
from exeml.tenancy.models import Quota
from tests.contract.shapes import assert_detail, assert_job, assert_page, missing_id

pytestmark = pytest.mark.django_db


def test_token_create_answers_201_token_tenant_user(owner):
    r = APIClient().post(
        "/api/v1/auth/token", {"username": owner.user.username, "password": "pw-" + owner.user.username},
        format="json",
    )
    assert r.status_code == 201, r.content
    assert set(r.json()) >= {"token", "tenant", "user"}
    assert r.json()["user"] == owner.user.username and r.json()["tenant"] == owner.tenant.slug
    # The token works in both headers.
    assert APIClient(HTTP_AUTHORIZATION=f"Token {r.json()['token']}").get("/api/v1/me").status_code == 200
    assert APIClient(HTTP_X_AUTH_TOKEN=r.json()["token"]).get("/api/v1/me").status_code == 200


def test_wrong_password_is_401_and_missing_fields_400(owner):
    r = APIClient().post("/api/v1/auth/token", {"username": owner.user.username, "password": "no"}, format="json")
    assert_detail(r, 401)
    r = APIClient().post("/api/v1/auth/token", {"username": owner.user.username}, format="json")
    assert r.status_code == 400 and r.json()["password"]


@pytest.mark.parametrize("path", ["/api/v1/me", "/api/v1/projects", "/api/v1/datasets", "/api/v1/services",
                                  "/api/v1/models", "/api/v1/flavors", "/api/v1/quotas", "/api/v1/jobs"])
def test_no_or_invalid_credentials_are_401(db, path):
    assert_detail(APIClient().get(path), 401)
    assert_detail(APIClient(HTTP_AUTHORIZATION="Token nope").get(path), 401)
    assert_detail(APIClient(HTTP_X_AUTH_TOKEN="nope").get(path), 401)


def test_me_has_user_tenant_role(viewer):
    body = viewer.client.get("/api/v1/me").json()
    assert body["user"]["username"] == viewer.user.username
    assert body["tenant"]["slug"] == viewer.tenant.slug
    assert body["role"] == "viewer"


def test_flavors_quotas_usage_jobs_are_pages(owner):
    flavors = assert_page(owner.client, "/api/v1/flavors", at_least=2)["results"]
    assert {"train", "deploy"} <= {f["purpose"] for f in flavors}
    quotas = assert_page(owner.client, "/api/v1/quotas", at_least=5)["results"]
    assert {q["quota"] for q in quotas} >= {"max_projects", "max_running_services"}
    assert all({"limit", "used"} <= set(q) for q in quotas)
    assert_page(owner.client, "/api/v1/usage")
    with owner.scope():
        for _ in range(2):
            Job.objects.create(kind="dataset_sync", errors=[{"file": "a.jpg", "reason": "damaged"}])
    jobs = assert_page(owner.client, "/api/v1/jobs", at_least=2)["results"]
    for job in jobs:
        assert_job(job)


def test_job_detail_and_another_tenants_job_is_404(owner, outsider):
    with owner.scope():
        job = Job.objects.create(kind="dataset_sync", counts={"imported": 1})
    r = owner.client.get(f"/api/v1/jobs/{job.pk}")
    assert r.status_code == 200
    assert_job(r.json())
    assert_detail(outsider.client.get(f"/api/v1/jobs/{job.pk}"), 404)
    assert_detail(owner.client.get(f"/api/v1/jobs/{missing_id()}"), 404)


def test_quota_exceeded_is_403_with_quota_limit_used(owner):
    Quota.objects.update_or_create(tenant=owner.tenant, defaults={"max_projects": 0})
    r = owner.client.post("/api/v1/projects", {"name": "p1", "type": "image_classification", "dataset": {
        "source": "create", "name": "d1", "input_path": owner.tenant.default_root + "in/",
        "output_path": owner.tenant.default_root + "out/"}}, format="json")
    body = assert_detail(r, 403)
    assert body["code"] == "quota_exceeded"
    assert body["quota"] == "max_projects" and body["limit"] == 0 and body["used"] == 0


def test_storage_browse_and_folder_create(owner, store):
    root = owner.tenant.default_root
    r = owner.client.post("/api/v1/storage/folders", {"path": root + "a/b/c/"}, format="json")
    assert r.status_code == 201 and r.json()["path"].startswith(root + "a/b/c")
    listing = owner.client.get("/api/v1/storage/browse", {"path": root + "a/"}).json()
    assert listing["folders"] == [root + "a/b/"]
    bad = owner.client.post("/api/v1/storage/folders", {"path": root + "bad*name/"}, format="json")
    assert bad.status_code == 400 and bad.json()["path"]
    r = owner.client.get("/api/v1/storage/browse", {"path": "s3://not-mine/"})
    assert r.status_code in (400, 403, 404)


def test_schema_renders_and_documents_the_main_bodies(owner):
    from drf_spectacular.generators import SchemaGenerator

    r = APIClient().get("/api/schema/")
    assert r.status_code == 200
    schema = SchemaGenerator().get_schema(request=None, public=True)
    paths = schema["paths"]
    for path, method in [
        ("/api/v1/auth/token", "post"), ("/api/v1/me", "get"), ("/api/v1/quotas", "get"),
        ("/api/v1/projects", "post"), ("/api/v1/projects/{id}", "get"), ("/api/v1/datasets/{id}/sync", "post"),
        ("/api/v1/datasets/{id}/preview", "get"), ("/api/v1/datasets/{id}/samples/delete", "post"),
        ("/api/v1/projects/{project_id}/train", "post"), ("/api/v1/projects/{project_id}/versions/{version}", "get"),
        ("/api/v1/projects/{project_id}/versions/{version}/deploy", "post"), ("/api/v1/services/{id}", "get"),
        ("/api/v1/services/{id}/metrics", "get"), ("/api/v1/storage/folders", "post"),
    ]:
        responses = paths[path][method]["responses"]
        ok = next(v for k, v in responses.items() if k.startswith("2"))
        body = ok["content"]["application/json"]["schema"]
        # A documented serializer, not a bare "object".
        assert "$ref" in body or "properties" in body or body.get("type") == "array", (path, body)
    # Path ids are typed.
    params = paths["/api/v1/projects/{id}"]["get"]["parameters"]
    assert next(p for p in params if p["name"] == "id")["schema"]["format"] == "uuid"


def test_inference_needs_credentials_and_unknown_ids_are_404(owner):
    url = f"/v1/infers/{missing_id()}"
    assert_detail(APIClient().post(url, {"text": "x"}, format="json"), 401)
    assert_detail(owner.client.post(url, {"text": "x"}, format="json"), 404)
    assert owner.client.get("/api/v1/projects/not-a-uuid").status_code == 404


def test_malformed_json_is_400_detail(owner):
    r = owner.client.post("/api/v1/projects", data="{nope", content_type="application/json")
    assert_detail(r, 400)


@pytest.mark.parametrize("url", ["/api/v1/jobs?target_id=bad", "/api/v1/services?project=bad",
                                 "/api/v1/models?project=bad", "/api/v1/projects?page=0",
                                 "/api/v1/datasets?page_size=abc"])
def test_bad_query_values_are_not_500(owner, url):
    r = owner.client.get(url)
    assert r.status_code in (200, 400, 404), r.content
    assert isinstance(r.json(), dict)
