"""Workspaces: each student's own corner of a shared server, and who may touch which run.

A workspace is a random, unguessable id (carried in the app's URL as `?ws=…`)
and a folder `<home>/<id>/` holding `state.json`: the student's display name,
current model, data choice, augmentation, training settings and a short undo
history. It is written atomically on every change and read back on a reload,
in a second tab or on another machine with the link.

A run records the workspace that started it (`status.json` "workspace") and
whether its owner shared it with the class ("shared"). `check_access` is the
one rule every engine call that reads, stops or deletes a run goes through:
the owner may do anything, others may read a shared run, the teacher may do
anything, and runs without an owner (made by the CLI or before workspaces
existed) stay open to all.
"""
from __future__ import annotations

import json
import re
import secrets
from pathlib import Path

from builder.spec import atomic_write_text
from builder.train import runfolder

ID_PATTERN = re.compile(r"[A-Za-z0-9_-]{16}")
STATE = "state.json"
ASSIGNMENT = "assignment.json"  # in the workspaces folder: the experiment the teacher handed out
TEACHER = "teacher"  # the role that may read and stop every run (never a workspace id: ids have 16 chars)


class QuotaExceeded(ValueError):
    """A workspace asked for more than its share; the message says what to do."""


class NotYourRun(PermissionError):
    """The caller's workspace may not do this to that run; the message says why in plain words."""


def new_id() -> str:
    """16 URL-safe characters from the OS's secure random source (96 bits)."""
    return secrets.token_urlsafe(12)


def is_id(value) -> bool:
    return isinstance(value, str) and ID_PATTERN.fullmatch(value) is not None


class Workspaces:
    """The workspaces folder: `<home>/<id>/state.json` per workspace."""

    def __init__(self, home):
        self.home = Path(home)

    def folder(self, ws: str) -> Path:
        if not is_id(ws):
            raise ValueError(f"'{ws}' is not a workspace link; open the app without it to start a new workspace")
        return self.home / ws

    def exists(self, ws: str) -> bool:
        return is_id(ws) and (self.home / ws / STATE).is_file()

    def create(self) -> str:
        ws = new_id()
        self.save(ws, {})
        return ws

    def load(self, ws: str) -> dict:
        """The saved state of a workspace ({} when it has none or the file is damaged)."""
        data = runfolder.read_json(self.folder(ws) / STATE, {})
        return data if isinstance(data, dict) else {}

    def save(self, ws: str, state: dict) -> None:
        folder = self.folder(ws)
        folder.mkdir(parents=True, exist_ok=True)
        atomic_write_text(folder / STATE, json.dumps(state, sort_keys=True))

    def save_assignment(self, experiment: dict) -> None:
        self.home.mkdir(parents=True, exist_ok=True)
        atomic_write_text(self.home / ASSIGNMENT, json.dumps(experiment, sort_keys=True))

    def assignment(self) -> dict | None:
        """The experiment the teacher handed out, if any."""
        data = runfolder.read_json(self.home / ASSIGNMENT)
        return data if isinstance(data, dict) else None

    def add_upload(self, ws: str, upload_id: str, nbytes: int) -> None:
        """Record an upload in the workspace, refusing it beyond the workspace's upload budgets."""
        from builder import limits

        state = self.load(ws)
        uploads = [u for u in state.get("uploads") or [] if isinstance(u, dict) and u.get("id") != upload_id]
        if len(uploads) + 1 > limits.get("max_workspace_uploads"):
            raise QuotaExceeded(f"Your workspace already keeps {len(uploads)} uploads, the most it may. "
                                "Use one of them, or ask the teacher to raise LAYERLAB_MAX_WORKSPACE_UPLOADS.")
        used = sum(int(u.get("bytes") or 0) for u in uploads) + nbytes
        if used > limits.get("max_workspace_upload_mb"):
            raise QuotaExceeded(f"Your uploads would take {used // limits.MB:,} MB, more than the "
                                f"{limits.get('max_workspace_upload_mb') // limits.MB:,} MB a workspace may keep.")
        state["uploads"] = [*uploads, {"id": upload_id, "bytes": int(nbytes)}]
        self.save(ws, state)

    def ids(self) -> list[str]:
        if not self.home.is_dir():
            return []
        return sorted(p.name for p in self.home.iterdir() if self.exists(p.name))


# -- runs and who may touch them ----------------------------------------------------------
def owner(run_dir) -> str | None:
    ws = runfolder.read_status(run_dir).get("workspace")
    return ws if isinstance(ws, str) else None


def is_shared(run_dir) -> bool:
    return runfolder.read_status(run_dir).get("shared") is True


def may_read(run_dir, ws: str | None) -> bool:
    who = owner(run_dir)
    return who is None or ws in (who, TEACHER) or is_shared(run_dir)


def may_change(run_dir, ws: str | None) -> bool:
    who = owner(run_dir)
    return who is None or ws in (who, TEACHER)


def check_access(run_dir, ws: str | None, action: str) -> None:
    """Raise NotYourRun unless workspace `ws` may `action` ("read", "stop", "delete", "share") the run."""
    allowed = may_read(run_dir, ws) if action == "read" else may_change(run_dir, ws)
    if not allowed:
        name = Path(run_dir).name
        raise NotYourRun(f"run '{name}' belongs to another student; only they (or the teacher) can {action} it"
                         if action != "read" else f"run '{name}' belongs to another student and is not shared")


def set_shared(run_dir, ws: str | None, shared: bool) -> None:
    """Share a run with the class (read-only for others) or take it back; owner only."""
    check_access(run_dir, ws, "share")
    runfolder.write_status(run_dir, shared=bool(shared))


# -- the teacher's view of the class --------------------------------------------------------
def class_rows(workspaces: Workspaces, runs: list) -> list[dict]:
    """One row per workspace: name, model, its run now (status, epoch), best test accuracy so far.

    `runs` are RunStore.list() RunInfos (the teacher sees all). Pure reading: nothing is changed.
    """
    by_ws: dict[str, list] = {}
    for r in runs:
        by_ws.setdefault(r.workspace, []).append(r)
    rows = []
    for ws in workspaces.ids():
        state = workspaces.load(ws)
        mine = by_ws.get(ws, [])
        active = next((r for r in mine if r.status in runfolder.ACTIVE), None)
        best = max((r.final.get("test_accuracy") for r in mine if isinstance(r.final.get("test_accuracy"), float)),
                   default=None)
        spec = state.get("spec") if isinstance(state.get("spec"), dict) else {}
        rows.append({
            "workspace": ws, "name": state.get("name") or f"student {ws[:4]}",
            "model": spec.get("name", ""), "layers": len(spec.get("nodes") or []),
            "dataset": (state.get("data") or {}).get("dataset", ""),
            "run now": active.id if active else None, "status": active.status if active else None,
            "epoch": f"{active.epochs_done}/{active.epochs or '?'}" if active else None,
            "runs": len(mine), "best test accuracy": best,
        })
    return rows


def leaderboard(runs: list) -> list[dict]:
    """Finished runs with a test accuracy, best first, per dataset (dataset, student, run, accuracy)."""
    rows = [{"dataset": r.dataset, "workspace": r.workspace, "run": r.id, "model": r.model,
             "test accuracy": r.final["test_accuracy"]}
            for r in runs if isinstance(r.final.get("test_accuracy"), float)]
    return sorted(rows, key=lambda row: (row["dataset"], -row["test accuracy"]))
