"""The run folder (contract 3): file names and small atomic read/write helpers.

Shared by the runner (writes), the job manager (queued/failed/interrupted)
and the run store (reads). Replacing writes are atomic; metrics are appended.
Readers never trust a folder: a status.json that is not an object, or whose
fields have the wrong types, reads as unreadable (`status_problem`) instead of
breaking the run list, the pages or the job manager.
"""
from __future__ import annotations

import json
import math
import os
import time
from pathlib import Path

from builder.model.spec import atomic_write_text

EXPERIMENT = "experiment.json"
STATUS = "status.json"
METRICS = "metrics.jsonl"
PROGRESS = "progress.json"
MODEL = "model.keras"
EVALUATION = "evaluation.json"
PREDICTIONS = "predictions.json"
LOG = "train.log"
STOP = "STOP"
PRUNE = "PRUNE"  # a sweep's pruner gave up on this trial: it stops like STOP and ends `pruned`
CHECKPOINT = "checkpoint.npz"  # builder.train.checkpoint: the latest full training state
GAN_SAMPLES = "samples.npz"  # a GAN run's final pictures and its walk through the noise (builder.train.gan_run)
GAN_DISCRIMINATOR = "discriminator.keras"  # a GAN run's second network
GAN_LIVE_PREFIX = "samples"  # live/samples_eNNN.npy: a GAN's pictures after each epoch (watch.latest_live_file)

STATES = ("queued", "running", "completed", "stopped", "failed", "interrupted", "pruned")
ACTIVE = ("queued", "running")


def clean(value):
    """JSON-safe: numpy scalars → Python numbers, NaN/inf → None (strict JSON has no NaN)."""
    if isinstance(value, dict):
        return {str(k): clean(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [clean(v) for v in value]
    if hasattr(value, "item") and getattr(value, "ndim", 1) == 0:
        value = value.item()
    if hasattr(value, "tolist"):
        return clean(value.tolist())
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def write_json(path, data) -> None:
    atomic_write_text(Path(path), json.dumps(clean(data), indent=1))


def read_json(path, default=None):
    try:
        return json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return default


# status.json fields readers rely on, and the JSON types each must have when present
_STATUS_TYPES = {
    "status": str, "run_id": str, "name": str, "dataset": str, "model": str, "error": str,
    "created": (int, float), "started": (int, float), "finished": (int, float), "updated": (int, float),
    "epochs": int, "epochs_done": int, "pid": int, "manager_pid": int, "final": dict, "last": dict,
}


def status_problem(status) -> str | None:
    """Why a parsed status.json cannot be trusted, or None."""
    if not isinstance(status, dict):
        return f"{STATUS} is not a JSON object"
    for key, kind in _STATUS_TYPES.items():
        value = status.get(key)
        if value is not None and (isinstance(value, bool) or not isinstance(value, kind)):
            return f"{STATUS} field '{key}' holds {json.dumps(value)[:40]}"
    if status.get("status") is not None and status["status"] not in STATES:
        return f"{STATUS} has an unknown state {json.dumps(status['status'])[:40]}"
    return None


def read_status(run_dir) -> dict:
    """The run's status, or {} when it is missing or malformed (see `status_problem`)."""
    status = read_json(Path(run_dir) / STATUS, {})
    return {} if status_problem(status) else status


def write_status(run_dir, **fields) -> dict:
    """Merge `fields` into status.json and return the new status.

    Atomic when it can be; when the atomic write fails (disk full) the file is
    overwritten in place, which frees its old blocks first, so a run can still
    end as `failed` with the reason. Raises OSError when both fail.
    """
    status = read_status(run_dir)
    status.update(fields)
    status["updated"] = time.time()
    path = Path(run_dir) / STATUS
    try:
        write_json(path, status)
    except OSError:
        if not path.exists():
            raise
        with open(path, "r+", encoding="utf-8") as f:
            f.truncate(0)
            f.write(json.dumps(clean(status), indent=1))
    return status


def append_jsonl(path, record: dict) -> None:
    """One line, flushed and fsynced: a crash right after loses nothing written."""
    line = json.dumps(clean(record)) + "\n"
    with open(path, "a", encoding="utf-8") as f:
        f.write(line)
        f.flush()
        os.fsync(f.fileno())


def write_jsonl(path, rows: list[dict]) -> None:
    """Replace a JSON-lines file atomically (a resumed run drops the epochs past its checkpoint)."""
    atomic_write_text(Path(path), "".join(json.dumps(clean(r)) + "\n" for r in rows))


def read_jsonl(path) -> list[dict]:
    rows = []
    try:
        with open(path, encoding="utf-8") as f:
            for line in f:
                line = line.strip()
                if not line:
                    continue
                try:
                    row = json.loads(line)
                except ValueError:  # a half-written last line after a hard kill
                    break
                if isinstance(row, dict):
                    rows.append(row)
    except OSError:
        pass
    return rows
