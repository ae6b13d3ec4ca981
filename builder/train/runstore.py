"""The run history: every run folder under one root, read-only views for the app.

    store = RunStore("runs")
    store.list()                    # newest first, one RunInfo per run
    store.metrics(run_id)           # per-epoch DataFrame (epoch, loss, val_loss, …)
    store.compare([a, b])           # one row per run: settings + final numbers
    store.zip_run(run_id)           # the whole folder, ready to share
    store.unreadable()              # (run id, reason) for folders the list skips

A malformed run folder (status.json not an object, wrong field types, an
experiment.json that is not an object) is skipped by `list` and named by
`unreadable`; it never breaks the list or the pages.
"""
from __future__ import annotations

import io
import shutil
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

from builder.train import runfolder
from builder.workspace import TEACHER, check_access, owner, owns, run_owner


class RunNotFound(KeyError):
    def __str__(self) -> str:
        return f"no run named '{self.args[0]}' in the run folder"


class RunBusy(ValueError):
    """The run is still queued or training."""


class RunUnreadable(ValueError):
    """A run folder whose files cannot be trusted; the message says which file and why."""


@dataclass
class RunInfo:
    id: str
    name: str
    status: str
    created: float | None
    dataset: str
    model: str
    final: dict = field(default_factory=dict)
    epochs_done: int = 0
    epochs: int | None = None
    error: str | None = None
    path: Path | None = None
    owner: str | None = None  # who started it, as builder.workspace.owner_tag (None: the CLI, or before workspaces)
    shared: bool = False  # its owner shared it with the class (read-only for others)


class RunStore:
    """The runs under `root`, as seen by `workspace`: with one, `list` shows only the runs it may read
    (its own, shared ones, unowned ones; all for the teacher) and `delete`/`zip_run`/`checked` refuse
    other students' runs (builder.workspace.NotYourRun). Without one (the CLI), every run."""

    def __init__(self, root, workspace: str | None = None):
        self.root = Path(root)
        self.workspace = workspace

    def as_workspace(self, workspace: str | None) -> RunStore:
        return RunStore(self.root, workspace)

    def checked(self, run_id: str, action: str = "read") -> Path:
        """The run's folder after checking this store's workspace may `action` it."""
        run_dir = self.path(run_id)
        if self.workspace is not None:
            check_access(run_dir, self.workspace, action)
        return run_dir

    def path(self, run_id: str) -> Path:
        run_dir = self.root / run_id
        if "/" in run_id or "\\" in run_id or run_id in ("", ".", "..") or not run_dir.is_dir():
            raise RunNotFound(run_id)
        return run_dir

    def list(self) -> list[RunInfo]:
        """Every readable run, newest first (malformed folders: see `unreadable`)."""
        runs = [info for info in self._scan() if isinstance(info, RunInfo) and self._readable(info)]
        return sorted(runs, key=lambda r: (r.created or 0, r.id), reverse=True)

    def _readable(self, info: RunInfo) -> bool:
        return (self.workspace is None or info.owner is None or info.shared or self.workspace == TEACHER
                or owns(self.workspace, info.owner))

    def unreadable(self) -> list[tuple[str, str]]:
        """(run id, reason) for each run folder `list` skips because its files are malformed."""
        return sorted((e.args[0], e.args[1]) for e in self._scan() if isinstance(e, RunUnreadable))

    def _scan(self) -> list:
        if not self.root.is_dir():
            return []
        out = []
        for p in self.root.iterdir():
            if p.is_dir() and (p / runfolder.EXPERIMENT).exists():
                try:
                    out.append(self._info(p))
                except RunUnreadable as e:
                    out.append(e)
        return out

    def get(self, run_id: str) -> RunInfo:
        """The run's summary; RunUnreadable when its files are malformed."""
        return self._info(self.path(run_id))

    def _info(self, run_dir: Path) -> RunInfo:
        status = runfolder.read_json(run_dir / runfolder.STATUS, {})
        experiment = runfolder.read_json(run_dir / runfolder.EXPERIMENT, {})
        problem = runfolder.status_problem(status)
        if problem is None and not (isinstance(experiment, dict) and isinstance(experiment.get("data") or {}, dict)
                                    and isinstance(experiment.get("model") or {}, dict)):
            problem = f"{runfolder.EXPERIMENT} is not a Layerlab experiment"
        if problem:
            raise RunUnreadable(run_dir.name, problem)
        final = status.get("final") or {}
        if not final:  # a run that died: its last written epoch
            rows = runfolder.read_jsonl(run_dir / runfolder.METRICS)
            final = {k: v for k, v in (rows[-1] if rows else {}).items() if k not in ("epoch", "time_s", "elapsed_s")}
        return RunInfo(
            id=run_dir.name,
            name=status.get("name") or str(experiment.get("name") or "") or run_dir.name,
            status=status.get("status", "unknown"),
            created=status.get("created") or _mtime(run_dir),
            dataset=status.get("dataset") or str((experiment.get("data") or {}).get("dataset", "")),
            model=status.get("model") or str((experiment.get("model") or {}).get("name", "")),
            final=final,
            epochs_done=int(status.get("epochs_done") or len(runfolder.read_jsonl(run_dir / runfolder.METRICS))),
            epochs=status.get("epochs"),
            error=status.get("error"),
            path=run_dir,
            owner=run_owner(run_dir, status),
            shared=status.get("shared") is True,
        )

    def status(self, run_id: str) -> dict:
        return runfolder.read_status(self.path(run_id))

    def experiment(self, run_id: str) -> dict:
        experiment = runfolder.read_json(self.path(run_id) / runfolder.EXPERIMENT, {})
        return experiment if isinstance(experiment, dict) else {}

    def metrics(self, run_id: str):
        import pandas as pd

        rows = runfolder.read_jsonl(self.path(run_id) / runfolder.METRICS)
        return pd.DataFrame(rows) if rows else pd.DataFrame(columns=["epoch", "loss", "time_s"])

    def progress(self, run_id: str) -> dict | None:
        return _object(runfolder.read_json(self.path(run_id) / runfolder.PROGRESS))

    def evaluation(self, run_id: str) -> dict | None:
        return _object(runfolder.read_json(self.path(run_id) / runfolder.EVALUATION))

    def predictions(self, run_id: str) -> dict | None:
        return _object(runfolder.read_json(self.path(run_id) / runfolder.PREDICTIONS))

    def log(self, run_id: str, tail: int = 200) -> str:
        try:
            lines = (self.path(run_id) / runfolder.LOG).read_text(encoding="utf-8").splitlines()
        except OSError:
            return ""
        return "\n".join(lines[-tail:])

    def compare(self, run_ids: list[str]):
        """One row per run: name, status, dataset, model, key settings and final numbers."""
        import pandas as pd

        rows = []
        for run_id in run_ids:
            info = self.get(run_id)
            training = _object(self.experiment(run_id).get("training")) or {}
            row = {"run": info.id, "name": info.name, "status": info.status, "dataset": info.dataset,
                   "model": info.model, "epochs_done": info.epochs_done}
            for key in ("optimizer", "learning_rate", "batch_size", "epochs", "seed"):
                if key in training:
                    row[key] = training[key]
            row.update({k: v for k, v in info.final.items() if isinstance(v, (int, float))})
            rows.append(row)
        return pd.DataFrame(rows)

    def delete(self, run_id: str) -> None:
        run_dir = self.checked(run_id, "delete")
        state = runfolder.read_status(run_dir).get("status")
        if state in runfolder.ACTIVE:
            raise RunBusy(f"run '{run_id}' is {state}; stop it before deleting it")
        shutil.rmtree(run_dir)

    def prune(self, keep: int) -> list[str]:
        """Remove this workspace's oldest finished, unshared runs so that at most `keep - 1` remain (room for
        the run about to start); returns the removed ids. Shared and active runs are never removed."""
        mine = [r for r in self.list() if owns(self.workspace, r.owner)
                and not r.shared and r.status not in runfolder.ACTIVE]
        doomed = sorted(mine, key=lambda r: (r.created or 0, r.id))[: max(0, len(mine) - (keep - 1))]
        for run in doomed:
            shutil.rmtree(run.path, ignore_errors=True)
        return [r.id for r in doomed]

    def zip_run(self, run_id: str) -> bytes:
        """The run folder as a zip (experiment, metrics, model, evaluation, log, exports); not the checkpoint,
        which only the server needs to continue the run (it is several times the model's size)."""
        run_dir = self.checked(run_id, "read")
        owner(run_dir)  # a folder from before hashed owners loses its plain id before it is packed
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
            for path in sorted(run_dir.rglob("*")):
                if path.is_file() and not path.name.startswith(".") and path.name != runfolder.CHECKPOINT:
                    zf.write(path, f"{run_id}/{path.relative_to(run_dir).as_posix()}")
        return buf.getvalue()

    zip = zip_run  # the name docs/interfaces.md uses


def _object(value) -> dict | None:
    return value if isinstance(value, dict) else None


def _mtime(path: Path) -> float | None:
    try:
        return path.stat().st_mtime
    except OSError:
        return None
