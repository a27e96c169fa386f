"""Text classification: {"text": "..."} in, {"predicted_label", "score"} out.

Bundles of kind "text_portfolio" (what the trainer writes now) declare their graph inputs
by name: "char_index"/"char_count" and "word_index"/"word_count" (sparse hashed n-gram
counts from the shared numpy function; TF-IDF and the model are in the graph) and
"input_ids" / "attention_mask" / "token_type_ids" (MiniLM, tokenized with `tokenizers`);
the predictor computes each input the graph declares. Older bundles: "char_ngram" (TF-IDF
computed here) and "minilm".
"""

from __future__ import annotations

from typing import Any

import numpy as np

from training.engine.preprocessing import InputError
from training.engine.preprocessing import text as textprep

from .base import PredictionError, Predictor

BATCH = 16


class TextPredictor(Predictor):
    task_type = "text_classification"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        prep = self.bundle["preprocessing"]
        self.kind = prep["kind"]
        if self.kind == "char_ngram":
            self.idf = np.load(self.bundle_dir / prep["idf_file"]).astype(np.float32)
        elif "tokenizer_file" in prep:
            self.tokenizer = textprep.load_tokenizer(
                str(self.bundle_dir / prep["tokenizer_file"]), max_length=int(prep["max_length"])
            )

    def probabilities(self, texts: list[str]) -> np.ndarray:
        """[N, C] class probabilities in bundle label order."""
        # Inputs are padded to the longest text of a run: a few texts per run bound the memory.
        parts = [self._run(texts[i : i + BATCH]) for i in range(0, len(texts), BATCH)]
        return np.vstack(parts) if parts else np.zeros((0, len(self.labels)))

    def feeds(self, texts: list[str]) -> dict[str, np.ndarray]:
        """Every input this graph declares, for ``texts``."""
        prep = self.bundle["preprocessing"]
        if self.kind == "char_ngram":
            return {self.input_names[0]: textprep.tfidf_dense(texts, prep, self.idf)}
        feeds: dict[str, np.ndarray] = {}
        if hasattr(self, "tokenizer"):
            feeds.update(textprep.encode_for_onnx(self.tokenizer, texts))
        for block in textprep.COUNT_BLOCKS:
            if block.removesuffix("_counts") + "_index" in self.input_names:
                feeds.update(textprep.block_inputs(texts, block))
        return {name: feeds[name] for name in self.input_names}

    def run(self, feeds: dict[str, np.ndarray]) -> np.ndarray:
        outputs = ["probabilities"] if "probabilities" in self.output_names else None
        return np.asarray(self.run_session(outputs, {n: feeds[n] for n in self.input_names})[0], dtype=np.float64)

    def _run(self, texts: list[str]) -> np.ndarray:
        return self.run(self.feeds(texts))

    def predict(self, payload: Any) -> dict[str, Any]:
        try:
            text = textprep.text_from_payload(payload)
        except InputError as exc:
            raise PredictionError(str(exc)) from None
        proba = self.probabilities([text])[0]
        best = int(np.argmax(proba))
        return {"predicted_label": self.labels[best], "score": float(proba[best])}
