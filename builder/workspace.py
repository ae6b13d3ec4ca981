"""Workspaces: each student's own corner of a shared server, and who may touch which run.

A workspace is a random, unguessable id (carried in the app's URL as `?ws=…`)
and a folder `<home>/<id>/` holding `state.json`: the student's display name,
current model, data choice, augmentation, training settings, a short undo
history and the uploads it keeps. The folder is made when the workspace first
saves something (a visit alone leaves nothing behind), at most
`max_workspaces` of them; empty ones are swept. Every save is versioned: a
save made from an older version (a second tab) keeps the newer edits, field
group by field group (`save`). A loaded file is checked field by field: what
is valid is kept, what is not is reset and named (`open`).

The id is the only credential, so no run folder holds it: a run records a
one-way hash of its owner's id (`status.json` "owner", `owner_tag`), and a run
folder written before that (a plain "workspace" id) is rewritten on first
read. Whether its owner shared it with the class is `"shared"`. `check_access`
is the one rule every engine call that reads, stops or deletes a run goes
through: the owner may do anything, others may read a shared run, the teacher
may do anything, and runs without an owner (made by the CLI or before
workspaces existed) stay open to all.
"""
from __future__ import annotations

import fcntl
import hashlib
import json
import re
import secrets
import shutil
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from builder import limits
from builder.spec import atomic_write_bytes, atomic_write_text
from builder.train import runfolder

ID_PATTERN = re.compile(r"[A-Za-z0-9_-]{16}")
STATE = "state.json"
BROKEN = "state.broken.json"  # the last unreadable state file, kept beside the repaired one
LOCK = ".lock"
ASSIGNMENT = "assignment.json"  # in the workspaces folder: the experiment the teacher handed out
CLASS = "class.json"  # in the workspaces folder: the teacher's hidden roster rows (owner tags)
TEACHER = "teacher"  # the role that may read and stop every run (never a workspace id: ids have 16 chars)
SWEEP_GRACE_S = 60  # a folder without a state file younger than this may be one being made right now

# Fields a session edits together: a save from an older version keeps the other tab's newer group whole.
GROUPS = (("spec", "history", "future", "data_history", "data_future", "gan_part", "gan_other"), ("data", "upload_id"), ("augmentation",),
          ("training",), ("run_id",), ("name",), ("admitted",), ("welcome_dismissed",), ("uploads",))
WORK = {"spec", "history", "future", "data_history", "data_future", "gan_other", "data", "upload_id", "augmentation", "training", "run_id",
        "name", "uploads"}  # a change to these means the workspace did something (the teacher lists it)


def _is_str_or_none(v) -> bool:
    return v is None or isinstance(v, str)


def _is_spec(v) -> bool:
    return isinstance(v, dict) and isinstance(v.get("nodes", []), list) and all(
        isinstance(n, dict) for n in v.get("nodes", []))


def _is_specs(v) -> bool:
    return isinstance(v, list) and all(_is_spec(s) for s in v)


def _is_gan_other(v) -> bool:
    return v is None or (isinstance(v, dict) and _is_spec(v.get("spec")) and _is_specs(v.get("history", []))
                         and _is_specs(v.get("future", [])))


def _is_data_steps(v) -> bool:
    return isinstance(v, list) and all(s is None or (isinstance(s, dict) and isinstance(s.get("data"), dict)
                                                     and _is_str_or_none(s.get("upload_id"))) for s in v)


def _is_upload(v) -> bool:
    return isinstance(v, dict) and isinstance(v.get("id"), str) and isinstance(v.get("bytes", 0), int)


# field -> (check, what the student reads when it was reset)
FIELDS = {
    "spec": (_is_spec, "the model"),
    "history": (_is_specs, "the undo history"),
    "future": (_is_specs, "the redo history"),
    "data_history": (_is_data_steps, "the data choices in the undo history"),
    "data_future": (_is_data_steps, "the data choices in the redo history"),
    "data": (lambda v: isinstance(v, dict) and isinstance(v.get("dataset", ""), str), "the data choice"),
    "upload_id": (_is_str_or_none, "the chosen upload"),
    "augmentation": (lambda v: isinstance(v, list) and all(isinstance(e, dict) for e in v), "the augmentation"),
    "training": (lambda v: isinstance(v, dict), "the training settings"),
    "run_id": (_is_str_or_none, "the current run"),
    "name": (lambda v: isinstance(v, str), "your name"),
    "admitted": (lambda v: isinstance(v, bool), "the class code"),
    "welcome_dismissed": (lambda v: isinstance(v, bool), "the welcome note"),
    "gan_part": (lambda v: v in (None, "generator", "discriminator"), "the GAN network on the canvas"),
    "gan_other": (_is_gan_other, "the GAN's other network"),
    "uploads": (lambda v: isinstance(v, list) and all(_is_upload(u) for u in v), "the list of your uploads"),
    "version": (lambda v: isinstance(v, int) and not isinstance(v, bool) and v >= 0, "the save counter"),
    "active": (lambda v: isinstance(v, bool), "the did-something mark"),
}


