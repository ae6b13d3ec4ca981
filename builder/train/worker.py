"""The warm worker process: Keras imported and warmed up before any job arrives.

Started by `JobManager` with the "spawn" start method (never fork: a forked
TensorFlow is unsafe). It waits on its job queue, runs one job at a time
through `runner.run` in-process, and reports on its result queue:

    ("ready", pid, threads)        Keras imported, a tiny fit done: the next job starts fast;
                                   `threads`: the backend's thread settings (devices.threads_in_use)
    ("started", run_id, pid)
    ("finished", run_id, status)

A job is (run_id, run_dir, experiment, more_epochs): `more_epochs` None
trains a new run; an int (or RESUME: to the planned epochs) goes on from
the run's checkpoint. A None job ends the process. The stop flag is an
Event the manager passes at spawn time (Events cannot travel over queues);
the manager clears it before handing over the next job.

The worker watches its server (`ServerWatch`): when the server process dies
(a crash, kill -9) a training run stops at once and ends `interrupted` (its
checkpoint of the last epoch stays, so the next server resumes it), and the
worker exits; an idle worker exits at once. No orphan trains on unseen.
"""
from __future__ import annotations

import multiprocessing as mp
import os
import signal
import threading
import time
from multiprocessing.connection import wait as wait_for_ready

RESUME = 0  # a job's `more_epochs` meaning: go on to the run's planned epochs
EXIT_GRACE_S = 10.0  # after the server died: time for the run to stop and record it; then the worker leaves anyway


def worker_main(jobs, results, stop_flag, warm: bool = True, plan=None) -> None:
    """`plan`: a devices.ThreadPlan bounding this process's threads, so the web server keeps a core."""
    # Ctrl-C in the server's terminal reaches the whole process group; the
    # manager decides when a worker ends, so the worker ignores it.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    stop = ServerWatch(stop_flag)
    stop.start()  # first: a server that dies while this worker imports Keras leaves no orphan either
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    from builder.train import devices

    devices.limit_memory()  # an overrun fails the run in here, plainly, before the machine runs short
    if plan is not None:
        devices.limit_threads(plan)
    devices.share_gpu_memory()  # before the backend starts
    import keras  # the slow import, paid before the first job

    if plan is not None:
        devices.apply_backend_threads(plan)

    if warm:
        warm_up()
    results.put(("ready", os.getpid(), devices.threads_in_use()))
    while True:
        job = jobs.get()
        if job is None:
            break
        run_id, run_dir, experiment, more_epochs = job
        results.put(("started", run_id, os.getpid()))
        stop.busy = True
        try:
            status = run_job(experiment, run_dir, more_epochs, stop)
        except BaseException as e:  # noqa: BLE001 - runner already records failures; never die silently
            status = f"failed: {type(e).__name__}"
        stop.busy = False
        if stop.interrupted:
            os._exit(0)  # the server is gone: nobody reads the queues (a normal exit would wait on them)
        results.put(("finished", run_id, status))
        keras.backend.clear_session()  # free the model now, while idle, not at the next Train click


def run_job(experiment, run_dir, more_epochs, stop) -> str:
    """A new run, or one going on from its checkpoint (an unusable one ends it `interrupted` with the reason)."""
    from builder.train import checkpoint, runfolder, runner

    if more_epochs is None:
        return runner.run(experiment, run_dir, stop_flag=stop)
    try:
        return runner.resume(run_dir, more_epochs or None, stop_flag=stop)
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

    from builder.train import runner

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
