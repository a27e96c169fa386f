"""Root fixtures: tenants, API clients, a real Celery worker on the test database."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.conf import settings
from rest_framework.test import APIClient

from exeml.tenancy import services as tenancy_services
from exeml.tenancy.models import Role, Tenant
from exeml.tenancy.scoping import tenant_scope
from tests.processes import stop_group, wait_for  # noqa: F401 (wait_for: tests import it from here)

REPO = Path(__file__).resolve().parent.parent
TESTS = Path(__file__).resolve().parent

# Marked `slow` by where they live (a folder, a file, or file::test), so a new test in these
# places is marked without anyone remembering to: real fits, full `exeml run` servers, the
# browser and Node builds, workers on a hung storage, the stress runs of a minute or more.
# `pytest -m "not slow"` is the edit-test loop; plain `pytest` runs everything.
SLOW_PATHS = (
    "trainers/",
    "training/test_training_runs.py",
    "training/test_training_publish_job.py",
    "integration/",
    "cluster/",
    "e2e/",
    "test_cli_run.py",
    "client/test_sdk_live_run.py",
    "client/test_client_wheel.py",
    "contract/test_console_types.py",
    "datasets/test_storage_stall.py",
    "serving/test_serving_storage_stall.py",
    "datasets/test_dataset_import_limits.py::test_other_tenant_keeps_answering_while_a_100k_line_file_imports",
    "test_reapers.py::test_a_queued_version_whose_message_was_lost_is_sent_again_and_completes",
    "training/test_worker_loss.py",
    # A worker held back on purpose until the request has answered, or storage retried until it
    # gives up: seconds of waiting each.
    "datasets/test_dataset_upload_jobs.py::test_a_large_upload_answers_with_a_job_before_its_import_ends",
    "datasets/test_dataset_upload_jobs.py::test_a_cancelled_upload_keeps_none_of_its_files",
    "test_reapers.py::test_an_export_whose_storage_fails_ends_failed",
    "versions/test_version_jobs.py::test_a_large_version_answers_with_a_job_before_it_is_written",
    "serving/test_cross_replica_state.py",
    "test_beat_leader.py",
    # Scale checks: over a thousand S3 objects each.
    "storage/test_store_contract.py::test_delete_many_batches_over_1000",
    "datasets/test_resync_unchanged.py",
)


def pytest_collection_modifyitems(config, items) -> None:
    for item in items:
        try:
            where = f"{Path(item.path).resolve().relative_to(TESTS).as_posix()}::{item.name}"
        except ValueError:  # clients/python/tests: no fits, no servers
            continue
        if where.startswith(SLOW_PATHS):
            item.add_marker(pytest.mark.slow)
        if where.startswith("cluster/"):
            item.add_marker(pytest.mark.cluster)


class Actor:
    """A user of one tenant with an authenticated API client."""

    def __init__(self, tenant: Tenant, username: str, role: str) -> None:
        self.tenant = tenant
        self.user, self.membership = tenancy_services.member_add(
            tenant=tenant, username=username, password="pw-" + username, role=role
        )
        self.token = tenancy_services.token_issue(user=self.user, tenant=tenant)
        self.client = APIClient()
        self.client.credentials(HTTP_AUTHORIZATION=f"Token {self.token}")

    def scope(self):
        return tenant_scope(self.tenant)


def _unique(prefix: str) -> str:
    return f"{prefix}{uuid.uuid4().hex[:8]}"


@pytest.fixture(autouse=True, scope="session")
def _fast_password_hashing() -> Iterator[None]:
    """Every actor's password is hashed, and every login checks one: PBKDF2 at Django's 1,000,000
    rounds costs 0.3 s each on a CI core, most of the quick suite's setup time. The tests' own
    process hashes with MD5 (Django's advice for test runs; nothing a test checks depends on the
    hash's strength); PBKDF2 stays listed so the hashes a server or worker subprocess writes,
    with the production settings, still verify here."""
    from django.test import override_settings

    with override_settings(PASSWORD_HASHERS=[
        "django.contrib.auth.hashers.MD5PasswordHasher",
        *[h for h in settings.PASSWORD_HASHERS if not h.endswith("MD5PasswordHasher")],
    ]):
        yield


@pytest.fixture(autouse=True)
def _seeded_flavors(request):
    """Transactional tests flush every table, the seeded flavors too: put them back."""
    uses_db = request.node.get_closest_marker("django_db") or {"db", "transactional_db"} & set(request.fixturenames)
    if not uses_db:
        return
    request.getfixturevalue("_django_db_helper")
    from exeml.tenancy.flavors import DEFAULT_FLAVORS
    from exeml.tenancy.models import Flavor

    if Flavor.objects.count() >= len(DEFAULT_FLAVORS):
        return
    for spec in DEFAULT_FLAVORS:
        values = {k: (str(v) if k == "queue" else v) for k, v in spec.items() if k != "code"}
        Flavor.objects.update_or_create(code=spec["code"], defaults=values)


@pytest.fixture
def tenant(db) -> Tenant:
    return tenancy_services.tenant_create(slug=_unique("t"), name="Tenant A")


@pytest.fixture
def other_tenant(db) -> Tenant:
    return tenancy_services.tenant_create(slug=_unique("o"), name="Tenant B")


@pytest.fixture
def owner(tenant) -> Actor:
    return Actor(tenant, _unique("owner"), Role.OWNER)


@pytest.fixture
def member(tenant) -> Actor:
    return Actor(tenant, _unique("member"), Role.MEMBER)


@pytest.fixture
def viewer(tenant) -> Actor:
    return Actor(tenant, _unique("viewer"), Role.VIEWER)


@pytest.fixture
def outsider(other_tenant) -> Actor:
    return Actor(other_tenant, _unique("outsider"), Role.OWNER)


@pytest.fixture
def api_client(owner) -> APIClient:
    return owner.client


@pytest.fixture
def store():
    from exeml.storage import default_store

    s = default_store()
    s.ensure_bucket(settings.EXEML_BUCKET)
    return s


def _test_database_url() -> str:
    db = settings.DATABASES["default"]
    if db["ENGINE"].endswith("sqlite3"):
        return f"sqlite:///{db['NAME']}"
    user = db.get("USER") or ""
    password = f":{db['PASSWORD']}" if db.get("PASSWORD") else ""
    auth = f"{user}{password}@" if user else ""
    return f"postgres://{auth}{db.get('HOST') or '127.0.0.1'}:{db.get('PORT') or 5432}/{db['NAME']}"


class WorkerProcess:
    def __init__(self, queues: str, concurrency: int, name: str) -> None:
        self.queues, self.concurrency, self.name = queues, concurrency, name
        self.proc: subprocess.Popen | None = None
        self.log = settings.EXEML_HOME / f"worker-{name}.log"

    def start(self) -> None:
        from exeml.cli import _ensure_broker_folders

        self.log.parent.mkdir(parents=True, exist_ok=True)
        _ensure_broker_folders()  # the embedded broker (no Redis) reads folders that must exist
        # EXEML_TEST_HOOKS: a test may slow this worker's upload imports (per dataset, through
        # the shared cache) to show that an upload's answer comes before its import ends.
        env = {**os.environ, "DATABASE_URL": _test_database_url(), "PYTHONUNBUFFERED": "1", "EXEML_TEST_HOOKS": "1"}
        cmd = [
            sys.executable, "-m", "celery", "-A", "exeml.celery", "worker", "-Q", self.queues,
            "-c", str(self.concurrency), "-n", f"{self.name}-{uuid.uuid4().hex[:6]}@%h",
            "--loglevel", "INFO", "--without-gossip", "--without-mingle", "--without-heartbeat",
        ]
        self.proc = subprocess.Popen(
            cmd, cwd=REPO, env=env, stdout=self.log.open("ab"), stderr=subprocess.STDOUT, start_new_session=True
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"worker exited early, see {self.log}")
            if b"ready." in self.log.read_bytes():
                return
            time.sleep(0.3)
        raise RuntimeError(f"worker did not become ready, see {self.log}")

    def stop(self) -> None:
        stop_group(self.proc)

    def kill_children(self) -> None:
        """SIGKILL the pool processes (simulates a worker host dying mid-task)."""
        if self.proc:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()


@pytest.fixture
def worker_delay():
    """Slow a worker's job through the shared cache its test hooks read (EXEML_TEST_HOOKS):
    ``worker_delay(key, seconds)`` with a key from the job's ``*_key_for_tests`` function; the
    keys are removed after the test."""
    from django.core.cache import caches

    keys: list[str] = []

    def delay(key: str, seconds: float) -> None:
        keys.append(key)
        caches["shared"].set(key, seconds, timeout=600)

    yield delay
    for key in keys:
        caches["shared"].delete(key)


@pytest.fixture(scope="session")
def celery_worker(django_db_setup, django_db_blocker) -> Iterator[WorkerProcess]:
    """A real Celery worker (subprocess) on the broker and the test database."""
    from exeml.celery import app
    from exeml.cli import _ensure_broker_folders

    _ensure_broker_folders()
    app.control.purge()
    worker = WorkerProcess("default,train.cpu,train.gpu", 2, "main")
    worker.start()
    free = WorkerProcess("train.free", 1, "free")
    free.start()
    yield worker
    worker.stop()
    free.stop()
