"""Every change that can refuse a kept API token tells every web process (tokencache.py):
a token saved (revoked) or deleted, a membership saved (role) or deleted, a user saved
(deactivated) or deleted. Signals, so the admin and the shell are covered as well as the API.
A login (``last_login`` only) and a token's ``last_used_at`` stamp change nothing a kept
token depends on and bump nothing (else every login would empty every process's cache)."""

from __future__ import annotations

from django.conf import settings
from django.db.models.signals import post_delete, post_save

from exeml.tenancy.models import ApiToken, Membership
from exeml.tenancy.tokencache import auth_changed

_HARMLESS = {frozenset({"last_login"}), frozenset({"last_used_at"})}


def _saved(sender, instance, created=False, update_fields=None, **kwargs) -> None:
    if created:
        return  # a new row refuses nothing that a cache keeps
    if update_fields is not None and frozenset(update_fields) in _HARMLESS:
        return
    auth_changed()


def _deleted(sender, instance, **kwargs) -> None:
    auth_changed()


def connect() -> None:
    for model in (ApiToken, Membership, settings.AUTH_USER_MODEL):
        post_save.connect(_saved, sender=model, dispatch_uid=f"auth-generation-save-{model}")
        post_delete.connect(_deleted, sender=model, dispatch_uid=f"auth-generation-delete-{model}")
