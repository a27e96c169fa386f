"""Helpers of the end-to-end tests: node and chromium checks, building the console, and
running a command while streaming its output."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import threading
from collections import deque
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
FRONTEND = REPO / "frontend"
DIST_INDEX = FRONTEND / "dist" / "index.html"
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
ARTIFACTS = REPO / "test-artifacts" / "e2e"

# What the built console depends on: any of them newer than dist/index.html means stale.
_BUILD_INPUTS = ["src", "index.html", "package.json", "package-lock.json", "vite.config.ts", "tsconfig.json"]


def missing_node() -> str | None:
    if not shutil.which("node") or not shutil.which("npm"):
        return "node/npm not found on PATH (install Node.js 20+)"
    return None


def missing_chromium() -> str | None:
    if not (Path(CHROMIUM).is_file() and os.access(CHROMIUM, os.X_OK)):
        return f"{CHROMIUM} not found (run frontend/e2e/install-browser.sh)"
    return None


def _newest_mtime(paths: list[Path]) -> float:
    newest = 0.0
    for path in paths:
        if path.is_dir():
            for child in path.rglob("*"):
                if child.is_file():
                    newest = max(newest, child.stat().st_mtime)
        elif path.exists():
            newest = max(newest, path.stat().st_mtime)
    return newest


def _run_checked(cmd: list[str], timeout: float) -> None:
    rc, tail = run_streaming(cmd, cwd=FRONTEND, env=os.environ.copy(), timeout=timeout, prefix="[npm] ")
    if rc != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed with code {rc}:\n{tail}")


def ensure_node_modules() -> None:
    """``npm ci`` when node_modules is missing or older than package-lock.json."""
    marker = FRONTEND / "node_modules" / ".package-lock.json"
    lock = FRONTEND / "package-lock.json"
    if marker.exists() and marker.stat().st_mtime >= lock.stat().st_mtime:
        return
    _run_checked(["npm", "ci", "--no-audit", "--no-fund"], timeout=600)


def ensure_console_built() -> None:
    """Builds frontend/dist when it is missing or older than its sources."""
    ensure_node_modules()
    if DIST_INDEX.exists() and DIST_INDEX.stat().st_mtime >= _newest_mtime([FRONTEND / p for p in _BUILD_INPUTS]):
        return
    _run_checked(["npm", "run", "build"], timeout=600)


def run_streaming(cmd: list[str], *, cwd: Path, env: dict, timeout: float, prefix: str = "") -> tuple[int, str]:
    """Runs cmd, echoing each output line as it comes; returns (exit code, last lines).

    The exit code is -9 when the timeout killed it."""
    proc = subprocess.Popen(cmd, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            errors="replace", start_new_session=True)
    timed_out = threading.Event()

    def _kill() -> None:
        # SIGTERM first: playwright closes its browser (its own process group) on it.
        timed_out.set()
        for sig, grace in ((signal.SIGTERM, 10), (signal.SIGKILL, 0)):
            try:
                os.killpg(proc.pid, sig)
            except ProcessLookupError:
                return
            try:
                proc.wait(grace)
                return
            except subprocess.TimeoutExpired:
                pass

    watchdog = threading.Timer(timeout, _kill)
    watchdog.start()
    tail: deque[str] = deque(maxlen=150)
    try:
        assert proc.stdout is not None
        for line in proc.stdout:
            tail.append(line.rstrip("\n"))
            sys.stdout.write(prefix + line)
            sys.stdout.flush()
        proc.wait()
    finally:
        watchdog.cancel()
    if timed_out.is_set():
        tail.append(f"... killed after {timeout:.0f} s")
    return proc.returncode, "\n".join(tail)
