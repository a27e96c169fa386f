"""Model management: list completed versions, download the bundle (owner/admin only)."""

from __future__ import annotations

import io
import json
import zipfile

import numpy as np
import pytest

from tests.serving.serving_helpers import make_version

pytestmark = pytest.mark.django_db


def test_model_list_and_read(owner, outsider, store, tabular_bundle):
    version = make_version(owner, store, tabular_bundle, name="bank")
    make_version(owner, store, tabular_bundle, status="failed")
    listed = owner.client.get("/api/v1/models").json()
    assert listed["count"] == 1
    model = listed["results"][0]
    assert model["id"] == model["version_id"] == str(version.pk)
    assert model["name"] == "bank-V001" and model["task_type"] == "predictive_analytics"
    assert model["size_bytes"] > 0 and model["project_id"] == str(version.project_id)
    assert model["metrics"]["accuracy"] == tabular_bundle.metrics["accuracy"]
    assert owner.client.get(f"/api/v1/models/{version.pk}").json()["name"] == "bank-V001"
    assert outsider.client.get(f"/api/v1/models/{version.pk}").status_code == 404
    assert outsider.client.get("/api/v1/models").json()["count"] == 0


def test_download_is_for_managers_and_reproduces_a_prediction(owner, member, viewer, store, tabular_bundle):
    import onnxruntime as ort

    version = make_version(owner, store, tabular_bundle, name="bank")
    url = f"/api/v1/models/{version.pk}/download"
    assert member.client.get(url).status_code == 403
    assert viewer.client.get(url).status_code == 403
    resp = owner.client.get(url)
    assert resp.status_code == 200 and resp["Content-Type"] == "application/zip"
    assert "bank-V001.zip" in resp["Content-Disposition"]
    archive = zipfile.ZipFile(io.BytesIO(b"".join(resp.streaming_content)))
    names = set(archive.namelist())
    assert {"model.onnx", "bundle.json", "README.md"} <= names and ".complete" not in names
    assert "predictioncol" in archive.read("README.md").decode()

    # Plain onnxruntime + the bundle's input spec reproduces the evaluation's prediction.
    from training.engine.preprocessing.tabular import records_to_inputs

    bundle = json.loads(archive.read("bundle.json"))
    session = ort.InferenceSession(archive.read("model.onnx"), providers=["CPUExecutionProvider"])
    inputs = records_to_inputs(tabular_bundle.eval_records[:3], bundle["input_spec"])
    names = {i.name for i in session.get_inputs()}
    outputs = dict(zip([o.name for o in session.get_outputs()],
                       session.run(None, {k: v for k, v in inputs.items() if k in names}), strict=True))
    predicted = [bundle["labels"][i] for i in np.argmax(np.asarray(outputs["probabilities"]), axis=1)]
    assert predicted == [p["predicted"] for p in tabular_bundle.eval_predictions[:3]]
