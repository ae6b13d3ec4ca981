"""The sweeps of this server (builder.sweep): where they live, starting and stopping one, going on after a restart.

A sweep's loop runs on a thread of the server process (it only polls run folders and talks to Optuna); its
trials are ordinary runs of the shared job manager. The first page that asks after a server start sets the
sweeps a restart cut off going again.
"""
from __future__ import annotations

import secrets
import time
from pathlib import Path

import streamlit as st

from builder import settings
from builder.sweep.study import Sweep, class_sweeps, sweeps_in
from ui import jobs, state


def sweeps_root() -> Path:
    """The sweeps folder: env LAYERLAB_SWEEPS_DIR, else `sweeps/` beside the runs folder."""
    return settings.sweeps_dir(jobs.runs_root())


@st.cache_resource(show_spinner=False)
def _going_on(root: str) -> list[str]:
    """Once per server: the sweeps left `running` by the last one go on (their trials were queued again by the
    job manager's start)."""
    left = [m["id"] for m in sweeps_in(root) if m.get("status") == "running"]
    for sweep_id in left:
        Sweep.open(Path(root) / sweep_id, jobs.get_job_manager()).run_in_background()
    return left


def mine() -> list[dict]:
    """This workspace's sweeps (every sweep for the teacher), newest first."""
    _going_on(str(sweeps_root()))
    return sweeps_in(sweeps_root(), None if state.is_teacher() else state.workspace_id())


def start(experiment: dict) -> str:
    """Check and start a sweep of `experiment` (its `sweep` key) for this workspace; returns its id. SpecError
    lists the problems."""
    _going_on(str(sweeps_root()))
    folder = sweeps_root() / f"{time.strftime('%Y%m%d-%H%M%S')}-{secrets.token_hex(3)}"
    Sweep.create(folder, experiment, jobs.get_job_manager(), workspace=state.workspace_id()).run_in_background()
    return folder.name


def open_sweep(sweep_id: str):
    """The sweep, when this session may see it (its own workspace's, or the teacher); else None."""
    if sweep_id not in {m["id"] for m in mine()}:
        return None
    return Sweep.open(sweeps_root() / sweep_id)  # to read and stop: no job manager needed


def of_class() -> list[dict]:
    """Every student's sweeps for the teacher's Class page (`class_sweeps`: keyed by owner tag, never an id)."""
    return class_sweeps(sweeps_root())


def score_text(value: float | None, objective: str) -> str:
    """A sweep's score as the pages show it: an accuracy as a percentage, a loss as a number; a dash for none."""
    if value is None:
        return "—"
    return f"{value:.1%}" if objective.endswith("accuracy") else f"{value:.4f}"
