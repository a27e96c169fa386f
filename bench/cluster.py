"""Cluster benchmark: what a second web replica and a second worker buy, in one run.

Starts the cluster of tests/cluster (HAProxy, web replicas, workers, a beat, each with its own
EXEML_HOME, sharing PostgreSQL, Redis and S3), trains and deploys a tiny tabular model through
the balancer, then prints one table:
- inference requests/s (and p50/p99, errors) through the balancer with 1 and then 2 web
  replicas in the pool (the second one is taken out with HAProxy's `disable server`);
- trainings completed per hour with 1 and then 2 workers on `default,train.cpu` (the second one
  taking no tasks), for the same tiny trainings (smallest budget), submitted all at once, after a round
  that warms both workers.

    python bench/cluster.py                          # 8 clients for 15 s, 4 trainings per step, 2 rounds
    python bench/cluster.py --clients 16 --seconds 30 --trainings 6

Needs PostgreSQL (DATABASE_URL, default postgres://postgres@127.0.0.1:5432/postgres: the bench
makes a database of its own on that server and drops it after), Redis (CELERY_BROKER_URL,
default redis://127.0.0.1:6379/15, keys under a prefix of its own), haproxy
(scripts/install-haproxy.sh) and an S3 endpoint (EXEML_S3_ENDPOINT_URL; moto is started when
unset). On a machine with few cores every process shares them: the gain of a second replica
or worker is bounded by the cores, not by ExeML.
"""

from __future__ import annotations

import argparse
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
from datetime import datetime
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from tests.cluster import flows  # noqa: E402
from tests.cluster.harness import Cluster, missing, wait_for  # noqa: E402


