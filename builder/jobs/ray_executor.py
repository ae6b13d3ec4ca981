"""Runs on a Ray cluster: each run a Ray actor with declared resources, its files streamed back.

The web server (or the CLI) stays light: a run is an actor asking for
`cpus` CPUs and a `gpus` fraction of a GPU, so several students' small models
share one GPU and Ray queues what does not fit. The actor trains through
`runner.run` into a folder of its own machine; the manager's watcher thread
pulls every changed file through Ray and writes it, atomically, into the run
folder here, so pages, the CLI and the run store read the same contract as
with the local executor, without a shared filesystem.

    jobs = RayJobManager("runs", address="auto")     # or None: a Ray instance on this machine
    run_id = jobs.submit(experiment)                 # validated first, like JobManager
    jobs.status(run_id)  /  jobs.stop(run_id)  /  jobs.wait(run_id)
    jobs.resume(run_id, more_epochs=5)               # goes on from the checkpoint in the run folder here

The checkpoint comes back each epoch like the other files, so a run goes on
from the server's run folder: Continue sends it (with the experiment, status
and metrics) to a new actor, and a starting manager resumes the runs a dead
server left (`jobs.recover`, as the local manager does).

Warm actors: the manager keeps a few actors with Keras imported and one tiny
run done (`worker.warm_up`), each holding its run's resources, so a run that
finds one free shows its first point in about a second instead of the 5–10 s
a new Ray worker spends importing Keras. A finished run's actor is cleaned and
goes to the next waiting run, or is kept while the pool is short of its size
(LAYERLAB_RAY_WARM_ACTORS); otherwise it ends and frees its resources.

Fair sharing: the manager hands Ray no more runs than the cluster holds at
once (`runs_that_fit`, asked again as nodes come and go); the others wait here
and are served by workspace in turn (`turns.Turns`, as on the local executor),
not in submit order, so a student's run goes before a classmate's sweep's
further trials. Runs share a node's processors when LAYERLAB_RAY_CPUS is a
fraction (0.25: four runs a CPU).

Ray is optional (requirements-ray.txt) and imported only here.
"""
from __future__ import annotations

import os
import sys
import threading
import time
from pathlib import Path

from builder import settings
from builder.files import atomic_write_bytes
from builder.jobs.recovery import queue_continue, recover
from builder.jobs.submission import admit_new_run, checked, create_run, wait_until_final
from builder.jobs.turns import Turns
from builder.jobs.worker import run_job, warm_up
from builder.model.spec import SpecError
from builder.store import runfolder
from builder.store.workspace import check_access, note_stopper, owner, owner_tag
from builder.train import devices
from builder.train.finetune import total_epochs
from builder.train.loop import epoch_line

INSTALL_HINT = "the Ray executor needs Ray, which is not installed: pip install -r requirements-ray.txt"
ROOT = Path(__file__).resolve().parents[2]
POLL_S = 0.25  # how often files are pulled from a running actor
MAX_AUTO_WARM = 4  # warm actors when LAYERLAB_RAY_WARM_ACTORS is unset (each holds Keras: ~0.5 GB)
CAPACITY_S = 2.0  # how often the cluster's size is asked again (nodes join and leave)


class RayUnavailable(ValueError):
    """Ray is missing or the cluster cannot be reached (plain words)."""


def connect(address: str | None = None, num_cpus: int | None = None):
    """The `ray` module, connected: to `address` (env LAYERLAB_RAY_ADDRESS; `auto`, `ray://host:port`),
    else to a Ray instance started on this machine."""
    try:
        import ray
    except ImportError as e:
        raise RayUnavailable(INSTALL_HINT) from e
    if not ray.is_initialized():
        address = address or settings.ray_address()
        try:
            ray.init(address=address, num_cpus=None if address else num_cpus, include_dashboard=False,
                     log_to_driver=False, configure_logging=False,
                     runtime_env={"py_modules": [str(ROOT / "builder"), str(ROOT / "datasets")]})
        except (ConnectionError, RuntimeError, ValueError) as e:
            raise RayUnavailable(f"could not reach the Ray cluster at {address or 'this machine'}: {e}") from e
    return ray


