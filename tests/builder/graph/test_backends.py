"""The same experiment trains and explains under TensorFlow, JAX and PyTorch.

One fresh process per non-default backend (the backend is fixed when Keras is
imported); the parameter count must match the TensorFlow build exactly and
each backend must learn digits well past chance (10%).
"""
import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from builder.graph.build import build_model
from builder.model.spec import ModelSpec

ROOT = Path(__file__).resolve().parents[3]
sys.path.insert(0, str(ROOT / "tests"))
from backend_check import EXPERIMENT  # noqa: E402


@pytest.mark.slow
@pytest.mark.parametrize("backend", ["jax", "torch"])
def test_backend_trains_and_explains(backend, tmp_path):
    if importlib.util.find_spec(backend) is None:
        pytest.fail(f"{backend} is not installed: pip install -r requirements-dev.txt")
    env = dict(os.environ, KERAS_BACKEND=backend, PYTHONPATH=str(ROOT), CUDA_VISIBLE_DEVICES="")
    proc = subprocess.run(
        [sys.executable, str(ROOT / "tests" / "backend_check.py"), str(tmp_path / "run")],
        env=env, capture_output=True, text=True, timeout=300, cwd=ROOT,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    assert result["backend"] == backend
    assert result["status"] == "completed"
    assert result["params"] == build_model(ModelSpec.from_dict(EXPERIMENT["model"])).count_params()
    assert result["accuracy"] > 0.85, result
    assert result["maps_finite"] and result["maps_nonzero"]
    assert result["map_shape"] == [4, 8, 8]
    assert "CPU" in result["device"]
