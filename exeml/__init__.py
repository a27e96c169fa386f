"""ExeML: a self-hosted, multi-tenant, code-free AutoML platform."""

# Load the Celery app with Django, so every process that sends a task (gunicorn included)
# uses the configured broker instead of Celery's default one.
from exeml.celery import app as celery_app

__all__ = ("celery_app",)
