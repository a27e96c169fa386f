"""API tokens a user manages: create by name (the key shown once), list without the key,
revoke (at once, the inference auth cache included); only one's own, in the current tenant."""

from __future__ import annotations

import uuid

import pytest
from rest_framework.test import APIClient

from exeml.tenancy import services
from exeml.tenancy.models import ApiToken, hash_token
from exeml.tenancy.tokencache import auth_cache

pytestmark = pytest.mark.django_db

TOKENS = "/api/v1/tokens"
LISTED = {"id", "name", "created_at", "last_used_at", "revoked_at"}


def _with(key: str) -> APIClient:
    return APIClient(HTTP_X_AUTH_TOKEN=key)


def test_a_created_token_works_is_listed_without_its_key_and_stops_when_revoked(owner, settings):
    settings.EXEML_AUTH_CACHE_SECONDS = 600.0
    r = owner.client.post(TOKENS, {"name": "  nightly export  "}, format="json")
    assert r.status_code == 201, r.content
    created = r.json()
    assert set(created) == LISTED | {"key"} and created["name"] == "nightly export"
    assert created["revoked_at"] is None and created["last_used_at"] is None
    key = created["key"]

    assert _with(key).get("/api/v1/projects").status_code == 200
    assert APIClient(HTTP_AUTHORIZATION=f"Token {key}").get("/api/v1/me").json()["user"]["username"] == (
        owner.user.username
    )

    listed = owner.client.get(TOKENS)
    assert listed.status_code == 200
    page = listed.json()
    assert {"count", "next", "previous", "results"} <= set(page)
    row = next(t for t in page["results"] if t["id"] == created["id"])
    assert set(row) == LISTED and row["last_used_at"] is not None
    # Neither the key nor its hash is ever read back.
    assert key not in listed.content.decode() and hash_token(key) not in listed.content.decode()

    # The inference path keeps checked tokens in this process's memory: revoking forgets it there.
    infer = f"/v1/infers/{uuid.uuid4()}"
    assert _with(key).post(infer, {}, format="json").status_code == 404
    assert auth_cache.get(hash_token(key)) is not None

    assert owner.client.delete(f"{TOKENS}/{created['id']}").status_code == 204
    assert auth_cache.get(hash_token(key)) is None
    assert _with(key).get("/api/v1/projects").status_code == 401
    assert _with(key).post(infer, {}, format="json").status_code == 401
    revoked = next(t for t in owner.client.get(TOKENS).json()["results"] if t["id"] == created["id"])
    assert revoked["revoked_at"] is not None
    # Revoking again is harmless and keeps the first time.
    assert owner.client.delete(f"{TOKENS}/{created['id']}").status_code == 204
    assert ApiToken.objects.get(pk=created["id"]).revoked_at.isoformat().startswith(revoked["revoked_at"][:19])
    # The caller's own token was never touched.
    assert owner.client.get("/api/v1/me").status_code == 200


def test_another_users_or_tenants_token_is_404_and_stays_valid(owner, member, outsider):
    mine = owner.client.get(TOKENS).json()["results"]
    theirs = ApiToken.objects.get(key_hash=hash_token(member.token))
    foreign = ApiToken.objects.get(key_hash=hash_token(outsider.token))
    assert {t["id"] for t in mine} == {str(ApiToken.objects.get(key_hash=hash_token(owner.token)).pk)}
    for token in (theirs, foreign):
        assert owner.client.delete(f"{TOKENS}/{token.pk}").status_code == 404
        assert owner.client.post(f"{TOKENS}/{token.pk}", {}, format="json").status_code in (404, 405)
    assert owner.client.delete(f"{TOKENS}/{uuid.uuid4()}").status_code == 404
    assert member.client.get("/api/v1/me").status_code == 200
    assert outsider.client.get("/api/v1/me").status_code == 200
    # Each user sees only their own.
    assert [t["id"] for t in member.client.get(TOKENS).json()["results"]] == [str(theirs.pk)]


def test_the_same_user_in_another_tenant_sees_only_that_tenants_tokens(owner, other_tenant):
    services.member_add(tenant=other_tenant, username=owner.user.username)
    elsewhere, _key = services.token_create(user=owner.user, tenant=other_tenant, name="other tenant")
    ids = {t["id"] for t in owner.client.get(TOKENS).json()["results"]}
    assert str(elsewhere.pk) not in ids
    assert owner.client.delete(f"{TOKENS}/{elsewhere.pk}").status_code == 404


@pytest.mark.parametrize(("body", "reason"), [
    ({}, "required"),
    ({"name": ""}, "blank"),
    ({"name": "   "}, "blank"),
    ({"name": "x" * 81}, "80 characters"),
    ({"name": "bad\x00name"}, "Null characters"),
    ({"name": "two\nlines"}, "Control characters"),
    ({"name": ["a"]}, "valid string"),
])
def test_bad_names_are_a_400_on_name_and_create_nothing(owner, body, reason):
    before = ApiToken.objects.count()
    r = owner.client.post(TOKENS, body, format="json")
    assert r.status_code == 400, r.content
    assert reason in " ".join(r.json()["name"]), r.json()
    assert ApiToken.objects.count() == before


def test_viewers_manage_their_own_tokens_which_carry_only_their_rights(viewer):
    r = viewer.client.post(TOKENS, {"name": "read-only dashboard"}, format="json")
    assert r.status_code == 201, r.content
    client = _with(r.json()["key"])
    assert client.get("/api/v1/projects").status_code == 200
    assert client.post("/api/v1/projects", {"name": "nope", "type": "image_classification"},
                       format="json").status_code == 403
    assert viewer.client.delete(f"{TOKENS}/{r.json()['id']}").status_code == 204
    assert client.get("/api/v1/projects").status_code == 401


def test_live_tokens_per_user_are_capped(owner, monkeypatch):
    monkeypatch.setattr(services, "TOKENS_LIVE_MAX", 3)
    made = [owner.client.post(TOKENS, {"name": f"t{i}"}, format="json") for i in range(2)]  # + the fixture's
    assert [r.status_code for r in made] == [201, 201]
    r = owner.client.post(TOKENS, {"name": "one too many"}, format="json")
    assert r.status_code == 400 and r.json()["code"] == "too_many_tokens" and r.json()["limit"] == 3
    assert "revoke" in r.json()["detail"]
    assert owner.client.delete(f"{TOKENS}/{made[0].json()['id']}").status_code == 204
    assert owner.client.post(TOKENS, {"name": "after a revoke"}, format="json").status_code == 201


def test_tokens_need_a_signed_in_user():
    assert APIClient().get(TOKENS).status_code == 401
    assert APIClient().post(TOKENS, {"name": "x"}, format="json").status_code == 401
