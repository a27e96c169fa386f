"""Text classification: {"text": "..."} in, {"predicted_label", "score"} out.

Two bundle kinds share this predictor: "char_ngram" (hashed char n-gram TF-IDF computed by
the shared numpy function, linear model in ONNX) and "minilm" (tokenized with `tokenizers`,
encoder + pooling + head in ONNX).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from training.engine.preprocessing import InputError
from training.engine.preprocessing import text as textprep

from .base import PredictionError, Predictor


class TextPredictor(Predictor):
    task_type = "text_classification"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        prep = self.bundle["preprocessing"]
        self.kind = prep["kind"]
        if self.kind == "char_ngram":
            self.idf = np.load(self.bundle_dir / prep["idf_file"]).astype(np.float32)
        else:
            self.tokenizer = textprep.load_tokenizer(
                str(self.bundle_dir / prep["tokenizer_file"]), max_length=int(prep["max_length"])
            )

    def probabilities(self, texts: list[str]) -> np.ndarray:
        """[N, C] class probabilities in bundle label order."""
        prep = self.bundle["preprocessing"]
        if self.kind == "char_ngram":
            feeds = {self.input_names[0]: textprep.tfidf_dense(texts, prep, self.idf)}
        else:
            encoded = textprep.encode_for_onnx(self.tokenizer, texts)
            feeds = {name: encoded[name] for name in self.input_names}
        return np.asarray(self.session.run(None, feeds)[0], dtype=np.float64)

    def predict(self, payload: Any) -> dict[str, Any]:
        try:
            text = textprep.text_from_payload(payload)
        except InputError as exc:
            raise PredictionError(str(exc)) from None
        proba = self.probabilities([text])[0]
        best = int(np.argmax(proba))
        return {"predicted_label": self.labels[best], "score": float(proba[best])}