def runtime_env() -> dict:
    """Each actor's environment. `connect` ships Layerlab's packages to the cluster (Keras and the backend
    must be installed there); when Ray was started by someone else, workers on this machine find them here."""
    return {"env_vars": {"PYTHONPATH": str(ROOT), "TF_CPP_MIN_LOG_LEVEL": "2",
                         "XLA_PYTHON_CLIENT_PREALLOCATE": "false"}}  # runs share a GPU: no up-front grab


class TrainActor:
    """Lives on a Ray worker: trains one run at a time in a thread, answers `changes` and `stop` meanwhile;
    `reset` readies it for the next run."""

    def __init__(self, threads: int, warm: bool = False):
        """`warm`: do one tiny run now, so the first real run starts as fast as a later one."""
        devices.share_gpu_memory()  # several actors share a GPU (fractions), and a warm one idles on it
        import keras  # noqa: F401 - the backend first, then its thread pools

        devices.apply_backend_threads(devices.ThreadPlan(threads))
        if warm:
            warm_up()
        self.flag = threading.Event()
        self.dir: Path | None = None
        self.seen: dict[str, tuple] = {}
        self.reset()

    def pid(self) -> int:
        return os.getpid()

    def reset(self) -> None:
        """A fresh folder (the last run's removed: its files have all travelled), the stop flag down, Keras's
        graph of the last model freed."""
        import shutil
        import tempfile

        import keras

        if self.dir is not None:
            shutil.rmtree(self.dir, ignore_errors=True)
            keras.backend.clear_session()
        self.dir = Path(tempfile.mkdtemp(prefix="layerlab-ray-"))
        self.seen = {}
        self.flag.clear()

    def train(self, experiment: dict, files: dict, more_epochs: int | None = None) -> str:
        """A new run, or (`more_epochs` not None, as worker.run_job takes it) one going on from the
        checkpoint among `files`."""
        for name, data in files.items():
            (self.dir / name).write_bytes(data)
        return run_job(experiment, self.dir, more_epochs, self.flag)

    def changes(self) -> dict:
        """Files new or changed since the last call: {relative path: bytes} (temporary files skipped)."""
        out = {}
        for path in sorted(self.dir.rglob("*")):
            if not path.is_file() or path.name.startswith("."):
                continue
            st = path.stat()
            rel = path.relative_to(self.dir).as_posix()
            if self.seen.get(rel) != (st.st_mtime_ns, st.st_size):
                self.seen[rel] = (st.st_mtime_ns, st.st_size)
                out[rel] = path.read_bytes()
        return out

    def stop(self) -> None:
        self.flag.set()


def new_actor(ray, cpus: float, gpus: float, warm: bool = False):
    """A TrainActor asking for `cpus` CPUs and `gpus` of a GPU; Ray starts it when they are free."""
    actor = ray.remote(max_concurrency=4, max_restarts=0)(TrainActor)  # train + changes + stop at once
    return actor.options(num_cpus=cpus, num_gpus=gpus, runtime_env=runtime_env()).remote(max(1, int(cpus)), warm)


class RemoteRun:
    """One run on a Ray actor, mirrored into its local run folder."""

    def __init__(self, ray, run_dir: Path, actor, more_epochs: int | None = None):
        """`actor`: a TrainActor (new_actor), fresh or reset. `more_epochs`: None trains a new run; else it goes
        on from the checkpoint (see TrainActor.train)."""
        self.ray, self.dir, self.actor = ray, Path(run_dir), actor
        self.pid_ref = self.actor.pid.remote()  # resolves when Ray has placed the actor: no longer queued
        names = [runfolder.EXPERIMENT, runfolder.STATUS]
        if more_epochs is not None:
            names += [runfolder.METRICS, runfolder.CHECKPOINT]
        seed = {name: (self.dir / name).read_bytes() for name in names}
        self.result_ref = self.actor.train.remote(runfolder.read_json(self.dir / runfolder.EXPERIMENT), seed,
                                                  more_epochs)
        self.pid: int | None = None

    def placed(self) -> bool:
        """Ray has started the actor (or failed to: then pid is 0 and `sync` reports why)."""
        if self.pid is None and self.ray.wait([self.pid_ref], timeout=0)[0]:
            try:
                self.pid = self.ray.get(self.pid_ref)
            except self.ray.exceptions.RayError:
                self.pid = 0
        return self.pid is not None

    def sync(self) -> str | None:
        """Pull changed files; the final status once the run has ended, else None. Raises RayError on death."""
        done = bool(self.ray.wait([self.result_ref], timeout=0)[0])
        for rel, data in self.ray.get(self.actor.changes.remote()).items():
            atomic_write_bytes(self.dir / rel, data)
        if not done:
            return None
        state = self.ray.get(self.result_ref)
        for rel, data in self.ray.get(self.actor.changes.remote()).items():  # what the last moments wrote
            atomic_write_bytes(self.dir / rel, data)
        return state

    def stop(self) -> None:
        self.actor.stop.remote()

    def kill(self) -> None:
        self.ray.kill(self.actor)