def _defaults() -> subprocess.Popen | None:
    os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/postgres")
    os.environ.setdefault("CELERY_BROKER_URL", "redis://127.0.0.1:6379/15")
    for name, value in {"EXEML_SECRET_KEY": "bench-secret", "AWS_ACCESS_KEY_ID": "testing",
                        "AWS_SECRET_ACCESS_KEY": "testing", "EXEML_S3_REGION": "us-east-1"}.items():
        os.environ.setdefault(name, value)
    if os.environ.get("EXEML_S3_ENDPOINT_URL"):
        return None
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    moto = subprocess.Popen([sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    os.environ["EXEML_S3_ENDPOINT_URL"] = f"http://127.0.0.1:{port}"
    import requests

    wait_for(lambda: _answers(requests, os.environ["EXEML_S3_ENDPOINT_URL"]), timeout=30, message="moto")
    return moto


def _answers(requests, url: str) -> bool:
    try:
        requests.get(url, timeout=2)
        return True
    except requests.RequestException:
        return False


def _haproxy(cluster: Cluster, command: str) -> None:
    with socket.socket(socket.AF_UNIX) as s:
        s.connect(str(cluster.stats_socket))
        s.sendall(command.encode() + b"\n")
        s.recv(4096)


def inference(cluster: Cluster, deployed: flows.Deployed, replicas: int, clients: int, seconds: float) -> dict:
    for name in cluster.web_names():
        live = int(name.removeprefix("web")) <= replicas
        _haproxy(cluster, f"{'enable' if live else 'disable'} server web/{name}")
    wait_for(lambda: list(cluster.server_states().values()).count("UP") == replicas, timeout=30,
             message=f"{replicas} replicas in the pool")
    flows.load(cluster.api, deployed, clients=clients, seconds=2)  # warm: models loaded everywhere
    outcomes = flows.load(cluster.api, deployed, clients=clients, seconds=seconds)
    ok = [o for o in outcomes if o.ok]
    latencies = sorted((o.ended - o.started) * 1000 for o in ok)
    return {
        "what": f"inference, {replicas} web replica{'s' * (replicas > 1)}, {clients} clients",
        "value": len(ok) / seconds, "unit": "req/s",
        "detail": f"p50 {statistics.median(latencies):.1f} ms, p99 {latencies[int(len(latencies) * 0.99)]:.1f} ms, "
                  f"{len(outcomes) - len(ok)} errors, answered by {sorted({o.replica for o in ok})}",
    }


# Run in the cluster's environment: a worker stops or resumes taking tasks, staying warm (a
# stopped and restarted worker would pay its ML imports again in the measure).
_CONSUME = """
import sys
from exeml.celery import app
action, worker = sys.argv[1], sys.argv[2]
for queue in ("default", "train.cpu"):
    call = app.control.add_consumer if action == "add" else app.control.cancel_consumer
    replies = call(queue, destination=[worker], reply=True, timeout=10)
    assert replies, f"no answer from {worker}"
"""


def _consume(cluster: Cluster, worker: str, on: bool) -> None:
    name = next(a for a in cluster.processes[worker].command if a.startswith(worker + "-"))
    subprocess.run([sys.executable, "-c", _CONSUME, "add" if on else "cancel", f"{name}@{socket.gethostname()}"],
                   cwd=REPO, env={**cluster.env(), "EXEML_HOME": str(cluster.root / "control")}, check=True,
                   timeout=60)


def trainings(cluster: Cluster, projects: list[dict], workers: int) -> dict:
    for name in ("cpu1", "cpu2"):
        _consume(cluster, name, int(name.removeprefix("cpu")) <= workers)
    api = cluster.api()
    versions = [flows.train(api, p, max_minutes=0.05) for p in projects]
    done = [flows.wait_trained(api, p, v, timeout=600) for p, v in zip(projects, versions, strict=True)]
    # From the versions' own times (created → last finished), not this script's polling.
    elapsed = (max(_at(v["finished_at"]) for v in done) - min(_at(v["created_at"]) for v in done)).total_seconds()
    per_job = statistics.median((_at(v["finished_at"]) - _at(v["started_at"])).total_seconds() for v in done)
    return {
        "what": f"trainings, {workers} worker{'s' * (workers > 1)} on default,train.cpu",
        "value": len(done) / elapsed * 3600, "unit": "/h",
        "detail": f"{len(done)} trainings (budget 3 s) in {elapsed:.1f} s; one runs {per_job:.1f} s",
    }


def _add(rows: dict[str, list[dict]], row: dict) -> None:
    rows.setdefault(row["what"], []).append(row)
    print(f"  {row['what']}: {row['value']:.0f} {row['unit']}", flush=True)


def _at(stamp: str) -> datetime:
    return datetime.fromisoformat(stamp.replace("Z", "+00:00"))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=15)
    parser.add_argument("--trainings", type=int, default=4, help="trainings per step (one project each; quota 4)")
    parser.add_argument("--rounds", type=int, default=2, help="measures of each configuration, alternated")
    parser.add_argument("--keep", action="store_true", help="keep the processes' homes and logs (printed)")
    args = parser.parse_args()
    moto = _defaults()
    why = missing()
    if why:
        print(f"bench/cluster.py: {why}", file=sys.stderr)
        return 2
    cluster = Cluster(Path(tempfile.mkdtemp(prefix="exeml-bench-cluster-")), webs=2, cpu_workers=2,
                      free_workers=0, beats=1)
    rows: dict[str, list[dict]] = {}
    try:
        print("starting the cluster…", flush=True)
        cluster.start()
        api = cluster.api()
        root = flows.tenant_root(api, cluster.bucket)
        print("training and deploying a tabular model through the balancer…", flush=True)
        project, csv = flows.tabular_project(api, root)
        version = flows.wait_trained(api, project, flows.train(api, project, max_minutes=0.05))
        service = flows.deploy(api, project, version)
        deployed = flows.Deployed(project, version, service, f"/v1/infers/{service['id']}", flows.tabular_request(csv))
        # Alternated rounds (1, 2, 1, 2, …): load from elsewhere on the machine hits both alike.
        for _ in range(args.rounds):
            for replicas in (1, 2):
                _add(rows, inference(cluster, deployed, replicas, args.clients, args.seconds))
        projects = [flows.tabular_project(api, root)[0] for _ in range(args.trainings)]
        # Not measured: each worker's first training pays its ML imports.
        trainings(cluster, projects, 2)
        for _ in range(args.rounds):
            for workers in (1, 2):
                _add(rows, trainings(cluster, projects, workers))
    finally:
        cluster.stop()
        if moto is not None:
            moto.terminate()
        if args.keep:
            print(f"homes and logs: {cluster.root}")
        else:
            shutil.rmtree(cluster.root, ignore_errors=True)
    print(f"\ncluster benchmark ({os.cpu_count()} cores; HAProxy, every process with its own EXEML_HOME)\n")
    print("| measure | median rate | each round: rate, detail |\n|---|---|---|")
    for what, runs in rows.items():
        rate = statistics.median(r["value"] for r in runs)
        unit = runs[0]["unit"]
        print(f"| {what} | {rate:.0f} {unit} | " + "; ".join(f"{r['value']:.0f} {unit} ({r['detail']})" for r in runs) + " |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
