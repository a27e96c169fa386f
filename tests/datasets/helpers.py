"""Shared helpers of the dataset/project tests: files on the S3 endpoint, datasets, jobs."""

from __future__ import annotations

import io
import struct
import uuid

from PIL import Image

from datasets import demo_data
from exeml.storage import parse_storage_path, store_for_tenant
from tests.conftest import wait_for


def folder(tenant, name: str | None = None) -> str:
    return f"{tenant.default_root}{name or 'd' + uuid.uuid4().hex[:8]}/"


def put_files(tenant, base: str, files) -> None:
    store = store_for_tenant(tenant)
    path = parse_storage_path(base)
    store.ensure_bucket(path.bucket)
    for key, data in files:
        store.put(path.bucket, path.key + key, data)


def delete_file(tenant, uri: str) -> None:
    path = parse_storage_path(uri)
    store_for_tenant(tenant).delete(path.bucket, path.key)


def demo_files(task_type: str, base: str):
    if task_type == "image_classification":
        return demo_data.image_classification_files(per_class=4, size=32)
    if task_type == "object_detection":
        return demo_data.object_detection_files(n=6, size=64)
    if task_type == "sound_classification":
        files = demo_data.sound_files(per_class=4, seconds=1.2, sr=8000)
        return [(k, d.replace(demo_data.ROOT.encode(), base.rstrip("/").encode())) for k, d in files]
    if task_type == "text_classification":
        return demo_data.text_files(per_class=5, unlabelled=2)
    raise ValueError(task_type)


LABELS = {
    "object_detection": [{"name": "circle", "color": "#ff0000"}, {"name": "square", "color": "#00ff00"}],
    "text_classification": [{"name": "positive", "color": "#ff0000"}, {"name": "negative", "color": "#00ff00"}],
}


def create_project(actor, task_type: str, files=None, *, name: str | None = None, base: str | None = None):
    """Put files in a fresh folder (or ``base``) and create a project over it through the API."""
    base = base or folder(actor.tenant)
    put_files(actor.tenant, base, files if files is not None else demo_files(task_type, base))
    body = {
        "name": name or "p" + uuid.uuid4().hex[:8], "type": task_type,
        "dataset": {"source": "create", "name": "ds" + uuid.uuid4().hex[:8], "input_path": base,
                    "output_path": base.rstrip("/") + "-out/", "labels": LABELS.get(task_type, [])},
    }
    r = actor.client.post("/api/v1/projects", body, format="json")
    assert r.status_code == 201, r.json()
    return r.json(), base


def wait_job(actor, job_id, timeout: float = 60.0) -> dict:
    def done():
        body = actor.client.get(f"/api/v1/jobs/{job_id}").json()
        return body if body["status"] in ("succeeded", "failed") else None

    return wait_for(done, timeout=timeout, message=f"job {job_id}")


def jpeg(size=(16, 16), color=(200, 10, 10)) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", size, color).save(buf, format="JPEG")
    return buf.getvalue()


def png(size=(16, 16)) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", size, (0, 0, 255)).save(buf, format="PNG")
    return buf.getvalue()


def wav(*, bits: int = 16, fmt_code: int = 1, seconds: float = 1.5, rate: int = 8000) -> bytes:
    frames = int(seconds * rate)
    width = bits // 8
    data = b"\x00" * frames * width
    fmt = struct.pack("<HHIIHH", fmt_code, 1, rate, rate * width, width, bits)
    body = b"WAVE" + b"fmt " + struct.pack("<I", len(fmt)) + fmt + b"data" + struct.pack("<I", len(data)) + data
    return b"RIFF" + struct.pack("<I", len(body)) + body
