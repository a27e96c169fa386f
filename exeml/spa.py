"""Serves the built console: index.html for every client route (assets via whitenoise)."""

from __future__ import annotations

from django.conf import settings
from django.http import HttpResponse
from django.views.decorators.csrf import ensure_csrf_cookie

_MISSING = (
    "<!doctype html><title>ExeML</title><h1>ExeML</h1><p>The console is not built. "
    "Run <code>scripts/run.sh</code> (it builds it) or <code>cd frontend && npm ci && npm run build</code>. "
    "The API is at <a href='/api/docs/'>/api/docs/</a>.</p>"
)


@ensure_csrf_cookie
def console(request, path: str = ""):
    index = settings.FRONTEND_DIST / "index.html"
    if index.is_file():
        return HttpResponse(index.read_bytes(), content_type="text/html; charset=utf-8")
    return HttpResponse(_MISSING, content_type="text/html; charset=utf-8")
