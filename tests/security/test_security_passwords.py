"""Passwords: the validators at every place one is set (create-tenant, set-password, the API,
the admin, the generated demo and operator logins); a user's own change; the operator's reset."""

from __future__ import annotations

import io
import sys
import uuid

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from rest_framework.test import APIClient

from exeml import cli
from exeml.tenancy.models import Tenant

pytestmark = pytest.mark.django_db

STRONG = "blue-Harbor-lantern-42"


def _run(argv: list[str], stdin: str, monkeypatch, capsys) -> tuple[int, str, str]:
    monkeypatch.setattr(sys, "stdin", io.StringIO(stdin))
    code = cli.main(argv)
    out = capsys.readouterr()
    return code, out.out, out.err


def _token_login(username: str, password: str) -> int:
    body = {"username": username, "password": password}
    return APIClient().post("/api/v1/auth/token", body, format="json").status_code


def test_create_tenant_refuses_a_weak_password_and_creates_nothing(store, monkeypatch, capsys):
    slug, username = f"t{uuid.uuid4().hex[:8]}", f"u{uuid.uuid4().hex[:8]}"
    argv = ["create-tenant", slug, "--user", username, "--password-stdin"]
    for weak, reason in [("x", "too short"), ("1234567890123", "entirely numeric"), ("password123", "too common"),
                         (username + "1", "too similar to the username")]:
        code, _out, err = _run(argv, weak + "\n", monkeypatch, capsys)
        assert code == 2 and "password refused" in err and reason in err, err
    assert not Tenant.objects.filter(slug=slug).exists()
    assert not get_user_model().objects.filter(username=username).exists()
    # The --password option of old scripts is checked the same way.
    code, _out, err = _run([*argv[:-1], "--password", "x"], "", monkeypatch, capsys)
    assert code == 2 and "too short" in err

    code, out, _err = _run(argv, STRONG + "\n", monkeypatch, capsys)
    assert code == 0 and "API token:" in out
    assert Tenant.objects.filter(slug=slug).exists()
    assert _token_login(username, STRONG) == 201


def test_set_password_applies_the_validators_and_takes_no_password_argument(owner, monkeypatch, capsys):
    username = owner.user.username
    with pytest.raises(SystemExit):
        cli.build_parser().parse_args(["set-password", username, "--password", STRONG])  # never argv
    code, _out, err = _run(["set-password", username, "--password-stdin"], "short\n", monkeypatch, capsys)
    assert code == 2 and "too short" in err
    assert _token_login(username, "pw-" + username) == 201  # unchanged

    code, _out, err = _run(["set-password", "nobody-" + uuid.uuid4().hex, "--password-stdin"], STRONG + "\n",
                           monkeypatch, capsys)
    assert code == 2 and "no user named" in err

    code, out, _err = _run(["set-password", username, "--password-stdin"], STRONG + "\n", monkeypatch, capsys)
    assert code == 0 and f"password of {username} set" in out
    assert _token_login(username, STRONG) == 201
    assert _token_login(username, "pw-" + username) == 401


def test_set_password_prompts_twice_without_stdin_flag(owner, monkeypatch, capsys):
    answers = iter([STRONG, STRONG + "typo"])
    monkeypatch.setattr("getpass.getpass", lambda prompt="": next(answers))
    with pytest.raises(SystemExit, match="differ"):
        cli.main(["set-password", owner.user.username])
    answers = iter([STRONG, STRONG])
    assert cli.main(["set-password", owner.user.username]) == 0
    assert _token_login(owner.user.username, STRONG) == 201


def test_a_user_changes_their_own_password(owner):
    username = owner.user.username
    old = "pw-" + username
    url = "/api/v1/auth/password"
    r = owner.client.post(url, {"current_password": "wrong", "new_password": STRONG}, format="json")
    assert r.status_code == 400 and list(r.json()) == ["current_password"], r.content
    r = owner.client.post(url, {"current_password": old, "new_password": "123"}, format="json")
    assert r.status_code == 400 and list(r.json()) == ["new_password"], r.content
    reasons = r.json()["new_password"][0]
    assert "too short" in reasons and "entirely numeric" in reasons
    r = owner.client.post(url, {"current_password": old}, format="json")
    assert r.status_code == 400 and "new_password" in r.json()
    assert _token_login(username, old) == 201  # nothing changed yet

    r = owner.client.post(url, {"current_password": old, "new_password": STRONG}, format="json")
    assert r.status_code == 204, r.content
    assert _token_login(username, old) == 401
    assert _token_login(username, STRONG) == 201
    assert owner.client.get("/api/v1/me").status_code == 200  # API tokens are separate credentials


def test_the_changing_session_stays_signed_in_and_other_sessions_end(viewer):
    username, old = viewer.user.username, "pw-" + viewer.user.username
    here, elsewhere = APIClient(), APIClient()
    assert here.login(username=username, password=old) and elsewhere.login(username=username, password=old)
    r = here.post("/api/v1/auth/password", {"current_password": old, "new_password": STRONG}, format="json")
    assert r.status_code == 204, r.content  # a viewer too: it is their own account
    assert here.get("/api/v1/me").status_code == 200
    assert elsewhere.get("/api/v1/me").status_code in (401, 403)


def test_the_operator_resets_a_password_in_the_admin(owner):
    operator = get_user_model().objects.create_superuser(f"op{uuid.uuid4().hex[:6]}", password=STRONG + "-op")
    web = Client()
    assert web.login(username=operator.username, password=STRONG + "-op")
    user = owner.user
    assert web.get(f"/admin/auth/user/{user.pk}/change/").status_code == 200
    page = f"/admin/auth/user/{user.pk}/password/"
    assert web.get(page).status_code == 200
    r = web.post(page, {"password1": "short", "password2": "short", "usable_password": "true"})
    assert r.status_code == 200 and b"too short" in r.content
    r = web.post(page, {"password1": STRONG, "password2": STRONG, "usable_password": "true"})
    assert r.status_code == 302, r.content[:2000]
    assert _token_login(user.username, STRONG) == 201


def test_generated_logins_pass_the_validators_and_a_weak_kept_one_is_replaced(tmp_path):
    from exeml.tenancy.services import password_check

    kept = tmp_path / "login.txt"
    kept.write_text("demo")
    password = cli._kept_password(kept, "demo")
    assert password != "demo" and kept.read_text() == password
    password_check(password=password, user=get_user_model()(username="demo"))
    assert cli._kept_password(kept, "demo") == password  # a valid one is kept
