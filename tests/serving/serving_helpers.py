"""Serving test helpers: bundles in the object store, ModelVersion and Service rows."""

from __future__ import annotations

import io
import uuid
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import numpy as np
from django.conf import settings
from django.utils import timezone

from exeml.tenancy.models import Flavor
from serving.models import Service, ServiceStatus

COLUMNS = ("attr_1", "attr_2", "attr_3", "attr_4", "attr_5")


@dataclass
class TrainedBundle:
    bundle_dir: Path
    task_type: str
    eval_predictions: list[dict]
    metrics: dict
    eval_records: list[dict]  # the request records of the eval samples, in order


def tiny_image_onnx(path: Path, classes: int = 3) -> None:
    """[N,3,8,8] -> mean over H,W -> [N,3] logits: small, but a real image model contract."""
    import onnx
    from onnx import TensorProto, helper

    node = helper.make_node("ReduceMean", ["input"], ["logits"], axes=[2, 3], keepdims=0)
    graph = helper.make_graph(
        [node],
        "tiny",
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, ["N", 3, 8, 8])],
        [helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["N", classes])],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    onnx.save(model, str(path))


def spinning_onnx(path: Path) -> None:
    """x[1] -> x + 10**12: a Loop that never ends in a test's lifetime, to be stopped."""
    import onnx
    from onnx import TensorProto, helper

    body = helper.make_graph(
        [helper.make_node("Identity", ["cond_in"], ["cond_out"]), helper.make_node("Add", ["x_in", "one"], ["x_out"])],
        "body",
        [
            helper.make_tensor_value_info("i", TensorProto.INT64, []),
            helper.make_tensor_value_info("cond_in", TensorProto.BOOL, []),
            helper.make_tensor_value_info("x_in", TensorProto.FLOAT, [1]),
        ],
        [
            helper.make_tensor_value_info("cond_out", TensorProto.BOOL, []),
            helper.make_tensor_value_info("x_out", TensorProto.FLOAT, [1]),
        ],
        [helper.make_tensor("one", TensorProto.FLOAT, [1], [1.0])],
    )
    graph = helper.make_graph(
        [helper.make_node("Loop", ["trips", "cond", "x"], ["y"], body=body)],
        "spin",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1])],
        [
            helper.make_tensor("trips", TensorProto.INT64, [], [10**12]),
            helper.make_tensor("cond", TensorProto.BOOL, [], [True]),
        ],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.save(model, str(path))


def png_bytes(color=(255, 0, 0)) -> bytes:
    from PIL import Image

    buf = io.BytesIO()
    Image.new("RGB", (16, 16), color).save(buf, format="PNG")
    return buf.getvalue()


def wav_bytes(subtype: str = "PCM_16") -> bytes:
    import soundfile

    buf = io.BytesIO()
    signal = 0.3 * np.sin(np.linspace(0, 2000, 16000))
    soundfile.write(buf, signal, 16000, subtype=subtype, format="WAV")
    return buf.getvalue()


def upload_bundle(store, tenant, bundle_dir: Path) -> str:
    prefix = f"{tenant.slug}/models/{uuid.uuid4().hex[:8]}/V001/"
    for path in sorted(Path(bundle_dir).rglob("*")):
        if path.is_file():
            store.put(settings.EXEML_BUCKET, prefix + path.relative_to(bundle_dir).as_posix(), path.read_bytes())
    return f"s3://{settings.EXEML_BUCKET}/{prefix}"


def make_version(actor, store, trained: TrainedBundle, *, status: str = "completed", name: str | None = None):
    """Project + dataset + dataset version + a ModelVersion row pointing at the uploaded bundle."""
    from datasets.models import Dataset, DatasetVersion
    from projects.models import Project
    from training.models import ModelVersion

    artifact = upload_bundle(store, actor.tenant, trained.bundle_dir)
    size = sum(p.stat().st_size for p in Path(trained.bundle_dir).rglob("*") if p.is_file())
    suffix = uuid.uuid4().hex[:6]
    with actor.scope():
        root = f"s3://{settings.EXEML_BUCKET}/{actor.tenant.slug}/"
        dataset = Dataset.objects.create(
            name=f"ds-{suffix}", task_type=trained.task_type, input_path=root + "in/", output_path=root + "out/"
        )
        dataset_version = DatasetVersion.objects.create(
            dataset=dataset, name="V001", number=1, manifest_path=root + "out/ds-V001.manifest"
        )
        project = Project.objects.create(name=name or f"p{suffix}", task_type=trained.task_type, dataset=dataset)
        return ModelVersion.objects.create(
            project=project,
            name="V001",
            number=1,
            dataset_version=dataset_version,
            flavor=Flavor.objects.filter(purpose="train").first(),
            queue="train.cpu",
            status=status,
            metrics=trained.metrics,
            eval_predictions=trained.eval_predictions,
            artifact_path=artifact,
            artifact_size=size,
            finished_at=timezone.now(),
        )


def running_service(actor, version, **fields) -> Service:
    """A service row already running (the deploy path has its own worker test)."""
    with actor.scope():
        values = {
            "name": "svc",
            "model_version": version,
            "flavor": Flavor.objects.get(code="deploy-free-cpu"),
            "status": ServiceStatus.RUNNING,
            "started_at": timezone.now(),
            "stop_at": timezone.now() + timedelta(hours=1),
            **fields,
        }
        return Service.objects.create(**values)


def tabular_request(records: list[dict]) -> dict:
    return {"data": {"count": len(records), "req_data": records}}
