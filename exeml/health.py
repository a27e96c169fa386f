"""Health endpoints for a load balancer and an orchestrator.

/healthz is readiness: database, broker and storage, each with ok and a reason; 503 when
one fails, so a balancer sends no request to a replica that could not answer it.
/livez is liveness: the process answers, nothing else is asked, so a database or broker
outage (which every replica shares) never makes an orchestrator restart healthy processes.
"""

from __future__ import annotations

from django.conf import settings
from django.db import connection
from django.http import JsonResponse

from exeml.errors import scrub


def _check_database() -> dict:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return {"ok": True, "engine": connection.vendor}


def _check_broker() -> dict:
    from exeml.celery import app

    with app.connection_for_write() as conn:
        conn.ensure_connection(max_retries=1, timeout=3)
    return {"ok": True, "transport": conn.transport_cls if isinstance(conn.transport_cls, str) else "custom"}


def _check_storage() -> dict:
    from exeml.storage import default_store

    store = default_store()
    exists = store.bucket_exists(settings.EXEML_BUCKET)
    return {"ok": bool(exists), "bucket": settings.EXEML_BUCKET, "backend": type(store).__name__}


def healthz(request):
    checks = {}
    for name, fn in (("database", _check_database), ("broker", _check_broker), ("storage", _check_storage)):
        try:
            checks[name] = fn()
        except Exception as exc:  # a health check reports, it never raises
            # Public: the reason without internal endpoints or paths (the log has the rest).
            checks[name] = {"ok": False, "error": f"{type(exc).__name__}: {scrub(str(exc))}"}
    ok = all(c.get("ok") for c in checks.values())
    return JsonResponse({"ok": ok, **checks}, status=200 if ok else 503)


def livez(request):
    return JsonResponse({"ok": True})
