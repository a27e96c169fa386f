"""What a user does through the balancer, in the public API only: projects, upload, label,
train, deploy, infer. Smallest data and budgets (the cluster, not the models, is under test).
Used by tests/cluster and bench/cluster.py."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass

import requests

from datasets import demo_data
from tests.cluster.harness import REPLICA_HEADER, Api
from tests.processes import wait_for

IMAGE_CLASSES = ("circle", "square")
LABEL_COLORS = {"circle": "#ff0000", "square": "#00aa00"}


@dataclass
class Deployed:
    project: dict
    version: dict
    service: dict
    infer_path: str
    # One request body per kind of inference: {"json": ...} or {"files": ...} for requests.
    request: dict


def tenant_root(api: Api, bucket: str) -> str:
    """The tenant's own storage root: its first configured root, else s3://<bucket>/<slug>/."""
    tenant = api.ok(api.get("/api/v1/me"))["tenant"]
    return tenant["storage_roots"][0] if tenant["storage_roots"] else f"s3://{bucket}/{tenant['slug']}/"


def wait_job(api: Api, job_id: str, timeout: float = 120) -> dict:
    def done():
        job = api.ok(api.get(f"/api/v1/jobs/{job_id}"))
        return job if job["status"] in ("succeeded", "failed") else None

    job = wait_for(done, timeout=timeout, interval=0.5, message=f"job {job_id}")
    assert job["status"] == "succeeded", job
    return job


def _sync_job(api: Api, dataset_id: str) -> str | None:
    dataset = api.ok(api.get(f"/api/v1/datasets/{dataset_id}"))
    job = dataset.get("last_sync_job")
    return job["id"] if isinstance(job, dict) else job


def image_project(api: Api, root: str, *, per_class: int = 8, size: int = 32) -> tuple[dict, dict[str, str]]:
    """An image-classification project: files uploaded through the API, then labelled through
    it. Returns the project and {sample name: label}."""
    folder = f"{root}img-{uuid.uuid4().hex[:6]}/"
    api.ok(api.post("/api/v1/storage/folders", {"path": folder}), (200, 201))
    body = {
        "name": f"img{uuid.uuid4().hex[:8]}", "type": "image_classification", "description": "cluster",
        "dataset": {"source": "create", "name": f"d{uuid.uuid4().hex[:8]}", "input_path": folder,
                    "output_path": folder.rstrip("/") + "-out/",
                    "labels": [{"name": n, "color": c} for n, c in LABEL_COLORS.items()]},
    }
    project = api.ok(api.post("/api/v1/projects", body), 201)
    dataset_id = project["dataset"]["id"]
    job = _sync_job(api, dataset_id)
    if job:
        wait_job(api, job)
    files = demo_data.image_classification_files(per_class=per_class, size=size, classes=IMAGE_CLASSES)
    labels = {name.replace(".txt", ".jpg"): data.decode().strip() for name, data in files if name.endswith(".txt")}
    images = [(name, data) for name, data in files if name.endswith(".jpg") and name in labels]
    upload = api.post(f"/api/v1/datasets/{dataset_id}/samples",
                      files=[("files", (name, data, "image/jpeg")) for name, data in images])
    result = api.ok(upload, (201, 202))
    if upload.status_code == 202:  # an import job
        wait_job(api, result["id"])
    samples = api.ok(api.get(f"/api/v1/datasets/{dataset_id}/samples?page_size=200"))["results"]
    by_label: dict[str, list[str]] = {}
    for sample in samples:
        by_label.setdefault(labels[sample["name"]], []).append(sample["id"])
    for label, ids in by_label.items():
        api.ok(api.post(f"/api/v1/datasets/{dataset_id}/annotations/batch", {"sample_ids": ids, "add": [label]}))
    return project, {s["name"]: labels[s["name"]] for s in samples}


def tabular_project(api: Api, root: str, *, rows: int = 200) -> tuple[dict, bytes]:
    """A predictive-analytics project on a CSV put through the API, synchronized, label column set."""
    csv = demo_data.tabular_csv(rows=rows, kind="binary")
    path = f"{root}tab-{uuid.uuid4().hex[:6]}/data.csv"
    api.ok(api.post("/api/v1/storage/objects", data={"path": path}, files={"file": ("data.csv", csv, "text/csv")}),
           201)
    body = {"name": f"tab{uuid.uuid4().hex[:8]}", "type": "predictive_analytics", "description": "cluster",
            "training_data": path}
    project = api.ok(api.post("/api/v1/projects", body), 201)
    dataset_id = project["dataset"]["id"]
    job = _sync_job(api, dataset_id) or api.ok(api.post(f"/api/v1/datasets/{dataset_id}/sync"))["id"]
    wait_job(api, job)
    columns = [c["name"] for c in api.ok(api.get(f"/api/v1/datasets/{dataset_id}/preview"))["columns"]]
    api.ok(api.patch(f"/api/v1/projects/{project['id']}", {"label_column": columns[-1], "label_type": "discrete"}))
    return project, csv