class RayJobManager:
    """JobManager's interface on a Ray cluster (see builder.jobs.local for the contract)."""

    def __init__(self, runs_root, address: str | None = None, cpus: float | None = None, gpus: float | None = None,
                 warm: int | None = None):
        """`warm`: actors kept warm (LAYERLAB_RAY_WARM_ACTORS; unset: as many runs as the cluster fits now,
        at most MAX_AUTO_WARM)."""
        self.root = Path(runs_root)
        self.root.mkdir(parents=True, exist_ok=True)
        self.ray = connect(address)
        self.cpus = cpus or settings.number("LAYERLAB_RAY_CPUS", 1)
        resources = self.ray.cluster_resources()
        self.gpus = gpus if gpus is not None else settings.number("LAYERLAB_RAY_GPUS",
                                                                  0.25 if resources.get("GPU", 0) > 0 else 0)
        self.warm = warm if warm is not None else settings.ray_warm_actors()
        if self.warm is None:
            self.warm = min(MAX_AUTO_WARM, runs_that_fit(resources, self.cpus, self.gpus))
        self._spare = [new_actor(self.ray, self.cpus, self.gpus, warm=True) for _ in range(self.warm)]
        self._runs: dict[str, RemoteRun] = {}  # handed to an actor (Ray may still be placing it)
        self._waiting = Turns()  # runs waiting here for room in the cluster, served by workspace in turn
        self._more: dict[str, int | None] = {}  # waiting run → more epochs to go on with (None: a new run)
        self._fit = max(1, runs_that_fit(resources, self.cpus, self.gpus))
        self._fit_asked = time.monotonic()
        self._lock = threading.RLock()
        self._closed = False
        self.resumed: list[str] = []
        self.interrupted: list[str] = []
        self.recovered = threading.Event()
        self._watcher = threading.Thread(target=self._watch, name="layerlab-ray", daemon=True)
        self._watcher.start()

    # -- the JobManager interface ---------------------------------------------------------------
    def submit(self, experiment, name: str | None = None, workspace: str | None = None,
               sweep: str | None = None, trial: int | None = None) -> str:
        """As the local manager's: the same workspace and sweep rules (`jobs.admit`); Ray schedules the actors
        (a sweep's trials spread over the cluster's nodes)."""
        exp = checked(experiment, name)
        with self._lock:
            if self._closed:
                raise RuntimeError("the job manager is shut down")
            active = self._active_of(workspace, sweep) if workspace or sweep else 0
            run_id = admit_new_run(self.root, exp, workspace, active, sweep, trial)
            self._wait_for_room(run_id, owner_tag(workspace) if workspace else None, None)
        return run_id

    def resume(self, run_id: str, more_epochs: int, workspace: str | None = None) -> None:
        """As the local manager's: a new actor goes on from the checkpoint in the run folder here."""
        with self._lock:
            if self._closed:
                raise RuntimeError("the job manager is shut down")
            queue_continue(self.root, run_id, workspace, self._active_of(workspace) if workspace else 0)
            self._wait_for_room(run_id, owner(self.root / run_id), more_epochs)

    def stop(self, run_id: str, workspace: str | None = None) -> bool:
        """As the local manager's: only the run's owner (or the teacher) may stop it (NotYourRun)."""
        if workspace is not None and (self.root / run_id).is_dir():
            check_access(self.root / run_id, workspace, "stop")
            note_stopper(self.root / run_id, workspace)
        with self._lock:
            remote = self._runs.get(run_id)
            if self._waiting.remove(run_id):
                self._more.pop(run_id, None)
                runfolder.write_status(self.root / run_id, status="stopped", finished=time.time(), error=None,
                                       note="stopped before it started")
                return True
            if remote is None:
                return False
            if not remote.placed():  # still waiting for resources: cancel it
                remote.kill()
                del self._runs[run_id]
                runfolder.write_status(self.root / run_id, status="stopped", finished=time.time(), error=None,
                                       note="stopped before it started")
                return True
            remote.stop()
            return True

    def status(self, run_id: str) -> dict:
        status = runfolder.read_status(self.root / run_id)
        with self._lock:
            queued = self.queued()
            if run_id in queued:
                status["queue_position"] = queued.index(run_id) + 1
        return status

    def running(self) -> list[str]:
        with self._lock:
            return [run_id for run_id, remote in self._runs.items() if remote.placed()]

    def queued(self) -> list[str]:
        """Runs Ray is placing, then those waiting here in the order they will be handed to Ray."""
        with self._lock:
            placing = [run_id for run_id, remote in self._runs.items() if not remote.placed()]
            return placing + self._waiting.order()

    def worker_pids(self) -> list[int]:
        with self._lock:
            return [remote.pid for remote in self._runs.values() if remote.placed() and remote.pid]

    def worker_threads(self) -> list[dict]:
        return []  # each actor sizes its pools from its declared CPUs

    def wait_ready(self, timeout: float = 60.0) -> bool:
        """The warm actors are placed and warmed up (False if not within `timeout`)."""
        with self._lock:
            pings = [actor.pid.remote() for actor in self._spare]
        return len(self.ray.wait(pings, num_returns=len(pings), timeout=timeout)[0]) == len(pings)

    def wait(self, run_id: str, timeout: float = 120.0) -> dict:
        self.recovered.wait(timeout)

        def busy() -> bool:
            with self._lock:
                return run_id in self._runs or run_id in self._waiting

        return wait_until_final(self.status, run_id, busy, timeout)

    def shutdown(self, timeout: float = 15.0) -> None:
        """As the local manager's: runs waiting here stay `queued` in their folders (the next server starts
        them); those Ray is placing are stopped, running ones stop and save."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            self._waiting.clear()
            self._more.clear()
            for run_id in self.queued():
                self.stop(run_id)
            for remote in self._runs.values():
                remote.stop()
            for actor in self._spare:
                self.ray.kill(actor)
            self._spare.clear()
        end = time.monotonic() + timeout
        while time.monotonic() < end and self._runs:
            time.sleep(0.05)
        self._watcher.join(timeout=2)
        with self._lock:
            for run_id, remote in self._runs.items():
                remote.kill()
                runfolder.write_status(self.root / run_id, status="interrupted", finished=time.time(),
                                       error="the server stopped while this run was training")
            self._runs.clear()

    # -- internals ---------------------------------------------------------------------------------
    def _actor(self):
        """A warm actor when one is free, else a new one (queued by Ray until its resources are free)."""
        return self._spare.pop(0) if self._spare else new_actor(self.ray, self.cpus, self.gpus)

    def _wait_for_room(self, run_id: str, tag: str | None, more_epochs: int | None, first: bool = False) -> None:
        """Queue a run here; the watcher hands it to an actor when the cluster has room (`_hand_out`)."""
        self._waiting.add(run_id, tag, first)
        self._more[run_id] = more_epochs
        self._hand_out()

    def _hand_out(self) -> None:
        """Waiting runs to actors, in turn, while the cluster holds more: a warm actor is free, or the runs
        and warm actors together fit in fewer than the runs it holds at once (asked again every CAPACITY_S)."""
        if time.monotonic() - self._fit_asked >= CAPACITY_S:
            self._fit = max(1, runs_that_fit(self.ray.cluster_resources(), self.cpus, self.gpus))
            self._fit_asked = time.monotonic()
        while self._waiting and not self._closed and (self._spare or len(self._runs) + len(self._spare) < self._fit):
            run_id = self._waiting.take()
            self._runs[run_id] = RemoteRun(self.ray, self.root / run_id, self._actor(), self._more.pop(run_id))

    def _release(self, actor) -> None:
        """A finished run's actor: cleaned and kept warm for the next waiting run, or while the pool is short;
        else ended."""
        if not self._closed and (self._waiting or len(self._spare) < self.warm):
            try:
                self.ray.get(actor.reset.remote(), timeout=30)
                self._spare.append(actor)
                return
            except (self.ray.exceptions.RayError, TimeoutError):
                pass  # not fit to keep: ended below
        self.ray.kill(actor)

    def _active_of(self, workspace: str | None, sweep: str | None = None) -> int:
        """Runs of `sweep`, or else the workspace's single runs (its sweeps' trials apart)."""
        statuses = [runfolder.read_status(self.root / r) for r in [*self._runs, *self._waiting.order()]]
        if sweep:
            return sum(1 for s in statuses if s.get("sweep") == sweep)
        return sum(1 for s in statuses if s.get("owner") == owner_tag(workspace) and not s.get("sweep"))

    def _recover(self) -> None:
        """As the local manager's, on the watcher thread (Ray ends a dead server's actors by itself)."""
        queued_again, interrupted = recover(self.root)
        with self._lock:
            self.interrupted = interrupted
            self.resumed = [run_id for run_id, more in queued_again if more is not None]
            if not self._closed:
                for run_id, more_epochs in reversed(queued_again):  # before any submitted meanwhile
                    self._wait_for_room(run_id, owner(self.root / run_id), more_epochs, first=True)
        self.recovered.set()

    def _watch(self) -> None:
        self._recover()
        while not self._closed or self._runs:
            with self._lock:
                for run_id, remote in list(self._runs.items()):
                    if remote.placed() and self._sync(run_id, remote):
                        del self._runs[run_id]
                self._hand_out()
            time.sleep(POLL_S)

    def _sync(self, run_id: str, remote: RemoteRun) -> bool:
        """Mirror one run's files; True when it has ended (its actor is then released)."""
        try:
            ended = remote.sync() is not None
        except self.ray.exceptions.RayError as e:
            runfolder.write_status(self.root / run_id, status="failed", finished=time.time(), error=death_reason(e))
            return True
        if ended:
            self._release(remote.actor)
        return ended


