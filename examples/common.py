"""What every example shares: its options, a progress printer, the final summary line."""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import uuid
from pathlib import Path

from exeml_client import Client, ModelVersion


def options(description: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--data", type=Path, help="your own data (default: a tiny generated set)")
    parser.add_argument("--name", default=f"ex{uuid.uuid4().hex[:6]}", help="project name (1-20 characters)")
    parser.add_argument("--max-minutes", type=float, default=6.0, help="training budget")
    parser.add_argument("--idle-minutes", type=int, default=None, help="stop the service after N idle minutes")
    parser.add_argument("--keep-service", action="store_true", help="leave the service running at the end")
    args = parser.parse_args()
    args.workdir = Path(tempfile.mkdtemp(prefix="exeml-example-"))
    return args


def client() -> Client:
    """EXEML_URL and EXEML_TOKEN, or what `exeml login` saved."""
    return Client.from_env()


def show_training(version: ModelVersion) -> None:
    print(f"\r{version.name} {version.status:<9} {float(version.progress or 0) * 100:5.1f}% {version.phase or ''}",
          end="", file=sys.stderr, flush=True)


def finish(summary: dict) -> None:
    """The last line of output: one JSON object a script (or a test) can read."""
    print(file=sys.stderr)
    print("RESULT " + json.dumps(summary, default=str))