class QuotaExceeded(ValueError):
    """A workspace asked for more than its share; the message says what to do."""


class NotYourRun(PermissionError):
    """The caller's workspace may not do this to that run; the message says why in plain words."""


def new_id() -> str:
    """16 URL-safe characters from the OS's secure random source (96 bits)."""
    return secrets.token_urlsafe(12)


def is_id(value) -> bool:
    return isinstance(value, str) and ID_PATTERN.fullmatch(value) is not None


def owner_tag(ws: str) -> str:
    """What a run folder records of its owner: a one-way hash of the workspace id (the id has 96 random
    bits, so the tag cannot be turned back into it, and a tag is not a link: `is_id` refuses it)."""
    return hashlib.sha256(f"layerlab-owner:{ws}".encode()).hexdigest()[:32]


def clean_state(raw) -> tuple[dict, list[str]]:
    """(the valid fields of a loaded state, what was reset in words); unknown keys are dropped silently."""
    if not isinstance(raw, dict):
        return {}, ["everything (the saved file was not a workspace)"]
    state, reset = {}, []
    for key, value in raw.items():
        if key not in FIELDS:
            continue
        check, words = FIELDS[key]
        if check(value):
            state[key] = value
        else:
            reset.append(words)
    return state, reset


def did_something(state: dict) -> bool:
    """Whether a workspace was used (edited, trained, uploaded, named), not only opened."""
    return state.get("active") is True or any(state.get(key) for key in ("history", "future", "run_id", "name",
                                                                          "uploads"))


@dataclass
class Opened:
    """A workspace's state as loaded, and what had to be reset (empty when the file was sound)."""
    state: dict
    reset: list[str] = field(default_factory=list)


