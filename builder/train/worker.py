"""The warm worker process: Keras imported and warmed up before any job arrives.

Started by `JobManager` with the "spawn" start method (never fork: a forked
TensorFlow is unsafe). It waits on its job queue, runs one job at a time
through `runner.run` in-process, and reports on its result queue:

    ("ready", pid, threads)        Keras imported, a tiny fit done: the next job starts fast;
                                   `threads`: the backend's thread settings (devices.threads_in_use)
    ("started", run_id, pid)
    ("finished", run_id, status)

A None job ends the process. The stop flag is an Event the manager passes at
spawn time (Events cannot travel over queues); the manager clears it before
handing over the next job.
"""
from __future__ import annotations

import os
import signal


def worker_main(jobs, results, stop_flag, warm: bool = True, plan=None) -> None:
    """`plan`: a devices.ThreadPlan bounding this process's threads, so the web server keeps a core."""
    # Ctrl-C in the server's terminal reaches the whole process group; the
    # manager decides when a worker ends, so the worker ignores it.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    from builder.train import devices

    devices.limit_memory()  # an overrun fails the run in here, plainly, before the machine runs short
    if plan is not None:
        devices.limit_threads(plan)
    devices.share_gpu_memory()  # before the backend starts
    import keras  # the slow import, paid before the first job

    from builder.train import runner

    if plan is not None:
        devices.apply_backend_threads(plan)

    if warm:
        warm_up()
    results.put(("ready", os.getpid(), devices.threads_in_use()))
    while True:
        job = jobs.get()
        if job is None:
            break
        run_id, run_dir, experiment = job
        results.put(("started", run_id, os.getpid()))
        try:
            status = runner.run(experiment, run_dir, stop_flag=stop_flag)
        except BaseException as e:  # noqa: BLE001 - runner already records failures; never die silently
            status = f"failed: {type(e).__name__}"
        results.put(("finished", run_id, status))
        keras.backend.clear_session()  # free the model now, while idle, not at the next Train click


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
