"""The warm worker process: Keras already imported when a job arrives; one run, then it exits.

Started by `JobManager` from a fork server that imported Keras and the
engine once (`PRELOAD`; it ran no TensorFlow op, so no backend thread pool
exists to be forked): a new worker starts in a fraction of a second instead
of importing TensorFlow for ~7 s. It waits on its job queue, runs one job
through `runner.run` in-process, reports on its result queue and exits, so
memory a run took goes back to the machine and every run starts at the
first-epoch priority:

    ("ready", pid, report)         ready for a job; `report`: the backend's thread settings
                                   (devices.threads_in_use) and `warm_start`: Keras was already
                                   imported when the process began (it came from the fork server)
    ("started", run_id, pid)
    ("first point", run_id)        its first epoch is done (the manager warms new spares only when no
                                   run is waiting for its first point)
    ("finished", run_id, status)

A job is (run_id, run_dir, experiment, more_epochs): `experiment` None reads
it from the run folder (here, not in the manager's lock); `more_epochs` None
trains a new run; an int (or RESUME: to the planned epochs) goes on from
the run's checkpoint. A None job ends the process. The stop flag is an
Event the manager passes at start (Events cannot travel over queues).

Priorities: the worker runs below the web server (`FIRST_EPOCH_NICE`), and
after a run's first epoch one step lower still (`LATER_EPOCHS_NICE`), so when
a class presses Train at once every new run's first point comes before the
older runs' later epochs (the processor is shared, no run waits for another
to finish).

The worker watches its server (`ServerWatch`): when the server process dies
(a crash, kill -9) a training run stops at once and ends `interrupted` (its
checkpoint of the last epoch stays, so the next server resumes it), and the
worker exits; an idle worker exits at once. No orphan trains on unseen.
"""
from __future__ import annotations

import multiprocessing as mp
import os
import signal
import sys
import threading
import time
from multiprocessing.connection import wait as wait_for_ready
from pathlib import Path

from builder import settings
from builder.store import runfolder
from builder.train import checkpoint, devices, runner

RESUME = 0  # a job's `more_epochs` meaning: go on to the run's planned epochs
EXIT_GRACE_S = 10.0  # after the server died: time for the run to stop and record it; then the worker leaves anyway
# What the fork server imports once for every worker: Keras and its backend, the training engine and what a run
# reaches for (scikit-learn's splits and metrics). Importing runs no backend op, so no thread pool is forked.
PRELOAD = ["keras", "builder.jobs.worker", "sklearn.model_selection", "sklearn.metrics"]


def worker_main(jobs, results, stop_flag, warm: bool = True, plan=None, server_settings=None) -> None:
    """`plan`: a devices.ThreadPlan bounding this process's threads, so the web server keeps a core.
    `server_settings`: the server's LAYERLAB_* settings when it started this worker (a forked worker's
    environment is the fork server's, from when that started)."""
    warm_start = "keras" in sys.modules  # before anything here imports it: what the fork server gave
    # Ctrl-C in the server's terminal reaches the whole process group; the
    # manager decides when a worker ends, so the worker ignores it.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    stop = ServerWatch(stop_flag)
    stop.start()  # first: a server that dies while this worker imports Keras leaves no orphan either
    if server_settings is not None:
        settings.adopt(server_settings)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    devices.lower_priority(devices.FIRST_EPOCH_NICE)
    devices.limit_memory()  # an overrun fails the run in here, plainly, before the machine runs short
    if plan is not None:
        devices.limit_threads(plan)
    devices.share_gpu_memory()  # before the backend starts
    import keras  # noqa: F401 - the slow import, paid before the first job (a no-op when forked warm)

    if plan is not None:
        devices.apply_backend_threads(plan)

    if warm:
        warm_up()
    results.put(("ready", os.getpid(), {**devices.threads_in_use(), "warm_start": warm_start}))
    job = jobs.get()
    if job is None:
        return
    run_id, run_dir, experiment, more_epochs = job
    results.put(("started", run_id, os.getpid()))
    stop.busy = True
    try:
        status = run_job(experiment, run_dir, more_epochs, stop, on_event=_after_first_epoch(results, run_id))
    except BaseException as e:  # noqa: BLE001 - runner already records failures; never die silently
        status = f"failed: {type(e).__name__}"
    stop.busy = False
    if stop.interrupted:
        os._exit(0)  # the server is gone: nobody reads the queues (a normal exit would wait on them)
    results.put(("finished", run_id, status))