def train(api: Api, project: dict, *, max_minutes: float) -> dict:
    """Start a training (202) and return the version as queued."""
    body = {"max_minutes": max_minutes, "preference": "performance_first", "train_ratio": 0.7,
            "refit_on_all": False}
    return api.ok(api.post(f"/api/v1/projects/{project['id']}/train", body), 202)


def version_url(project: dict, version: dict) -> str:
    return f"/api/v1/projects/{project['id']}/versions/{version['id']}"


def wait_trained(api: Api, project: dict, version: dict, timeout: float = 300) -> dict:
    def finished():
        v = api.ok(api.get(version_url(project, version)))
        return v if v["status"] in ("completed", "failed", "stopped") else None

    done = wait_for(finished, timeout=timeout, interval=1, message=f"training of {project['name']}")
    assert done["status"] == "completed", done
    return done


def deploy(api: Api, project: dict, version: dict, timeout: float = 180) -> dict:
    r = api.post(f"{version_url(project, version)}/deploy", {"auto_stop": {"enabled": True, "hours": 1}})
    service_id = api.ok(r, 202)["id"]

    def running():
        s = api.ok(api.get(f"/api/v1/services/{service_id}"))
        return s if s["status"] in ("running", "failed") else None

    service = wait_for(running, timeout=timeout, interval=0.5, message="deploy")
    assert service["status"] == "running", service
    return service


def image_request(size: int = 32) -> dict:
    name, data = next((n, d) for n, d in demo_data.image_classification_files(per_class=1, size=size, seed=7,
                                                                             classes=IMAGE_CLASSES)
                      if n.endswith(".jpg"))
    return {"files": {"images": (name, data, "image/jpeg")}}


def tabular_request(csv: bytes, n: int = 1) -> dict:
    rows = [line.split(",") for line in csv.decode().splitlines()[:n]]
    records = [{f"attr_{i + 1}": v for i, v in enumerate(row[:-1])} for row in rows]
    return {"json": {"data": {"count": len(records), "req_data": records}}}


def infer(api: Api, deployed: Deployed, timeout: float = 30):
    return api.request("POST", deployed.infer_path, timeout=timeout, **deployed.request)


def train_and_deploy_both(api: Api, bucket: str, *, image_minutes: float = 0.3, tabular_minutes: float = 0.2
                          ) -> tuple[Deployed, Deployed]:
    """Both projects built, then trained at the same time (on two workers), then deployed."""
    root = tenant_root(api, bucket)
    image, _labels = image_project(api, root)
    tabular, csv = tabular_project(api, root)
    versions = [train(api, image, max_minutes=image_minutes), train(api, tabular, max_minutes=tabular_minutes)]
    done = [wait_trained(api, p, v) for p, v in zip((image, tabular), versions, strict=True)]
    services = [deploy(api, p, v) for p, v in zip((image, tabular), done, strict=True)]
    return (
        Deployed(image, done[0], services[0], f"/v1/infers/{services[0]['id']}", image_request()),
        Deployed(tabular, done[1], services[1], f"/v1/infers/{services[1]['id']}", tabular_request(csv)),
    )


@dataclass
class Outcome:
    """One request of a load run: when it started and ended (monotonic), what came back."""

    started: float
    ended: float
    status: int | str  # the HTTP status, or the client-side exception's name
    replica: str | None
    detail: str = ""

    @property
    def ok(self) -> bool:
        return self.status == 200


def load(make_api: Callable[[], Api], deployed: Deployed, *, clients: int, seconds: float,
         events: list[tuple[float, Callable[[], None]]] = ()) -> list[Outcome]:
    """``clients`` threads calling the service back to back for ``seconds``; each event runs
    (in this thread) at its offset from the start, the clients still running."""
    stop = threading.Event()
    outcomes: list[Outcome] = []

    def client() -> None:
        api = make_api()
        while not stop.is_set():
            started = time.monotonic()
            try:
                r = infer(api, deployed, timeout=30)
                status, replica, detail = r.status_code, r.headers.get(REPLICA_HEADER), ""
                if status != 200:
                    detail = r.text[:200]
            except requests.RequestException as exc:
                status, replica, detail = type(exc).__name__, None, str(exc)[:200]
            outcomes.append(Outcome(started, time.monotonic(), status, replica, detail))

    threads = [threading.Thread(target=client, daemon=True) for _ in range(clients)]
    start = time.monotonic()
    for t in threads:
        t.start()
    try:
        for at, event in sorted(events, key=lambda e: e[0]):
            time.sleep(max(0.0, start + at - time.monotonic()))
            event()
        time.sleep(max(0.0, start + seconds - time.monotonic()))
    finally:
        stop.set()
        for t in threads:
            t.join(60)
    return sorted(outcomes, key=lambda o: o.started)
