"""Light Keras callbacks of a run: per-epoch metrics, throttled batch progress, stop and NaN checks.

They do almost nothing per batch (a clock read, an `is_set()`), so training
runs at plain `model.fit` speed; files are written per epoch or at most a few
times a second.
"""
from __future__ import annotations

import math
import threading
import time
from pathlib import Path

import keras
import numpy as np

from builder import limits
from builder.store import runfolder
from builder.train import checkpoint


class EpochLog(keras.callbacks.Callback):
    """Appends one JSON line per epoch to metrics.jsonl: epoch, every Keras log key, time_s."""

    def __init__(self, run_dir, monitor: BatchMonitor, on_epoch=None, elapsed_before: float = 0.0):
        """`elapsed_before`: training seconds of the epochs before a resume (elapsed_s goes on from there)."""
        super().__init__()
        self.elapsed_before = elapsed_before
        self.path = Path(run_dir) / runfolder.METRICS
        self.monitor = monitor
        self.on_epoch = on_epoch
        self.t_train = time.perf_counter()
        self.t_epoch = self.t_train
        self.rows: list[dict] = []

    def on_train_begin(self, logs=None):
        self.t_train = time.perf_counter()

    def on_epoch_begin(self, epoch, logs=None):
        self.t_epoch = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        now = time.perf_counter()
        row = {"epoch": epoch + 1}
        row.update({k: _number(v) for k, v in (logs or {}).items()})
        if "learning_rate" not in row:
            row["learning_rate"] = _current_lr(self.model)
        row["time_s"] = round(now - self.t_epoch, 4)
        row["elapsed_s"] = round(self.elapsed(now), 4)
        if self.monitor.partial:
            row["partial"] = True  # stopped inside this epoch
        loss = row.get("loss")
        if loss is not None and not math.isfinite(loss) and self.monitor.nan_at is None:
            self.monitor.nan_at = (epoch + 1, self.monitor.batches)
            self.model.stop_training = True
        runfolder.append_jsonl(self.path, row)
        self.rows.append(row)
        if self.on_epoch:
            self.on_epoch(row)


    def elapsed(self, now: float | None = None) -> float:
        return self.elapsed_before + (now or time.perf_counter()) - self.t_train


class BatchMonitor(keras.callbacks.Callback):
    """Per batch: NaN check, stop check, throttled progress.json.

    `async_safe`: Keras may call the batch hooks from a helper thread, so the
    training loop never waits for them.
    """

    async_safe = True

    def __init__(self, run_dir, epochs: int, batches: int, rate: float = 4.0, stop_flag=None):
        super().__init__()
        self.run_dir = Path(run_dir)
        self.epochs, self.batches = epochs, batches
        self.min_interval = 1.0 / max(rate, 0.1)
        self.stop_flag = stop_flag
        self.stop_file = self.run_dir / runfolder.STOP
        self.epoch = 0
        self.last_write = 0.0
        self.last_stop_check = 0.0
        self.nan_at: tuple[int, int] | None = None
        self.stopped = False
        self.partial = False
        self.first_point: float | None = None
        self.lock = threading.Lock()
        self.batches_per_step = 1

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch = epoch
        self.partial = False

    def on_train_batch_end(self, batch, logs=None):
        logs = logs or {}
        batch = min(self.batches, (batch + 1) * self.batches_per_step) - 1  # the fast path's steps are groups
        loss = logs.get("loss")
        if loss is not None and not math.isfinite(float(loss)):
            if self.nan_at is None or (self.epoch + 1, batch + 1) < self.nan_at:
                self.nan_at = (self.epoch + 1, batch + 1)
            self.partial = batch + 1 < self.batches
            self.model.stop_training = True
            return
        now = time.monotonic()
        if now - self.last_stop_check >= 0.05:
            self.last_stop_check = now
            if self.stop_requested():
                self.stopped = True
                self.partial = batch + 1 < self.batches
                self.model.stop_training = True
        if now - self.last_write < self.min_interval and self.first_point is not None:
            return
        with self.lock:  # batch hooks may run on several helper threads at once
            if now - self.last_write < self.min_interval and self.first_point is not None:
                return
            self.last_write = now
            self.first_point = self.first_point or time.time()
            try:
                runfolder.write_json(self.run_dir / runfolder.PROGRESS, {
                    "epoch": self.epoch + 1, "epochs": self.epochs, "batch": batch + 1, "batches": self.batches,
                    "loss": _number(loss), "time": time.time(),
                })
            except OSError:  # progress is a courtesy: a full disk must not stop training here
                pass

    def stop_requested(self) -> bool:
        if self.stop_flag is not None and self.stop_flag.is_set():
            return True
        return self.stop_file.exists() or (self.run_dir / runfolder.PRUNE).exists()


class DiskBudget(keras.callbacks.Callback):
    """The run folder against `max_run_mb` after the live view's first pictures and after every epoch (listed
    last, so the epoch's own files count): over it, `limits.DiskFull` ends the run as failed with the reason."""

    def __init__(self, run_dir):
        super().__init__()
        self.run_dir = Path(run_dir)

    def on_train_begin(self, logs=None):
        limits.check_run_disk(self.run_dir)

    def on_epoch_end(self, epoch, logs=None):
        limits.check_run_disk(self.run_dir)


