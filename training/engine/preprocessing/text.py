"""Text -> features, shared by the text trainer and predictor.

Char n-grams (1-4, within word boundaries like sklearn's ``char_wb``) hashed with CRC32
into a fixed vector, sublinear TF times a learned IDF, L2-normalised. Implemented here in
numpy rather than through TfidfVectorizer because the ONNX converter cannot reproduce
``char_wb`` exactly; the ONNX graph is then just the linear model. Works for Chinese as
well as English: scripts without spaces form one long "word" and yield char n-grams.
"""

from __future__ import annotations

import re
import unicodedata
import zlib
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from . import InputError

DEFAULT_DIM = 1 << 18
DEFAULT_NGRAMS = (1, 4)
MAX_CHARS = 10_000  # longer inputs are truncated: cost bound per request


def normalise(text: str) -> str:
    text = unicodedata.normalize("NFKC", text).lower()
    return " ".join(text.split())[:MAX_CHARS]


def char_wb_ngrams(text: str, ngram_range: tuple[int, int] = DEFAULT_NGRAMS) -> list[str]:
    lo, hi = ngram_range
    grams: list[str] = []
    for word in normalise(text).split(" "):
        if not word:
            continue
        padded = f" {word} "
        length = len(padded)
        for n in range(lo, hi + 1):
            if n > length:
                break
            grams.extend(padded[i : i + n] for i in range(length - n + 1))
    return grams


def hashed_counts(
    text: str, *, dim: int = DEFAULT_DIM, ngram_range: tuple[int, int] = DEFAULT_NGRAMS
) -> dict[int, int]:
    counts: dict[int, int] = {}
    for gram in char_wb_ngrams(text, ngram_range):
        key = zlib.crc32(gram.encode("utf-8")) % dim
        counts[key] = counts.get(key, 0) + 1
    return counts


def fit_idf(counts: Sequence[Mapping[int, int]], *, dim: int = DEFAULT_DIM) -> np.ndarray:
    """Smooth IDF as sklearn computes it: ln((1 + n) / (1 + df)) + 1."""
    df = np.zeros(dim, dtype=np.float64)
    for doc in counts:
        if doc:
            df[np.fromiter(doc.keys(), dtype=np.int64)] += 1.0
    return (np.log((1.0 + len(counts)) / (1.0 + df)) + 1.0).astype(np.float32)


def tfidf_sparse(counts: Mapping[int, int], idf: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(indices int64 sorted, values float32) of one document's L2-normalised TF-IDF vector."""
    if not counts:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32)
    idx = np.fromiter(sorted(counts), dtype=np.int64)
    tf = np.fromiter((counts[i] for i in idx), dtype=np.float64, count=len(idx))
    values = (1.0 + np.log(tf)) * idf[idx].astype(np.float64)
    norm = float(np.sqrt(np.sum(values**2)))
    if norm > 0:
        values = values / norm
    return idx, values.astype(np.float32)


def tfidf_dense(texts: Sequence[str], config: Mapping[str, Any], idf: np.ndarray) -> np.ndarray:
    """float32 [N, dim]: the ONNX input of the char n-gram model."""
    dim = int(config["dim"])
    ngram_range = tuple(config["ngram_range"])
    out = np.zeros((len(texts), dim), dtype=np.float32)
    for row, text in enumerate(texts):
        idx, values = tfidf_sparse(hashed_counts(text, dim=dim, ngram_range=ngram_range), idf)
        out[row, idx] = values
    return out


def text_from_payload(payload: Any) -> str:
    """The ``text`` of an inference request ({"text": "..."})."""
    if not isinstance(payload, Mapping):
        raise InputError('request body must be a JSON object {"text": "..."}')
    if "text" not in payload:
        raise InputError('missing field "text"')
    text = payload["text"]
    if not isinstance(text, str):
        raise InputError('"text" must be a string')
    if not text.strip():
        raise InputError('"text" is empty')
    return text


def load_tokenizer(path: str, *, max_length: int):
    """A `tokenizers` tokenizer (no transformers import) truncating like training did."""
    from tokenizers import Tokenizer

    tokenizer = Tokenizer.from_file(path)
    tokenizer.enable_truncation(max_length=max_length)
    tokenizer.no_padding()
    return tokenizer


def encode_for_onnx(tokenizer, texts: Sequence[str]) -> dict[str, np.ndarray]:
    """input_ids / attention_mask / token_type_ids int64 [N, L], right-padded with 0."""
    encodings = [tokenizer.encode(normalise_for_encoder(t)) for t in texts]
    length = max(1, max(len(e.ids) for e in encodings))
    ids = np.zeros((len(texts), length), dtype=np.int64)
    mask = np.zeros((len(texts), length), dtype=np.int64)
    types = np.zeros((len(texts), length), dtype=np.int64)
    for row, enc in enumerate(encodings):
        n = len(enc.ids)
        ids[row, :n] = enc.ids
        mask[row, :n] = enc.attention_mask
        types[row, :n] = enc.type_ids
    return {"input_ids": ids, "attention_mask": mask, "token_type_ids": types}


def normalise_for_encoder(text: str) -> str:
    return " ".join(text.split())[:MAX_CHARS]


# --------------------------------------------------------------------------------------
# Hashed n-gram counts: the graph inputs of the portfolio's linear models.
#
# Each n-gram length has its own segment of the hashed space, so one count list serves
# every n-gram range a candidate may use (a range is a set of segments). A text is sent
# to the graph sparse: "<block>_index" (hashed column ids, int64 [N, L], padded with -1)
# and "<block>_count" (float32 [N, L], padded with 0); the TF-IDF weighting, the range
# mask and the L2 norm are computed inside each candidate's graph, so members of an
# ensemble share these inputs. Word tokens: runs of letters and digits; a run in a script
# written without spaces (Chinese, Japanese) yields its character bigrams as its "words"
# (no segmenter dictionary is needed, in training or serving).

