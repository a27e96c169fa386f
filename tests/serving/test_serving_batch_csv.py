"""Batch prediction over CSVs as users have them, through the API, a real worker and the S3
endpoint: each file is read with the profile's own dialect and header detection, a header
names the model's columns (in any order, ``attr_N`` too), the result keeps the file's header
and separator, and its predictions are the online service's for the same rows."""

from __future__ import annotations

import csv
import dataclasses
import io
import time
from pathlib import Path

import pytest

from tests.labeling.labelkit import read
from tests.serving.serving_helpers import TrainedBundle, make_version, running_service, tabular_request
from tests.serving.test_serving_model_jobs import _wait_job

pytestmark = pytest.mark.django_db(transaction=True)

NAMES = ("age", "job title", "balance", "city", "answer")  # the training CSV's header, label last


@pytest.fixture(scope="module")
def named_bundle(tmp_path_factory) -> tuple[TrainedBundle, list[list[str]]]:
    """A bundle trained on a CSV whose header was ``NAMES`` (input_spec.names), and its rows."""
    pytest.importorskip("lightgbm")
    from tests.trainers.ml_data import tabular_csv
    from training.engine.spec import TrainSpec
    from training.engine.trainers import get_trainer

    root = tmp_path_factory.mktemp("named-tabular")
    tab = dataclasses.replace(tabular_csv(root / "binary.csv", kind="binary", n=200), names=NAMES)
    spec = TrainSpec(task_type="predictive_analytics", labels=(), tabular=tab, threads=1,
                     params={"refit_on_all": False})
    result = get_trainer("predictive_analytics").fit(spec, root / "work", time.monotonic() + 3.0, lambda p, f: None)
    rows = [line.split(",") for line in Path(tab.csv_path).read_text().splitlines()]
    bundle = TrainedBundle(result.bundle_dir, "predictive_analytics", result.eval_predictions, result.metrics, [])
    return bundle, rows


def _served(owner, service, records: list[dict]) -> list[dict]:
    r = owner.client.post(f"/v1/infers/{service.pk}", tabular_request(records), format="json")
    assert r.status_code == 200, r.content
    return r.json()["resp_data"]


def _put(store, uri: str, data: bytes) -> None:
    bucket, key = uri[len("s3://"):].split("/", 1)
    store.put(bucket, key, data)


def test_batch_prediction_reads_each_csv_by_its_own_dialect_and_header(owner, store, named_bundle, celery_worker):
    bundle, rows = named_bundle
    version = make_version(owner, store, bundle)
    service = running_service(owner, version)
    picked = rows[:40]

    # A spreadsheet export: `;`, a header in another order with an extra column, the label
    # left out, a quoted field holding the separator and doubled quotes, CRLF and a BOM.
    header = ["city", "Note", "balance", "age", "job title"]
    lines = [";".join(header)]
    for i, (age, job, balance, city, _) in enumerate(picked):
        lines.append(";".join([city, f'"row {i}; ""x"""', balance, age, job]))
    semi = ("\ufeff" + "\r\n".join(lines) + "\r\n").encode()
    # The guide's file: no header, `,`, the training CSV's columns without the label.
    plain = "".join(",".join(r[:4]) + "\n" for r in picked[:10]).encode()
    # A header that lacks a column the model uses: refused by name, the others go on.
    lacking = b"age;job title;city\n30;admin;a\n40;tech;b\n"
    folder = owner.tenant.default_root + "csv-batch-in/"
    for name, data in {"semi.csv": semi, "plain.csv": plain, "lacking.csv": lacking}.items():
        _put(store, folder + name, data)

    r = owner.client.post(f"/api/v1/projects/{version.project_id}/versions/V001/batch-predict",
                          {"input_path": folder, "output_path": owner.tenant.default_root + "csv-batch-out/"},
                          format="json")
    assert r.status_code == 202, r.content
    job = _wait_job(owner, r.json()["id"])
    assert job.status == "succeeded", job.detail
    assert (job.counts["succeeded"], job.counts["failed"]) == (2, 1), job.errors
    [error] = job.errors
    assert error["file"] == "lacking.csv"
    assert "'balance' (or 'attr_3')" in error["reason"], error
    out = job.result["predictions"]

    served = _served(owner, service, [dict(zip(NAMES[:4], r[:4], strict=True)) for r in picked])
    table = list(csv.reader(io.StringIO(read(store, out + "semi_predictions.csv").decode()), delimiter=";"))
    assert table[0] == [*header, "prediction", "probability"]
    assert [row[:5] for row in table[1:]] == [line for line in csv.reader(lines[1:], delimiter=";")]
    assert table[1][1] == 'row 0; "x"'
    assert [row[5] for row in table[1:]] == [s["predictioncol"] for s in served]
    assert [float(row[6]) for row in table[1:]] == pytest.approx(
        [s["probabilities"][s["predictioncol"]] for s in served], abs=1e-6
    )

    table = list(csv.reader(io.StringIO(read(store, out + "plain_predictions.csv").decode())))
    assert table[0] == ["attr_1", "attr_2", "attr_3", "attr_4", "prediction", "probability"]
    assert [row[:4] for row in table[1:]] == [r[:4] for r in picked[:10]]
    assert [row[4] for row in table[1:]] == [s["predictioncol"] for s in served[:10]]

    # The console reads the results back through the API: one file per input CSV, chosen by name.
    api = f"/api/v1/batch-predictions/{job.pk}"
    first = owner.client.get(f"{api}/results").json()
    assert first["outputs"] == ["plain_predictions.csv", "semi_predictions.csv"] and not first["outputs_truncated"]
    assert first["name"] == "plain_predictions.csv" and first["columns"][:4] == ["attr_1", "attr_2", "attr_3", "attr_4"]
    picked_file = owner.client.get(f"{api}/results", {"file": "semi_predictions.csv", "limit": 3}).json()
    assert picked_file["name"] == "semi_predictions.csv" and len(picked_file["rows"]) == 3
    download = owner.client.get(f"{api}/download", {"file": "semi_predictions.csv"})
    assert download.status_code == 200
    assert b"".join(download.streaming_content) == read(store, out + "semi_predictions.csv")
    # Nothing outside the job's own folder can be named.
    for bad in ("../csv-batch-in/semi.csv", "nothing.csv"):
        answer = owner.client.get(f"{api}/download", {"file": bad})
        assert answer.status_code in (400, 404), (bad, answer.status_code)
