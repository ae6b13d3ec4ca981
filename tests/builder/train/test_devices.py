"""Device lines the app shows, and the reasons given when a worker dies."""
import os
import signal
import subprocess
import sys
from pathlib import Path

from builder.jobs.local import death_reason
from builder.train import devices
from builder.train.devices import GPU, current_line, describe, device_line

ROOT = Path(__file__).resolve().parents[3]


def test_device_lines_say_where_training_runs():
    assert device_line([]) == "no GPU found — training on CPU"
    assert device_line([GPU("NVIDIA H100", 80.0)]) == "NVIDIA H100, 80 GB — training on GPU"
    assert device_line([GPU("NVIDIA A10"), GPU("NVIDIA A10")]) == "2 GPUs (NVIDIA A10 …) — training on GPU"
    assert device_line([], "jax") == "no GPU found — training on CPU (Keras backend jax)"
    assert device_line([GPU("NVIDIA H100", 80.0)], "torch") == "NVIDIA H100, 80 GB — training on GPU (Keras backend torch)"


def test_describe_on_this_machine_names_the_backend():
    info = describe()  # the tests hide GPUs (conftest), so this machine trains on CPU
    assert info.backend in ("tensorflow", "jax", "torch")
    assert info.line == device_line([], info.backend) == current_line()
    assert info.line.endswith(f"training on CPU (Keras backend {info.backend})")


def test_the_device_line_names_a_backend_that_cannot_be_asked_instead_of_failing(monkeypatch):
    def broken():
        raise ImportError("no module named 'jax'")

    monkeypatch.setattr(devices, "backend_name", broken)
    assert current_line() == "could not detect the training device (no module named 'jax')"


def test_death_reasons_are_plain_words():
    assert "killed (SIGKILL)" in death_reason(-signal.SIGKILL) and "memory" in death_reason(-signal.SIGKILL)
    assert "SIGTERM" in death_reason(-signal.SIGTERM)
    assert "exit code 3" in death_reason(3)
    for crash in (signal.SIGSEGV, signal.SIGABRT):  # TensorFlow's ways to die at the worker's memory cap
        assert "memory" in death_reason(-crash) and "LAYERLAB_MAX_WORKER_MB" in death_reason(-crash)


def test_the_memory_cap_fails_an_allocation_over_it_and_allows_one_under_it():
    script = ("import numpy as np; from builder.train import devices; devices.limit_memory(); "
              "np.ones(50 << 20, np.uint8)\n"
              "try:\n    np.ones(400 << 20, np.uint8)\nexcept MemoryError:\n    print('refused')")
    env = {**os.environ, "LAYERLAB_MAX_WORKER_MB": "300", "PYTHONPATH": str(ROOT)}
    done = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0 and done.stdout.strip() == "refused", done.stderr[-2000:]