class SafeCallback(keras.callbacks.Callback):
    """Wraps an optional per-epoch callback (live explain): never fatal, never slow.

    A failure switches it off (logged). Its epoch-end work gets a time budget
    of `share` of the training time: when one call costs more than that, later
    epochs are skipped until the budget has built up again, so a live view can
    never make training noticeably slower than plain Keras. The first epoch
    always runs, so something appears early.
    """

    def __init__(self, inner, log, share: float = 0.03):
        super().__init__()
        self.inner, self.log, self.broken = inner, log, False
        self.share = share
        self.budget = 0.0
        self.cost = 0.0
        self.t_epoch = time.perf_counter()
        self.calls = 0

    def set_model(self, model):
        super().set_model(model)
        self._guard("set_model", model)

    def _guard(self, name, *args):
        if self.broken:
            return
        try:
            getattr(self.inner, name)(*args)
        except Exception as e:  # noqa: BLE001 - a live view must never stop training
            self.broken = True
            self.log.warning("live view switched off: %s: %s", type(e).__name__, e)

    def on_train_begin(self, logs=None):
        self._guard("on_train_begin", logs)
        if hasattr(self.inner, "write"):
            # The view of the untrained model (epoch 0). It also pays the one-off
            # tracing of the explanation now, not between two training epochs.
            t = time.perf_counter()
            self._guard("write", 0)
            self.log.info("live view before training took %.3f s", time.perf_counter() - t)

    def on_epoch_begin(self, epoch, logs=None):
        self.t_epoch = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        self.budget += self.share * (time.perf_counter() - self.t_epoch)
        last = epoch + 1 == self.params.get("epochs") if self.params else False
        if self.calls and self.budget < self.cost and not last:
            return
        t = time.perf_counter()
        self._guard("on_epoch_end", epoch, logs)
        self.cost = time.perf_counter() - t
        self.log.info("live view of epoch %d took %.3f s", epoch + 1, self.cost)
        self.budget = max(0.0, self.budget - self.cost)
        self.calls += 1

    def on_train_end(self, logs=None):
        self._guard("on_train_end", logs)


class CheckpointSaver(keras.callbacks.Callback):
    """Saves the checkpoint after each epoch; with `resume_from`, restores it when training begins.

    Put it last: on_train_begin runs after the other callbacks reset their own
    state there, so what it restores is what they then use. `callbacks`: the
    ones whose state travels (early stopping, reduce-on-plateau). The state is
    copied at the epoch's end; the file is written on a helper thread while the
    next epoch trains (one write at a time; training ends only once it is on
    disk, and a failed write fails the run at the next epoch's end).
    """

    def __init__(self, run_dir, callbacks: list, phase: int = 1, resume_from: checkpoint.Checkpoint | None = None,
                 elapsed=lambda: 0.0):
        super().__init__()
        self.run_dir = Path(run_dir)
        self.tracked = callbacks
        self.phase = phase
        self.resume_from = resume_from
        self.elapsed = elapsed
        self.writer: threading.Thread | None = None
        self.write_error: BaseException | None = None

    def on_train_begin(self, logs=None):
        state, self.resume_from = self.resume_from, None
        if state is None:
            return
        for cb in self.tracked:
            for name, value in state.callbacks.get(type(cb).__name__, {}).items():
                setattr(cb, name, float(value) if value in ("inf", "-inf") else value)
            if state.best_weights is not None and hasattr(cb, "best_weights"):
                cb.best_weights = state.best_weights
        checkpoint.set_rng_state(state.rng)

    def on_epoch_end(self, epoch, logs=None):
        early = next((cb for cb in self.tracked if getattr(cb, "best_weights", None) is not None), None)
        state = checkpoint.Checkpoint(
            epoch=epoch + 1, phase=self.phase, model=values(self.model.variables),
            optimizer=values(self.model.optimizer.variables),
            callbacks={type(cb).__name__: {k: checkpoint.plain(getattr(cb, k))
                                           for k in checkpoint.CALLBACK_STATE if hasattr(cb, k)}
                       for cb in self.tracked},
            best_weights=[np.asarray(w) for w in early.best_weights] if early else None,
            rng=checkpoint.rng_state(), elapsed_s=self.elapsed())
        self.wait_written()
        self.writer = threading.Thread(target=self._write, args=(state,), name="layerlab-checkpoint")
        self.writer.start()

    def on_train_end(self, logs=None):
        self.wait_written()

    def wait_written(self) -> None:
        """Block until the last checkpoint is on disk; raise what its write raised (a full disk)."""
        if self.writer is not None:
            self.writer.join()
            self.writer = None
        error, self.write_error = self.write_error, None
        if error is not None:
            raise error

    def _write(self, state: checkpoint.Checkpoint) -> None:
        try:
            checkpoint.save(self.run_dir, state)
        except BaseException as e:  # noqa: BLE001 - handed to the training thread by wait_written
            self.write_error = e


def restore_model(model, state: checkpoint.Checkpoint) -> None:
    """The weights and the optimizer's state (build the optimizer first: its variables exist only then)."""
    assign(model.variables, state.model, "weights")
    model.optimizer.build(model.trainable_variables)
    assign(model.optimizer.variables, state.optimizer, "optimizer state")


def values(variables) -> list:
    """Copies of the variables' values now (the checkpoint is written while training goes on)."""
    return [np.array(keras.ops.convert_to_numpy(v)) for v in variables]


def assign(variables, arrays, what: str) -> None:
    """Put saved arrays back into variables, refusing a checkpoint of another model."""
    variables = list(variables)
    shapes = [tuple(v.shape) for v in variables]
    if shapes != [tuple(a.shape) for a in arrays]:
        raise checkpoint.CheckpointError(f"the checkpoint's {what} do not fit this run's model (was the "
                                         "experiment changed?); start the run again")
    for var, array in zip(variables, arrays, strict=True):
        var.assign(array)


def _number(v):
    try:
        return float(v)
    except (TypeError, ValueError):
        return v


def _current_lr(model):
    try:
        return float(keras.ops.convert_to_numpy(model.optimizer.learning_rate))
    except Exception:  # noqa: BLE001 - a missing learning rate is not worth failing for
        return None
