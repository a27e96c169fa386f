"""The downloadable model: a zip of the bundle plus a README with its input/output contract."""

from __future__ import annotations

import json
import tempfile
import zipfile
from pathlib import Path
from typing import IO, Any

from exeml.errors import ApplicationError
from exeml.storage import StorageError
from serving.runtime import COMPLETE_MARKER, artifact_fetch

_CONTRACTS: dict[str, str] = {
    "image_classification": """\
## Input
One image (JPG, PNG or BMP). Over HTTP: multipart field `images`.
The predictor decodes it to RGB, resizes it as `bundle.json` → `preprocessing` says
(`size`, `resize`), scales to 0..1, normalises with `mean`/`std` and feeds NCHW float32.

## Output
`{"predicted_label": "sunflowers", "scores": [["sunflowers", "0.998"], ...top 5]}`
""",
    "object_detection": """\
## Input
One image (JPG, PNG or BMP). Over HTTP: multipart field `images`. Letterboxed to the
square size in `bundle.json` → `preprocessing`.

## Output
`{"detection_classes": [...], "detection_boxes": [[y_min, x_min, y_max, x_max], ...],
"detection_scores": [...]}` in pixels of the original image.
""",
    "sound_classification": """\
## Input
One 16-bit PCM WAV file. Over HTTP: multipart field `files`. Features as
`bundle.json` → `preprocessing` describes (sample rate, log-mel frames).

## Output
`{"predicted_label": "...", "score": 0.97}`
""",
    "text_classification": """\
## Input
JSON `{"text": "..."}` (UTF-8). Tokenised as `bundle.json` → `preprocessing` says.

## Output
`{"predicted_label": "...", "score": 0.97}`
""",
    "predictive_analytics": """\
## Input
JSON `{"data": {"count": N, "req_data": [{"age": "58", "job": "admin", ...}]}}`:
one record per row, values as strings or numbers, columns keyed by their names
(`bundle.json` → `input_spec.names`, the CSV header's) or by `attr_N` (`input_spec.columns`,
the model's input names); the label column may be absent or blank.

## Output
`{"resp_data": [{...the input record..., "predictioncol": "yes",
"probabilities": {"no": 0.1, "yes": 0.9}}]}` (no probabilities for a continuous label).
""",
}


def readme_text(*, name: str, task_type: str, bundle: dict[str, Any], metrics: dict[str, Any]) -> str:
    labels = bundle.get("labels") or []
    lines = [
        f"# {name}",
        "",
        f"Task type: `{task_type}`. Exported by ExeML as ONNX (`model.onnx`) with its",
        "pre/post-processing described in `bundle.json`.",
        "",
    ]
    if labels:
        lines += ["Labels (output index order): " + ", ".join(f"`{label}`" for label in labels), ""]
    if metrics:
        lines += ["Evaluation metrics: `" + json.dumps(metrics, sort_keys=True) + "`", ""]
    lines.append(_CONTRACTS.get(task_type, ""))
    lines += [
        "## Run it with onnxruntime",
        "```python",
        "import onnxruntime as ort",
        'session = ort.InferenceSession("model.onnx", providers=["CPUExecutionProvider"])',
        "print([(i.name, i.shape, i.type) for i in session.get_inputs()])",
        "```",
        "",
    ]
    return "\n".join(lines)


def model_zip(*, version: Any) -> IO[bytes]:
    """A temporary file holding the zip, positioned at 0 (the caller streams and closes it);
    409 ``artifact_missing`` when the model's files are not in storage."""
    try:
        bundle_dir = artifact_fetch(version=version)
    except (FileNotFoundError, StorageError) as exc:
        raise ApplicationError(f"the model's files are not available: {exc}", code="artifact_missing",
                               status=409, extra={"status": version.status}) from None
    bundle = json.loads((bundle_dir / "bundle.json").read_text(encoding="utf-8"))
    name = f"{version.project.name}-{version.name}"
    out = tempfile.TemporaryFile()
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for path in sorted(Path(bundle_dir).rglob("*")):
            relative = path.relative_to(bundle_dir).as_posix()
            if path.is_file() and relative not in (COMPLETE_MARKER, "README.md"):
                zf.write(path, relative)
        zf.writestr(
            "README.md",
            readme_text(name=name, task_type=version.project.task_type, bundle=bundle, metrics=version.metrics or {}),
        )
    out.seek(0)
    return out
