"""`exeml migrate` warns when shared state would live in one host's EXEML_HOME."""

from __future__ import annotations

from django.conf import settings
from django.test import override_settings

from exeml.checks import distributed_state


def _ids() -> set[str]:
    return {w.id for w in distributed_state()}


def test_objects_under_one_hosts_home_with_a_distributed_broker_are_warned_about(tmp_path):
    home_objects = settings.EXEML_HOME / "objects"
    with override_settings(CELERY_BROKER_URL="redis://127.0.0.1:6379/0", EXEML_S3_ENDPOINT_URL=None,
                           EXEML_LOCAL_STORE_ROOT=home_objects):
        warning = next(w for w in distributed_state() if w.id == "exeml.W001")
        assert "EXEML_S3_ENDPOINT_URL" in warning.hint and str(home_objects) in warning.msg
    with override_settings(CELERY_BROKER_URL="redis://127.0.0.1:6379/0", EXEML_S3_ENDPOINT_URL=None,
                           EXEML_LOCAL_STORE_ROOT=tmp_path / "shared-mount"):
        assert _ids() == set()
    with override_settings(CELERY_BROKER_URL="redis://127.0.0.1:6379/0", EXEML_S3_ENDPOINT_URL="http://s3:9000",
                           EXEML_LOCAL_STORE_ROOT=home_objects):
        assert _ids() == set()


def test_the_filesystem_broker_is_fine_embedded_and_warned_about_beside_a_shared_database():
    with override_settings(CELERY_BROKER_URL="filesystem://", EMBEDDED=True, EXEML_S3_ENDPOINT_URL=None):
        assert _ids() == set()
    with override_settings(CELERY_BROKER_URL="filesystem://", EMBEDDED=False):
        assert _ids() == {"exeml.W002"}
