"""Server settings: the one reader of Layerlab's `LAYERLAB_*` environment variables.

A setting is read each time it is asked for, so a test or an admin changes it without a restart. Size budgets
are declared in builder/limits.py (and read through `text` here); README's Limits section lists them all.
"""
from __future__ import annotations

import os
import tempfile
from pathlib import Path

APP_DIR = Path(__file__).resolve().parents[1]  # where app.py lives: the default home of runs/


def text(name: str, default: str = "") -> str:
    """The setting as written, `default` when unset."""
    if not name.startswith("LAYERLAB_"):
        raise ValueError(f"{name} is not a Layerlab setting")
    return os.environ.get(name, default)


def positive_int(name: str) -> int | None:
    """A positive whole number, or None when unset or not one."""
    try:
        value = int(text(name))
    except ValueError:
        return None
    return value if value > 0 else None


def number(name: str, default: float) -> float:
    """A number, `default` when unset or not one."""
    try:
        return float(text(name) or default)
    except ValueError:
        return default


def _folder(name: str, default: Path) -> Path:
    root = Path(text(name) or default)
    if not root.is_dir():  # one stat on every ask (a page asks many times per rerun); mkdir only the first time
        root.mkdir(parents=True, exist_ok=True)
    return root


def runs_dir() -> Path:
    """LAYERLAB_RUNS_DIR, else `runs/` beside app.py (created)."""
    return _folder("LAYERLAB_RUNS_DIR", APP_DIR / "runs")


def home_dir() -> Path:
    """Where workspaces live: LAYERLAB_HOME, else `workspaces/` beside the runs folder (created)."""
    return _folder("LAYERLAB_HOME", runs_dir().parent / "workspaces")


def sweeps_dir(runs_root: Path) -> Path:
    """Where sweeps live: LAYERLAB_SWEEPS_DIR, else `sweeps/` beside the runs folder `runs_root` (created)."""
    return _folder("LAYERLAB_SWEEPS_DIR", Path(runs_root).parent / "sweeps")


def uploads_dir() -> Path:
    """LAYERLAB_UPLOADS_DIR, else a `layerlab-uploads` folder in the system's temp folder (created)."""
    return _folder("LAYERLAB_UPLOADS_DIR", Path(tempfile.gettempdir()) / "layerlab-uploads")


def pretrained_dir() -> Path:
    """LAYERLAB_PRETRAINED_DIR, else `pretrained/` in the uploads folder (created)."""
    return _folder("LAYERLAB_PRETRAINED_DIR", uploads_dir() / "pretrained")


def executor() -> str:
    """Who trains: `local` (default) or `ray`."""
    return (text("LAYERLAB_EXECUTOR") or "local").strip().lower()


def class_code() -> str:
    return text("LAYERLAB_CLASS_CODE")


def teacher_key() -> str:
    return text("LAYERLAB_TEACHER_KEY")


def keep_checkpoints() -> bool:
    """LAYERLAB_KEEP_CHECKPOINTS: `1` (default) keeps a completed run's checkpoint so it can be continued."""
    return text("LAYERLAB_KEEP_CHECKPOINTS", "1").strip().lower() not in ("0", "false", "no", "off")


def prewarm() -> bool:
    """Start the training worker with the server (LAYERLAB_PREWARM=0: at the first Train click)."""
    return text("LAYERLAB_PREWARM", "1") != "0"


def mlflow_uri() -> str:
    return text("LAYERLAB_MLFLOW_URI")


def fast_path() -> str:
    """`auto`, `on` or `off` (builder/train/fastpath.py)."""
    return text("LAYERLAB_FAST_PATH", "auto")


def ray_address() -> str | None:
    return text("LAYERLAB_RAY_ADDRESS") or None


def ray_warm_actors() -> int | None:
    """LAYERLAB_RAY_WARM_ACTORS: Ray actors kept with Keras loaded (0: none); None when unset or not a number."""
    raw = text("LAYERLAB_RAY_WARM_ACTORS").strip()
    return int(raw) if raw.isdigit() else None


def current() -> dict[str, str]:
    """Every LAYERLAB_* setting of this process, to hand to a process that does not inherit this environment."""
    return {name: value for name, value in os.environ.items() if name.startswith("LAYERLAB_")}


def adopt(handed: dict[str, str]) -> None:
    """Make this process's LAYERLAB_* settings exactly `handed` (`current()` of another process)."""
    for name in [n for n in os.environ if n.startswith("LAYERLAB_") and n not in handed]:
        del os.environ[name]
    os.environ.update({name: value for name, value in handed.items() if name.startswith("LAYERLAB_")})
