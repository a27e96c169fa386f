"""The tenant scope of one request never reaches the next request on the same thread.

Web threads serve request after request (keep-alive connections reuse them). Each sequence
below runs in one copied context, the state a thread carries from request to request, so
a leak shows in the sequence and stays out of the other tests.
"""

from __future__ import annotations

import contextvars

import pytest
from rest_framework.test import APIClient, APIRequestFactory

from datasets.models import Dataset
from exeml.tenancy.scoping import current_tenant, is_unscoped, set_tenant, unscoped
from tests.security.scope_urls import LEFT_OPEN, BoomView

pytestmark = [pytest.mark.django_db, pytest.mark.urls("tests.security.scope_urls")]


def _on_one_thread(sequence):
    return contextvars.copy_context().run(sequence)


def _dataset(actor, name: str) -> None:
    with actor.scope():
        Dataset.objects.create(name=name, task_type="image_classification", input_path="s3://b/in/",
                               output_path="s3://b/out/")


def test_a_500_as_one_tenant_leaves_no_scope_for_the_next_requests_on_the_thread(owner, outsider):
    _dataset(owner, "a-data")
    _dataset(outsider, "b-data")

    def sequence():
        owner.client.raise_request_exception = False
        assert owner.client.get("/api/v1/probe/boom").status_code == 500
        between = (current_tenant(), is_unscoped())
        as_b = outsider.client.get("/api/v1/probe/scope").json()
        anonymous = APIClient().get("/api/v1/probe/scope").json()
        plain_anonymous = APIClient().get("/probe/plain-scope").json()
        return between, as_b, anonymous, plain_anonymous, (current_tenant(), is_unscoped())

    between, as_b, anonymous, plain_anonymous, after = _on_one_thread(sequence)
    assert between == (None, False)
    assert as_b == {"tenant": str(outsider.tenant.pk), "unscoped": False, "datasets": ["b-data"]}
    assert anonymous == {"tenant": None, "unscoped": False, "datasets": "refused"}
    assert plain_anonymous == {"tenant": None, "unscoped": False, "datasets": "refused"}
    assert after == (None, False)


def test_an_api_view_that_raises_resets_the_scope_itself(owner):
    """Without any middleware around it (a view called directly), dispatch's own try/finally."""
    request = APIRequestFactory().get("/api/v1/probe/boom", HTTP_AUTHORIZATION=f"Token {owner.token}")

    def sequence():
        with pytest.raises(RuntimeError, match="boom"):
            BoomView.as_view()(request)
        return current_tenant(), is_unscoped()

    assert _on_one_thread(sequence) == (None, False)


def test_nothing_a_request_leaves_set_survives_it(tenant, outsider):
    """The last line of defence, outermost middleware: a careless view that sets a tenant and
    leaves unscoped() open does not leave either to the thread's next request."""
    _dataset(outsider, "b-data")

    def sequence():
        try:
            assert APIClient().get(f"/probe/plain-leak?tenant={tenant.slug}").status_code == 200
            between = (current_tenant(), is_unscoped())
            anonymous = APIClient().get("/probe/plain-scope").json()
            as_b = outsider.client.get("/api/v1/probe/scope").json()
            return between, anonymous, as_b
        finally:
            LEFT_OPEN.clear()  # in the context that opened them

    between, anonymous, as_b = _on_one_thread(sequence)
    assert between == (None, False)
    assert anonymous == {"tenant": None, "unscoped": False, "datasets": "refused"}
    assert as_b == {"tenant": str(outsider.tenant.pk), "unscoped": False, "datasets": ["b-data"]}


def test_a_request_starts_with_no_scope_whatever_the_thread_carries(tenant):
    """Fail closed: a scope some earlier code on the thread left set does not reach a request."""

    def sequence():
        set_tenant(tenant)
        with unscoped():
            return APIClient().get("/probe/plain-scope").json()

    assert _on_one_thread(sequence) == {"tenant": None, "unscoped": False, "datasets": "refused"}
