"""Predictive analytics: ModelArts req_data records in, records + predictioncol out."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from training.engine.preprocessing import InputError
from training.engine.preprocessing.tabular import records_to_inputs

from .base import PredictionError, Predictor


class TabularPredictor(Predictor):
    task_type = "predictive_analytics"

    def records(self, payload: Any) -> list[Mapping[str, Any]]:
        if not isinstance(payload, Mapping) or not isinstance(payload.get("data"), Mapping):
            raise PredictionError('request body must be {"data": {"count": N, "req_data": [...]}}')
        records = payload["data"].get("req_data")
        if not isinstance(records, list) or not records:
            raise PredictionError('"data.req_data" must be a non-empty list of records')
        return records

    def run(self, records: list[Mapping[str, Any]]) -> tuple[np.ndarray, np.ndarray | None]:
        """(predictions, probabilities): label indices + [N, C] for discrete, values + None for continuous."""
        try:
            inputs = records_to_inputs(records, self.bundle["input_spec"])
        except InputError as exc:
            raise PredictionError(str(exc)) from None
        inputs = {k: v for k, v in inputs.items() if k in self.input_names}
        outputs = dict(zip(self.output_names, self.run_session(None, inputs), strict=True))
        if self.bundle["postprocessing"]["kind"] == "regression":
            return np.asarray(outputs["variable"], dtype=np.float64).reshape(-1), None
        proba = np.asarray(outputs["probabilities"], dtype=np.float64)
        return np.argmax(proba, axis=1), proba

    def predict(self, payload: Any) -> dict[str, Any]:
        records = self.records(payload)
        values, proba = self.run(records)
        out = []
        for i, record in enumerate(records):
            row = dict(record)
            if proba is None:
                row["predictioncol"] = float(values[i])
            else:
                row["predictioncol"] = self.labels[int(values[i])]
                row["probabilities"] = {
                    label: float(p) for label, p in zip(self.labels, proba[i], strict=True)
                }
            out.append(row)
        return {"resp_data": out}
