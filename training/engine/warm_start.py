"""Incremental training's search state: what a version keeps for the next one, and reads back.

A searching trainer writes the configurations its search ranked best into its bundle's
``train_params["best_configs"]``; a version trained "incrementally from V00k" reads them
from V00k's bundle and evaluates them before anything else, so the search starts where the
last one ended (its baselines and proposals still follow, and the new data decides). The
labels may have changed between the versions: the log says which were added and removed.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from training.engine.bundle import jsonable
from training.engine.search import Search
from training.engine.spec import BUNDLE_FILE, TrainSpec

BEST_CONFIGS = 3


def best_configs(search: Search, limit: int = BEST_CONFIGS) -> list[dict[str, Any]]:
    """The best-scored completed candidates (not constant ones): name, family, params."""
    done = [t for t in search.trials if t.status == "done" and t.score is not None and not t.constant]
    done.sort(key=lambda t: -float(t.score or 0.0))
    return [{"name": t.name, "family": t.family, "params": jsonable(t.params)} for t in done[:limit]]


def base_train_params(spec: TrainSpec) -> dict[str, Any]:
    """The base version's bundle train_params ({} without a base or a readable bundle)."""
    if not spec.base_bundle_dir:
        return {}
    try:
        meta = json.loads((Path(spec.base_bundle_dir) / BUNDLE_FILE).read_text())
    except (OSError, ValueError):
        return {}
    params = meta.get("train_params") if isinstance(meta, dict) else None
    return {**params, "_labels": list(meta.get("labels") or [])} if isinstance(params, dict) else {}


def base_configs(spec: TrainSpec) -> list[dict[str, Any]]:
    configs = base_train_params(spec).get("best_configs") or []
    return [c for c in configs if isinstance(c, dict) and isinstance(c.get("params"), dict) and c.get("family")]


def describe(spec: TrainSpec, labels: list[str] | tuple[str, ...], configs: list[dict[str, Any]]) -> list[str]:
    """Log lines of an incremental start: the configurations first, the labels' changes."""
    if not spec.base_bundle_dir:
        return []
    base = base_train_params(spec)
    if not base:
        return [f"incremental: no readable bundle in {spec.base_bundle_dir}; a fresh search"]
    lines = [
        "incremental: the base version's best configurations first: " + ", ".join(c["name"] for c in configs)
        if configs else "incremental: the base version kept no search configurations; a fresh search"
    ]
    old, new = base["_labels"], list(labels)
    added, removed = [lb for lb in new if lb not in old], [lb for lb in old if lb not in new]
    if added or removed:
        lines.append(f"incremental: labels added {added or 'none'}, removed {removed or 'none'} since the base version")
    return lines
