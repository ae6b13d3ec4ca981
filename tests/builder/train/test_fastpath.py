"""The GPU fast path (training data on the device, many steps per call) trains exactly like plain fit.

JAX and PyTorch each run in a fresh process (the backend is fixed at import),
with the fast path forced on this CPU machine: the same batches in the same
order must give the same losses as the ordinary path.
"""
import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from builder.train import fastpath
from builder.train.devices import GPU, DeviceInfo

ROOT = Path(__file__).resolve().parents[3]
X, Y = np.zeros((100, 8, 8, 1), "float32"), np.zeros(100, "int32")


@pytest.mark.parametrize(("backend", "gpus", "expected"), [
    ("jax", [GPU("NVIDIA H100")], True), ("torch", [GPU("NVIDIA H100")], True),
    ("tensorflow", [GPU("NVIDIA H100")], False),  # TensorFlow loops in-graph already
    ("jax", [], False),  # on a CPU the plain path is as fast
])
def test_fast_path_is_for_jax_and_torch_on_a_gpu(backend, gpus, expected, monkeypatch):
    monkeypatch.delenv("LAYERLAB_FAST_PATH", raising=False)
    assert fastpath.applies(DeviceInfo(backend, gpus), X, Y) is expected


def test_settings_force_off_or_on_and_budget_bounds_it(monkeypatch):
    gpu = DeviceInfo("jax", [GPU("NVIDIA H100")])
    monkeypatch.setenv("LAYERLAB_FAST_PATH", "off")
    assert not fastpath.applies(gpu, X, Y)
    monkeypatch.setenv("LAYERLAB_FAST_PATH", "on")
    assert fastpath.applies(DeviceInfo("jax", []), X, Y)
    monkeypatch.setenv("LAYERLAB_DEVICE_DATA_MB", str((X.nbytes + Y.nbytes - 1) / 2**20))
    assert not fastpath.applies(gpu, X, Y)  # one byte over the budget


def test_validation_batches_grow_within_16_mb():
    assert fastpath.validation_batch(32, np.zeros((5000, 28, 28, 1), "float32")) == 1024
    assert fastpath.validation_batch(32, np.zeros((300, 28, 28, 1), "float32")) == 300
    assert fastpath.validation_batch(8, np.zeros((500, 224, 224, 3), "float32")) == 27  # 16 MB of inputs
    assert fastpath.validation_batch(64, np.zeros((500, 224, 224, 3), "float32")) == 64  # never below training's


@pytest.mark.slow
@pytest.mark.parametrize("backend", ["jax", "torch"])
def test_fast_path_gives_the_losses_of_plain_fit(backend):
    if importlib.util.find_spec(backend) is None:
        pytest.fail(f"{backend} is not installed: pip install -r requirements-dev.txt")
    env = dict(os.environ, KERAS_BACKEND=backend, PYTHONPATH=str(ROOT), CUDA_VISIBLE_DEVICES="")
    proc = subprocess.run([sys.executable, str(ROOT / "tests" / "fastpath_check.py")],
                          env=env, capture_output=True, text=True, timeout=300, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr[-3000:]
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    plain, fast = result["off"], result["on"]
    assert plain["status"] == fast["status"] == "completed"
    assert fast["fast"] and not plain["fast"]
    np.testing.assert_allclose(fast["loss"], plain["loss"], rtol=1e-5)
    np.testing.assert_allclose(fast["val_loss"], plain["val_loss"], rtol=1e-5)  # bigger batches, same mean
    assert fast["evaluation"]["accuracy"] == pytest.approx(plain["evaluation"]["accuracy"], abs=1e-6)
    assert plain["loss"][-1] < plain["loss"][0]
