"""The ExeML REST API as Python methods (API.md is the contract this follows).

Only ``requests`` is needed: nothing here imports Django or a platform app, so the client
runs on any machine that can reach the platform.
"""

from __future__ import annotations

import json
import mimetypes
import os
import re
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

import requests

from exeml_client.errors import (
    ApiError,
    BadRequest,
    Conflict,
    ConnectionFailed,
    ExeMLError,
    Failed,
    NotFound,
    TooLarge,
    WaitTimeout,
    error_for,
)
from exeml_client.types import (
    Dataset,
    Job,
    Label,
    Model,
    ModelVersion,
    Project,
    Sample,
    Service,
    UploadResult,
)


def config_path() -> Path:
    """``$XDG_CONFIG_HOME/exeml/config.json``, by default ``~/.config/exeml/config.json``."""
    return Path(os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config") / "exeml" / "config.json"


CONFIG_PATH = config_path()  # where it is for this process's environment at import
# The server's default per-request upload limit (EXEML_UPLOAD_REQUEST_MAX_BYTES); batches stay
# under it with room for the multipart framing. A 413 halves the batch and tries again.
DEFAULT_UPLOAD_REQUEST_BYTES = 8 * 1024 * 1024 - 256 * 1024
UPLOAD_MAX_FILES_PER_REQUEST = 200
# A palette for labels the client creates (detection and text labels need a color).
_PALETTE = ("#e6194b", "#3cb44b", "#4363d8", "#f58231", "#911eb4", "#42d4f4", "#f032e6", "#bfef45",
            "#fabed4", "#469990", "#dcbeff", "#9a6324", "#800000", "#aaffc3", "#808000", "#000075")
_UUID = re.compile(r"^[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{12}$")

UploadProgress = Callable[[int, int, int, int], None]  # files done, files total, bytes done, bytes total
VersionProgress = Callable[[ModelVersion], None]
JobProgress = Callable[[Job], None]
ImportProgress = Callable[[Job, int, int], None]  # the job read now, import jobs done, import jobs in all


@dataclass(frozen=True)
class Config:
    url: str
    token: str


def load_config(path: Path | None = None) -> Config | None:
    """The URL and token ``exeml login`` saved, or None."""
    path = path or config_path()
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    if isinstance(data, dict) and isinstance(data.get("url"), str) and isinstance(data.get("token"), str):
        return Config(data["url"], data["token"])
    return None


def save_config(config: Config, path: Path | None = None) -> Path:
    """Write the config readable by its owner only (it holds a token)."""
    path = path or config_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        json.dump({"url": config.url, "token": config.token}, handle)
    os.replace(tmp, path)
    return path


def _is_uuid(value: str) -> bool:
    return bool(_UUID.match(value))


# A kept-alive connection the server closed between two calls (gunicorn's keep-alive timeout, a
# web process restarted by the supervisor) breaks the next request before it is processed:
# requests whose repetition is harmless are sent again.
_RETRY_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})


def _session() -> requests.Session:
    from urllib3.util.retry import Retry

    session = requests.Session()
    retry = Retry(total=3, connect=3, read=2, status=0, other=0, backoff_factor=0.3,
                  allowed_methods=_RETRY_METHODS, raise_on_status=False)
    adapter = requests.adapters.HTTPAdapter(max_retries=retry)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    return session


