"""What both training loops share (runner's classic loop, gan_run's adversarial one): the device, seeded
builds, the per-epoch line, saving a model and ending a run's status.

Below both loops: each imports this, neither imports the other's helpers.
"""
from __future__ import annotations

import math
import time
from pathlib import Path

from builder import limits
from builder.files import atomic_save_model
from builder.store import runfolder
from builder.train import checkpoint, devices, labels

INTERRUPTED = ("the server stopped while this run was training; it goes on from its last epoch when the server "
               "is back")


def open_device(run_dir: Path, emit, log, what: str = ""):
    """Take the best device (sharing a GPU's memory), and say which in the log, to the caller and in status."""
    devices.share_gpu_memory()
    device = devices.describe()
    log.info("%s%s", device.line, what)
    emit("device", device.line)
    runfolder.write_status(run_dir, device=device.line, backend=device.backend)
    return device


def seeded_build(spec, seed: int):
    """Build the model so that the same seed gives the same initial weights, in any process history.

    Keras draws initializer seeds from Python's `random`, and the first build
    of a layer type in a process runs lazy set-up that draws from it too. A
    throw-away build first makes every seeded build start from the same state
    (a fresh CLI process and a warm worker's tenth run alike). No
    `clear_session` here: it costs ~0.5 s; the worker clears after each run.
    """
    import keras

    from builder.graph.build import build_model  # lazy: imports keras

    build_model(spec)
    keras.utils.set_random_seed(seed)
    return build_model(spec)


def epoch_line(row: dict, epochs: int) -> str:
    skip = {"epoch", "time_s", "elapsed_s", "partial", "learning_rate"}
    parts = [f"{k} {v:.4f}" for k, v in row.items() if k not in skip and isinstance(v, (int, float))]
    partial = " (stopped inside the epoch)" if row.get("partial") else ""
    return f"epoch {row['epoch']}/{epochs}  " + "  ".join(parts) + f"  ({row.get('time_s', 0):.1f} s){partial}"


def finish(run_dir: Path, state: str, error: str | None = None, final: dict | None = None) -> dict:
    """The run's final status: its state, when, why, and the last epoch's metrics (with the test ones)."""
    status = runfolder.read_status(run_dir)
    last = status.get("last") or {}
    fields = {"status": state, "finished": time.time(), "error": error}
    fields["final"] = {**{k: v for k, v in last.items() if k not in ("epoch", "time_s", "elapsed_s", "partial")},
                       **({"test_" + k: v for k, v in (final or {}).items()})}
    (run_dir / runfolder.STOP).unlink(missing_ok=True)
    return runfolder.write_status(run_dir, **fields)


def finish_trained(run_dir: Path, stopped: bool, final: dict | None = None) -> dict:
    """A run that trained to its end (`completed`: its checkpoint kept or removed per the server setting),
    was stopped by its student (`stopped`: the checkpoint stays, to go on) or by its sweep's pruner (`pruned`)."""
    if not stopped and not checkpoint.keep_on_completion():
        checkpoint.remove(run_dir)
    state = ("pruned" if (run_dir / runfolder.PRUNE).exists() else "stopped") if stopped else "completed"
    return finish(run_dir, state, final=final)


def finish_if_server_died(run_dir: Path, monitor, stop_flag) -> dict | None:
    """When the run was stopped because its server died, end it `interrupted`, flagged for the next server
    to go on from its checkpoint; else None."""
    if not (monitor.stopped and getattr(stop_flag, "interrupted", False)):
        return None
    runfolder.write_status(run_dir, resume_on_restart=True)
    return finish(run_dir, "interrupted", error=INTERRUPTED)


def saved_bytes(variables) -> int:
    """About what saving these variables writes: their numbers at their dtypes' sizes."""
    import numpy as np

    return sum(math.prod(v.shape) * np.dtype(v.dtype).itemsize for v in variables)


def save_model(model, run_dir: Path, name: str = runfolder.MODEL, class_names=None) -> None:
    optimizer = getattr(model, "optimizer", None)
    limits.check_run_disk(run_dir, adding=saved_bytes(model.weights + list(getattr(optimizer, "variables", []))))
    # disk full, read-only: the run fails with the reason, no temp file stays
    atomic_save_model(model, Path(run_dir) / name, amend=lambda tmp: labels.attach(tmp, run_dir, class_names))
