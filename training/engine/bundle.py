"""The bundle format: a folder with ``model.onnx`` and ``bundle.json`` that the trainer writes
and the predictor reads. Light (stdlib + numpy-free) so the serving path can import it."""

from __future__ import annotations

import base64
import importlib.metadata
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

BUNDLE_SCHEMA_VERSION = 1
MODEL_FILE = "model.onnx"
BUNDLE_FILE = "bundle.json"

LIBRARIES = ("numpy", "onnx", "onnxruntime", "lightgbm", "scikit-learn", "torch", "tokenizers")


def library_versions() -> dict[str, str]:
    versions: dict[str, str] = {}
    for name in LIBRARIES:
        try:
            versions[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            continue
    return versions


def jsonable(value: Any) -> Any:
    """numpy scalars/arrays -> plain Python, so bundle.json never fails to serialise."""
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    if hasattr(value, "tolist"):
        return value.tolist()
    if isinstance(value, Path):
        return str(value)
    return value


def write_bundle(
    bundle_dir: Path,
    *,
    task_type: str,
    labels: list[str] | tuple[str, ...],
    input_spec: dict[str, Any],
    preprocessing: dict[str, Any],
    postprocessing: dict[str, Any],
    metrics: dict[str, Any],
    train_params: dict[str, Any],
    warmup_example: Any,
    extra: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Write ``bundle_dir/bundle.json`` and return what was written."""
    bundle_dir = Path(bundle_dir)
    bundle_dir.mkdir(parents=True, exist_ok=True)
    bundle: dict[str, Any] = {
        "schema_version": BUNDLE_SCHEMA_VERSION,
        "task_type": task_type,
        "model_file": MODEL_FILE,
        "labels": list(labels),
        "input_spec": input_spec,
        "preprocessing": preprocessing,
        "postprocessing": postprocessing,
        "metrics": metrics,
        "train_params": train_params,
        "library_versions": library_versions(),
        "warmup_example": warmup_example,
        "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    if extra:
        bundle.update(extra)
    bundle = jsonable(bundle)
    (bundle_dir / BUNDLE_FILE).write_text(json.dumps(bundle, ensure_ascii=False, indent=2), encoding="utf-8")
    return bundle


def read_bundle(bundle_dir: Path) -> dict[str, Any]:
    return json.loads((Path(bundle_dir) / BUNDLE_FILE).read_text(encoding="utf-8"))


def update_bundle(bundle_dir: Path, **fields: Any) -> dict[str, Any]:
    """Rewrite bundle.json with ``fields`` replaced (e.g. the final metrics)."""
    bundle = read_bundle(bundle_dir)
    bundle.update(jsonable(fields))
    (Path(bundle_dir) / BUNDLE_FILE).write_text(json.dumps(bundle, ensure_ascii=False, indent=2), encoding="utf-8")
    return bundle


def warmup_bytes(data: bytes) -> dict[str, str]:
    """How a binary warmup example (WAV, image) is stored in bundle.json."""
    return {"base64": base64.b64encode(data).decode("ascii")}


def decode_warmup(example: Any) -> Any:
    if isinstance(example, dict) and "base64" in example:
        return base64.b64decode(example["base64"])
    return example
