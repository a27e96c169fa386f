"""Who may do what: the one table of roles and capabilities.

Every API view names the capability each of its methods (or viewset actions) needs; a view
that names none needs ``read`` for safe methods and ``write`` for the rest. The single DRF
permission class (``exeml.api.permissions.RoleAllows``) looks the caller's role up here, so
the table below, ``docs/roles.md`` (generated from it: ``python -m exeml.tenancy.roles``) and
the behaviour cannot drift apart.
"""

from __future__ import annotations

from collections.abc import Mapping

from django.db import models


class Role(models.TextChoices):
    OWNER = "owner"
    ADMIN = "admin"
    MEMBER = "member"
    REVIEWER = "reviewer"
    LABELER = "labeler"
    VIEWER = "viewer"


class Capability(models.TextChoices):
    ACCOUNT = "account", "own session, password and profile (/me)"
    READ = "read", "see the tenant's projects, datasets, samples, models, services and jobs"
    INFER = "infer", "call a running service's inference API"
    TOKENS = "tokens", "create, list and revoke one's own API tokens"
    LABEL = "label", "change annotations (locked samples: only their assignee), accept suggestions, submit own tasks"
    REVIEW = "review", "accept or reject the annotations of a task in review"
    ASSIGN = "assign", "split a dataset into labeling tasks, reassign and cancel them"
    WRITE = "write", "create, change and delete projects, datasets, labels, exports; sync, upload, train, deploy"
    MANAGE = "manage", "members and their roles, model downloads, tenant settings"


_ALL = set(Capability)

ROLE_CAPABILITIES: Mapping[str, frozenset[str]] = {
    Role.OWNER: frozenset(_ALL),
    Role.ADMIN: frozenset(_ALL),
    Role.MEMBER: frozenset(_ALL - {Capability.MANAGE}),
    Role.REVIEWER: frozenset({Capability.ACCOUNT, Capability.READ, Capability.INFER, Capability.TOKENS, Capability.REVIEW}),
    Role.LABELER: frozenset({Capability.ACCOUNT, Capability.READ, Capability.INFER, Capability.LABEL}),
    Role.VIEWER: frozenset({Capability.ACCOUNT, Capability.READ, Capability.INFER, Capability.TOKENS}),
}

SAFE_METHODS = ("GET", "HEAD", "OPTIONS")


def role_allows(role: str, capability: str) -> bool:
    return capability in ROLE_CAPABILITIES.get(role, frozenset())


def required_capability(view, method: str) -> str:
    """The capability ``view`` needs for ``method``: its ``capabilities`` entry for the viewset
    action or the HTTP method, else read for safe methods and write for the rest."""
    declared = getattr(view, "capabilities", None) or {}
    if isinstance(declared, str):
        return declared
    action = getattr(view, "action", None)
    if action and action in declared:
        return declared[action]
    method = method.upper()
    if method in declared:
        return declared[method]
    if method in SAFE_METHODS and "GET" in declared and method != "GET":
        return declared["GET"]
    return Capability.READ if method in SAFE_METHODS else Capability.WRITE


def roles_table_markdown() -> str:
    roles = list(Role)
    head = "| capability | what it covers | " + " | ".join(r.value for r in roles) + " |"
    rule = "|" + "---|" * (len(roles) + 2)
    rows = [
        f"| `{c.value}` | {c.label} | " + " | ".join("yes" if role_allows(r, c) else "—" for r in roles) + " |"
        for c in Capability
    ]
    return "\n".join([head, rule, *rows])


DOC_START = "<!-- roles-table:start -->"
DOC_END = "<!-- roles-table:end -->"


if __name__ == "__main__":  # pragma: no cover - prints the table for docs/roles.md
    print(roles_table_markdown())
