"""A run's latest full training state (checkpoint.npz), so it can go on: after a restart or for more epochs.

One file per run, replaced atomically after every epoch (bounded disk): the
training model's variables (weights, and the random-seed state of layers such
as Dropout), the optimizer's variables (step count, moments, learning rate),
the epoch and phase reached, the state of the callbacks that carry some
(early stopping, reduce-on-plateau) and the NumPy/Python random states.
TensorFlow's shuffle order follows the run's seed, which the runner sets again
before a resumed fit, so 3 + 4 epochs end where 7 end.

    save(run_dir, Checkpoint(...))        # callbacks.CheckpointSaver does, after each epoch
    state = load(run_dir)                 # Checkpoint, or CheckpointError (missing, cut short, damaged)

No Keras here: the job manager checks checkpoints in the web server.
"""
from __future__ import annotations

import io
import json
import os
import random
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from builder import settings
from builder.store import runfolder

FORMAT = "layerlab/checkpoint@1"
# The state that EarlyStopping and ReduceLROnPlateau keep between epochs (their on_train_begin resets it).
CALLBACK_STATE = ("wait", "stopped_epoch", "best", "best_epoch", "cooldown_counter")


class CheckpointError(ValueError):
    """A checkpoint that cannot be used, in plain words."""


@dataclass
class Checkpoint:
    epoch: int  # epochs finished (the last may have been stopped inside)
    phase: int  # 1, or 2 for the fine-tune phase of a transfer run
    model: list
    optimizer: list
    callbacks: dict = field(default_factory=dict)  # callback class name → its CALLBACK_STATE values
    best_weights: list | None = None  # early stopping's best weights so far
    rng: dict = field(default_factory=dict)
    elapsed_s: float = 0.0


def path(run_dir) -> Path:
    return Path(run_dir) / runfolder.CHECKPOINT


def save(run_dir, state: Checkpoint) -> None:
    """Write the checkpoint next to the old one, then replace the old one in one step (a process killed at any
    moment leaves the old or the new file whole). No fsync: it cost more than the rest of the save, and a
    file a power cut left short is detected by `load`."""
    arrays = {f"model_{i}": a for i, a in enumerate(state.model)}
    arrays.update({f"optimizer_{i}": a for i, a in enumerate(state.optimizer)})
    arrays.update({f"best_{i}": a for i, a in enumerate(state.best_weights or [])})
    meta = {"format": FORMAT, "epoch": state.epoch, "phase": state.phase, "callbacks": state.callbacks,
            "rng": state.rng, "elapsed_s": state.elapsed_s, "counts": [len(state.model), len(state.optimizer),
                                                                      len(state.best_weights or [])]}
    arrays["meta"] = np.array(json.dumps(runfolder.clean(meta)))
    target = path(run_dir)
    tmp = target.with_name(f".{target.name}.tmp")
    try:
        with open(tmp, "wb") as f:
            np.savez(f, **arrays)
        os.replace(tmp, target)
    except BaseException:  # a full disk: the previous checkpoint stays, no temp file lingers
        tmp.unlink(missing_ok=True)
        raise


def load(run_dir) -> Checkpoint:
    """The run's checkpoint; CheckpointError says why it cannot be used (each zip entry's CRC is checked)."""
    target = path(run_dir)
    if not target.is_file():
        raise CheckpointError("this run has no checkpoint to go on from (it was trained before checkpoints "
                              "existed, or its checkpoint was removed when it completed)")
    try:
        with np.load(io.BytesIO(target.read_bytes()), allow_pickle=False) as npz:
            meta = json.loads(str(npz["meta"]))
            n_model, n_opt, n_best = meta["counts"]
            return Checkpoint(
                epoch=int(meta["epoch"]), phase=int(meta["phase"]),
                model=[npz[f"model_{i}"] for i in range(n_model)],
                optimizer=[npz[f"optimizer_{i}"] for i in range(n_opt)],
                callbacks=dict(meta["callbacks"]), best_weights=[npz[f"best_{i}"] for i in range(n_best)] or None,
                rng=dict(meta["rng"]), elapsed_s=float(meta.get("elapsed_s") or 0.0))
    except (OSError, ValueError, KeyError, TypeError, EOFError, zipfile.BadZipFile) as e:
        raise CheckpointError(f"the checkpoint is damaged or cut short ({type(e).__name__}); "
                              "the run cannot go on from it — start it again") from e


def problem(run_dir) -> str | None:
    """Why the run's checkpoint cannot be used, or None (it is read in full: every entry's CRC checked)."""
    try:
        load(run_dir)
    except CheckpointError as e:
        return str(e)
    return None


def remove(run_dir) -> None:
    path(run_dir).unlink(missing_ok=True)


def keep_on_completion() -> bool:
    """Server setting LAYERLAB_KEEP_CHECKPOINTS: `1` (default) keeps a completed run's checkpoint, so it can be
    continued; `0` removes it (disk: about the model's size plus the optimizer's, twice for Adam)."""
    return settings.keep_checkpoints()


def rng_state() -> dict:
    kind, keys, pos, has_gauss, cached = np.random.get_state()
    version, internal, gauss = random.getstate()
    return {"numpy": [kind, keys.tolist(), pos, has_gauss, cached], "python": [version, list(internal), gauss]}


def set_rng_state(state: dict) -> None:
    if "numpy" in state:
        kind, keys, pos, has_gauss, cached = state["numpy"]
        np.random.set_state((kind, np.array(keys, dtype=np.uint32), pos, has_gauss, cached))
    if "python" in state:
        version, internal, gauss = state["python"]
        random.setstate((version, tuple(internal), gauss))


def plain(value):
    """A JSON number for a callback's state (its `best` may be ±inf)."""
    value = float(value) if hasattr(value, "item") or isinstance(value, float) else value
    if isinstance(value, float) and not np.isfinite(value):
        return "inf" if value > 0 else "-inf"
    return value