def runs_that_fit(resources: dict, cpus: float, gpus: float) -> int:
    """How many runs asking for `cpus` CPUs and `gpus` of a GPU the cluster's `resources` hold at once."""
    fits = [resources.get("CPU", 0) // cpus] if cpus > 0 else []
    fits += [resources.get("GPU", 0) // gpus] if gpus > 0 else []
    return int(min(fits)) if fits else 0


def death_reason(error: Exception) -> str:
    first = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
    return (f"the Ray worker training this run died ({type(error).__name__}: {first[:200]}) — its process was "
            "killed, ran out of memory or its node left the cluster. The metrics so far are kept.")



def cli_train(experiment_path, out_dir, address: str | None = None) -> int:
    """`python -m builder train EXP --out DIR --executor ray`: the same lines and exit code as the local trainer."""
    try:
        exp = checked(Path(experiment_path))
        ray = connect(address)
    except SpecError as e:
        print("\n".join(e.problems), file=sys.stderr)
        return 1
    except RayUnavailable as e:
        print(str(e), file=sys.stderr)
        return 1
    run_dir = Path(out_dir)
    create_run(run_dir.parent, exp, run_dir)
    remote = RemoteRun(ray, run_dir, new_actor(ray, settings.number("LAYERLAB_RAY_CPUS", 1),
                                               settings.number("LAYERLAB_RAY_GPUS", 0)))
    print(f"training {exp.title} → {run_dir} (on Ray)", flush=True)
    shown, state = 0, None
    try:
        while state is None:
            time.sleep(POLL_S)
            state = remote.sync()
            rows = runfolder.read_jsonl(run_dir / runfolder.METRICS)
            for row in rows[shown:]:
                print(epoch_line(row, total_epochs(exp.hp)), flush=True)
            shown = len(rows)
    except ray.exceptions.RayError as e:
        runfolder.write_status(run_dir, status="failed", finished=time.time(), error=death_reason(e))
    finally:
        remote.kill()
    status = runfolder.read_status(run_dir)
    print(f"{status['status']}: {status['error']}" if status.get("error") else status["status"], flush=True)
    return 1 if status["status"] == "failed" else 0