@dataclass
class Saved:
    """A save's outcome: the state now on disk and the field groups another tab had changed (taken as they
    were there, not overwritten)."""
    state: dict
    theirs: list[str] = field(default_factory=list)


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

    def open(self, ws: str) -> Opened:
        """The saved state, field by field: valid fields kept, the rest reset, named, and the file repaired (the
        unreadable one kept as state.broken.json). A workspace with no file opens empty, with nothing reset."""
        path = self.folder(ws) / STATE
        try:
            raw_bytes = path.read_bytes()
        except FileNotFoundError:
            return Opened({})
        except OSError:
            raw_bytes = b""
        try:
            raw = json.loads(raw_bytes.decode("utf-8"))
        except ValueError:  # not JSON, cut short, not UTF-8
            raw = None
        if raw is None:
            state, reset = {}, ["everything (the saved file was damaged or cut short)"]
        else:
            state, reset = clean_state(raw)
        if reset:
            self._repair(ws, raw_bytes, state)
        return Opened(state, reset)

    def _repair(self, ws: str, raw_bytes: bytes, state: dict) -> None:
        folder = self.folder(ws)
        try:
            with self._locked(folder):
                atomic_write_bytes(folder / BROKEN, raw_bytes)
                atomic_write_text(folder / STATE, json.dumps(state, sort_keys=True))
        except OSError:
            pass  # a read-only folder: the valid fields are still served

    def load(self, ws: str) -> dict:
        """The saved state's valid fields ({} when it has none or the file is damaged)."""
        return self.open(ws).state

    def save(self, ws: str, state: dict, base: dict | None = None) -> Saved:
        """Write `state`'s fields over the saved ones and count a new version.

        `base` is the state this writer last read (with its "version"): when the file has moved on since
        (another tab saved), each field group the other writer changed is kept as it is on disk, and only the
        groups this writer alone changed are written. The first save makes the folder, within
        `max_workspaces` (QuotaExceeded beyond it, after sweeping empty workspaces)."""
        folder = self.folder(ws)
        if not folder.is_dir():
            self._make_room()
            folder.mkdir(parents=True, exist_ok=True)
        with self._locked(folder):
            current = self.load(ws)
            mine, theirs = dict(state), []
            if base is not None and int(base.get("version") or 0) != int(current.get("version") or 0):
                for group in GROUPS:
                    they_changed = any(current.get(k) != base.get(k) for k in group)
                    if they_changed and any(k in state for k in group):
                        theirs.append(group[0])
                        for k in group:
                            mine.pop(k, None)
            new = {**current, **mine, "version": int(current.get("version") or 0) + 1}
            if any(current.get(k) != new.get(k) for k in WORK & set(mine)):
                new["active"] = True
            atomic_write_text(folder / STATE, json.dumps(new, sort_keys=True))
        return Saved(new, theirs)

    @contextmanager
    def _locked(self, folder: Path):
        """One writer at a time per workspace (two tabs, two server threads)."""
        with open(folder / LOCK, "a") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    def _make_room(self) -> None:
        if len(self.ids()) < limits.get("max_workspaces"):
            return
        self.sweep()
        if len(self.ids()) >= limits.get("max_workspaces"):
            raise QuotaExceeded(f"The server already keeps {limits.get('max_workspaces'):,} workspaces, the most it "
                                "may, so your work cannot be saved. Ask the teacher to raise LAYERLAB_MAX_WORKSPACES.")

    def sweep(self) -> list[str]:
        """Remove workspaces that never did anything (no edit, run, upload or name) and folders left without
        a state file; returns their ids."""
        if not self.home.is_dir():
            return []
        gone = []
        for folder in self.home.iterdir():
            if not (folder.is_dir() and is_id(folder.name)):
                continue
            if (folder / STATE).is_file():
                empty = not did_something(self.load(folder.name))
            else:
                empty = time.time() - folder.stat().st_mtime > SWEEP_GRACE_S
            if empty:
                shutil.rmtree(folder, ignore_errors=True)
                gone.append(folder.name)
        return gone

    def save_assignment(self, experiment: dict) -> None:
        self.home.mkdir(parents=True, exist_ok=True)
        atomic_write_text(self.home / ASSIGNMENT, json.dumps(experiment, sort_keys=True))

    def assignment(self) -> dict | None:
        """The experiment the teacher handed out, if any."""
        data = runfolder.read_json(self.home / ASSIGNMENT)
        return data if isinstance(data, dict) else None

    def hidden(self) -> set[str]:
        """Owner tags of the roster rows the teacher hid."""
        data = runfolder.read_json(self.home / CLASS, {})
        tags = data.get("hidden") if isinstance(data, dict) else None
        return {t for t in tags if isinstance(t, str)} if isinstance(tags, list) else set()

    def set_hidden(self, tags) -> None:
        self.home.mkdir(parents=True, exist_ok=True)
        atomic_write_text(self.home / CLASS, json.dumps({"hidden": sorted(set(tags))}))

    def uploads(self, ws: str) -> list[dict]:
        """The uploads the workspace keeps, oldest first: {"id", "name" (the file's name), "bytes"}."""
        return [{**u, "name": u.get("name") or "an upload"} for u in self.load(ws).get("uploads", [])]

    def add_upload(self, ws: str, upload_id: str, nbytes: int, name: str = "") -> None:
        """Record an upload (by its file name) in the workspace, refusing it beyond the workspace's upload
        budgets."""
        uploads = [u for u in self.load(ws).get("uploads", []) if u.get("id") != upload_id]
        if len(uploads) + 1 > limits.get("max_workspace_uploads"):
            raise QuotaExceeded(f"Your workspace already keeps {len(uploads)} uploads, the most it may. "
                                "Use one of them, or ask the teacher to raise LAYERLAB_MAX_WORKSPACE_UPLOADS.")
        used = sum(int(u.get("bytes") or 0) for u in uploads) + nbytes
        if used > limits.get("max_workspace_upload_mb"):
            raise QuotaExceeded(f"Your uploads would take {used // limits.MB:,} MB, more than the "
                                f"{limits.get('max_workspace_upload_mb') // limits.MB:,} MB a workspace may keep.")
        self.save(ws, {"uploads": [*uploads, {"id": upload_id, "bytes": int(nbytes), "name": str(name)[:200]}]})

    def ids(self) -> list[str]:
        if not self.home.is_dir():
            return []
        return sorted(p.name for p in self.home.iterdir() if self.exists(p.name))


# -- runs and who may touch them ----------------------------------------------------------
def run_owner(run_dir, status: dict) -> str | None:
    """The owner tag of a run whose status.json holds `status`. A folder written before owners were hashed
    (a plain "workspace" id) is rewritten here, on first read, so the id leaves the folder."""
    legacy = status.get("workspace")
    if is_id(legacy):
        status = {k: v for k, v in status.items() if k != "workspace"} | {"owner": owner_tag(legacy)}
        try:
            runfolder.write_json(Path(run_dir) / runfolder.STATUS, status)
        except OSError:
            pass  # read-only: the tag still answers, the download strips the id (RunStore.zip_run)
    tag = status.get("owner")
    return tag if isinstance(tag, str) else None