def _after_first_epoch(results, run_id: str):
    """runner.run's `on_event`: once the run has shown its first point, newer runs' first epochs go before its
    later ones, and the manager hears of it."""
    told = False

    def on_event(kind: str, _payload) -> None:
        nonlocal told
        if kind == "epoch" and not told:
            told = True
            devices.lower_priority(devices.LATER_EPOCHS_NICE)
            results.put(("first point", run_id))

    return on_event


def run_job(experiment, run_dir, more_epochs, stop, on_event=None) -> str:
    """A new run (`experiment` None: the one in its folder), or one going on from its checkpoint (an unusable
    one ends it `interrupted` with the reason). `on_event`: runner.run's."""
    if more_epochs is None:
        if experiment is None:
            experiment = runfolder.read_json(Path(run_dir) / runfolder.EXPERIMENT)
        return runner.run(experiment, run_dir, stop_flag=stop, on_event=on_event)
    try:
        return runner.resume(run_dir, more_epochs or None, stop_flag=stop, on_event=on_event)
    except checkpoint.CheckpointError as e:
        runfolder.write_status(run_dir, status="interrupted", finished=time.time(), error=str(e))
        return "interrupted"


class ServerWatch:
    """The stop flag a run sees: set by Stop (the manager's Event) or by the server's death (`interrupted`).

    A daemon thread waits on the parent's sentinel (it becomes ready when the
    server process ends, however it ends), so noticing costs nothing while
    the server lives.
    """

    def __init__(self, flag):
        self.flag = flag
        self.interrupted = False
        self.busy = False

    def is_set(self) -> bool:
        return self.interrupted or self.flag.is_set()

    def start(self) -> None:
        parent = mp.parent_process()
        if parent is not None:
            threading.Thread(target=self._watch, args=(parent.sentinel,), name="layerlab-server-watch",
                             daemon=True).start()

    def _watch(self, sentinel) -> None:
        wait_for_ready([sentinel])
        self.interrupted = True
        if self.busy:  # the run stops within a batch, saves its state and the main loop exits
            time.sleep(EXIT_GRACE_S)
        os._exit(0)


def warm_up() -> None:
    """One tiny real run (digits, one epoch) in a temporary folder.

    It imports and initialises everything a run touches (TensorFlow kernels,
    tracing, datasets, scikit-learn, saving), so the first real job shows its
    first live point quickly. Going through `runner.run` itself also leaves the
    process in the same state as after any run, so a seeded run gives the same
    curves whether it is the worker's first or its tenth.
    """
    import tempfile

    import keras

    from builder.train import runner  # here: runner is another name in this module

    with tempfile.TemporaryDirectory(prefix="layerlab-warm-") as tmp:
        runner.run(WARM_UP_EXPERIMENT, tmp)
    keras.backend.clear_session()


WARM_UP_EXPERIMENT = {
    "format": "layerlab/experiment@1",
    "model": {"format": "layerlab/model@1", "name": "warm-up", "nodes": [
        {"id": "image", "type": "Input", "params": {"shape": [8, 8, 1]}},
        {"id": "flat", "type": "Flatten", "inputs": ["image"]},
        {"id": "probs", "type": "Dense", "params": {"units": 10, "activation": "softmax"}, "inputs": ["flat"]},
    ]},
    "data": {"dataset": "digits", "validation_split": 0.2, "test_split": 0.2},
    "augmentation": [],
    "training": {"epochs": 1, "batch_size": 256, "seed": 0},
}
