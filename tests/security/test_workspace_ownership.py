"""A shared run hands over nothing: its zip holds no workspace id, and no text in it opens a workspace or
changes a run when tried as `?ws=` (issue 28, item 1). Run in a child process under a memory and time
limit, as the hostile-input battery does."""
import json
import os
import resource
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
ADDRESS_SPACE = 4 << 30
WALL_S = 120


def test_a_shared_runs_zip_holds_no_workspace_id_and_grants_nothing(tmp_path):
    env = {**os.environ, "LAYERLAB_RUNS_DIR": str(tmp_path / "runs"), "LAYERLAB_HOME": str(tmp_path / "home"),
           "LAYERLAB_UPLOADS_DIR": str(tmp_path / "uploads"), "PYTHONPATH": str(ROOT), "PYTHONDONTWRITEBYTECODE": "1",
           "HOME": str(tmp_path)}
    out = tmp_path / "found.json"

    def limits():
        resource.setrlimit(resource.RLIMIT_AS, (ADDRESS_SPACE, ADDRESS_SPACE))

    done = subprocess.run([sys.executable, str(Path(__file__).with_name("ownership_case.py")), str(out)],
                          cwd=tmp_path, env=env, preexec_fn=limits, capture_output=True, text=True, timeout=WALL_S)
    assert done.returncode == 0, done.stderr[-3000:]
    found = json.loads(out.read_text())
    assert found["files"] >= 4  # both runs' experiment and status came along
    assert not found["id_in_zip"]
    assert found["windows"] > 0 and found["granted"] == []  # the owner tags are there, and open nothing
    assert found["owner_still_owns"]
