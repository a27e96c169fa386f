"""The one place that makes ultralytics work offline; import it before ultralytics, always.

ultralytics reads its environment and settings file at import time and, left alone,
probes DNS, checks PyPI for updates, downloads Arial.ttf from GitHub on every train/val,
sends analytics and pip-installs what it misses. Every fix below is in ML-NOTES.md.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import threading
from pathlib import Path
from typing import Any

_LOCK = threading.Lock()
_READY: Path | None = None

_FONT_NAMES = ("Arial.ttf", "Arial.Unicode.ttf")
_INTEGRATIONS_OFF = {
    "sync": False,
    "clearml": False,
    "comet": False,
    "dvc": False,
    "mlflow": False,
    "raytune": False,
    "tensorboard": False,
    "wandb": False,
    "vscode_msg": False,
    "openvino_msg": False,
    "api_key": "",
}


def config_root() -> Path:
    """A writable folder for ultralytics' settings, fonts and (never used) download dirs."""
    home = os.environ.get("EXEML_HOME")
    if home:
        return Path(home) / "ultralytics"
    return Path(tempfile.gettempdir()) / f"exeml-ultralytics-{os.getuid() if hasattr(os, 'getuid') else 0}"


def _install_fonts(user_dir: Path) -> None:
    # check_font() returns early when the file is in USER_CONFIG_DIR; otherwise it HEADs GitHub.
    import matplotlib

    source = Path(matplotlib.get_data_path()) / "fonts" / "ttf" / "DejaVuSans.ttf"
    user_dir.mkdir(parents=True, exist_ok=True)
    for name in _FONT_NAMES:
        target = user_dir / name
        if not target.exists() and source.exists():
            shutil.copyfile(source, target)


def ensure_offline(root: Path | None = None) -> Path:
    """Apply every offline fix (idempotent) and return ultralytics' user config dir."""
    global _READY
    with _LOCK:
        if _READY is not None:
            return _READY
        root = Path(root) if root else config_root()
        # setdefault: an operator may point these elsewhere, but never online.
        os.environ.setdefault("YOLO_CONFIG_DIR", str(root))
        os.environ["YOLO_OFFLINE"] = "1"
        os.environ["YOLO_AUTOINSTALL"] = "0"
        os.environ.setdefault("YOLO_VERBOSE", "False")
        os.environ.setdefault("ORT_DISABLE_TELEMETRY", "1")
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        user_dir = Path(os.environ["YOLO_CONFIG_DIR"]) / "Ultralytics"
        _install_fonts(user_dir)

        import ultralytics.utils as yutils

        # If ultralytics was imported before us its USER_CONFIG_DIR is elsewhere: give it fonts too.
        if Path(yutils.USER_CONFIG_DIR) != user_dir:
            _install_fonts(Path(yutils.USER_CONFIG_DIR))
        yutils.ONLINE = False
        # ultralytics patches PIL.Image.open process-wide to pip-install pi-heif on the first
        # unidentified image: mark the plugin as registered so a bad file just fails.
        import ultralytics.utils.patches as ypatches

        if hasattr(ypatches, "_pil_plugins_registered"):
            ypatches._pil_plugins_registered = True
        work = Path(os.environ["YOLO_CONFIG_DIR"])
        yutils.SETTINGS.update(
            {
                **_INTEGRATIONS_OFF,
                "datasets_dir": str(work / "datasets"),
                "weights_dir": str(work / "weights"),
                "runs_dir": str(work / "runs"),
            }
        )
        _READY = user_dir
        return user_dir


def yolo_class() -> Any:
    """``ultralytics.YOLO`` after the offline fixes."""
    ensure_offline()
    from ultralytics import YOLO

    return YOLO