CHAR_SEGMENT, CHAR_MAX_N = 1 << 16, 5
WORD_SEGMENT, WORD_MAX_N = 1 << 17, 2
COUNT_BLOCKS: dict[str, dict[str, int]] = {
    "char_counts": {"segment": CHAR_SEGMENT, "max_n": CHAR_MAX_N},
    "word_counts": {"segment": WORD_SEGMENT, "max_n": WORD_MAX_N},
}
_WORD_RE = re.compile(r"\w+")
_NO_SPACE_SCRIPT = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")


def block_dim(block: str) -> int:
    spec = COUNT_BLOCKS[block]
    return spec["segment"] * spec["max_n"]


def word_tokens(text: str) -> list[str]:
    tokens: list[str] = []
    for run in _WORD_RE.findall(normalise(text)):
        if len(run) > 1 and _NO_SPACE_SCRIPT.search(run):
            tokens.extend(run[i : i + 2] for i in range(len(run) - 1))
        else:
            tokens.append(run)
    return tokens


_PRIME = np.uint64(1_000_003)
_MIX = np.uint64(0x9E3779B97F4A7C15)


def _mix(h: np.ndarray) -> np.ndarray:
    """A 64-bit finaliser (splitmix64's), so the low bits a segment keeps are well spread."""
    h = (h ^ (h >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    h = (h ^ (h >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return h ^ (h >> np.uint64(31))


def _char_keys(text: str, segment: int, max_n: int) -> np.ndarray:
    """Hashed char_wb n-grams (1..max_n, within " word " padding), vectorised: a rolling
    polynomial hash over the code points, an n-gram kept when it stays inside its word."""
    words = [w for w in normalise(text).split(" ") if w]
    if not words:
        return np.zeros(0, dtype=np.int64)
    padded = "".join(f" {w} " for w in words)
    codes = np.frombuffer(padded.encode("utf-32-le"), dtype=np.uint32).astype(np.uint64)
    lengths = np.asarray([len(w) + 2 for w in words])
    ends = np.repeat(np.cumsum(lengths), lengths)  # where each position's padded word ends
    keys, h = [], np.zeros(len(codes), dtype=np.uint64)
    with np.errstate(over="ignore"):
        for n in range(1, max_n + 1):
            count = len(codes) - n + 1
            if count <= 0:
                break
            h = h[:count] * _PRIME + codes[n - 1 :]
            inside = np.arange(count) + n <= ends[:count]
            mixed = _mix(h[inside] + np.uint64(n) * _MIX)
            keys.append((mixed % np.uint64(segment)).astype(np.int64) + (n - 1) * segment)
    return np.concatenate(keys)


def _word_keys(text: str, segment: int, max_n: int) -> np.ndarray:
    tokens = word_tokens(text)
    if not tokens:
        return np.zeros(0, dtype=np.int64)
    base = np.fromiter((zlib.crc32(t.encode("utf-8")) for t in tokens), dtype=np.uint64, count=len(tokens))
    keys, h = [], np.zeros(len(base), dtype=np.uint64)
    with np.errstate(over="ignore"):
        for n in range(1, max_n + 1):
            count = len(base) - n + 1
            if count <= 0:
                break
            h = h[:count] * _PRIME + base[n - 1 :]
            mixed = _mix(h + np.uint64(n) * _MIX)
            keys.append((mixed % np.uint64(segment)).astype(np.int64) + (n - 1) * segment)
    return np.concatenate(keys)


def _keys(text: str, block: str) -> np.ndarray:
    spec = COUNT_BLOCKS[block]
    if block == "char_counts":
        return _char_keys(text, spec["segment"], spec["max_n"])
    return _word_keys(text, spec["segment"], spec["max_n"])


def block_counts(text: str, block: str) -> tuple[np.ndarray, np.ndarray]:
    """(sorted column indices int64, counts float32) of one text's hashed n-gram counts."""
    keys = _keys(text, block)
    if not len(keys):
        return keys, np.zeros(0, dtype=np.float32)
    idx, counts = np.unique(keys, return_counts=True)
    return idx, counts.astype(np.float32)


def segment_mask(block: str, ngram_range: Sequence[int]) -> np.ndarray:
    """bool [dim]: the columns of n-grams whose length lies in ``ngram_range`` (inclusive)."""
    spec = COUNT_BLOCKS[block]
    lo, hi = int(ngram_range[0]), int(ngram_range[1])
    mask = np.zeros(block_dim(block), dtype=bool)
    mask[(lo - 1) * spec["segment"] : hi * spec["segment"]] = True
    return mask


def block_inputs(texts: Sequence[str], block: str) -> dict[str, np.ndarray]:
    """The graph inputs ``<block>_index`` / ``<block>_count`` for ``texts``."""
    rows = [block_counts(text, block) for text in texts]
    width = max([1] + [len(idx) for idx, _ in rows])
    index = np.full((len(texts), width), -1, dtype=np.int64)
    count = np.zeros((len(texts), width), dtype=np.float32)
    for row, (idx, cnt) in enumerate(rows):
        index[row, : len(idx)] = idx
        count[row, : len(idx)] = cnt
    prefix = block.removesuffix("_counts")
    return {f"{prefix}_index": index, f"{prefix}_count": count}
