"""The run folder (contract 3): file names and small atomic read/write helpers.

Shared by the runner (writes), the job manager (queued/failed/interrupted)
and the run store (reads). Replacing writes are atomic; metrics are appended.
"""
from __future__ import annotations

import json
import math
import os
import time
from pathlib import Path

from builder.spec import atomic_write_text

EXPERIMENT = "experiment.json"
STATUS = "status.json"
METRICS = "metrics.jsonl"
PROGRESS = "progress.json"
MODEL = "model.keras"
EVALUATION = "evaluation.json"
PREDICTIONS = "predictions.json"
LOG = "train.log"
STOP = "STOP"

STATES = ("queued", "running", "completed", "stopped", "failed", "interrupted")
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


def read_status(run_dir) -> dict:
    return read_json(Path(run_dir) / STATUS, {}) or {}


def write_status(run_dir, **fields) -> dict:
    """Merge `fields` into status.json (atomic) and return the new status."""
    status = read_status(run_dir)
    status.update(fields)
    status["updated"] = time.time()
    write_json(Path(run_dir) / STATUS, status)
    return status


def append_jsonl(path, record: dict) -> None:
    """One line, flushed and fsynced: a crash right after loses nothing written."""
    line = json.dumps(clean(record)) + "\n"
    with open(path, "a", encoding="utf-8") as f:
        f.write(line)
        f.flush()
        os.fsync(f.fileno())


def read_jsonl(path) -> list[dict]:
    rows = []
    try:
        with open(path, encoding="utf-8") as f:
            for line in f:
                line = line.strip()
                if not line:
                    continue
                try:
                    rows.append(json.loads(line))
                except ValueError:  # a half-written last line after a hard kill
                    break
    except OSError:
        pass
    return rows
