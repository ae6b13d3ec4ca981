"""The job manager: a queue of runs, a pool of warm worker processes sharing the machine.

One `JobManager` is shared by every app session (`st.cache_resource`); a lock
guards its state (only bookkeeping runs under it: no file, no validation, no
process start). A watcher thread starts workers, hands queued runs to them,
notices a worker that died (killed, out of memory) and marks its run failed
with the reason. Training never runs in the server process, so a crash there
cannot take the app down.

    jobs = JobManager("runs", max_concurrent=default_max_runs())
    run_id = jobs.submit(experiment)     # validated first: SpecError lists the problems
    jobs.status(run_id)["status"]        # queued | running | completed | stopped | failed | interrupted
    jobs.stop(run_id)
    jobs.resume(run_id, more_epochs=5)   # a finished, stopped or interrupted run goes on in its folder

The pool (docs/architecture.md, "Process model"): every worker is forked from
a fork server that imported Keras once (`worker.PRELOAD`), takes one run and
exits. Idle warmed-up workers (`devices.warm_workers`) wait for the next
Train clicks; more start at once when a class presses Train together, up to
`max_concurrent` runs training at once (default: `LAYERLAB_MAX_POOL_MB` /
`LAYERLAB_WORKER_RESERVE_MB`) and never past the pool's memory budget: the
workers' measured memory plus a reserve for the next one must fit, and when
runs grow past it the newest goes back to the queue to go on from its
checkpoint. The runs share the processor; priorities (worker.py) put each new
run's first epoch before older runs' later epochs and the web server first.

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
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from builder import limits, settings
from builder.jobs.manager import Manager
from builder.jobs.ray_executor import RayJobManager
from builder.jobs.recovery import queue_continue, recover
from builder.jobs.submission import TERMINAL, admit_new_run, checked, wait_until_final
from builder.jobs.turns import Turns
from builder.jobs.worker import PRELOAD, RESUME, worker_main
from builder.store import runfolder
from builder.store.workspace import check_access, note_stopper, owner, owner_tag
from builder.train import checkpoint, devices

_SPAWN_LOCK = threading.Lock()  # process-wide: _main_hidden swaps a global
# One worker's memory is read every MEMORY_READ_S, in turn: reading a worker's smaps costs ~16 ms of kernel time
# (its page tables are walked), so measuring 30 workers every 2 s took a quarter of the web server's core.
MEMORY_READ_S = 0.5
MEMORY_FULL_NOTE = ("paused while the server's memory for training was full; it goes on from its last epoch "
                    "when another run ends")


@contextmanager
def _main_hidden():
    """Keep a new worker from re-running the parent's main script.

    A fork-server child, like a spawned one, re-imports `__main__.__file__`.
    Under Streamlit that file is app.py or a page, which would run the whole UI
    inside the worker; a bare `__main__` (no file, no spec) makes the child
    keep its own.
    """
    with _SPAWN_LOCK:
        saved = sys.modules.get("__main__")
        sys.modules["__main__"] = types.ModuleType("__main__")
        try:
            yield
        finally:
            if saved is not None:
                sys.modules["__main__"] = saved


def _context():
    """Workers fork from a server process that imported Keras and the engine once (never from this
    process: a forked TensorFlow that has run ops is unsafe; the fork server never runs one)."""
    ctx = mp.get_context("forkserver")
    ctx.set_forkserver_preload(PRELOAD)
    return ctx


@dataclass
class _Slot:
    process: object
    jobs: object
    results: object
    stop_flag: object
    run_id: str | None = None
    used: bool = False  # it took its one run (it exits after it)
    handed: float = 0.0  # when it took it (the newest goes back to the queue when memory is full)
    ready: bool = False
    first_point: bool = False  # its run has finished its first epoch
    report: dict | None = None  # the worker's backend threads and whether it started warm, once ready


@dataclass(eq=False)
class _Claim:
    """A submit or Continue under way outside the lock: it counts as the workspace's (or sweep's) active run."""
    tag: str | None
    sweep: str | None = None


class JobManager:
    def __init__(self, runs_root, max_concurrent: int = 1, warm: bool = True, lazy: bool = False,
                 threads: int | None = None):
        """`max_concurrent`: runs training at once (the pool's size). `warm`: idle spare workers do a tiny
        run first. `lazy`: start no worker before the first submit. `threads`: per worker (default: env
        LAYERLAB_TRAIN_THREADS, else the cores after the server's, split as `devices.core_sharers` says)."""
        self.root = Path(runs_root)
        self.root.mkdir(parents=True, exist_ok=True)
        self.max_concurrent = max(1, int(max_concurrent))
        self.spare = min(self.max_concurrent, devices.warm_workers())
        self.warming_at_once = max(1, devices.cpu_cores() - devices.SERVER_CORES)  # spares warming up at once
        self.warm = warm
        self.thread_plan = devices.thread_plan(devices.core_sharers(),
                                               threads or settings.positive_int("LAYERLAB_TRAIN_THREADS"))
        self._ctx = _context()
        self._lock = threading.RLock()
        self._wake = threading.Event()  # a submit: the watcher acts now, not at its next tick
        self._pending = Turns()  # queued runs, served by workspace in turn
        self._more: dict[str, int] = {}  # queued run → more epochs to go on with (worker.RESUME: as planned)
        self._owner: dict[str, str | None] = {}  # run id → owner tag of the workspace that submitted it
        self._sweep_of: dict[str, str | None] = {}  # run id → the sweep it is a trial of (None: a single run)
        self._claims: list[_Claim] = []
        self._slots: list[_Slot] = []
        self._memory: dict[int, float] = {}  # worker pid → its proportional set size (MB), last measured
        self._back_to_queue: set[str] = set()  # runs stopped because the pool's memory is full
        self._memory_full = False  # the pool went over its budget: no new worker until one ends
        self._started = not lazy
        self._closed = False
        self.resumed: list[str] = []  # runs going on from their checkpoint after a restart (once `recovered`)
        self.interrupted: list[str] = []  # runs a gone server left that cannot go on, with the reason
        self.recovered = threading.Event()
        self._watcher = threading.Thread(target=self._watch, name="layerlab-jobs", daemon=True)
        self._watcher.start()
        threading.Thread(target=self._watch_memory, name="layerlab-pool-memory", daemon=True).start()

    # -- public ------------------------------------------------------------------
    def submit(self, experiment, name: str | None = None, workspace: str | None = None,
               sweep: str | None = None, trial: int | None = None) -> str:
        """Validate, create the run folder (status queued) and queue the run; returns its id.

        `workspace` records who started it; see `admit` for what one workspace may ask (a workspace that
        presses Train many times at once gets one run). The queue serves workspaces in turn. `sweep`,
        `trial`: the run is that trial of a sweep (builder.sweep), counted against the sweep's own
        allowance instead of the workspace's single run.
        """
        exp = checked(experiment, name)
        claim, active = self._claim(owner_tag(workspace) if workspace else None, sweep, workspace)
        try:
            run_id = admit_new_run(self.root, exp, workspace, active, sweep, trial)
        except BaseException:
            self._release(claim)
            raise
        self._release(claim, run_id, tag=claim.tag)
        return run_id

    def resume(self, run_id: str, more_epochs: int, workspace: str | None = None) -> None:
        """Queue a finished, stopped or interrupted run to train `more_epochs` more in its own folder.

        With `workspace`, only its owner (or the teacher) may, under the same rules as a new run (`admit`).
        ValueError (in plain words) when the run cannot go on: still active, or no usable checkpoint.
        """
        claim, active = self._claim(owner_tag(workspace) if workspace else None, None, workspace)
        try:
            queue_continue(self.root, run_id, workspace, active)
            tag = owner(self.root / run_id)
        except BaseException:
            self._release(claim)
            raise
        self._release(claim, run_id, more_epochs, tag)

    def stop(self, run_id: str, workspace: str | None = None) -> bool:
        """Ask a run to stop: a queued run is dropped, a running one finishes its batch and saves.

        With `workspace`, only its owner (or the teacher) may: NotYourRun otherwise.
        """
        if workspace is not None and (self.root / run_id).is_dir():
            check_access(self.root / run_id, workspace, "stop")
            note_stopper(self.root / run_id, workspace)
        with self._lock:
            queued = self._pending.remove(run_id)
            if queued:
                self._more.pop(run_id, None)
                self._forget(run_id)
            slot = next((s for s in self._slots if s.run_id == run_id), None)
            if slot is not None:
                slot.stop_flag.set()
                self._back_to_queue.discard(run_id)
        if queued:
            runfolder.write_status(self.root / run_id, status="stopped", finished=time.time(),
                                   error=None, note="stopped before it started")
        elif slot is not None:
            (self.root / run_id / runfolder.STOP).touch()
        return queued or slot is not None

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
            return self._pending.order()

    def worker_threads(self) -> list[dict]:
        """Each ready worker's report: its backend's thread settings (devices.threads_in_use) and
        `warm_start` (Keras was imported before the worker began: it came warm from the fork server)."""
        with self._lock:
            return [s.report for s in self._slots if s.report is not None]

    def worker_pids(self) -> list[int]:
        with self._lock:
            return [s.process.pid for s in self._slots if s.process.is_alive()]

    def pool_memory_mb(self) -> float:
        """The workers' memory together as last measured (proportional set sizes, MB)."""
        with self._lock:
            return sum(self._memory.get(s.process.pid, 0.0) for s in self._slots)

    def wait_ready(self, timeout: float = 60.0) -> bool:
        """Block until the spare workers are started and ready (Keras imported, warmed up)."""
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            with self._lock:
                if len(self._slots) >= self.spare and all(s.ready for s in self._slots):
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
        self._wake.set()
        end = time.monotonic() + timeout
        while time.monotonic() < end and self.running():
            time.sleep(0.05)
        self._watcher.join(timeout=5)
        with self._lock:
            slots, self._slots = self._slots, []
        for slot in slots:
            self._end_worker(slot)
        for slot in slots:
            if slot.run_id and runfolder.read_status(self.root / slot.run_id).get("status") in runfolder.ACTIVE:
                runfolder.write_status(self.root / slot.run_id, status="interrupted", finished=time.time(),
                                       error="the server stopped while this run was training")

    # -- admission ---------------------------------------------------------------------
    def _claim(self, tag: str | None, sweep: str | None, workspace: str | None) -> tuple[_Claim, int]:
        """Count what the workspace (or sweep) has active and hold its place while its files are made."""
        with self._lock:
            if self._closed:
                raise RuntimeError("the job manager is shut down")
            active = self._active_of(tag, sweep) if workspace or sweep else 0
            claim = _Claim(tag, sweep)
            self._claims.append(claim)
            return claim, active

    def _release(self, claim: _Claim, run_id: str | None = None, more_epochs: int | None = None,
                 tag: str | None = None) -> None:
        """Drop the claim; with `run_id`, queue that run in its place, owned by `tag` (the watcher starts it)."""
        with self._lock:
            self._claims.remove(claim)
            if run_id is None:
                return
            self._queue(run_id, tag, more_epochs)
            self._sweep_of[run_id] = claim.sweep
            self._started = True
            self._dispatch()
        self._wake.set()

    def _active_of(self, tag: str | None, sweep: str | None = None) -> int:
        """Runs queued, training or being submitted of `sweep`, or else the workspace's single runs (its
        sweeps' trials apart)."""
        if sweep:
            mine = [r for r, s in self._sweep_of.items() if s == sweep]
            claims = [c for c in self._claims if c.sweep == sweep]
        else:
            mine = [r for r, t in self._owner.items() if t == tag and not self._sweep_of.get(r)]
            claims = [c for c in self._claims if c.tag == tag and not c.sweep]
        return len(claims) + sum(1 for r in mine if r in self._pending or any(s.run_id == r for s in self._slots))

    # -- internals -------------------------------------------------------------------
    def _queue(self, run_id: str, tag: str | None, more_epochs: int | None = None, first=False) -> None:
        self._owner[run_id] = tag
        self._pending.add(run_id, tag, first)
        if more_epochs is not None:
            self._more[run_id] = more_epochs

    def _forget(self, run_id: str) -> None:
        self._owner.pop(run_id, None)
        self._sweep_of.pop(run_id, None)

    def _start_worker(self, warm: bool) -> _Slot:
        """A new worker forked from the fork server (the first call waits while that imports Keras)."""
        jobs, results, flag = self._ctx.Queue(), self._ctx.Queue(), self._ctx.Event()
        process = self._ctx.Process(target=worker_main, name="layerlab-worker", daemon=True,
                                    args=(jobs, results, flag, warm, self.thread_plan, settings.current()))
        with _main_hidden():
            process.start()
        return _Slot(process, jobs, results, flag)

    def _end_worker(self, slot: _Slot) -> None:
        try:
            slot.jobs.put(None)
        except (OSError, ValueError):
            pass
        slot.process.join(timeout=5)
        if slot.process.is_alive():
            slot.process.terminate()
            slot.process.join(timeout=5)

    def _dispatch(self) -> None:
        """Hand queued runs to idle workers (the worker reads the experiment from the run folder)."""
        for slot in self._slots:
            if not self._pending:
                return
            if not slot.used and slot.process.is_alive():
                run_id = self._pending.take()
                slot.run_id, slot.used, slot.handed = run_id, True, time.monotonic()
                slot.jobs.put((run_id, str(self.root / run_id), None, self._more.pop(run_id, None)))

    def _workers_wanted(self) -> list[bool]:
        """The workers to start now, each as its `warm` flag: one per queued run no idle worker takes, then
        spares up to `spare`, while the pool has room (`_room_for_one_more`). Spares wait while a run waits
        for its first point: warming one up takes the processor that first epoch needs (when a class presses
        Train together, ten spares warming up made every student wait 16 s longer). And they warm up one per
        training core at a time: warming all together shares the processor so that none is ready before all
        are (about 45 s for 20 on one core), while one after another makes one ready every 2–3 s."""
        idle = sum(1 for s in self._slots if not s.used)
        for_runs = max(0, len(self._pending) - idle)
        first_epochs = any(s.run_id and not s.first_point for s in self._slots)
        warming = sum(1 for s in self._slots if not s.used and not s.ready)
        spares = 0 if first_epochs else max(0, self.spare - max(0, idle - len(self._pending)))
        spares = min(spares, max(0, self.warming_at_once - warming))
        wanted = []
        for warm in [False] * for_runs + [self.warm] * spares:
            if not self._room_for_one_more(len(wanted)):
                break
            wanted.append(warm)
        return wanted

    def _room_for_one_more(self, starting: int) -> bool:
        """Room for another worker besides the `starting` ones: fewer than `max_concurrent` workers (one whose
        run ended is leaving and does not count), their memory (as measured, at least the reserve each, the
        leaving ones too) plus a reserve for each new one within the pool's budget, and the pool has not gone
        over it since a worker last ended. A first worker always has room once the others have left: one run
        always trains (its own cap, LAYERLAB_MAX_WORKER_MB, bounds it)."""
        workers = starting + sum(1 for s in self._slots if not s.used or s.run_id)
        if workers >= self.max_concurrent:
            return False
        if starting == 0 and not self._slots:
            return True
        if self._memory_full:
            return False
        reserve, budget = limits.get("worker_reserve_mb") / limits.MB, limits.get("max_pool_mb") / limits.MB
        held = sum(max(self._memory.get(s.process.pid, 0.0), reserve) for s in self._slots)
        return held + reserve * (starting + 1) <= budget

    def _recover(self) -> None:
        """Take over what a gone server left (`recover`): its runs go before any submitted meanwhile."""
        queued_again, interrupted = recover(self.root)
        owners = {run_id: owner(self.root / run_id) for run_id, _more in queued_again}
        with self._lock:
            self.interrupted = interrupted
            self.resumed = [run_id for run_id, more in queued_again if more is not None]
            if not self._closed:  # else they stay `queued` in their folders, for the next server
                for run_id, more_epochs in reversed(queued_again):
                    self._queue(run_id, owners[run_id], more_epochs, first=True)
                self._started = self._started or bool(self._pending)
        self.recovered.set()

    def _watch(self) -> None:
        self._recover()
        while not self._closed or self.running():
            self._tend()
            self._wake.wait(0.1)
            self._wake.clear()

    def _watch_memory(self) -> None:
        """Its own thread: reading /proc can take a while on a busy machine, and the watcher's round must not
        wait for it. A pool of n workers is measured in full every n × MEMORY_READ_S."""
        turn = 0
        while not self._closed:
            self._measure_memory(turn)
            turn += 1
            time.sleep(MEMORY_READ_S)

    def _tend(self) -> None:
        """One round: read the workers' messages, see to dead and finished ones, start workers, hand out runs.
        Files are written and processes started outside the lock."""
        with self._lock:
            ended, back = self._collect()
        for run_id, exitcode in ended:
            self._record_death(run_id, exitcode)
        for run_id in back:
            self._requeue(run_id)
        with self._lock:
            wanted = [] if self._closed or not self._started else self._workers_wanted()
        started = [self._start_worker(warm) for warm in wanted]
        with self._lock:
            self._slots += started
            if not self._closed:
                self._dispatch()
                return
        for slot in started:  # shut down meanwhile: an idle worker ends at a None job
            slot.jobs.put(None)

    def _collect(self) -> tuple[list, list]:
        """Drain every worker's messages; drop workers that exited. Returns (runs whose worker died, with its
        exit code; runs stopped for memory, to queue again)."""
        ended, back = [], []
        for slot in list(self._slots):
            alive = slot.process.is_alive()
            finished = self._drain(slot)
            if finished in self._back_to_queue:
                self._back_to_queue.discard(finished)
                back.append(finished)
            if alive:
                continue
            self._slots.remove(slot)
            self._memory.pop(slot.process.pid, None)
            self._memory_full = False
            if slot.run_id:
                ended.append((slot.run_id, slot.process.exitcode))
                self._back_to_queue.discard(slot.run_id)
                self._forget(slot.run_id)
                slot.run_id = None
        return ended, back

    def _drain(self, slot: _Slot) -> str | None:
        """Read a worker's messages; returns the run it reported finished, if any."""
        finished = None
        while True:
            try:
                message = slot.results.get_nowait()
            except (queue.Empty, OSError, ValueError, EOFError):
                return finished
            if message[0] == "ready":
                slot.ready, slot.report = True, message[2]
            elif message[0] == "first point" and message[1] == slot.run_id:
                slot.first_point = True
            elif message[0] == "finished" and message[1] == slot.run_id:
                finished = slot.run_id
                if finished not in self._back_to_queue:
                    self._forget(finished)
                slot.run_id = None

    def _record_death(self, run_id: str, exitcode) -> None:
        run_dir = self.root / run_id
        if runfolder.read_status(run_dir).get("status") not in TERMINAL:
            runfolder.write_status(run_dir, status="failed", finished=time.time(), error=death_reason(exitcode))

    def _measure_memory(self, turn: int) -> None:
        """Measure the `turn`-th worker (outside the lock); when the pool's workers as last measured are over
        its budget, an idle spare ends, or else the newest run stops (it saves its checkpoint) and goes back
        to the queue."""
        with self._lock:
            pids = sorted(s.process.pid for s in self._slots)
        if not pids:
            return
        pid = pids[turn % len(pids)]
        measured = devices.memory_mb(pid)
        budget = limits.get("max_pool_mb") / limits.MB
        with self._lock:
            live = {s.process.pid for s in self._slots}
            self._memory = {p: mb for p, mb in self._memory.items() if p in live}
            if pid in live:
                self._memory[pid] = measured
            if sum(self._memory.values()) <= budget:
                return
            self._memory_full = True
            idle = [s for s in self._slots if not s.used]
            training = [s for s in self._slots if s.run_id and s.run_id not in self._back_to_queue]
            if idle:  # a spare goes first
                idle[-1].used = True
                idle[-1].jobs.put(None)
            elif len(training) > 1 and not self._back_to_queue:  # one at a time (its figure stays until it
                # leaves); the last run keeps going: its own cap (LAYERLAB_MAX_WORKER_MB) bounds it
                newest = max(training, key=lambda s: s.handed)
                self._back_to_queue.add(newest.run_id)
                newest.stop_flag.set()

    def _requeue(self, run_id: str) -> None:
        """A run stopped for memory waits again, first in line: from its checkpoint, or afresh without one.
        One that ended by itself before it saw the stop keeps its end."""
        run_dir = self.root / run_id
        if runfolder.read_status(run_dir).get("status") != "stopped":
            with self._lock:
                self._forget(run_id)
            return
        more = RESUME if checkpoint.path(run_dir).exists() else None
        runfolder.write_status(run_dir, status="queued", finished=None, error=None, note=MEMORY_FULL_NOTE)
        with self._lock:
            if not self._closed:
                self._queue(run_id, self._owner.get(run_id), more, first=True)


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