class Client:
    """``Client(url, token)``; or ``Client.from_env()`` (EXEML_URL, EXEML_TOKEN, else the
    config file ``exeml login`` writes)."""

    def __init__(self, url: str, token: str | None = None, *, timeout: float = 60.0,
                 session: requests.Session | None = None) -> None:
        if not url:
            raise ValueError("url is required (e.g. http://127.0.0.1:8000)")
        self.url = url.rstrip("/")
        self.token = token
        self.timeout = timeout
        self.session = session or _session()
        self.session.headers["User-Agent"] = "exeml-client/0.1"
        if token:
            self.session.headers["Authorization"] = f"Token {token}"
        self._task_types: dict[str, str] = {}

    def close(self) -> None:
        """Close the kept-alive connections."""
        self.session.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- Construction and login ----------------------------------------------------------

    @classmethod
    def from_env(cls, *, config_path: Path | None = None, **kwargs: Any) -> Client:
        """EXEML_URL and EXEML_TOKEN; what is unset comes from the config file."""
        config = load_config(config_path)
        url = os.environ.get("EXEML_URL") or (config.url if config else "")
        token = os.environ.get("EXEML_TOKEN") or (config.token if config else None)
        if not url or not token:
            raise ExeMLError("no platform configured: set EXEML_URL and EXEML_TOKEN, or run `exeml login`")
        return cls(url, token, **kwargs)

    @classmethod
    def login(cls, url: str, username: str, password: str, **kwargs: Any) -> Client:
        """Exchange a username and password for a token (``POST /api/v1/auth/token``)."""
        with cls(url, None, **kwargs) as anonymous:
            body = anonymous._json("POST", "/api/v1/auth/token", json={"username": username, "password": password})
        return cls(url, body["token"], **kwargs)

    def save(self, path: Path | None = None) -> Path:
        if not self.token:
            raise ExeMLError("this client has no token to save")
        return save_config(Config(self.url, self.token), path)

    # --- HTTP ------------------------------------------------------------------------------

    def _full(self, path: str) -> str:
        return path if path.startswith(("http://", "https://")) else self.url + path

    def request(self, method: str, path: str, *, stream: bool = False,
                timeout: float | None = None, **kwargs: Any) -> requests.Response:
        """One call; error answers raise the ApiError subclass of their status."""
        url = self._full(path)
        try:
            response = self.session.request(method, url, timeout=timeout or self.timeout, stream=stream, **kwargs)
        except requests.Timeout as exc:
            raise ConnectionFailed(f"{method} {url}: no answer in {timeout or self.timeout:g}s ({exc})") from None
        except requests.RequestException as exc:
            raise ConnectionFailed(f"{method} {url}: {exc}") from None
        if response.status_code >= 400:
            try:
                body = response.json()
            except ValueError:
                body = None
            if response.status_code == 413:
                # The server answered before reading the whole body; what is left of it would be
                # read as the next request on this connection. Start over on fresh connections.
                self.session.close()
            raise error_for(response.status_code, body, method=method, url=url, text=response.text)
        return response

    def _json(self, method: str, path: str, **kwargs: Any) -> Any:
        response = self.request(method, path, **kwargs)
        if response.status_code == 204 or not response.content:
            return None
        try:
            return response.json()
        except ValueError:
            raise ApiError(response.status_code, "the answer is not JSON", body=response.text[:300],
                           method=method, url=response.url) from None

    def paginate(self, path: str, params: dict[str, Any] | None = None, *, page_size: int = 100) -> Iterator[dict]:
        """Every item of a paginated list, following ``next`` page by page.

        Large lists (samples, suggestions, label issues, label-next, jobs) page by cursor: their
        ``next`` links carry ``cursor=…``, so every page costs the server the same and rows added
        or deleted meanwhile neither repeat nor skip an item. Page numbers are never built here."""
        query = {"page_size": page_size, **(params or {})}
        page = self._json("GET", path, params=query)
        while True:
            if isinstance(page, list):  # an unpaginated list
                yield from page
                return
            yield from page.get("results") or []
            following = page.get("next")
            if not following:
                return
            # ``next`` carries the host the server saw; keep talking to the one we were given.
            parts = urlsplit(following)
            page = self._json("GET", parts.path + (f"?{parts.query}" if parts.query else ""))

    # --- Account ---------------------------------------------------------------------------

    def me(self) -> dict[str, Any]:
        return self._json("GET", "/api/v1/me")

    def quotas(self) -> list[dict[str, Any]]:
        return list(self.paginate("/api/v1/quotas"))

    def flavors(self, purpose: str | None = None) -> list[dict[str, Any]]:
        return list(self.paginate("/api/v1/flavors", {"purpose": purpose} if purpose else None))

    def default_root(self) -> str:
        roots = self.me()["tenant"].get("storage_roots") or []
        if not roots:
            raise ExeMLError("this tenant has no storage root")
        return roots[0] if roots[0].endswith("/") else roots[0] + "/"

    # --- Storage ---------------------------------------------------------------------------

    def browse(self, path: str | None = None) -> Iterator[dict[str, Any]]:
        """Folders (``{"folder": path}``) and objects (``{"path","size","mtime"}``) under a path."""
        token = None
        while True:
            params = {k: v for k, v in {"path": path, "token": token}.items() if v}
            page = self._json("GET", "/api/v1/storage/browse", params=params)
            for folder in page.get("folders") or []:
                yield {"folder": folder}
            yield from page.get("objects") or []
            token = page.get("next_token")
            if not token:
                return

    def create_folder(self, path: str) -> str:
        return self._json("POST", "/api/v1/storage/folders", json={"path": path})["path"]

    def put_object(self, path: str, file: str | Path, *, overwrite: bool = False) -> dict[str, Any]:
        """Put one local file into storage at ``path`` (s3://bucket/folder/name.csv)."""
        file = Path(file)
        with file.open("rb") as handle:
            return self._json("POST", "/api/v1/storage/objects",
                              data={"path": path, "overwrite": "true" if overwrite else "false"},
                              files={"file": (file.name, handle)})

    # --- Projects --------------------------------------------------------------------------

    def projects(self, *, search: str | None = None, type: str | None = None) -> Iterator[Project]:
        params = {k: v for k, v in {"search": search, "type": type}.items() if v}
        for item in self.paginate("/api/v1/projects", params):
            yield Project.from_api(item)

    def project_id(self, project: str | Project) -> str:
        """A project's id from its id, its name or the Project itself."""
        if isinstance(project, Project):
            return str(project.id)
        if _is_uuid(project):
            return project
        for candidate in self.projects(search=project):
            if candidate.name == project:
                return str(candidate.id)
        raise NotFound(404, f"no project named {project!r}")

    def project(self, project: str | Project) -> Project:
        return Project.from_api(self._json("GET", f"/api/v1/projects/{self.project_id(project)}"))

    def create_project(
        self,
        name: str,
        type: str,
        *,
        description: str = "",
        labels: Iterable[str | dict[str, str]] = (),
        input_path: str | None = None,
        output_path: str | None = None,
        dataset_id: str | None = None,
        training_data: str | None = None,
        csv: str | Path | None = None,
        multi_label: bool | None = None,
    ) -> Project:
        """Create a project with a new dataset (paths default to ``<root>exeml-input/<name>/``
        and ``<root>exeml-output/<name>/``) or an existing one (``dataset_id``).

        Predictive analytics reads a CSV in storage: give its path as ``training_data``, or a
        local file as ``csv`` and it is put at ``<root>exeml-input/<name>/<file>`` first.
        ``multi_label`` (image classification): may an image carry several labels (default no).
        """
        body: dict[str, Any] = {"name": name, "type": type, "description": description}
        if multi_label is not None:
            body["multi_label"] = multi_label
        if dataset_id:
            body["dataset"] = {"source": "specify", "id": dataset_id}
        elif type == "predictive_analytics":
            if csv is not None:
                training_data = f"{self.default_root()}exeml-input/{name}/{Path(csv).name}"
                self.put_object(training_data, csv, overwrite=True)
            if not training_data:
                raise BadRequest(400, "predictive analytics needs training_data (a CSV in storage) or csv",
                                 fields={"training_data": ["required"]})
            body["training_data"] = training_data
            if output_path:
                body["dataset"] = {"source": "create", "output_path": output_path}
        else:
            root = self.default_root() if not (input_path and output_path) else ""
            body["dataset"] = {
                "source": "create",
                "name": name,
                "input_path": input_path or f"{root}exeml-input/{name}/",
                "output_path": output_path or f"{root}exeml-output/{name}/",
                "labels": [self._label_spec(label, i) for i, label in enumerate(labels)],
            }
        return Project.from_api(self._json("POST", "/api/v1/projects", json=body))

    def update_project(self, project: str | Project, **fields: Any) -> Project:
        """PATCH: ``description``, ``multi_label`` (image classification), and for predictive analytics
        ``label_column`` and ``label_type``."""
        return Project.from_api(self._json("PATCH", f"/api/v1/projects/{self.project_id(project)}", json=fields))

    def delete_project(self, project: str | Project) -> None:
        self._json("DELETE", f"/api/v1/projects/{self.project_id(project)}")

    def _dataset_of(self, project: str | Project) -> str:
        if not isinstance(project, Project) or not project.dataset_id:
            project = self.project(project)
        if not project.dataset_id:
            raise ExeMLError(f"project {project.name} has no dataset")
        return str(project.dataset_id)

    # --- Datasets, samples, upload -----------------------------------------------------------

    def datasets(self, *, type: str | None = None) -> Iterator[Dataset]:
        for item in self.paginate("/api/v1/datasets", {"type": type} if type else None):
            yield Dataset.from_api(item)

    def dataset(self, dataset_id: str) -> Dataset:
        return Dataset.from_api(self._json("GET", f"/api/v1/datasets/{dataset_id}"))

    def preview(self, dataset_id: str) -> dict[str, Any]:
        """Predictive analytics: columns (attr_1 …), rows and stats of the CSV."""
        return self._json("GET", f"/api/v1/datasets/{dataset_id}/preview")

    def samples(self, dataset_id: str, *, labeled: bool | None = None, label: str | None = None,
                task: str | None = None, assignee: str | None = None) -> Iterator[Sample]:
        """The dataset's samples; ``task`` only a labeling task's, ``assignee`` ("me" or a
        username) only those a member holds."""
        params: dict[str, Any] = {}
        if labeled is not None:
            params["labeled"] = "true" if labeled else "false"
        if label:
            params["label"] = label
        if task:
            params["task"] = task
        if assignee:
            params["assignee"] = assignee
        for item in self.paginate(f"/api/v1/datasets/{dataset_id}/samples", params):
            yield Sample.from_api(item)

    def delete_samples(self, dataset_id: str, ids: list[str], *, delete_source: bool = False) -> dict[str, Any]:
        return self._json("POST", f"/api/v1/datasets/{dataset_id}/samples/delete",
                          json={"ids": ids, "delete_source": delete_source})

    def sync(self, dataset_id: str, *, wait: bool = True, timeout: float = 1800,
             on_progress: JobProgress | None = None) -> Job:
        """Synchronize the dataset with its input path; waits for the job unless ``wait=False``.
        When a synchronization is already running (one starts with every new project), that
        one is the job returned and waited for."""
        try:
            job = Job.from_api(self._json("POST", f"/api/v1/datasets/{dataset_id}/sync"))
        except Conflict:
            running = self.dataset(dataset_id).last_sync_job
            if not running:
                raise
            job = Job.from_api(running)
        return self.wait_job(job.id, timeout=timeout, on_progress=on_progress) if wait else job

    def job(self, job_id: str) -> Job:
        return Job.from_api(self._json("GET", f"/api/v1/jobs/{job_id}"))

    def wait_job(self, job_id: str | None, *, timeout: float = 1800, poll: float = 1.0,
                 on_progress: JobProgress | None = None, raise_on_failure: bool = True) -> Job:
        if not job_id:
            raise ExeMLError("no job to wait for")
        deadline = time.monotonic() + timeout
        while True:
            job = self.job(job_id)
            if on_progress:
                on_progress(job)
            if job.done:
                if job.status == "failed" and raise_on_failure:
                    raise Failed(f"job {job.kind} failed: {job.detail or job.errors}", job)
                return job
            if time.monotonic() >= deadline:
                raise WaitTimeout(f"job {job_id} still {job.status} after {timeout:g}s", job)
            time.sleep(poll)

    def upload(
        self,
        dataset_id: str,
        files: str | Path | Iterable[str | Path],
        *,
        on_progress: UploadProgress | None = None,
        max_request_bytes: int = DEFAULT_UPLOAD_REQUEST_BYTES,
        labels_from_folders: bool = False,
        wait: bool = True,
        timeout: float = 3600,
        on_import: ImportProgress | None = None,
    ) -> UploadResult:
        """Upload a folder (every file below it) or a list of files, in requests under the
        server's per-request limit; one refused file never stops the others.

        Files in subfolders are sent as ``sub-name.ext`` (the API takes flat names). With
        ``labels_from_folders``, a file in ``cat/`` is labelled ``cat`` (image, sound
        classification: the usual one-folder-per-class layout).

        A small request is imported by the server before it answers; a larger one is stored
        and imported by a job (202). ``wait`` (default) follows those jobs to their end,
        calling ``on_import(job, jobs_done, jobs_total)`` on each read, so the result lists
        every file; ``wait=False`` returns once the files are sent, the jobs in ``result.jobs``.
        ``on_progress(files_sent, files_total, bytes_sent, bytes_total)`` follows the sending.
        """
        if labels_from_folders and not wait:
            raise ValueError("labels_from_folders labels the imported samples: it needs wait=True")
        entries = self._upload_entries(files)
        total_bytes = sum(size for _, _, size, _ in entries)
        result = UploadResult()
        done_files = done_bytes = 0
        if on_progress:
            on_progress(0, len(entries), 0, total_bytes)
        by_folder: dict[str, list[str]] = {}
        sent: list[tuple[UploadResult, list]] = []
        for batch in self._batches(entries, max_request_bytes):
            for part_result, part in self._send_batch(dataset_id, batch):
                sent.append((part_result, part))
                done_files += len(part)
                done_bytes += sum(size for _, _, size, _ in part)
                if on_progress:
                    on_progress(done_files, len(entries), done_bytes, total_bytes)
        # Every request is sent before the jobs are followed: the server imports meanwhile.
        if wait:
            self._follow_imports(sent, timeout=timeout, on_import=on_import)
        for part_result, part in sent:
            result.jobs.extend(part_result.jobs)
            result.accepted.extend(part_result.accepted)
            result.rejected.extend(part_result.rejected)
            folders = {name: folder for name, _, _, folder in part}
            for accepted in part_result.accepted:
                folder = folders.get(accepted.get("file"))
                if labels_from_folders and folder and accepted.get("id"):
                    by_folder.setdefault(folder, []).append(accepted["id"])
        for label, ids in by_folder.items():
            self.ensure_labels(dataset_id, [label])
            for start in range(0, len(ids), 500):
                self.annotate_batch(dataset_id, ids[start:start + 500], add=[label])
        return result

    def _follow_imports(self, sent: list[tuple[UploadResult, list]], *, timeout: float,
                        on_import: ImportProgress | None) -> None:
        """Wait for each request's import job; its files join the request's accepted/rejected."""
        waiting = [(part, batch, job) for part, batch in sent for job in part.jobs]
        deadline = time.monotonic() + timeout
        end: Job | None = None
        for done, (part, batch, job) in enumerate(waiting):
            def progress(current: Job, done: int = done) -> None:
                if on_import:
                    on_import(current, done, len(waiting))

            left = max(1.0, deadline - time.monotonic())
            end = self.wait_job(job.id, timeout=left, on_progress=progress, raise_on_failure=False)
            part.jobs[part.jobs.index(job)] = end
            answer = end.result or {}
            if "accepted" in answer:
                part.accepted.extend(answer.get("accepted") or [])
                # The files the request itself refused are in the answer already.
                known = {r.get("file") for r in part.rejected}
                part.rejected.extend(r for r in answer.get("rejected") or [] if r.get("file") not in known)
            else:  # cancelled, or failed before its answer (its worker died): no file was kept
                reason = f"the import {end.status}: {end.detail or 'no reason given'}"
                known = {r.get("file") for r in part.rejected}
                part.rejected.extend({"file": name, "reason": reason} for name, *_ in batch if name not in known)
        if on_import and end is not None:
            on_import(end, len(waiting), len(waiting))

    @staticmethod
    def _upload_entries(files: str | Path | Iterable[str | Path]) -> list[tuple[str, Path, int, str]]:
        """(name sent, local path, size, label folder) for each file to upload."""
        if isinstance(files, str | Path):
            root = Path(files)
            if not root.exists():
                raise FileNotFoundError(root)
            if root.is_file():
                return [(root.name, root, root.stat().st_size, "")]
            entries = []
            for path in sorted(p for p in root.rglob("*") if p.is_file()):
                relative = path.relative_to(root)
                if any(part.startswith(".") for part in relative.parts):  # .git, .DS_Store, …
                    continue
                folder = relative.parts[-2] if len(relative.parts) > 1 else ""
                entries.append(("-".join(relative.parts), path, path.stat().st_size, folder))
            return entries
        paths = [Path(f) for f in files]
        return [(p.name, p, p.stat().st_size, p.parent.name) for p in paths]

    @staticmethod
    def _batches(entries: list, max_bytes: int) -> Iterator[list]:
        batch: list = []
        size = 0
        for entry in entries:
            if batch and (size + entry[2] > max_bytes or len(batch) >= UPLOAD_MAX_FILES_PER_REQUEST):
                yield batch
                batch, size = [], 0
            batch.append(entry)
            size += entry[2]
        if batch:
            yield batch

    def _send_batch(self, dataset_id: str, batch: list) -> Iterator[tuple[UploadResult, list]]:
        handles = []
        try:
            parts = []
            for name, path, _, _ in batch:
                handle = path.open("rb")
                handles.append(handle)
                parts.append(("files", (name, handle, mimetypes.guess_type(name)[0] or "application/octet-stream")))
            body = self._json("POST", f"/api/v1/datasets/{dataset_id}/samples", files=parts)
        except BadRequest as exc:
            # Every file of this request refused: 400 with the same per-file reasons as a 201.
            if not isinstance(exc.body, dict) or not isinstance(exc.body.get("rejected"), list):
                raise
            body = exc.body
        except TooLarge as exc:
            if len(batch) == 1:  # this file alone is over the server's limit
                yield UploadResult(rejected=[{"file": batch[0][0], "reason": exc.detail}]), batch
                return
            half = len(batch) // 2
            for handle in handles:
                handle.close()
            handles = []
            yield from self._send_batch(dataset_id, batch[:half])
            yield from self._send_batch(dataset_id, batch[half:])
            return
        finally:
            for handle in handles:
                handle.close()
        if body.get("kind") == "dataset_upload":  # 202: stored; a job imports it
            job = Job.from_api(body)
            yield UploadResult(rejected=list(job.errors or []), jobs=[job]), batch
            return
        yield UploadResult(accepted=body.get("accepted") or [], rejected=body.get("rejected") or []), batch

    # --- Labels and annotations ----------------------------------------------------------------

    @staticmethod
    def _label_spec(label: str | dict[str, str], index: int) -> dict[str, str]:
        if isinstance(label, dict):
            return {"color": _PALETTE[index % len(_PALETTE)], **label}
        return {"name": label, "color": _PALETTE[index % len(_PALETTE)]}

    def labels(self, dataset_id: str) -> list[Label]:
        return [Label.from_api(item) for item in self.paginate(f"/api/v1/datasets/{dataset_id}/labels")]

    def create_label(self, dataset_id: str, name: str, *, color: str | None = None, shortcut: str = "") -> Label:
        body = {"name": name, "color": color or _PALETTE[hash(name) % len(_PALETTE)], "shortcut": shortcut}
        return Label.from_api(self._json("POST", f"/api/v1/datasets/{dataset_id}/labels", json=body))

    def ensure_labels(self, dataset_id: str, names: Iterable[str]) -> list[Label]:
        """Create the labels that do not exist yet; returns every label of the dataset."""
        existing = {label.name for label in self.labels(dataset_id)}
        offset = len(existing)
        for i, name in enumerate(n for n in dict.fromkeys(names) if n not in existing):
            self.create_label(dataset_id, name, color=_PALETTE[(offset + i) % len(_PALETTE)])
        return self.labels(dataset_id)

    def rename_label(self, dataset_id: str, name: str, *, new_name: str | None = None,
                     color: str | None = None) -> Label:
        body = {k: v for k, v in {"name": new_name, "color": color}.items() if v}
        return Label.from_api(self._json("PATCH", f"/api/v1/datasets/{dataset_id}/labels/{name}", json=body))

    def delete_label(self, dataset_id: str, name: str, *, mode: str = "label_only") -> dict[str, Any]:
        return self._json("DELETE", f"/api/v1/datasets/{dataset_id}/labels/{name}", params={"mode": mode})

    def annotate(self, dataset_id: str, sample_id: str, *, labels: list[str] | None = None,
                 objects: list[dict[str, Any]] | None = None, revision: int | None = None) -> Sample:
        """Set a sample's labels (classification) or boxes (``[{"label", "bbox": [x0,y0,x1,y1]}]``).
        With ``revision``, a sample changed meanwhile raises Conflict instead of being overwritten."""
        body: dict[str, Any] = {}
        if labels is not None:
            body["labels"] = labels
        if objects is not None:
            body["objects"] = objects
        headers = {"If-Match": f'"{revision}"'} if revision is not None else {}
        return Sample.from_api(self._json("PUT", f"/api/v1/datasets/{dataset_id}/samples/{sample_id}/annotations",
                                          json=body, headers=headers))

    def annotate_batch(self, dataset_id: str, sample_ids: list[str], *, add: list[str] = (),
                       remove: list[str] = ()) -> dict[str, Any]:
        return self._json("POST", f"/api/v1/datasets/{dataset_id}/annotations/batch",
                          json={"sample_ids": list(sample_ids), "add": list(add), "remove": list(remove)})

    # --- Team labeling -------------------------------------------------------------------------

    def members(self) -> list[dict[str, Any]]:
        """The tenant's members: ``[{"username", "role", "joined_at"}]``."""
        return list(self.paginate("/api/v1/members"))

    def invite_member(self, username: str, role: str, *, password: str | None = None) -> dict[str, Any]:
        """Add an existing account, or create one (then ``password`` is required)."""
        body: dict[str, Any] = {"username": username, "role": role}
        if password:
            body["password"] = password
        return self._json("POST", "/api/v1/members", json=body)

    def set_role(self, username: str, role: str) -> dict[str, Any]:
        return self._json("PATCH", f"/api/v1/members/{quote(username, safe='')}", json={"role": role})

    def remove_member(self, username: str) -> None:
        self._json("DELETE", f"/api/v1/members/{quote(username, safe='')}")

    def tasks(self, dataset_id: str, *, assignee: str | None = None, status: str | None = None) -> Iterator[dict]:
        """A dataset's labeling tasks (``assignee="me"``: your own), each with its progress."""
        params = {k: v for k, v in (("assignee", assignee), ("status", status)) if v}
        return self.paginate(f"/api/v1/datasets/{dataset_id}/tasks", params)

    def create_tasks(self, dataset_id: str, assignees: list[str], *, per_task: int | None = None,
                     by_folder: bool = False, order: str = "source", max_samples: int | None = None,
                     name: str = "", overlap: float = 0.0) -> list[dict[str, Any]]:
        """Split the unlabelled samples no task holds among ``assignees`` (round-robin):
        ``per_task`` samples each, or one task per folder; ``order`` source or label_next.
        ``overlap``: the fraction a second labeler also labels, blind (overlap tasks), for
        :meth:`agreement`."""
        body: dict[str, Any] = {"assignees": list(assignees), "by_folder": by_folder, "order": order, "name": name,
                                "overlap": overlap}
        if per_task is not None:
            body["per_task"] = per_task
        if max_samples is not None:
            body["max_samples"] = max_samples
        return self._json("POST", f"/api/v1/datasets/{dataset_id}/tasks", json=body)

    def task(self, dataset_id: str, task_id: str) -> dict[str, Any]:
        return self._json("GET", f"/api/v1/datasets/{dataset_id}/tasks/{task_id}")

    def reassign_task(self, dataset_id: str, task_id: str, assignee: str) -> dict[str, Any]:
        return self._json("PATCH", f"/api/v1/datasets/{dataset_id}/tasks/{task_id}", json={"assignee": assignee})

    def cancel_task(self, dataset_id: str, task_id: str) -> dict[str, Any]:
        return self._json("POST", f"/api/v1/datasets/{dataset_id}/tasks/{task_id}/cancel")

    def submit_task(self, dataset_id: str, task_id: str) -> dict[str, Any]:
        """Hand your task to review (Conflict while a sample is unlabelled)."""
        return self._json("POST", f"/api/v1/datasets/{dataset_id}/tasks/{task_id}/submit")

    def review_task(self, dataset_id: str, task_id: str, *, accept: Iterable[str] = (),
                    reject: dict[str, str] | None = None) -> dict[str, Any]:
        """Accept samples (ids) and reject others (``{sample_id: comment}``) of a task in review."""
        decisions = [{"sample_id": sid, "decision": "accept"} for sid in accept]
        decisions += [{"sample_id": sid, "decision": "reject", "comment": c} for sid, c in (reject or {}).items()]
        return self._json("POST", f"/api/v1/datasets/{dataset_id}/tasks/{task_id}/review",
                          json={"decisions": decisions})

    def sample_history(self, dataset_id: str, sample_id: str) -> list[dict[str, Any]]:
        """Every change of a sample's annotations: who, when, before → after."""
        return list(self.paginate(f"/api/v1/datasets/{dataset_id}/samples/{sample_id}/history"))

    def agreement(self, dataset_id: str) -> dict[str, Any]:
        """Agreement between labelers on overlap samples, and of each with the reviewed result."""
        return self._json("GET", f"/api/v1/datasets/{dataset_id}/agreement")

    def activity(self, dataset_id: str, *, days: int = 14) -> list[dict[str, Any]]:
        """Per member: samples labelled per day, review acceptance, time per sample."""
        return self._json("GET", f"/api/v1/datasets/{dataset_id}/activity", params={"days": days})

    # --- Training and versions -----------------------------------------------------------------

    def train_check(self, project: str | Project) -> dict[str, Any]:
        """``{"ok": bool, "reasons": [...]}``: whether Train is allowed now, and why not."""
        return self._json("GET", f"/api/v1/projects/{self.project_id(project)}/train-check")

    def train(
        self,
        project: str | Project,
        *,
        max_minutes: float | None = None,
        preference: str | None = None,
        train_ratio: float | None = None,
        flavor: str | None = None,
        dataset_version: str | None = None,
        incremental_from: str | None = None,
        wait: bool = False,
        on_progress: VersionProgress | None = None,
        timeout: float | None = None,
        poll: float = 2.0,
    ) -> ModelVersion:
        """Start a training (a new version V00N). With ``wait``, polls until it ends, calling
        ``on_progress`` on each read; a failed training raises Failed."""
        pid = self.project_id(project)
        body = {k: v for k, v in {
            "max_minutes": max_minutes, "preference": preference, "train_ratio": train_ratio, "flavor": flavor,
            "dataset_version": dataset_version, "incremental_from": incremental_from,
        }.items() if v is not None}
        version = ModelVersion.from_api(self._json("POST", f"/api/v1/projects/{pid}/train", json=body))
        if not wait:
            return version
        if timeout is None:  # the budget, plus queueing, evaluation and export
            timeout = (max_minutes or 60) * 60 + 900
        return self.wait_version(pid, version.name, timeout=timeout, poll=poll, on_progress=on_progress)

    def versions(self, project: str | Project) -> Iterator[ModelVersion]:
        for item in self.paginate(f"/api/v1/projects/{self.project_id(project)}/versions"):
            yield ModelVersion.from_api(item)

    def version(self, project: str | Project, version: str, *, eval_predictions: bool = False) -> ModelVersion:
        """``version`` is its name (V001) or id."""
        params = {"include": "eval_predictions"} if eval_predictions else None
        return ModelVersion.from_api(
            self._json("GET", f"/api/v1/projects/{self.project_id(project)}/versions/{version}", params=params)
        )

    def wait_version(self, project: str | Project, version: str, *, timeout: float = 3600, poll: float = 2.0,
                     on_progress: VersionProgress | None = None, raise_on_failure: bool = True) -> ModelVersion:
        pid = self.project_id(project)
        deadline = time.monotonic() + timeout
        while True:
            current = self.version(pid, version)
            if on_progress:
                on_progress(current)
            if current.done:
                if current.status != "completed" and raise_on_failure:
                    raise Failed(f"training {current.name} {current.status}: {current.error or ''}".strip(), current)
                return current
            if time.monotonic() >= deadline:
                raise WaitTimeout(f"training {current.name} still {current.status} after {timeout:g}s", current)
            time.sleep(poll)

    def evaluation(self, project: str | Project, version: str) -> dict[str, Any]:
        """The version's metrics and evaluation (per-class figures, confusion matrix, …)."""
        current = self.version(project, version)
        return {"metrics": current.metrics or {}, "evaluation": current.evaluation or {}}

    def stop_training(self, project: str | Project, version: str) -> ModelVersion:
        return ModelVersion.from_api(
            self._json("POST", f"/api/v1/projects/{self.project_id(project)}/versions/{version}/stop")
        )

    def logs(self, project: str | Project, version: str) -> list[str]:
        return self._json("GET", f"/api/v1/projects/{self.project_id(project)}/versions/{version}/logs")["lines"]

    # --- Models --------------------------------------------------------------------------------

    def models(self, *, project: str | Project | None = None) -> Iterator[Model]:
        params = {"project": self.project_id(project)} if project else None
        for item in self.paginate("/api/v1/models", params):
            yield Model.from_api(item)

    def download_model(self, version_id: str, path: str | Path, *,
                       on_progress: Callable[[int, int], None] | None = None) -> Path:
        """The ONNX bundle (model.onnx + bundle.json + README) as a zip at ``path``; streamed,
        written under a temporary name and renamed, so a broken download leaves no partial file."""
        path = Path(path)
        response = self.request("GET", f"/api/v1/models/{version_id}/download", stream=True)
        total = int(response.headers.get("Content-Length") or 0)
        done = 0
        tmp = path.with_name(path.name + ".part")
        try:
            with tmp.open("wb") as handle:
                for chunk in response.iter_content(1024 * 256):
                    handle.write(chunk)
                    done += len(chunk)
                    if on_progress:
                        on_progress(done, total)
            os.replace(tmp, path)
        except requests.RequestException as exc:
            raise ConnectionFailed(f"download of model {version_id} broke off: {exc}") from None
        finally:
            response.close()
            tmp.unlink(missing_ok=True)
        return path

    # --- Services ------------------------------------------------------------------------------

    @staticmethod
    def _auto_stop(hours: float | None, auto_stop: bool | None, idle_minutes: int | None) -> dict[str, Any] | None:
        if hours is None and auto_stop is None and idle_minutes is None:
            return None
        body: dict[str, Any] = {"enabled": True if auto_stop is None else auto_stop}
        if hours is not None:
            body["hours"] = hours
        if idle_minutes is not None:
            body["idle_minutes"] = idle_minutes
        return body

    def deploy(
        self,
        project: str | Project,
        version: str,
        *,
        flavor: str | None = None,
        name: str | None = None,
        hours: float | None = None,
        auto_stop: bool | None = None,
        idle_minutes: int | None = None,
        wait: bool = False,
        timeout: float = 600,
    ) -> Service:
        """Deploy a completed version as a real-time service. ``hours``: stop that long after
        it starts (``auto_stop=False``: never); ``idle_minutes``: stop after that many minutes
        without calls. With ``wait``, returns once it runs (a failed deploy raises Failed)."""
        body: dict[str, Any] = {k: v for k, v in {"flavor": flavor, "name": name}.items() if v}
        stop = self._auto_stop(hours, auto_stop, idle_minutes)
        if stop is not None:
            body["auto_stop"] = stop
        pid = self.project_id(project)
        service = Service.from_api(self._json("POST", f"/api/v1/projects/{pid}/versions/{version}/deploy", json=body))
        return self.wait_service(service.id, timeout=timeout) if wait else service

    def services(self, *, project: str | Project | None = None) -> Iterator[Service]:
        params = {"project": self.project_id(project)} if project else None
        for item in self.paginate("/api/v1/services", params):
            yield Service.from_api(item)

    def service(self, service_id: str) -> Service:
        service = Service.from_api(self._json("GET", f"/api/v1/services/{service_id}"))
        if service.task_type:
            self._task_types[str(service.id)] = service.task_type
        return service

    def wait_service(self, service_id: str | None, *, status: str = "running", timeout: float = 600,
                     poll: float = 1.0) -> Service:
        deadline = time.monotonic() + timeout
        while True:
            service = self.service(str(service_id))
            if service.status == status:
                return service
            if service.status == "failed":
                raise Failed(f"service {service.name} failed: {service.error}", service)
            if time.monotonic() >= deadline:
                raise WaitTimeout(f"service {service.name} still {service.status} after {timeout:g}s", service)
            time.sleep(poll)

    def start_service(self, service_id: str, *, hours: float | None = None, auto_stop: bool | None = None,
                      idle_minutes: int | None = None, wait: bool = False, timeout: float = 600) -> Service:
        stop = self._auto_stop(hours, auto_stop, idle_minutes)
        body = {"auto_stop": stop} if stop is not None else {}
        service = Service.from_api(self._json("POST", f"/api/v1/services/{service_id}/start", json=body))
        return self.wait_service(service.id, timeout=timeout) if wait else service

    def stop_service(self, service_id: str) -> Service:
        return Service.from_api(self._json("POST", f"/api/v1/services/{service_id}/stop"))

    def delete_service(self, service_id: str) -> None:
        self._json("DELETE", f"/api/v1/services/{service_id}")

    def service_metrics(self, service_id: str) -> dict[str, Any]:
        return self._json("GET", f"/api/v1/services/{service_id}/metrics")

    # --- Prediction ----------------------------------------------------------------------------

    def _task_type(self, service_id: str) -> str:
        if service_id not in self._task_types:
            self.service(service_id)
        return self._task_types[service_id]

    def predict(
        self,
        service_id: str,
        file: str | Path | bytes | None = None,
        *,
        text: str | None = None,
        records: list[dict[str, Any]] | None = None,
        filename: str | None = None,
    ) -> dict[str, Any]:
        """Call a running service with one image or WAV (``file``: a path or bytes), a
        ``text``, or predictive-analytics ``records`` (``[{"attr_1": "58", ...}]``); returns
        the ModelArts-shaped answer."""
        given = [x is not None for x in (file, text, records)]
        if sum(given) != 1:
            raise ValueError("give exactly one of file, text or records")
        path = f"/v1/infers/{service_id}"
        if text is not None:
            return self._json("POST", path, json={"text": text})
        if records is not None:
            records = [{k: "" if v is None else str(v) for k, v in r.items()} for r in records]
            return self._json("POST", path, json={"data": {"count": len(records), "req_data": records}})
        field = "files" if self._task_type(service_id) == "sound_classification" else "images"
        if isinstance(file, bytes):
            return self._json("POST", path, files={field: (filename or "upload", file)})
        file = Path(file)
        with file.open("rb") as handle:
            return self._json("POST", path, files={field: (filename or file.name, handle)})

    def predict_batch(self, service_id: str, inputs: Iterable[str | Path], *,
                      on_progress: Callable[[int, int], None] | None = None) -> list[dict[str, Any]]:
        """One prediction per file; a refused input gives ``{"file", "error", "status"}`` in its place."""
        inputs = list(inputs)
        answers: list[dict[str, Any]] = []
        for i, item in enumerate(inputs, 1):
            try:
                answers.append({"file": str(item), **self.predict(service_id, item)})
            except (BadRequest, TooLarge) as exc:
                answers.append({"file": str(item), "error": exc.detail, "status": exc.status})
            if on_progress:
                on_progress(i, len(inputs))
        return answers
