"""Submitting a run, the same for every job manager: the experiment checked, the workspace's quota and the disk
admitted, the run folder created (queued), and waiting until a run is final."""
from __future__ import annotations

import os
import re
import secrets
import time
from pathlib import Path

from builder import limits
from builder.experiments.experiment import passed, trusted
from builder.store import runfolder
from builder.store.runstore import RunStore
from builder.store.workspace import QuotaExceeded, owner_tag
from builder.train.finetune import total_epochs
from datasets.stored import uploads_dir

TERMINAL = ("completed", "stopped", "failed", "interrupted", "pruned")


def checked(experiment, name: str | None = None):
    """The experiment, checked before anything starts (SpecError lists the problems): a `Verdict` the page
    holds is trusted while its stamp matches (experiments.experiment.passed), anything else is checked here."""
    exp = passed(experiment)
    if name:
        exp.name = name  # a name never changes the verdict (the stamp leaves it out)
    return exp


def wait_until_final(status, run_id: str, busy, timeout: float) -> dict:
    """Poll `status(run_id)` until it is final and `busy()` (the manager still holds the run) is False,
    or `timeout` seconds pass; returns the last status. Shared by every job manager's `wait`."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        current = status(run_id)
        if current.get("status") in TERMINAL and not busy():
            return current
        time.sleep(0.05)
    return status(run_id)


def admit(root: Path, workspace: str | None, active: int, sweep: bool = False) -> list[str]:
    """Check a new run of `workspace` (which has `active` runs queued or training) may start: at most
    `max_active_runs` per workspace, or for a sweep's trial `max_sweep_parallel` of its sweep (QuotaExceeded),
    room on disk (limits.DiskFull); then remove the workspace's oldest unshared runs beyond
    `max_stored_runs` and return their ids."""
    if sweep and active >= limits.get("max_sweep_parallel"):
        raise QuotaExceeded(f"This sweep already has {active} trials training or waiting, as many as one sweep "
                            "may (server setting LAYERLAB_MAX_SWEEP_PARALLEL); the next starts when one ends.")
    if not sweep and workspace is not None and active >= limits.get("max_active_runs"):
        raise QuotaExceeded("You already have a run training or waiting. Stop it, or wait until it "
                            "finishes, before you start another.")
    limits.check_disk(root, uploads_dir())
    return RunStore(root, workspace).prune(limits.get("max_stored_runs")) if workspace else []


def admit_new_run(root: Path, exp, workspace: str | None, active: int, sweep: str | None = None,
                  trial: int | None = None) -> str:
    """`admit` a new run (a sweep's trial when `sweep`) and make its folder, owned by the workspace's tag and
    linked to its sweep; returns its id. Both job managers' `submit`."""
    pruned = admit(root, workspace, active, sweep=bool(sweep))
    link = {"sweep": sweep, "trial": trial} if sweep else {}
    return create_run(root, exp, owner=owner_tag(workspace) if workspace else None, pruned=pruned, **link)


def create_run(root: Path, exp, run_dir: Path | None = None, **fields) -> str:
    """A new run folder (experiment.json, status queued) under `root` or at `run_dir`; returns its id.
    `fields` go into status.json too (the owner tag of the workspace that started it, the runs pruned to make
    room). An experiment that `passed` its check records its stamp (`checked`), so the runner trusts it."""
    run_id = run_dir.name if run_dir else new_run_id(exp.title, root)
    run_dir = run_dir or root / run_id
    run_dir.mkdir(parents=True, exist_ok=True)
    runfolder.write_json(run_dir / runfolder.EXPERIMENT, exp.to_dict())
    runfolder.write_status(
        run_dir, status="queued", run_id=run_id, name=numbered_name(root, exp.title, fields.get("owner")),
        dataset=exp.dataset, model=exp.model.name,
        created=time.time(), epochs=total_epochs(exp.hp), epochs_done=0, error=None, manager_pid=os.getpid(),
        checked=exp.checked if trusted(exp) else None, **fields,
    )
    return run_id


def numbered_name(root: Path, title: str, tag: str | None) -> str:
    """"MLP on digits · 3": the title and how many runs of it the workspace with owner tag `tag` has made (the
    id keeps the time)."""
    pattern = re.compile(re.escape(title) + r" · (\d+)")
    made = [int(m.group(1)) for info in RunStore(root).list() if info.owner == tag
            and (m := pattern.fullmatch(info.name))]
    return f"{title} · {max(made, default=0) + 1}"


def new_run_id(title: str, root: Path) -> str:
    slug = re.sub(r"[^a-z0-9]+", "-", title.lower()).strip("-")[:40] or "run"
    while True:
        run_id = f"{time.strftime('%Y%m%d-%H%M%S')}-{slug}-{secrets.token_hex(2)}"
        if not (root / run_id).exists():
            return run_id
