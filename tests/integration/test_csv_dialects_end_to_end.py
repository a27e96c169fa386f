"""A CSV as a spreadsheet exports it (header row, ``;`` separators, quoted fields with a
separator and doubled quotes inside, BOM, CRLF) through the public API with a real worker
and the S3 endpoint: sync profiles it by its header, training reads the same rows, and the
deployed service answers records keyed by the header's names and by ``attr_N``."""

from __future__ import annotations

import pytest

from datasets import demo_data
from tests.integration.test_five_types_end_to_end import _create_project, _train_and_deploy

pytestmark = [pytest.mark.django_db(transaction=True)]

HEADER = ["Age", "Job title", "City", "Income", "Balance", "Contacts", "Married", "Answer"]


def _spreadsheet_csv(rows: int = 300) -> tuple[bytes, list[list[str]]]:
    """demo_data's table with a header, ``;`` and quoted jobs holding a ``;`` and doubled quotes."""
    data = [line.split(",") for line in demo_data.tabular_csv(rows=rows, kind="binary").decode().splitlines()]
    for row in data:
        row[1] = f'{row[1]}; "senior"'
    lines = [";".join(HEADER)]
    for row in data:
        cells = [f'"{v.replace(chr(34), chr(34) * 2)}"' if (";" in v or '"' in v) else v for v in row]
        lines.append(";".join(cells))
    return ("\ufeff" + "\r\n".join(lines) + "\r\n").encode(), data


def test_spreadsheet_csv_syncs_trains_and_serves_by_header_names(celery_worker, owner, store):
    csv_bytes, rows = _spreadsheet_csv()
    project = _create_project(owner, store, "predictive_analytics", [("data.csv", csv_bytes)])
    dataset_id = project["dataset"]["id"]
    preview = owner.client.get(f"/api/v1/datasets/{dataset_id}/preview").json()
    assert [c["name"] for c in preview["columns"]] == HEADER
    assert [c["key"] for c in preview["columns"]] == [f"attr_{i}" for i in range(1, 9)]
    assert preview["dialect"] == {"delimiter": ";", "quotechar": '"', "has_header": True,
                                  "header_source": "detected", "has_header_override": None}
    assert preview["stats"]["rows"] == 300 and preview["rows"][0] == rows[0]
    assert preview["rows"][0][1].endswith('; "senior"')

    r = owner.client.patch(f"/api/v1/projects/{project['id']}", {"label_column": "Answer", "label_type": "discrete"},
                           format="json")
    assert r.status_code == 200, r.content
    assert r.json()["label_column"] == "Answer"

    version, service = _train_and_deploy(owner, project, max_minutes=0.3)
    features = {row["feature"] for row in version["evaluation"]["feature_importance"]}
    assert features <= set(HEADER[:-1]) and "Job title" in features

    preds = version["eval_predictions"][:5]
    picked = [rows[int(p["sample_id"].split("-")[1])] for p in preds]
    by_name = [dict(zip(HEADER[:-1], row[:-1], strict=True)) for row in picked]
    by_key = [{f"attr_{i + 1}": v for i, v in enumerate(row[:-1])} for row in picked]
    for records in (by_name, by_key):
        r = owner.client.post(f"/v1/infers/{service['id']}", {"data": {"count": len(records), "req_data": records}},
                              format="json")
        assert r.status_code == 200, r.content
        served = r.json()["resp_data"]
        assert [s["predictioncol"] for s in served] == [p["predicted"] for p in preds]
        assert all(set(rec) <= set(s) for rec, s in zip(records, served, strict=True))  # echoed as sent

    missing = {k: v for k, v in by_name[0].items() if k != "Income"}
    r = owner.client.post(f"/v1/infers/{service['id']}", {"data": {"count": 1, "req_data": [missing]}}, format="json")
    assert r.status_code == 400 and "'Income' (or 'attr_4')" in r.content.decode()


def test_header_override_reprofiles_and_refuses_what_cannot_be_used(celery_worker, owner, store):
    csv_bytes, _ = _spreadsheet_csv(rows=200)
    project = _create_project(owner, store, "predictive_analytics", [("data.csv", csv_bytes)])
    url = f"/api/v1/datasets/{project['dataset']['id']}"
    r = owner.client.patch(f"{url}/table", {"has_header": False}, format="json")
    assert r.status_code == 200, r.content
    body = r.json()
    assert body["dialect"]["has_header"] is False and body["dialect"]["header_source"] == "user"
    assert [c["name"] for c in body["columns"]][:2] == ["attr_1", "attr_2"] and body["stats"]["rows"] == 201
    assert owner.client.get(f"{url}/preview").json()["rows"][0] == HEADER

    r = owner.client.patch(f"{url}/table", {"has_header": None}, format="json")
    assert r.status_code == 200 and r.json()["columns"][0]["name"] == "Age"

    r = owner.client.patch(f"{url}/table", {"has_header": "maybe"}, format="json")
    assert r.status_code == 400 and "has_header" in r.content.decode()
