import pytest

from exeml.jobs import services as job_services
from exeml.jobs.models import Job
from tests.conftest import wait_for


@pytest.mark.django_db(transaction=True)
def test_task_round_trips_through_real_worker(celery_worker, owner):
    from exeml.tasks import echo

    with owner.scope():
        job = job_services.job_create(kind="echo")
    echo.apply_async(args=[str(job.pk), str(owner.tenant.pk), "hello"])

    def done():
        with owner.scope():
            return Job.objects.get(pk=job.pk) if Job.objects.get(pk=job.pk).status == "succeeded" else None

    finished = wait_for(done, timeout=60, message="echo job")
    assert finished.result["echo"] == "hello"
    assert finished.result["worker_pid"] != __import__("os").getpid()
    r = owner.client.get(f"/api/v1/jobs/{job.pk}")
    assert r.status_code == 200
    assert r.json()["status"] == "succeeded"


@pytest.mark.django_db
def test_healthz_reports_each_part(client, store):
    r = client.get("/healthz")
    body = r.json()
    assert set(body) >= {"ok", "database", "broker", "storage"}
    assert body["database"]["ok"] is True
    assert body["storage"]["ok"] is True
    assert r.status_code == 200, body


def test_web_process_sends_tasks_to_the_configured_broker(tmp_path):
    """A process that only loads Django (as gunicorn does) must use settings' broker, not
    Celery's default amqp://localhost."""
    import subprocess
    import sys

    code = (
        "import django, os; os.environ.setdefault('DJANGO_SETTINGS_MODULE', 'exeml.settings'); django.setup();"
        "from django.conf import settings; from training.tasks import run_version;"
        "print(run_version.app.conf.broker_url == settings.CELERY_BROKER_URL, run_version.app.main)"
    )
    env = {**__import__("os").environ, "EXEML_HOME": str(tmp_path)}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True).stdout
    assert out.split() == ["True", "exeml"], out
