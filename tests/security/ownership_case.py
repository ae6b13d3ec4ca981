"""Child process of test_workspace_ownership.py: `python ownership_case.py OUT.json`.

Student A trains a run and shares it; an older run of A's (from before owners were hashed) is shared too.
Student B downloads both as "Whole run (.zip)", exactly as the Runs page does, and tries every id-like
piece of text in them as a `?ws=` link. Writes what B found to OUT.json.
"""
from __future__ import annotations

import io
import json
import os
import re
import sys
import zipfile
from pathlib import Path

from builder.jobs.local import JobManager
from builder.store import workspace
from builder.store.runstore import RunStore

RUNS = Path(os.environ["LAYERLAB_RUNS_DIR"])
HOME = Path(os.environ["LAYERLAB_HOME"])
TOKEN = re.compile(rb"[A-Za-z0-9_-]{16,}")


def experiment() -> dict:
    model = {"format": "layerlab/model@1", "name": "tiny", "nodes": [
        {"id": "x", "type": "Input", "params": {"shape": [64]}},
        {"id": "h", "type": "Dense", "params": {"units": 10, "activation": "softmax"}, "inputs": ["x"]}]}
    return {"format": "layerlab/experiment@1", "model": model, "data": {"dataset": "digits"},
            "training": {"epochs": 1, "batch_size": 64, "seed": 0}}


def main(out: str) -> None:
    store = workspace.Workspaces(HOME)
    a, b = workspace.new_id(), workspace.new_id()
    store.save(a, {"name": "Ada"})
    store.save(b, {"name": "Bo"})
    JobManager._workers_wanted = lambda self: []  # the queue and its records, no training process
    manager = JobManager(RUNS, lazy=True)
    fresh = manager.submit(experiment(), workspace=a)
    manager.stop(fresh, workspace=a)
    workspace.set_shared(RUNS / fresh, a, True)
    legacy = RUNS / "20240101-000000-old"  # as a server before hashed owners left it
    legacy.mkdir()
    (legacy / "experiment.json").write_text(json.dumps(experiment()))
    (legacy / "status.json").write_text(json.dumps({"status": "completed", "run_id": legacy.name, "workspace": a,
                                                    "shared": True, "created": 1.0}))
    manager._closed = True
    theirs = RunStore(RUNS, b)
    blobs = [theirs.zip_run(run_id) for run_id in (fresh, legacy.name)]
    contents = [zf.read(n) for blob in blobs for zf in [zipfile.ZipFile(io.BytesIO(blob))] for n in zf.namelist()]
    tokens = {m.group() for c in contents for m in TOKEN.finditer(c)}
    windows = {t[i:i + 16].decode() for t in tokens for i in range(len(t) - 15)}  # every ?ws= they could try
    granted = [w for w in windows if store.exists(w) or any(workspace.may_change(RUNS / r, w)
                                                               for r in (fresh, legacy.name))]
    Path(out).write_text(json.dumps({
        "files": len(contents), "id_in_zip": any(a.encode() in c for c in contents), "windows": len(windows),
        "granted": granted, "owner_still_owns": all(workspace.may_change(RUNS / r, a) for r in (fresh, legacy.name)),
    }))


if __name__ == "__main__":
    main(sys.argv[1])
