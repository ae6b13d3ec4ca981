"""Hostile-input battery: no small file or spec can take the server down, run code, or read what it should not.

The cases live in `hostile.py` and run in two child processes (one that never
imports Keras, one that does, like the server) under an address-space limit and
a wall-time limit. Every case must end in a plain refusal (or the correct
result) within 5 s of CPU time and 500 MB of added memory, and nothing may be
written outside the data folders (uploads, runs, Keras' home) and the inputs.
"""
import json
import os
import resource
import subprocess
import sys
from pathlib import Path

import pytest

from tests.security import hostile

ROOT = Path(__file__).resolve().parents[2]
CPU_S, MEMORY_MB = 5.0, 500
ADDRESS_SPACE = {"plain": 4 << 30, "keras": 12 << 30}  # TensorFlow reserves ~2 GB of address space by itself
WALL_S = {"plain": 180, "keras": 240}
DATA = ("data", "inputs")  # the only folders a case may write in


def _run_group(group: str, tmp: Path) -> dict:
    folders = {name: tmp / name for name in ("cwd", "home", "tmp", "inputs", "data")}
    for folder in folders.values():
        folder.mkdir()
    env = {**os.environ, "HOME": str(folders["home"]), "TMPDIR": str(folders["tmp"]),
           "HOSTILE_INPUTS": str(folders["inputs"]), "LAYERLAB_UPLOADS_DIR": str(tmp / "data" / "uploads"),
           "LAYERLAB_RUNS_DIR": str(tmp / "data" / "runs"), "KERAS_HOME": str(tmp / "data" / "keras"),
           "PYTHONPATH": str(ROOT), "PYTHONDONTWRITEBYTECODE": "1", "MPLCONFIGDIR": str(tmp / "data" / "mpl")}
    env = {k: v for k, v in env.items() if not k.startswith("LAYERLAB_MAX_")}  # the defaults are under test
    out = tmp / "data" / "results.json"

    def limits():
        resource.setrlimit(resource.RLIMIT_AS, (ADDRESS_SPACE[group], ADDRESS_SPACE[group]))

    done = subprocess.run([sys.executable, str(Path(hostile.__file__)), group, str(out)], cwd=folders["cwd"],
                          env=env, preexec_fn=limits, capture_output=True, text=True, timeout=WALL_S[group])
    assert done.returncode == 0, done.stderr[-3000:]
    stray = [str(p.relative_to(tmp)) for p in tmp.rglob("*")
             if p.is_file() and p.relative_to(tmp).parts[0] not in DATA]
    assert not stray, f"written outside the data folders: {stray}"
    assert not list(tmp.rglob("PWNED")), "an exported script ran code"
    return json.loads(out.read_text())


@pytest.fixture(scope="module")
def results(tmp_path_factory):
    cache = {}

    def get(group):
        if group not in cache:
            cache[group] = _run_group(group, tmp_path_factory.mktemp(f"hostile-{group}"))
        return cache[group]
    return get


CASES = [(group, name) for group, cases in hostile.GROUPS.items() for name in cases]


@pytest.mark.parametrize(("group", "name"), CASES, ids=[name for _, name in CASES])
def test_hostile_input_is_refused_plainly_within_budget(results, group, name):
    result = results(group)[name]
    assert result["error"] is None, result["error"]
    message = result["message"]
    assert message and "Traceback" not in message and not message.startswith(("_csv", "Error", "<")), message
    assert result["cpu_s"] < CPU_S, result
    assert result["peak_mb"] < MEMORY_MB, result
