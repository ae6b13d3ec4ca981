"""What both job managers do with runs a gone server left, and with a run asked to go on: find them, reap
the dead server's workers, and queue them again from their checkpoints (docs/architecture.md, restart rules)."""
from __future__ import annotations

import os
import signal
import time
from pathlib import Path

from builder.jobs.submission import admit
from builder.jobs.worker import RESUME
from builder.store import runfolder
from builder.store.workspace import check_access
from builder.train import checkpoint

CONTINUABLE = ("completed", "stopped", "interrupted")


RESUMED_NOTE = "resumed after a server restart"


ORPHAN_GRACE_S = 15.0  # a dead server's worker stops by itself within this (worker.EXIT_GRACE_S); then it is killed


def recover(root: Path, grace: float = ORPHAN_GRACE_S) -> tuple[list[tuple[str, int | None]], list[str]]:
    """What a starting server does with the runs a gone server left active; returns (runs to queue again,
    oldest first, each with its `more_epochs`: None starts it afresh, worker.RESUME goes on from its
    checkpoint; runs marked `interrupted`, with the reason).

    Live workers of a dead server are reaped first (each stops by itself when its server dies: see
    worker.ServerWatch; one that has not within `grace` seconds is killed), so no run trains twice.
    A run still trained by another live server, or by a CLI process, is left alone.
    """
    left = []
    for run_dir in (p for p in Path(root).iterdir() if p.is_dir()):
        status = runfolder.read_status(run_dir)
        state = status.get("status")
        if status.get("manager_pid") == os.getpid():
            continue  # submitted to this server while it recovered
        if state in runfolder.ACTIVE or (state == "interrupted" and status.get("resume_on_restart") is True):
            left.append((status.get("created") or 0.0, run_dir, status))
    left.sort(key=lambda item: item[0])
    orphans = [s["pid"] for _, _, s in left if _is_orphan(s)]
    reap(orphans, grace)
    queued_again, interrupted = [], []
    for _, run_dir, status in left:
        if status.get("status") == "running" and _alive(status.get("pid")) and not _is_orphan(status):
            continue  # another live server's worker, or a CLI run, is still training it
        status = runfolder.read_status(run_dir)  # the reaped worker may have written its end
        more, note = restart_plan(run_dir, status)
        if more == "interrupted":
            runfolder.write_status(run_dir, status="interrupted", finished=time.time(), resume_on_restart=None,
                                   error=note)
            interrupted.append(run_dir.name)
            continue
        runfolder.write_status(run_dir, status="queued", finished=None, error=None, note=note,
                               resume_on_restart=None, manager_pid=os.getpid())
        queued_again.append((run_dir.name, RESUME if more == "resume" else None))
    return queued_again, interrupted


def restart_plan(run_dir: Path, status: dict) -> tuple[str, str | None]:
    """("fresh" | "resume" | "interrupted", the note or reason) for a run a gone server left."""
    if status.get("status") == "queued":
        return "fresh", None
    if not checkpoint.path(run_dir).exists() and not runfolder.read_jsonl(run_dir / runfolder.METRICS):
        return "fresh", RESUMED_NOTE  # cut off before its first epoch ended: nothing to lose
    problem = checkpoint.problem(run_dir)
    if problem:
        return "interrupted", f"the server stopped while this run was training, and {problem}"
    return "resume", RESUMED_NOTE


def queue_continue(root: Path, run_id: str, workspace: str | None, active: int) -> None:
    """Check that the run may go on, asked by `workspace` (its owner or the teacher: NotYourRun; which has
    `active` runs: the rules of a new run, `admit`), and mark it queued. ValueError, in plain words, when
    it cannot: still active, or no usable checkpoint. Shared by every job manager's `resume`."""
    run_dir = root / run_id
    if workspace is not None:
        check_access(run_dir, workspace, "continue")
    problem = continue_problem(run_dir)
    if problem:
        raise ValueError(problem)
    admit(root, workspace, active)
    runfolder.write_status(run_dir, status="queued", finished=None, error=None, note=None, manager_pid=os.getpid())


def continue_problem(run_dir: Path) -> str | None:
    """Why a run cannot be continued now, in plain words, or None."""
    state = runfolder.read_status(run_dir).get("status")
    if state not in CONTINUABLE:
        return f"only a finished, stopped or interrupted run can go on; this one is {state or 'unreadable'}"
    return checkpoint.problem(run_dir)


def _is_orphan(status: dict) -> bool:
    """Trained by a worker that is alive while the server that started it is gone."""
    manager = status.get("manager_pid")
    return (status.get("status") == "running" and bool(manager) and manager != os.getpid()
            and not _alive(manager) and _alive(status.get("pid")))


def reap(pids: list[int], grace: float) -> None:
    """Wait up to `grace` seconds for these workers to end by themselves, then kill those still alive
    (only processes that are multiprocessing workers: a reused pid is left alone)."""
    end = time.monotonic() + grace
    while time.monotonic() < end and any(_alive(p) for p in pids):
        time.sleep(0.1)
    for pid in pids:
        if _alive(pid) and _is_worker(pid):
            os.kill(pid, signal.SIGKILL)
    end = time.monotonic() + 5
    while time.monotonic() < end and any(_alive(p) for p in pids):
        time.sleep(0.05)


def _is_worker(pid: int) -> bool:
    """A spawned multiprocessing child, or one forked from a fork server (which shows the server's command)."""
    try:
        command = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return False
    return b"--multiprocessing-fork" in command or b"multiprocessing.forkserver" in command


def _alive(pid) -> bool:
    """The process exists and is not a zombie (a killed orphan that nobody has reaped yet)."""
    if not pid:
        return False
    try:
        os.kill(int(pid), 0)
    except (OSError, ValueError):
        return False
    try:
        return Path(f"/proc/{int(pid)}/stat").read_text().rpartition(")")[2].split()[0] != "Z"
    except (OSError, IndexError):
        return True  # no /proc (macOS): it exists
