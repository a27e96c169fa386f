"""How much labelers agree: with each other on overlap samples, and with the reviewed result.

Classification: Cohen's kappa, per label (that label given or not, by each side) and overall
(the one label of a single-label sample as the category). Detection: boxes matched one to one
within a label at IoU >= 0.5, F1 of the matches. The answers compared are those kept on task
items at each task's first submission (labeling.tasks), so review feedback does not make a
labeler look better than they labelled.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Sequence
from typing import Any

from datasets.models import Dataset, Sample
from exeml.task_types import TaskType
from labeling.audit import snapshots
from labeling.models import TaskItem, TaskKind
from projects.selectors import dataset_single_label

IOU_MATCH = 0.5


def cohen_kappa(a: Sequence[Any], b: Sequence[Any]) -> float | None:
    """Cohen's kappa of two raters' categories; None when chance agreement is total (one
    category only: kappa is undefined)."""
    n = len(a)
    if n == 0:
        return None
    observed = sum(x == y for x, y in zip(a, b, strict=True)) / n
    ca, cb = Counter(a), Counter(b)
    expected = sum(ca[k] * cb[k] for k in set(ca) | set(cb)) / (n * n)
    if expected >= 1.0:
        return None
    return round((observed - expected) / (1.0 - expected), 4)


def _iou(p: Sequence[float], q: Sequence[float]) -> float:
    ix = max(0.0, min(p[2], q[2]) - max(p[0], q[0]))
    iy = max(0.0, min(p[3], q[3]) - max(p[1], q[1]))
    inter = ix * iy
    union = (p[2] - p[0]) * (p[3] - p[1]) + (q[2] - q[0]) * (q[3] - q[1]) - inter
    return inter / union if union > 0 else 0.0


def matched_boxes(a: list[dict], b: list[dict]) -> dict[str, list[int]]:
    """Per label: [matches, boxes in a, boxes in b], greedy by IoU within the label."""
    out: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0])
    for box in a:
        out[box["label"]][1] += 1
    for box in b:
        out[box["label"]][2] += 1
    for label in out:
        left = [x["bbox"] for x in a if x["label"] == label]
        right = [x["bbox"] for x in b if x["label"] == label]
        pairs = sorted(((_iou(p, q), i, j) for i, p in enumerate(left) for j, q in enumerate(right)), reverse=True)
        used_l, used_r = set(), set()
        for iou, i, j in pairs:
            if iou < IOU_MATCH:
                break
            if i in used_l or j in used_r:
                continue
            used_l.add(i)
            used_r.add(j)
            out[label][0] += 1
    return out


def _f1(matches: int, left: int, right: int) -> float | None:
    return round(2 * matches / (left + right), 4) if left + right else None


def compare(pairs: list[tuple[dict, dict]], *, detection: bool, single: bool) -> dict[str, Any]:
    """Agreement of the two sides of ``pairs`` (answers ``{"labels", "objects"}``)."""
    if not pairs:
        return {"samples": 0, "exact": None, "kappa": None, "f1": None, "labels": []}
    exact = sum(_same(x, y, detection) for x, y in pairs) / len(pairs)
    labels = sorted({n for x, y in pairs for n in [*(x.get("labels") or []), *(y.get("labels") or [])]})
    per_label = []
    f1 = None
    if detection:
        totals = [0, 0, 0]
        per: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0])
        for x, y in pairs:
            for label, (m, left, right) in matched_boxes(x.get("objects") or [], y.get("objects") or []).items():
                for k, v in enumerate((m, left, right)):
                    per[label][k] += v
                    totals[k] += v
        f1 = _f1(*totals)
        per_label = [{"label": lb, "f1": _f1(*per[lb]), "boxes": per[lb][1] + per[lb][2]} for lb in sorted(per)]
        kappa = None
    else:
        for label in labels:
            a = [label in (x.get("labels") or []) for x, _ in pairs]
            b = [label in (y.get("labels") or []) for _, y in pairs]
            per_label.append({"label": label, "kappa": cohen_kappa(a, b), "agreement": _share(a, b)})
        if single:
            kappa = cohen_kappa([_one(x) for x, _ in pairs], [_one(y) for _, y in pairs])
        else:
            defined = [p["kappa"] for p in per_label if p["kappa"] is not None]
            kappa = round(sum(defined) / len(defined), 4) if defined else None
    return {"samples": len(pairs), "exact": round(exact, 4), "kappa": kappa, "f1": f1, "labels": per_label}


def _share(a: list, b: list) -> float:
    return round(sum(x == y for x, y in zip(a, b, strict=True)) / len(a), 4)


def _one(answer: dict) -> str:
    labels = answer.get("labels") or []
    return labels[0] if labels else ""


def _same(x: dict, y: dict, detection: bool) -> bool:
    if detection:
        boxes = matched_boxes(x.get("objects") or [], y.get("objects") or [])
        return all(m == left == right for m, left, right in boxes.values())
    return sorted(x.get("labels") or []) == sorted(y.get("labels") or [])


def dataset_agreement(*, dataset: Dataset) -> dict[str, Any]:
    """Between labelers on overlap samples (overall and per pair of labelers), and each
    labeler against the reviewed result (samples whose annotations a reviewer accepted)."""
    detection = dataset.task_type == TaskType.OBJECT_DETECTION
    single = dataset_single_label(dataset=dataset)
    items = list(
        TaskItem.objects.filter(task__dataset=dataset, answer__isnull=False)
        .select_related("task__assignee").order_by("task__created_at", "position")
    )
    first: dict[Any, tuple[str, dict]] = {}
    second: dict[Any, tuple[str, dict]] = {}
    for item in items:
        who = item.task.assignee.username if item.task.assignee_id else "(removed)"
        (second if item.task.kind == TaskKind.OVERLAP else first)[item.sample_id] = (who, item.answer)
    both = [(first[s], second[s]) for s in second if s in first]
    by_pair: dict[tuple[str, str], list] = defaultdict(list)
    for (a_who, a), (b_who, b) in both:
        by_pair[tuple(sorted((a_who, b_who)))].append((a, b) if a_who <= b_who else (b, a))
    accepted = set(
        Sample.objects.filter(pk__in=[i.sample_id for i in items], review_status="accepted").values_list("pk", flat=True)
    )
    final = snapshots(sorted(accepted)) if accepted else {}
    per_labeler: dict[str, list] = defaultdict(list)
    for side in (first, second):
        for sample_id, (who, answer) in side.items():
            if sample_id in final:
                per_labeler[who].append((answer, final[sample_id]))
    return {
        "between_labelers": compare([(a, b) for (_, a), (_, b) in both], detection=detection, single=single),
        "pairs": [
            {"labelers": list(pair), **compare(rows, detection=detection, single=single)}
            for pair, rows in sorted(by_pair.items())
        ],
        "with_reviewed": [
            {"username": who, **compare(rows, detection=detection, single=single)}
            for who, rows in sorted(per_labeler.items())
        ],
    }
