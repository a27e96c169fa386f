"""The role table (exeml/tenancy/roles.py, docs/roles.md) is what every route enforces.

A walk over every API route and method, as the tenant-scope walk in tests/test_api_base.py:
each role gets a 403 exactly where its row of the table lacks the capability the route needs.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from exeml.tenancy.models import ApiToken, Membership
from exeml.tenancy.roles import (
    DOC_END,
    DOC_START,
    Capability,
    Role,
    required_capability,
    role_allows,
    roles_table_markdown,
)
from exeml.tenancy.views import PublicAPIView
from tests.conftest import Actor, _unique
from tests.routes import api_patterns, fill, view_class

pytestmark = pytest.mark.django_db

DOC = Path(__file__).resolve().parents[2] / "docs" / "roles.md"
METHODS = ("get", "post", "put", "patch", "delete")


def _calls():
    """(url, method, capability) for every method of every tenant API route."""
    seen = set()
    for route, pattern in api_patterns():
        if "(?P<format>" in route:
            continue
        callback = pattern.callback
        cls = view_class(pattern)
        if cls is None or issubclass(cls, PublicAPIView):
            continue
        actions = getattr(callback, "actions", None)
        methods = list(actions) if actions else [m for m in METHODS if hasattr(cls, m)]
        for method in methods:
            view = cls()
            view.action = actions.get(method) if actions else None
            url = fill(route)
            key = (re.sub(r"[0-9a-f-]{36}", "ID", url), method)
            if key in seen:
                continue
            seen.add(key)
            yield url, method, required_capability(view, method.upper())


def test_every_route_refuses_exactly_the_roles_the_table_refuses(tenant):
    actors = {role: Actor(tenant, _unique(role), role) for role in Role.values}
    calls = list(_calls())
    assert len(calls) > 60
    assert {c for *_, c in calls} >= {Capability.READ, Capability.WRITE, Capability.LABEL, Capability.REVIEW,
                                      Capability.ASSIGN, Capability.MANAGE, Capability.TOKENS, Capability.INFER}
    wrong = []
    for url, method, capability in calls:
        if url.endswith("/auth/logout"):
            continue  # would end the client's session; any signed-in user may log out
        for role, actor in actors.items():
            r = getattr(actor.client, method)(url, {}, format="json")
            refused = r.status_code == 403
            if refused == role_allows(role, capability) and r.status_code != 429:
                wrong.append((role, method.upper(), url, capability, r.status_code))
    assert wrong == []


def test_a_labeler_cannot_train_deploy_delete_or_see_tokens_and_a_viewer_changes_nothing(tenant):
    for role in (Role.LABELER, Role.VIEWER):
        for capability in (Capability.WRITE, Capability.ASSIGN, Capability.MANAGE, Capability.REVIEW):
            assert not role_allows(role, capability), (role, capability)
    assert not role_allows(Role.LABELER, Capability.TOKENS)
    assert not role_allows(Role.VIEWER, Capability.LABEL)
    labeler = Actor(tenant, _unique("labeler"), Role.LABELER)
    assert labeler.client.get("/api/v1/tokens").status_code == 403
    me = labeler.client.get("/api/v1/me").json()
    assert me["role"] == "labeler" and "label" in me["capabilities"] and "write" not in me["capabilities"]


def test_docs_roles_md_shows_the_table_the_code_enforces():
    text = DOC.read_text()
    start, end = text.index(DOC_START) + len(DOC_START), text.index(DOC_END)
    assert text[start:end].strip() == roles_table_markdown().strip(), "regenerate: python -m exeml.tenancy.roles"


# --------------------------------------------------------------------------- members


def test_owner_invites_changes_and_removes_members_and_their_work_stays(owner, tenant, store):
    from tests.labeling.labelkit import make_dataset, text_samples

    name = _unique("newbie")
    r = owner.client.post("/api/v1/members", {"username": name, "role": "labeler"}, format="json")
    assert r.status_code == 400 and "password" in r.json()
    r = owner.client.post("/api/v1/members", {"username": name, "role": "labeler", "password": "short"},
                          format="json")
    assert r.status_code == 400 and "password" in r.json()
    r = owner.client.post("/api/v1/members", {"username": name, "role": "labeler",
                                              "password": "a-long-passphrase-9"}, format="json")
    assert r.status_code == 201 and r.json() == {"username": name, "role": "labeler",
                                                 "joined_at": r.json()["joined_at"]}
    assert owner.client.post("/api/v1/members", {"username": name, "role": "viewer"},
                             format="json").status_code == 400
    token = owner.client.post("/api/v1/auth/token", {"username": name, "password": "a-long-passphrase-9"},
                              format="json").json()["token"]
    from rest_framework.test import APIClient

    newbie = APIClient()
    newbie.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    ds = make_dataset(owner, "text_classification")
    (sample,) = text_samples(owner, store, ds, ["hello"])
    owner.client.post(f"/api/v1/datasets/{ds.pk}/tasks", {"assignees": [name], "per_task": 5}, format="json")
    assert newbie.put(f"/api/v1/datasets/{ds.pk}/samples/{sample.pk}/annotations", {"labels": ["greeting"]},
                      format="json").status_code == 200
    r = owner.client.patch(f"/api/v1/members/{name}", {"role": "reviewer"}, format="json")
    assert r.status_code == 200 and r.json()["role"] == "reviewer"
    assert owner.client.delete(f"/api/v1/members/{name}").status_code == 204
    assert newbie.get("/api/v1/projects").status_code == 401
    assert not Membership.objects.filter(tenant=tenant, user__username=name).exists()
    assert not ApiToken.objects.filter(user__username=name, revoked_at__isnull=True).exists()
    with owner.scope():
        from datasets.models import Annotation, Sample
        from labeling.models import LabelingTask

        assert Annotation.objects.get(sample=sample).created_by.username == name
        assert LabelingTask.objects.get(dataset=ds).assignee is None
        assert Sample.objects.get(pk=sample.pk).assignee_id is None


def test_only_an_owner_touches_the_owner_role_and_the_last_owner_stays(owner, tenant):
    admin = Actor(tenant, _unique("admin"), Role.ADMIN)
    member = Actor(tenant, _unique("member"), Role.MEMBER)
    r = admin.client.patch(f"/api/v1/members/{member.user.username}", {"role": "owner"}, format="json")
    assert r.status_code == 403
    assert admin.client.delete(f"/api/v1/members/{owner.user.username}").status_code == 403
    assert member.client.get("/api/v1/members").status_code == 200
    assert member.client.delete(f"/api/v1/members/{admin.user.username}").status_code == 403
    r = owner.client.patch(f"/api/v1/members/{owner.user.username}", {"role": "admin"}, format="json")
    assert r.status_code == 400 and "last owner" in r.json()["role"][0]
    assert owner.client.delete(f"/api/v1/members/{owner.user.username}").status_code == 400
    assert admin.client.patch(f"/api/v1/members/{member.user.username}", {"role": "labeler"},
                              format="json").json()["role"] == "labeler"
    assert owner.client.patch("/api/v1/members/nobody-here", {"role": "viewer"}, format="json").status_code == 404
