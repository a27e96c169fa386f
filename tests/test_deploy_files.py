"""docker-compose.yml and deploy/haproxy.cfg describe the shape tests/cluster runs: the same
processes and replicas, healthchecks, the balancer's settings. No docker here: the compose
file is read as YAML; HAProxy checks its own configuration when it is installed."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from tests.cluster.harness import READINESS_PATH, REPLICA_HEADER, haproxy_config

REPO = Path(__file__).resolve().parent.parent
COMPOSE = yaml.safe_load((REPO / "docker-compose.yml").read_text())
SERVICES = COMPOSE["services"]
EXEML = ("migrate", "web", "worker-cpu", "worker-free", "worker-gpu", "beat")


def _replicas(name: str) -> int:
    return SERVICES[name].get("deploy", {}).get("replicas", 1)


def test_compose_runs_the_processes_and_replicas_of_the_cluster_test():
    assert {"postgres", "redis", "minio", "minio-init", "haproxy", *EXEML} <= set(SERVICES)
    assert SERVICES["web"]["command"].startswith("exeml web ") and _replicas("web") == 2
    assert "--queues default,train.cpu " in SERVICES["worker-cpu"]["command"] and _replicas("worker-cpu") == 2
    assert "--queues train.free --concurrency 1" in SERVICES["worker-free"]["command"]
    assert SERVICES["beat"]["command"] == "exeml beat" and _replicas("beat") == 2  # one acts, one stands by
    assert SERVICES["migrate"]["command"] == "exeml migrate"
    # Only the balancer is published to clients (MinIO's console aside).
    assert "8000:8000" in SERVICES["haproxy"]["ports"] and "ports" not in SERVICES["web"]


def test_compose_shares_only_the_database_broker_and_bucket():
    for name in EXEML:
        service = SERVICES[name]
        # EXEML_HOME is each container's own: no volume shared between processes.
        assert not service.get("volumes"), (name, service.get("volumes"))
        env = service["environment"]
        assert env["DATABASE_URL"].startswith("postgres://") and env["CELERY_BROKER_URL"].startswith("redis://")
        assert env["EXEML_S3_ENDPOINT_URL"] and env["EXEML_EMBEDDED"] == "0"
    for name in ("web", "worker-cpu", "worker-free", "beat"):
        assert SERVICES[name]["depends_on"]["migrate"] == {"condition": "service_completed_successfully"}


def test_compose_healthchecks_and_the_mounted_balancer_config():
    assert READINESS_PATH in " ".join(SERVICES["web"]["healthcheck"]["test"])
    for name in ("postgres", "redis", "worker-cpu", "worker-free"):
        assert SERVICES[name]["healthcheck"]["test"], name
    assert "./deploy/haproxy.cfg:/usr/local/etc/haproxy/haproxy.cfg:ro" in SERVICES["haproxy"]["volumes"]


def test_the_deployed_balancer_config_has_the_tested_settings():
    deployed = (REPO / "deploy" / "haproxy.cfg").read_text()
    tested = haproxy_config(port=1, servers={"web1": 2}, stats_socket=Path("/tmp/x.sock"))
    for setting in ("retries 3", "option redispatch 1", "option forwardfor", "option http-server-close", "option httpchk",
                    "http-check expect status 200", "balance roundrobin",
                    f"http-response set-header {REPLICA_HEADER} %s", f"uri {READINESS_PATH} "):
        assert setting in deployed and setting in tested, setting


@pytest.mark.skipif(not shutil.which("haproxy") and not Path("/usr/sbin/haproxy").exists(),
                    reason="haproxy not installed (scripts/install-haproxy.sh)")
def test_haproxy_accepts_the_deployed_config():
    binary = shutil.which("haproxy") or "/usr/sbin/haproxy"
    done = subprocess.run([binary, "-c", "-f", str(REPO / "deploy" / "haproxy.cfg")], capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr
