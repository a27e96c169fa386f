"""The predictive-analytics portfolio: what the tabular search tries, in which order, and
whether the budget still affords it (the final fits of the selection reserved first)."""

from __future__ import annotations

from collections.abc import Iterator

from training.engine.models import tabular as tm
from training.engine.search import Candidate, Search

EXPORT_MEMBER_S = 0.5  # converting one member to ONNX, twice (evaluated and served model)


def portfolio(search: Search, families: tm.Families, *, rows: int, seed: int,
              warm: list[dict] | None = None) -> Iterator[Candidate]:
    """The base version's best configurations first (incremental training), then the
    baselines, the stronger families, then tuned LightGBM / CatBoost proposals for as long as
    the search asks (the budget's preference decides when it stops); a candidate is proposed
    only while the final fits of the selection still fit after it."""
    baselines = {
        "lgbm_default": Candidate("lgbm_default", "lgbm_default", families.lightgbm("lgbm_default", {}, tuned=False),
                                  baseline=True, params={"n_estimators": 100}),
        "linear": Candidate("linear", "linear", families.linear(1.0), baseline=True, params={"C": 1.0}),
    }
    for cfg in warm or []:
        if cfg["name"] in baselines:  # a baseline that won last time runs first, as itself
            yield baselines.pop(cfg["name"])
        elif (cand := _warm_candidate(families, cfg)) is not None and _affordable(search, families, cand):
            yield cand
    yield from baselines.values()
    cb = {"depth": 6, "learning_rate": 0.08}
    et = {"n_estimators": 100, "min_samples_leaf": 2, "max_features": 0.5, "max_leaf_nodes": 2048}
    fixed = [
        Candidate("catboost", "catboost", families.catboost("catboost", cb), params=cb),
        Candidate("extra_trees", "extra_trees", families.extra_trees("extra_trees", et), params=et),
        *(Candidate(f"linear_C{c:g}", "linear", families.linear(c), params={"C": c}) for c in (0.1, 10.0)),
    ]
    for cand in fixed:
        if _affordable(search, families, cand):
            yield cand
    yield from _tuned(search, families, rows=rows, seed=seed)


def _warm_candidate(families: tm.Families, cfg: dict) -> Candidate | None:
    """A configuration of the base version's search, rebuilt (None for an unknown family)."""
    family, params, name = cfg["family"], dict(cfg["params"]), f"warm_{cfg['name']}"
    makers = {
        "lgbm_tuned": lambda: families.lightgbm(name, params, tuned=True),
        "catboost": lambda: families.catboost(name, params), "catboost_tuned": lambda: families.catboost(name, params),
        "extra_trees": lambda: families.extra_trees(name, params),
        "linear": lambda: families.linear(float(params.get("C", 1.0))),
    }
    return Candidate(name, family, makers[family](), params=params) if family in makers else None


# Seconds of one fit of a family never tried yet, in lgbm_default fits (what the first
# baseline measured on this table and machine).
RELATIVE_COST = {"catboost": 2.0, "extra_trees": 2.0, "lgbm_tuned": 2.0, "catboost_tuned": 2.0}
# How much longer than its cap a candidate may be expected to take and still run (cut at
# the cap): accuracy_first prefers a truncated candidate to leaving the time unused.
CAP_STRETCH = {"performance_first": 1.0, "balance": 1.5, "accuracy_first": 4.0}
MIN_FIT_CAP_S = 0.1


def _affordable(search: Search, families: tm.Families, cand: Candidate) -> bool:
    """Whether ``cand`` and, after it, the final fits of the selection (with ``cand`` in it)
    still fit the budget; sets the seconds each of its fits may take so that they do."""
    k = max(1, len(search.folds.splits))
    factor = families.final_factor
    # ... and the level-2 stack's cross-validation, when one will be tried (a member the
    # selection lacks joins the stack only if its refits fit what is left at the end).
    final = sum(factor * t.seconds / k + EXPORT_MEMBER_S for t in search.likely_members()) + search.stack_seconds()
    budget = search.budget
    # The budget's export reserve (after the work deadline) takes the first part of it.
    spare = budget.left() - max(0.0, final + EXPORT_MEMBER_S - float(budget.export_reserve or 0.0))
    expected = search.expected_seconds(cand)
    if expected is None:
        base = next((t for t in search.trials if t.name == "lgbm_default" and t.status == "done"), None)
        expected = RELATIVE_COST.get(cand.family, 2.0) * (base.seconds if base else 0.0)
    # k search fits and the final fits of this candidate, each capped at ``cap`` seconds; a
    # candidate expected to run a little longer still runs (its fits stop at the cap).
    cap = spare / (k + factor)
    families.fit_cap = cap
    stretch = CAP_STRETCH.get(budget.preference, CAP_STRETCH["balance"])
    affordable = cap >= MIN_FIT_CAP_S and expected / k <= stretch * cap
    if not affordable:
        search.cut_by_time()
    return affordable


def _tuned(search: Search, families: tm.Families, *, rows: int, seed: int) -> Iterator[Candidate]:
    """Optuna TPE ask/tell over LightGBM (three proposals in four) and CatBoost; no trial cap."""
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    studies = {
        fam: optuna.create_study(direction="maximize", sampler=optuna.samplers.TPESampler(seed=seed, n_startup_trials=6))
        for fam in ("lgbm_tuned", "catboost_tuned")
    }
    max_child = max(2, min(100, rows // 8))
    for n in range(10**9):
        fam = "catboost_tuned" if n % 4 == 3 else "lgbm_tuned"
        trial = studies[fam].ask()
        if fam == "lgbm_tuned":
            params = {
                "num_leaves": trial.suggest_int("num_leaves", 4, 128, log=True),
                "learning_rate": trial.suggest_float("learning_rate", 0.01, 0.3, log=True),
                "min_child_samples": trial.suggest_int("min_child_samples", 2, max_child, log=True),
                "subsample": trial.suggest_float("subsample", 0.5, 1.0),
                "colsample_bytree": trial.suggest_float("colsample_bytree", 0.3, 1.0),
                "reg_lambda": trial.suggest_float("reg_lambda", 1e-3, 10.0, log=True),
            }
            name = f"lgbm_tuned_{trial.number}"
            fit = families.lightgbm(name, params, tuned=True)
        else:
            params = {
                "depth": trial.suggest_int("depth", 3, 9),
                "learning_rate": trial.suggest_float("learning_rate", 0.02, 0.3, log=True),
                "l2_leaf_reg": trial.suggest_float("l2_leaf_reg", 0.5, 30.0, log=True),
            }
            name = f"catboost_tuned_{trial.number}"
            fit = families.catboost(name, params)
        cand = Candidate(name, fam, fit, params=params)
        if not _affordable(search, families, cand):
            return
        yield cand
        done = search.trials[-1]
        if done.name == name and done.status == "done" and done.score is not None:
            studies[fam].tell(trial, done.score)
        else:
            studies[fam].tell(trial, state=optuna.trial.TrialState.FAIL)
