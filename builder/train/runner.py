"""Train one experiment, in this process, into a run folder (contract 3).

The core is plain `model.fit` on NumPy arrays with a few light callbacks, so a
run is as fast as hand-written Keras. Used by `python -m builder train` and by
the worker process of the app.

    status = run(experiment, "runs/my-run")   # "completed" | "stopped" | "failed" | "interrupted"
    status = resume("runs/my-run", more_epochs=4)  # the same folder goes on from its checkpoint
"""
from __future__ import annotations

import errno
import logging
import math
import os
import sys
import time
import traceback
from pathlib import Path

from builder import limits
from builder.experiments.experiment import Experiment, coerce, passed, trusted, validate
from builder.graph import pretrained
from builder.model.spec import SpecError
from builder.store import runfolder
from builder.train import checkpoint
from builder.train.data import prepare
from builder.train.evaluate import write_evaluation
from builder.train.finetune import total_epochs
from builder.train.loop import (
    epoch_line,
    finish,
    finish_if_server_died,
    finish_trained,
    open_device,
    save_model,
    saved_bytes,
    seeded_build,
)
from builder.train.preprocessing import save_deployable


# -- entry points ------------------------------------------------------------------
def run(experiment, out_dir, stop_flag=None, on_event=None, resume_from: checkpoint.Checkpoint | None = None) -> str:
    """Train `experiment` into `out_dir`; returns the final status.

    `stop_flag`: anything with `is_set()` (a multiprocessing Event); a file
    named STOP in the run folder works too; when it also has `interrupted()`
    True (the worker's server died) the run ends `interrupted`, to go on later.
    `on_event(kind, payload)` gets "start", "epoch" (the metrics row) and
    "end" (the status) events. `resume_from`: a checkpoint of this run folder
    to go on from (see `resume`).
    """
    run_dir = Path(out_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    emit = on_event or (lambda kind, payload: None)
    previous = runfolder.read_status(run_dir)
    try:
        exp = coerce(experiment)
        # Checked when it was submitted (the stamp in status.json) or by the caller (`passed`): trusted while
        # it is that experiment still; a direct call, or an experiment changed since, is checked here.
        problems = [] if trusted(exp, previous.get("checked")) else validate(exp)
    except SpecError as e:
        problems = e.problems
    if problems:
        status = runfolder.write_status(run_dir, status="failed", finished=time.time(), error="; ".join(problems))
        emit("end", status)
        return "failed"
    hp = exp.hp
    try:
        if not (run_dir / runfolder.EXPERIMENT).exists():
            runfolder.write_json(run_dir / runfolder.EXPERIMENT, exp.to_dict())
        pretrained.copy_files(exp.model, run_dir / pretrained.RUN_FOLDER)  # the bases' weights travel with the run
        (run_dir / runfolder.STOP).unlink(missing_ok=True)
        runfolder.write_status(
            run_dir, status="running", run_id=previous.get("run_id", run_dir.name), name=previous.get("name") or exp.title,
            dataset=exp.dataset, model=exp.model.name, created=previous.get("created", time.time()),
            started=previous.get("started", time.time()) if resume_from else time.time(), finished=None,
            pid=os.getpid(), epochs=total_epochs(hp), epochs_done=resume_from.epoch if resume_from else 0, error=None,
        )
    except OSError as e:  # disk full or read-only before training began
        status = finish(run_dir, "failed", error=friendly_error(e))
        emit("end", status)
        return "failed"
    log, handler = _open_log(run_dir)
    emit("start", {"run_dir": str(run_dir), "title": exp.title, "epochs": total_epochs(hp)})
    try:
        status = _train(exp, run_dir, stop_flag, emit, log, resume_from)
    except Exception as e:  # noqa: BLE001 - every failure becomes a plain-words status
        log.error("run failed:\n%s", traceback.format_exc())
        status = finish(run_dir, "failed", error=friendly_error(e))
    finally:
        _reset_precision()
        log.removeHandler(handler)
        handler.close()
    emit("end", status)
    return status["status"]


def resume(run_dir, more_epochs: int | None = None, stop_flag=None, on_event=None) -> str:
    """Go on training a run in its own folder from its checkpoint: to its planned epochs, or `more_epochs` past
    the checkpoint's. Metrics past the checkpoint (an epoch cut off by a crash) are dropped first, so each
    epoch is logged once; evaluation and exports are written again at the end. CheckpointError (no usable
    checkpoint) and SpecError (no readable experiment) leave the folder as it was."""
    run_dir = Path(run_dir)
    state = checkpoint.load(run_dir)
    exp = continued(coerce(runfolder.read_json(run_dir / runfolder.EXPERIMENT)), state, more_epochs)
    if more_epochs is not None:  # asked for more: patience starts afresh (the best value so far is kept)
        state.callbacks = {name: {k: v for k, v in values.items() if k not in ("wait", "stopped_epoch")}
                           for name, values in state.callbacks.items()}
    runfolder.write_json(run_dir / runfolder.EXPERIMENT, exp.to_dict())
    keep_metrics_until(run_dir, state.epoch)
    return run(exp, run_dir, stop_flag, on_event, resume_from=state)


def continued(exp: Experiment, state: checkpoint.Checkpoint, more_epochs: int | None) -> Experiment:
    """The experiment with its epochs raised so training ends `more_epochs` past the checkpoint (the phase the
    checkpoint is in grows: the fine-tune phase of a transfer run, else the only one)."""
    if more_epochs is None:
        return exp
    if more_epochs < 1:
        raise ValueError(f"more epochs must be a whole number of at least 1, not {more_epochs}")
    training, end = dict(exp.training), state.epoch + more_epochs
    if state.phase == 2:
        training["fine_tune_epochs"] = end - exp.hp["epochs"]
    else:
        training["epochs"] = end
    return coerce({**exp.to_dict(), "training": training})


def keep_metrics_until(run_dir: Path, epoch: int) -> None:
    """metrics.jsonl holds epochs 1..`epoch` only (atomically rewritten)."""
    rows = [r for r in runfolder.read_jsonl(run_dir / runfolder.METRICS) if r.get("epoch", 0) <= epoch]
    runfolder.write_jsonl(run_dir / runfolder.METRICS, rows)


def cli_train(experiment_path, out_dir) -> int:
    """`python -m builder train EXPERIMENT.json --out DIR`: per-epoch lines, exit 0/1."""
    try:
        exp = passed(Path(experiment_path))  # checked once here: `run` trusts its stamp
    except SpecError as e:
        print("\n".join(e.problems), file=sys.stderr)
        return 1
    return _cli_run(lambda on_event: run(exp, out_dir, on_event=on_event))


def cli_resume(run_dir, more_epochs: int | None = None) -> int:
    """`python -m builder train --resume RUN_DIR [--epochs N]`: the run goes on in its folder, exit 0/1."""
    try:
        return _cli_run(lambda on_event: resume(run_dir, more_epochs, on_event=on_event))
    except (SpecError, checkpoint.CheckpointError, ValueError) as e:
        print("\n".join(e.problems) if isinstance(e, SpecError) else str(e), file=sys.stderr)
        return 1


def _cli_run(start) -> int:
    """Print a run's events as lines while `start(on_event)` trains; 1 when it failed."""
    status, epochs = {}, [0]

    def show(kind, payload):
        if kind == "start":
            print(f"training {payload['title']} → {payload['run_dir']}", flush=True)
            epochs[0] = payload["epochs"]
        elif kind == "device":
            print(payload, flush=True)
        elif kind == "epoch":
            print(epoch_line(payload, epochs[0]), flush=True)
        elif kind == "end":
            status.update(payload)
            state = payload["status"]
            print(f"{state}: {payload['error']}" if payload.get("error") else state, flush=True)

    start(show)
    return 1 if status.get("status") == "failed" else 0


# -- the run itself -------------------------------------------------------------------
def _train(exp: Experiment, run_dir: Path, stop_flag, emit, log, resume_from=None) -> dict:
    from builder.train import devices, fastpath, finetune, plan, tracking  # lazy: imports keras
    from builder.train.callbacks import (  # lazy: imports keras
        BatchMonitor,
        CheckpointSaver,
        DiskBudget,
        EpochLog,
        restore_model,
    )
    if exp.gan:  # generator and discriminator train against each other: their own loop
        from builder.train.gan_run import train_gan  # lazy: imports keras

        return train_gan(exp, run_dir, stop_flag, emit, log, resume_from)
    hp = exp.hp
    device = open_device(run_dir, emit, log)
    if hp["mixed_precision"]:
        devices.set_mixed_precision(True)

    data = prepare(exp)  # seeded by its own arguments
    data.preprocessing.write(run_dir)
    log.info("data: %d train, %d validation, %d test examples", len(data.x_train), len(data.x_val), len(data.x_test))
    model = seeded_build(exp.model, hp["seed"])
    adapt_vocabularies(model, data.x_train)
    two_phases = finetune.applies(exp)
    if two_phases:
        finetune.freeze_bases(model, exp.model)  # the head first
    batches = plan.count_batches(len(data.x_train), hp["batch_size"])
    has_val = len(data.x_val) > 0
    image_shape = tuple(getattr(data.info, "input_shape", model.input_shape[1:]))
    steps = plan.make(exp, batches, has_val, image_shape)  # the Keras calls, as the exported script prints them
    train_model = model
    if steps.augmentation:
        train_model = plan.with_augmentation(model, steps.augmentation.make(), image_shape)
    if steps.penalty:
        plan.add_weight_penalty(model, steps.penalty.make())
    fast = fastpath.applies(device, data.x_train, data.y_train)
    epochs = total_epochs(hp)
    monitor = BatchMonitor(run_dir, epochs, batches, hp["max_batch_progress_rate"], stop_flag)

    def compiled(optimizer: plan.Call) -> dict:
        """Compile with this optimizer; the arguments `fit` then takes."""
        train_model.compile(
            optimizer=optimizer.make(),
            loss=steps.loss,
            metrics=steps.metrics,
            steps_per_execution=1 if fast else steps.steps_per_execution,  # a fast step is a group already
        )
        if not fast:
            return {"x": data.x_train, "y": data.y_train, "batch_size": hp["batch_size"], "shuffle": True}
        groups = fastpath.install(train_model, data.x_train, data.y_train, hp["batch_size"])
        monitor.batches_per_step = fastpath.group_size(device.backend)
        log.info("fast path: training data on the device, %d batches per step", monitor.batches_per_step)
        return {"x": groups, "y": None, "batch_size": 1, "shuffle": False,
                "validation_batch_size": fastpath.validation_batch(hp["batch_size"], data.x_val)}

    phase, start = (resume_from.phase, resume_from.epoch) if resume_from else (1, 0)
    if phase == 2:
        finetune.unfreeze_bases(model, exp.model)
    feed = compiled(plan.optimizer(finetune.fine_tune_settings(hp), batches) if phase == 2 else steps.optimizer)
    if resume_from:
        restore_model(train_model, resume_from)
        log.info("going on from the checkpoint of epoch %d", start)

    def on_epoch(row):
        runfolder.write_status(run_dir, epochs_done=row["epoch"], last=row)
        log.info(epoch_line(row, epochs))
        emit("epoch", row)

    epoch_log = EpochLog(run_dir, monitor, on_epoch, elapsed_before=resume_from.elapsed_s if resume_from else 0.0)
    stateful = [c.make() for c in steps.callbacks]  # early stopping, reduce-on-plateau: their state is checkpointed
    saver = CheckpointSaver(run_dir, stateful, phase, resume_from, elapsed=epoch_log.elapsed)
    callbacks = [monitor, epoch_log, *stateful]
    callbacks += tracking.callbacks(run_dir, exp, log)  # TensorBoard; MLflow when LAYERLAB_MLFLOW_URI is set
    callbacks += _live_callbacks(run_dir, model, data, exp, log)
    callbacks.append(saver)  # after the others: it restores their state once their on_train_begin reset it
    callbacks.append(DiskBudget(run_dir))  # last: counts what the callbacks before it (checkpoint included) wrote
    t0 = time.perf_counter()
    validation = (data.x_val, data.y_val) if has_val else None
    if phase == 1:
        history = train_model.fit(**feed, initial_epoch=start, epochs=hp["epochs"], validation_data=validation,
                                  callbacks=callbacks, verbose=0)
        start += len(history.epoch)  # early stopping may have ended the first phase sooner
    if two_phases and not monitor.stopped and monitor.nan_at is None:
        end = total_epochs(hp) if phase == 2 else start + hp["fine_tune_epochs"]
        if phase == 1:
            runfolder.write_status(run_dir, fine_tune_from=start + 1)  # the curves mark where fine-tuning starts
            finetune.unfreeze_bases(model, exp.model)
            feed = compiled(plan.optimizer(finetune.fine_tune_settings(hp), batches))
            saver.phase = 2
        log.info("fine-tuning: epochs %d to %d at learning rate %g", start + 1, end, hp["fine_tune_rate"])
        train_model.fit(**feed, initial_epoch=start, epochs=end, validation_data=validation,
                        callbacks=callbacks, verbose=0)
    log.info("training took %.2f s", time.perf_counter() - t0)
    ended = finish_if_server_died(run_dir, monitor, stop_flag)
    if ended:
        return ended
    if monitor.nan_at is not None:
        epoch, batch = monitor.nan_at
        return finish(run_dir, "failed", error=(
            f"the loss became NaN (not a number) at epoch {epoch}, batch {batch} — the updates blew up; "
            f"try a lower learning rate (now {hp['learning_rate']:g}) or normalised inputs"))
    class_names = data.class_names if hp["task"] == "classification" else None
    save_model(model, run_dir, class_names=class_names)
    deployable = None
    try:
        limits.check_run_disk(run_dir, adding=saved_bytes(model.weights))
        deployable = save_deployable(model, data.preprocessing, run_dir, class_names)
    except Exception as e:  # noqa: BLE001 - the canvas model is saved; only the raw-data download is missing
        log.error("saving the deployable model failed:\n%s", traceback.format_exc())
        runfolder.write_status(run_dir, deploy_error=friendly_error(e))
    final = {}
    try:
        final = write_evaluation(model, data, hp["task"], run_dir, data.class_names)
    except Exception as e:  # noqa: BLE001 - the trained model is still worth keeping
        log.error("evaluation failed:\n%s", traceback.format_exc())
        runfolder.write_status(run_dir, evaluation_error=friendly_error(e))
    tracking.finish(run_dir, final, deployable, log)
    return finish_trained(run_dir, monitor.stopped, final)


def adapt_vocabularies(model, x_train) -> None:
    """Each TextVectorization learns its vocabulary from the training texts (never validation or test), so the
    saved models carry it. A resumed run adapts again on the same split: the same words in the same order."""
    import keras

    for layer in model.layers:
        if isinstance(layer, keras.layers.TextVectorization):
            if layer.input is not model.input:
                raise ValueError(f"'{layer.name}' (TextVectorization) must take the model's text Input directly, "
                                    "so it can learn its words from the training texts; connect it to the Input")
            layer.adapt(x_train, batch_size=1024)


# -- pieces ----------------------------------------------------------------------------
def _live_callbacks(run_dir: Path, model, data, exp: Experiment, log) -> list:
    """Live saliency/boundary views when builder.explain.live exists; never fatal."""
    try:
        from builder.explain import live  # lazy: imports keras
    except ImportError:
        return []
    try:
        import numpy as np

        from builder.train.callbacks import SafeCallback  # lazy: imports keras

        kind = probe_kind(data, exp)
        if kind is None:
            return []
        x_src, y_src = (data.x_test, data.y_test) if len(data.x_test) else (data.x_val, data.y_val)
        n = min(8, len(x_src))
        if kind == "boundary":  # the training points frame the grid
            x_src, y_src, n = data.x_train, data.y_train, min(500, len(data.x_train))
        x_probe, y_probe = x_src[:n], y_src[:n]
        (run_dir / "live").mkdir(exist_ok=True)
        image_shape = tuple(getattr(data.info, "input_shape", x_probe.shape[1:]))
        x_saved = x_probe.reshape((n,) + image_shape) if kind == "saliency" and x_probe[0].size == math.prod(image_shape) else x_probe
        held_out = {}
        if kind == "boundary":  # the test points too, drawn outlined over the boundary
            m = min(500, len(data.x_test))
            held_out = {"x_test": data.x_test[:m], "y_test": data.y_test[:m]}
        pictures = live.shrink(x_saved) if kind == "saliency" else x_saved  # as small as the live view shows them
        np.savez(run_dir / "live" / "probes.npz", x=pictures, y=y_probe, **held_out)
        callback = live.LiveExplainCallback(run_dir, x_probe, y_probe, kind, image_shape=x_saved.shape[1:3])
        return [SafeCallback(callback, log)]
    except Exception as e:  # noqa: BLE001
        log.warning("live view switched off: %s: %s", type(e).__name__, e)
        return []


def probe_kind(data, exp: Experiment) -> str | None:
    shape = tuple(getattr(data.info, "input_shape", data.x_train.shape[1:]))
    task = exp.hp["task"]
    kind = getattr(data.info, "kind", None)
    is_image = kind == "image" if kind else (len(shape) == 3 and shape[-1] in (1, 3, 4))
    if is_image and data.x_train.dtype.kind == "f" and task == "classification":
        return "saliency"
    if shape == (2,) and task == "classification":
        return "boundary"
    return None


def _reset_precision() -> None:
    if "keras" in sys.modules:
        import keras

        if keras.mixed_precision.global_policy().name != "float32":
            keras.mixed_precision.set_global_policy("float32")


def _open_log(run_dir: Path):
    log = logging.getLogger(f"layerlab.run.{run_dir.resolve()}")
    log.setLevel(logging.INFO)
    log.propagate = False
    handler = logging.FileHandler(run_dir / runfolder.LOG, encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
    log.addHandler(handler)
    return log, handler


_WRITE_ERRORS = {errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EFBIG}


def friendly_error(e: BaseException) -> str:
    text = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
    name = type(e).__name__
    lowered = (name + " " + str(e)).lower()
    if "resourceexhausted" in lowered or "out of memory" in lowered or isinstance(e, MemoryError):
        return "ran out of memory — try a smaller batch size or a smaller model"
    if isinstance(e, SpecError):
        return "; ".join(e.problems)
    if isinstance(e, OSError) and e.errno in _WRITE_ERRORS:
        return (f"could not write to the run folder ({e.strerror}); make room on the server's disk "
                "(or make the folder writable) and start the run again")
    if isinstance(e, ValueError):  # ours and the datasets' errors are written for people
        return text[:500]
    return f"training stopped with an error ({name}): {text[:500]}"
