"""Typed views of the API's resources.

Each class names the fields scripts use most; ``raw`` keeps the whole answer, so a field the
API adds later is readable at once (``version.raw["new_field"]``).
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Any, TypeVar

T = TypeVar("T", bound="Resource")


@dataclass
class Resource:
    raw: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_api(cls: type[T], data: dict[str, Any]) -> T:
        names = {f.name for f in fields(cls)} - {"raw"}
        return cls(raw=data, **{name: data.get(name) for name in names})


@dataclass
class Job(Resource):
    """Long work (sync, upload import, export, deploy): ``GET /api/v1/jobs/{id}``."""

    id: str | None = None
    kind: str | None = None
    status: str | None = None  # queued | running | succeeded | failed
    progress: float | None = None
    counts: dict[str, Any] | None = None
    errors: list[dict[str, Any]] | None = None
    detail: str | None = None
    result: dict[str, Any] | None = None
    created_at: str | None = None
    finished_at: str | None = None

    @property
    def done(self) -> bool:
        return self.status in ("succeeded", "failed", "cancelled")


@dataclass
class Project(Resource):
    id: str | None = None
    name: str | None = None
    description: str | None = None
    type: str | None = None
    status: str | None = None
    dataset: dict[str, Any] | None = None
    training_data: str | None = None
    label_column: str | None = None
    label_type: str | None = None
    versions: list[dict[str, Any]] | None = None
    created_at: str | None = None

    @property
    def dataset_id(self) -> str | None:
        return (self.dataset or {}).get("id")


@dataclass
class Dataset(Resource):
    id: str | None = None
    name: str | None = None
    type: str | None = None
    input_path: str | None = None
    output_path: str | None = None
    csv_path: str | None = None
    sample_count: int | None = None
    labeled_count: int | None = None
    unlabeled_count: int | None = None
    last_sync_job: dict[str, Any] | None = None


@dataclass
class Label(Resource):
    id: str | None = None
    name: str | None = None
    color: str | None = None
    shortcut: str | None = None
    count: int | None = None


@dataclass
class Sample(Resource):
    id: str | None = None
    name: str | None = None
    labeled: bool | None = None
    labels: list[str] | None = None
    objects: list[dict[str, Any]] | None = None
    revision: int | None = None
    text: str | None = None
    # Team labeling: the open task holding it, its assignee, the review of its labels.
    task: str | None = None
    assignee: str | None = None
    review: dict[str, Any] | None = None


@dataclass
class UploadResult:
    """What an upload kept and what it refused, per file (``{"file", "reason"}``).

    ``jobs``: the import jobs of the requests the server imports in the background (larger
    ones answer 202 with a job). ``upload(wait=True)`` followed them to their end, their
    files sorted into ``accepted``/``rejected``; with ``wait=False`` their files are in
    neither list yet: follow them with ``client.wait_job(job.id)`` (``job.result``).
    """

    accepted: list[dict[str, Any]] = field(default_factory=list)
    rejected: list[dict[str, Any]] = field(default_factory=list)
    jobs: list[Job] = field(default_factory=list)

    @property
    def sample_ids(self) -> list[str]:
        return [a["id"] for a in self.accepted if a.get("id")]


@dataclass
class ModelVersion(Resource):
    """One training run: V001, V002, …"""

    id: str | None = None
    name: str | None = None
    project: str | None = None
    status: str | None = None  # queued | running | completed | failed | stopped
    progress: float | None = None
    phase: str | None = None
    queue_position: int | None = None
    params: dict[str, Any] | None = None
    metrics: dict[str, Any] | None = None
    evaluation: dict[str, Any] | None = None
    error: str | None = None
    started_at: str | None = None
    finished_at: str | None = None

    @property
    def done(self) -> bool:
        return self.status in ("completed", "failed", "stopped")


@dataclass
class Service(Resource):
    id: str | None = None
    name: str | None = None
    status: str | None = None  # deploying | running | stopping | stopped | failed
    url: str | None = None
    task_type: str | None = None
    project_id: str | None = None
    version_id: str | None = None
    flavor: str | None = None
    stop_at: str | None = None
    auto_stop: dict[str, Any] | None = None
    last_call_at: str | None = None
    invocation_times: int | None = None
    error: str | None = None
    api_example: str | None = None


@dataclass
class Model(Resource):
    """A completed version as model management lists it ("<project>-V001")."""

    id: str | None = None
    name: str | None = None
    task_type: str | None = None
    version: str | None = None
    project_id: str | None = None
    size_bytes: int | None = None
    metrics: dict[str, Any] | None = None
