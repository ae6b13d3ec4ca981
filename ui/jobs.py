"""The one job manager and run store every browser session shares.

A workshop of thirty sessions on one server must not start thirty trainings:
the JobManager (one per server process, through `st.cache_resource`) queues
runs and bounds how many train at once (env `LAYERLAB_MAX_RUNS`, default from the machine).
Calls into it go through one lock so two sessions clicking Train at the same
moment cannot race.
"""
from __future__ import annotations

import threading
from pathlib import Path

import streamlit as st

from builder import settings
from builder.jobs.local import default_max_runs, make_job_manager
from builder.store.runstore import RunStore
from builder.train import devices
from ui import state

_LOCK = threading.Lock()
_STARTED: set[str] = set()  # runs folders whose JobManager this server has started


def runs_root() -> Path:
    """The runs folder: env LAYERLAB_RUNS_DIR, else `runs/` beside app.py."""
    return settings.runs_dir()


def workspaces_home() -> Path:
    """Where workspaces live: env LAYERLAB_HOME, else `workspaces/` beside the runs folder."""
    return settings.home_dir()


def max_runs() -> int:
    return default_max_runs()


@st.cache_resource(show_spinner="Starting the training worker…")
def _job_manager(root: str, max_concurrent: int):
    manager = make_job_manager(root, max_concurrent=max_concurrent)  # executor: env LAYERLAB_EXECUTOR
    _STARTED.add(root)
    return manager


def get_job_manager():
    """The server-wide JobManager for the current runs folder."""
    return _job_manager(str(runs_root()), max_runs())


@st.cache_resource(show_spinner=False)
def _run_store(root: str):
    return RunStore(root)


def get_run_store():
    """The runs folder as this session may see it: its workspace's runs and shared ones (every run for
    the teacher). The engine refuses the rest (builder.store.workspace.NotYourRun)."""
    return _run_store(str(runs_root())).as_workspace(state.viewer())


def prewarm() -> None:
    """Start the job manager (and its warm worker, which imports Keras) at a server's first page view, so
    click-to-first-curve is short and a restarted server resumes its runs at once. Off with LAYERLAB_PREWARM=0
    (the AppTests do that)."""
    if settings.prewarm():
        try:
            get_job_manager()
        except Exception:  # noqa: BLE001 - Train reports the problem when it is pressed
            pass


def submit(experiment: dict) -> str:
    """Queue a run for this session's workspace; returns its id. Raises ValueError (or NotYourRun) with a
    plain message when refused."""
    with _LOCK:
        return get_job_manager().submit(experiment, workspace=state.workspace_id())


def continue_run(run_id: str, more_epochs: int) -> None:
    """Queue `more_epochs` more of this workspace's run, in its own folder; ValueError (plain words) when it
    cannot go on, NotYourRun for another student's run."""
    with _LOCK:
        get_job_manager().resume(run_id, more_epochs, workspace=state.viewer())


def stop(run_id: str) -> None:
    """Stop a run; the engine refuses another student's run."""
    with _LOCK:
        get_job_manager().stop(run_id, workspace=state.viewer())


def queue_position(run_id: str) -> int | None:
    """1-based place of a queued run in the job queue (None when not queued here).

    Never starts a JobManager (and its worker processes) just to answer this.
    """
    if str(runs_root()) not in _STARTED:
        return None
    try:
        return get_job_manager().status(run_id).get("queue_position")
    except Exception:  # noqa: BLE001 - a missing position only loses a hint
        return None


def others_training(run_id: str) -> bool:
    """Whether a run other than `run_id` trains now (from the job manager's memory, no files read)."""
    if str(runs_root()) not in _STARTED:
        return False
    try:
        return any(r != run_id for r in get_job_manager().running())
    except Exception:  # noqa: BLE001 - only a hint in a message
        return False


def active_runs() -> int:
    """Runs training or queued on this server (0 before its job manager starts: none can be)."""
    if str(runs_root()) not in _STARTED:
        return 0
    try:
        manager = get_job_manager()
        return len(manager.running()) + len(manager.queued())
    except Exception:  # noqa: BLE001 - only paces the live view's polls
        return 0


@st.cache_resource(show_spinner="Looking for a GPU…")
def device_line() -> str:
    """The engine's device line (builder.train.devices.current_line), asked once per server."""
    return devices.current_line()


def error_text(e: Exception) -> str:
    """A plain message from an engine error (SpecError lists its problems one per line)."""
    problems = getattr(e, "problems", None)
    if problems:
        return "; ".join(str(p) for p in problems)
    text = str(e).strip()
    return text or e.__class__.__name__