def owner(run_dir) -> str | None:
    return run_owner(run_dir, runfolder.read_status(run_dir))


def is_shared(run_dir) -> bool:
    return runfolder.read_status(run_dir).get("shared") is True


def owns(ws: str | None, tag: str | None) -> bool:
    """Whether workspace `ws` is the one a run's owner `tag` names."""
    return is_id(ws) and tag is not None and owner_tag(ws) == tag


def may_read(run_dir, ws: str | None) -> bool:
    return may_change(run_dir, ws) or is_shared(run_dir)


def may_change(run_dir, ws: str | None) -> bool:
    who = owner(run_dir)
    return who is None or ws == TEACHER or owns(ws, who)


def check_access(run_dir, ws: str | None, action: str) -> None:
    """Raise NotYourRun unless workspace `ws` may `action` ("read", "stop", "delete", "share") the run."""
    allowed = may_read(run_dir, ws) if action == "read" else may_change(run_dir, ws)
    if not allowed:
        name = Path(run_dir).name
        raise NotYourRun(f"run '{name}' belongs to another student; only they (or the teacher) can {action} it"
                         if action != "read" else f"run '{name}' belongs to another student and is not shared")


def note_stopper(run_dir, ws: str | None) -> None:
    """Before the teacher stops an active run, record it ("stopped_by": "teacher"), so the student is told who."""
    if ws == TEACHER and runfolder.read_status(run_dir).get("status") in runfolder.ACTIVE:
        runfolder.write_status(run_dir, stopped_by=TEACHER)


def set_shared(run_dir, ws: str | None, shared: bool) -> None:
    """Share a run with the class (read-only for others) or take it back; owner only."""
    check_access(run_dir, ws, "share")
    runfolder.write_status(run_dir, shared=bool(shared))


# -- the teacher's view of the class --------------------------------------------------------
def best_column(dataset: str) -> str:
    return f"best test accuracy ({dataset})"


def class_rows(workspaces: Workspaces, runs: list) -> list[dict]:
    """One row per workspace that did something (edited, trained): its owner tag ("key", never the id), name,
    model, its run now (status, epoch), and its best test accuracy per dataset (a column each).

    `runs` are RunStore.list() RunInfos (the teacher sees all). Pure reading: nothing is changed, and a
    workspace whose state cannot be read still gets its row (marked) without stopping the others.
    """
    by_owner: dict[str, list] = {}
    for r in runs:
        by_owner.setdefault(r.owner, []).append(r)
    datasets = sorted({r.dataset for r in runs if _test_accuracy(r) is not None})
    rows = []
    for ws in workspaces.ids():
        tag = owner_tag(ws)
        mine = by_owner.get(tag, [])
        try:
            state, note = workspaces.load(ws), ""
        except (OSError, ValueError) as e:
            state, note = {}, f"saved work unreadable: {e}"
        if not (mine or did_something(state) or note):
            continue
        rows.append(_class_row(tag, state, mine, datasets) | ({"note": note} if note else {}))
    return rows


def _test_accuracy(run) -> float | None:
    value = run.final.get("test_accuracy")
    return value if isinstance(value, float) else None


def _class_row(tag: str, state: dict, mine: list, datasets: list[str]) -> dict:
    active = next((r for r in mine if r.status in runfolder.ACTIVE), None)
    spec = state.get("spec") or {}
    row = {
        "key": tag, "name": state.get("name") or f"student {tag[:4]}",
        "model": spec.get("name", ""), "layers": len(spec.get("nodes") or []),
        "dataset": (state.get("data") or {}).get("dataset", ""),
        "run now": active.id if active else None, "status": active.status if active else None,
        "epoch": f"{active.epochs_done}/{active.epochs or '?'}" if active else None, "runs": len(mine),
    }
    for dataset in datasets:
        row[best_column(dataset)] = max((a for r in mine if r.dataset == dataset
                                         and (a := _test_accuracy(r)) is not None), default=None)
    return row


def leaderboard(runs: list) -> list[dict]:
    """Finished runs with a test accuracy, best first, per dataset (dataset, owner tag "key", run, accuracy)."""
    rows = [{"dataset": r.dataset, "key": r.owner, "run": r.id, "model": r.model, "test accuracy": acc}
            for r in runs if (acc := _test_accuracy(r)) is not None]
    return sorted(rows, key=lambda row: (row["dataset"], -row["test accuracy"]))


def export_columns(rows: list[dict]) -> list[str]:
    """The class CSV's columns: names and results only (never a key, never a run now)."""
    keep = ["name", "model", "dataset", "runs"]
    return keep + [c for c in (rows[0] if rows else {}) if c.startswith("best test accuracy")]
