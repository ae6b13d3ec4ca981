"""The job manager: a queue of runs, a bounded number of warm worker processes.

One `JobManager` is shared by every app session (`st.cache_resource`); a lock
guards its state, and a watcher thread moves queued runs onto idle workers,
notices a worker that died (killed, out of memory) and marks its run failed
with the reason, then starts a fresh warm worker. Training never runs in the
server process, so a crash there cannot take the app down.

    jobs = JobManager("runs", max_concurrent=default_max_runs())
    run_id = jobs.submit(experiment)     # validated first: SpecError lists the problems
    jobs.status(run_id)["status"]        # queued | running | completed | stopped | failed | interrupted
    jobs.stop(run_id)
    jobs.resume(run_id, more_epochs=5)   # a finished, stopped or interrupted run goes on in its folder

A server that starts picks up what the last one left (`recover`): live
workers of a dead server are reaped, queued runs are queued again in their
old order, and runs cut off while training go on from their checkpoint
(status note "resumed after a server restart"). It does so on the manager's
watcher thread, so the page view that starts the manager never waits for a
dead server's workers; `recovered` is set once it is done.
"""
from __future__ import annotations

import multiprocessing as mp
import queue
import signal
import sys
import threading
import time
import types
from collections import deque
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from builder import limits, settings
from builder.jobs.manager import Manager
from builder.jobs.ray_executor import RayJobManager
from builder.jobs.recovery import queue_continue, recover
from builder.jobs.submission import TERMINAL, admit_new_run, checked, wait_until_final
from builder.jobs.worker import worker_main
from builder.store import runfolder
from builder.store.workspace import check_access, note_stopper, owner, owner_tag
from builder.train import devices

_SPAWN_LOCK = threading.Lock()  # process-wide: _main_hidden swaps a global


@contextmanager
def _main_hidden():
    """Keep a spawned worker from re-running the parent's main script.

    `spawn` re-imports `__main__.__file__` in the child. Under Streamlit that
    file is app.py or a page, which would run the whole UI inside the worker;
    a bare `__main__` (no file, no spec) makes the child keep its own.
    """
    with _SPAWN_LOCK:
        saved = sys.modules.get("__main__")
        sys.modules["__main__"] = types.ModuleType("__main__")
        try:
            yield
        finally:
            if saved is not None:
                sys.modules["__main__"] = saved


@dataclass
class _Slot:
    index: int
    process: object
    jobs: object
    results: object
    stop_flag: object
    run_id: str | None = None
    ready: bool = False
    threads: dict | None = None  # what the worker's backend reported once ready


