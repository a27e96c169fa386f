"""Assertions of API.md's shapes, shared by the contract tests (no __init__.py here: the
test modules import this as ``tests.contract.shapes``)."""

from __future__ import annotations

import uuid

PAGE_KEYS = {"count", "next", "previous", "results"}
JOB_KEYS = {"id", "kind", "status", "progress", "counts", "errors", "created_at", "finished_at"}


def assert_page(client, url: str, *, at_least: int = 0) -> dict:
    """A list: the page shape, and ?page/page_size honoured."""
    r = client.get(url)
    assert r.status_code == 200, r.content
    body = r.json()
    assert isinstance(body, dict) and PAGE_KEYS <= set(body), body
    assert body["count"] >= at_least
    sep = "&" if "?" in url else "?"
    small = client.get(f"{url}{sep}page=1&page_size=1")
    assert small.status_code == 200 and len(small.json()["results"]) == min(1, body["count"])
    if body["count"] > 1:
        assert small.json()["next"] and small.json()["previous"] is None
        second = client.get(f"{url}{sep}page=2&page_size=1").json()
        assert second["previous"] and len(second["results"]) == 1
    return body


def assert_field_error(response, field: str, status: int = 400) -> None:
    assert response.status_code == status, response.content
    body = response.json()
    assert isinstance(body.get(field), list) and body[field] and all(isinstance(m, str) for m in body[field]), body


def assert_detail(response, status: int) -> dict:
    assert response.status_code == status, response.content
    body = response.json()
    assert isinstance(body.get("detail"), str) and body["detail"], body
    return body


def assert_wrong_state(response) -> dict:
    body = assert_detail(response, 409)
    assert isinstance(body.get("status"), str) and body["status"], body
    return body


def assert_job(body: dict) -> None:
    assert JOB_KEYS <= set(body), body
    uuid.UUID(body["id"])
    assert body["status"] in ("queued", "running", "succeeded", "failed")
    assert 0 <= body["progress"] <= 1
    assert isinstance(body["counts"], dict) and isinstance(body["errors"], list)
    for error in body["errors"]:
        assert {"file", "reason"} <= set(error)


def missing_id() -> str:
    return str(uuid.uuid4())