class JobManager:
    def __init__(self, runs_root, max_concurrent: int = 1, warm: bool = True, lazy: bool = False,
                 threads: int | None = None):
        """`lazy`: start the worker processes at the first submit instead of now.
        `threads`: per worker (default: env LAYERLAB_TRAIN_THREADS, else the cores after the server's, shared)."""
        self.root = Path(runs_root)
        self.root.mkdir(parents=True, exist_ok=True)
        self.max_concurrent = max(1, int(max_concurrent))
        self.warm = warm
        self.thread_plan = devices.thread_plan(self.max_concurrent, threads or settings.positive_int("LAYERLAB_TRAIN_THREADS"))
        self._ctx = mp.get_context("spawn")
        self._lock = threading.RLock()
        self._pending: deque[str] = deque()
        self._more: dict[str, int] = {}  # queued run → more epochs to go on with (worker.RESUME: as planned)
        self._owner: dict[str, str | None] = {}  # run id → owner tag of the workspace that submitted it
        self._sweep_of: dict[str, str | None] = {}  # run id → the sweep it is a trial of (None: a single run)
        self._served: dict[str | None, float] = {}  # owner tag → when one of its runs last started
        self._slots: list[_Slot] = []
        self._closed = False
        self.resumed: list[str] = []  # runs going on from their checkpoint after a restart (once `recovered`)
        self.interrupted: list[str] = []  # runs a gone server left that cannot go on, with the reason
        self.recovered = threading.Event()
        if not lazy:
            self._start_workers()
        self._watcher = threading.Thread(target=self._watch, name="layerlab-jobs", daemon=True)
        self._watcher.start()

    # -- public ------------------------------------------------------------------
    def submit(self, experiment, name: str | None = None, workspace: str | None = None,
               sweep: str | None = None, trial: int | None = None) -> str:
        """Validate, create the run folder (status queued) and queue the run; returns its id.

        `workspace` records who started it; see `admit` for what one workspace may ask. The queue serves
        workspaces in turn. `sweep`, `trial`: the run is that trial of a sweep (builder.sweep), counted against
        the sweep's own allowance instead of the workspace's single run.
        """
        exp = checked(experiment, name)
        with self._lock:
            if self._closed:
                raise RuntimeError("the job manager is shut down")
            active = self._active_of(workspace, sweep) if workspace or sweep else 0
            run_id = admit_new_run(self.root, exp, workspace, active, sweep, trial)
            self._queue(run_id, owner_tag(workspace) if workspace else None)
            self._sweep_of[run_id] = sweep
            if not self._slots:
                self._start_workers()
            self._dispatch()
        return run_id

    def resume(self, run_id: str, more_epochs: int, workspace: str | None = None) -> None:
        """Queue a finished, stopped or interrupted run to train `more_epochs` more in its own folder.

        With `workspace`, only its owner (or the teacher) may, under the same rules as a new run (`admit`).
        ValueError (in plain words) when the run cannot go on: still active, or no usable checkpoint.
        """
        with self._lock:
            if self._closed:
                raise RuntimeError("the job manager is shut down")
            queue_continue(self.root, run_id, workspace, self._active_of(workspace) if workspace else 0)
            self._queue(run_id, owner(self.root / run_id), more_epochs)
            if not self._slots:
                self._start_workers()
            self._dispatch()

    def stop(self, run_id: str, workspace: str | None = None) -> bool:
        """Ask a run to stop: a queued run is dropped, a running one finishes its batch and saves.

        With `workspace`, only its owner (or the teacher) may: NotYourRun otherwise.
        """
        if workspace is not None and (self.root / run_id).is_dir():
            check_access(self.root / run_id, workspace, "stop")
            note_stopper(self.root / run_id, workspace)
        with self._lock:
            if run_id in self._pending:
                self._pending.remove(run_id)
                self._more.pop(run_id, None)
                runfolder.write_status(self.root / run_id, status="stopped", finished=time.time(),
                                       error=None, note="stopped before it started")
                self._forget(run_id)
                return True
            for slot in self._slots:
                if slot.run_id == run_id:
                    slot.stop_flag.set()
                    (self.root / run_id / runfolder.STOP).touch()
                    return True
        return False

    def status(self, run_id: str) -> dict:
        status = runfolder.read_status(self.root / run_id)
        with self._lock:
            if run_id in self._pending:
                status["queue_position"] = self.queued().index(run_id) + 1
        return status

    def running(self) -> list[str]:
        with self._lock:
            return [s.run_id for s in self._slots if s.run_id]

    def queued(self) -> list[str]:
        """The waiting runs in the order they will start: workspaces take turns (the one served longest
        ago first), first come first served within a workspace."""
        with self._lock:
            served = dict(self._served)
            clock = max(served.values(), default=0.0)
            order, pending = [], list(self._pending)
            while pending:
                run_id = min(pending, key=lambda r: served.get(self._owner.get(r), 0.0))
                pending.remove(run_id)
                order.append(run_id)
                clock += 1.0  # as if it started now: its workspace goes to the back of the turn order
                served[self._owner.get(run_id)] = clock
            return order

    def worker_threads(self) -> list[dict]:
        """Each ready worker's thread settings as its backend reports them."""
        with self._lock:
            return [s.threads for s in self._slots if s.threads is not None]

    def worker_pids(self) -> list[int]:
        with self._lock:
            return [s.process.pid for s in self._slots if s.process.is_alive()]

    def wait_ready(self, timeout: float = 60.0) -> bool:
        """Block until every worker has imported Keras and warmed up."""
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            with self._lock:
                if self._slots and all(s.ready for s in self._slots):
                    return True
            time.sleep(0.05)
        return False

    def wait(self, run_id: str, timeout: float = 120.0) -> dict:
        """Block until the run reaches a final state (for scripts and tests)."""
        self.recovered.wait(timeout)  # a run a gone server left reads `interrupted` until then

        def busy() -> bool:
            with self._lock:
                return run_id in self._pending or any(s.run_id == run_id for s in self._slots)

        return wait_until_final(self.status, run_id, busy, timeout)

    def shutdown(self, timeout: float = 15.0) -> None:
        """Stop running runs (they save their model), end the workers, mark leftovers interrupted. Queued runs
        stay `queued` in their folders: the next server starts them (`recover`)."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            self._pending.clear()
            for slot in self._slots:
                if slot.run_id:
                    slot.stop_flag.set()
        end = time.monotonic() + timeout
        while time.monotonic() < end and self.running():
            time.sleep(0.05)
        self._watcher.join(timeout=2)
        with self._lock:
            for slot in self._slots:
                self._end_worker(slot)
            for slot in self._slots:
                if slot.run_id and runfolder.read_status(self.root / slot.run_id).get("status") in runfolder.ACTIVE:
                    runfolder.write_status(self.root / slot.run_id, status="interrupted", finished=time.time(),
                                           error="the server stopped while this run was training")
            self._slots = []

    # -- internals -------------------------------------------------------------------
    def _queue(self, run_id: str, tag: str | None, more_epochs: int | None = None, first=False) -> None:
        self._owner[run_id] = tag
        if first:
            self._pending.appendleft(run_id)
        else:
            self._pending.append(run_id)
        if more_epochs is not None:
            self._more[run_id] = more_epochs

    def _forget(self, run_id: str) -> None:
        self._owner.pop(run_id, None)
        self._sweep_of.pop(run_id, None)

    def _start_workers(self) -> None:
        self._slots = [self._spawn(i) for i in range(self.max_concurrent)]

    def _spawn(self, index: int) -> _Slot:
        jobs, results, flag = self._ctx.Queue(), self._ctx.Queue(), self._ctx.Event()
        process = self._ctx.Process(target=worker_main, args=(jobs, results, flag, self.warm, self.thread_plan),
                                    name=f"layerlab-worker-{index}", daemon=True)
        with _main_hidden():
            process.start()
        return _Slot(index, process, jobs, results, flag)

    def _end_worker(self, slot: _Slot) -> None:
        try:
            slot.jobs.put(None)
        except (OSError, ValueError):
            pass
        slot.process.join(timeout=5)
        if slot.process.is_alive():
            slot.process.terminate()
            slot.process.join(timeout=5)

    def _active_of(self, workspace: str | None, sweep: str | None = None) -> int:
        """Runs queued or training of `sweep`, or else the workspace's single runs (its sweeps' trials apart)."""
        if sweep:
            mine = [r for r, s in self._sweep_of.items() if s == sweep]
        else:
            tag = owner_tag(workspace)
            mine = [r for r, t in self._owner.items() if t == tag and not self._sweep_of.get(r)]
        return sum(1 for r in mine if r in self._pending or any(s.run_id == r for s in self._slots))

    def _next_pending(self) -> str:
        """The first run of `queued()`: the workspace served longest ago goes next."""
        run_id = self.queued()[0]
        self._pending.remove(run_id)
        self._served[self._owner.get(run_id)] = time.monotonic()
        return run_id

    def _dispatch(self) -> None:
        for slot in self._slots:
            if not self._pending:
                return
            if slot.run_id is None and slot.process.is_alive():
                run_id = self._next_pending()
                slot.stop_flag.clear()
                slot.run_id = run_id
                experiment = runfolder.read_json(self.root / run_id / runfolder.EXPERIMENT)
                slot.jobs.put((run_id, str(self.root / run_id), experiment, self._more.pop(run_id, None)))

    def _recover(self) -> None:
        """Take over what a gone server left (`recover`): its runs go before any submitted meanwhile."""
        queued_again, interrupted = recover(self.root)
        with self._lock:
            self.interrupted = interrupted
            self.resumed = [run_id for run_id, more in queued_again if more is not None]
            if not self._closed:  # else they stay `queued` in their folders, for the next server
                for run_id, more_epochs in reversed(queued_again):
                    self._queue(run_id, owner(self.root / run_id), more_epochs, first=True)
                if self._pending and not self._slots:
                    self._start_workers()
        self.recovered.set()

    def _watch(self) -> None:
        self._recover()
        while not self._closed or self.running():
            with self._lock:
                for i, slot in enumerate(self._slots):
                    self._drain(slot)
                    if not slot.process.is_alive():
                        self._worker_died(slot)
                        if not self._closed:
                            self._slots[i] = self._spawn(slot.index)
                if not self._closed:
                    self._dispatch()
            time.sleep(0.1)

    def _drain(self, slot: _Slot) -> None:
        while True:
            try:
                message = slot.results.get_nowait()
            except (queue.Empty, OSError, ValueError, EOFError):
                return
            if message[0] == "ready":
                slot.ready, slot.threads = True, message[2]
            elif message[0] == "finished" and message[1] == slot.run_id:
                self._forget(slot.run_id)
                slot.run_id = None

    def _worker_died(self, slot: _Slot) -> None:
        if not slot.run_id:
            return
        run_dir = self.root / slot.run_id
        if runfolder.read_status(run_dir).get("status") not in TERMINAL:
            runfolder.write_status(run_dir, status="failed", finished=time.time(),
                                   error=death_reason(slot.process.exitcode))
        self._forget(slot.run_id)
        slot.run_id = None


EXECUTORS = ("local", "ray")


def make_job_manager(runs_root, executor: str | None = None, **options) -> Manager:
    """The job manager of an executor: `local` (warm worker processes here) or `ray` (a Ray cluster).

    `executor` defaults to env LAYERLAB_EXECUTOR, else local. Both keep the
    same run-folder contract and offer the same methods. `options` go to the
    local JobManager (max_concurrent, warm, lazy, threads) or to
    RayJobManager (address, cpus, gpus).
    """
    executor = (executor or settings.executor()).strip().lower()
    if executor == "ray":
        ray_options = {k: v for k, v in options.items() if k in ("address", "cpus", "gpus")}
        return RayJobManager(runs_root, **ray_options)
    if executor != "local":
        raise ValueError(f"unknown executor '{executor}': choose one of {', '.join(EXECUTORS)}")
    return JobManager(runs_root, **{k: v for k, v in options.items() if k not in ("address", "cpus", "gpus")})



def default_max_runs() -> int:
    """Runs training at once: env LAYERLAB_MAX_RUNS, else what the machine affords (cores, GPUs)."""
    return settings.positive_int("LAYERLAB_MAX_RUNS") or devices.default_max_runs()




CRASH_SIGNALS = ("SIGSEGV", "SIGABRT", "SIGBUS")


def death_reason(exitcode) -> str:
    if exitcode is not None and exitcode < 0:
        try:
            name = signal.Signals(-exitcode).name
        except ValueError:
            name = f"signal {-exitcode}"
        if name == "SIGKILL":
            return ("the training process was killed (SIGKILL) — usually because the machine ran out of memory; "
                    "try a smaller batch size or a smaller model. The metrics so far are kept.")
        if name in CRASH_SIGNALS:  # what TensorFlow does where an allocation fails under the worker's memory cap
            return (f"the training process crashed ({name}) — most likely it needed more memory than a run may use "
                    f"({limits.get('max_worker_mb') // limits.MB:,} MB, server setting LAYERLAB_MAX_WORKER_MB); "
                    "try a smaller batch size or a smaller model. The metrics so far are kept.")
        return f"the training process was ended by {name}. The metrics so far are kept."
    return (f"the training process exited unexpectedly (exit code {exitcode}); see train.log in the run folder. "
            "The metrics so far are kept.")



