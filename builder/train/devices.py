"""What the machine can train on, through the active Keras backend.

    describe().line  →  "NVIDIA H100, 80 GB — training on GPU"  or  "no GPU found — training on CPU"
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field


@dataclass(frozen=True)
class GPU:
    name: str
    memory_gb: float | None = None

    @property
    def label(self) -> str:
        return f"{self.name}, {self.memory_gb:.0f} GB" if self.memory_gb else self.name


@dataclass(frozen=True)
class DeviceInfo:
    backend: str
    gpus: list = field(default_factory=list)
    line: str = ""

    @property
    def on_gpu(self) -> bool:
        return bool(self.gpus)


def backend_name() -> str:
    if "keras" in __import__("sys").modules:
        import keras

        return keras.backend.backend()
    return os.environ.get("KERAS_BACKEND", "tensorflow")


def describe() -> DeviceInfo:
    backend = backend_name()
    try:
        gpus = _FINDERS.get(backend, _tf_gpus)()
    except Exception:  # noqa: BLE001 - a broken driver means "train on CPU", not a crash
        gpus = []
    return DeviceInfo(backend=backend, gpus=gpus, line=device_line(gpus))


def device_line(gpus: list) -> str:
    if not gpus:
        return "no GPU found — training on CPU"
    names = gpus[0].label if len(gpus) == 1 else f"{len(gpus)} GPUs ({gpus[0].label} …)"
    return f"{names} — training on GPU"


def _tf_gpus() -> list[GPU]:
    import tensorflow as tf

    out = []
    for dev in tf.config.list_physical_devices("GPU"):
        details = {}
        try:
            details = tf.config.experimental.get_device_details(dev)
        except Exception:  # noqa: BLE001
            pass
        out.append(GPU(details.get("device_name", dev.name), _nvidia_memory_gb(len(out))))
    return out


def _jax_gpus() -> list[GPU]:
    import jax

    out = []
    for dev in jax.devices():
        if dev.platform != "gpu":
            continue
        mem = None
        try:
            stats = dev.memory_stats() or {}
            mem = stats.get("bytes_limit", 0) / 1e9 or None
        except Exception:  # noqa: BLE001
            pass
        out.append(GPU(getattr(dev, "device_kind", "GPU"), mem))
    return out


def _torch_gpus() -> list[GPU]:
    import torch

    if not torch.cuda.is_available():
        return []
    out = []
    for i in range(torch.cuda.device_count()):
        props = torch.cuda.get_device_properties(i)
        out.append(GPU(props.name, props.total_memory / 1e9))
    return out


def _nvidia_memory_gb(index: int) -> float | None:
    """Total memory from nvidia-smi when it is installed (TensorFlow does not report it before use)."""
    import shutil
    import subprocess

    if not shutil.which("nvidia-smi"):
        return None
    try:
        out = subprocess.run(["nvidia-smi", "--query-gpu=memory.total", "--format=csv,noheader,nounits"],
                             capture_output=True, text=True, timeout=5).stdout.split()
        return float(out[index]) / 1024 if index < len(out) else None
    except (OSError, ValueError, subprocess.SubprocessError):
        return None


_FINDERS = {"tensorflow": _tf_gpus, "jax": _jax_gpus, "torch": _torch_gpus}


def set_mixed_precision(enabled: bool) -> bool:
    """mixed_float16 on a GPU only (on a CPU it is slower); returns whether it is on."""
    import keras

    on = bool(enabled) and describe().on_gpu
    keras.mixed_precision.set_global_policy("mixed_float16" if on else "float32")
    return on


def share_gpu_memory() -> None:
    """TensorFlow only: take GPU memory as needed instead of all of it at start.

    A warm worker stays alive between runs; without this it would hold the
    whole GPU while idle, and the app's explain views could not use it.
    Must run before TensorFlow first touches the GPU; harmless afterwards.
    """
    if backend_name() != "tensorflow":
        return
    try:
        import tensorflow as tf

        for gpu in tf.config.list_physical_devices("GPU"):
            tf.config.experimental.set_memory_growth(gpu, True)
    except (ImportError, RuntimeError, ValueError):
        pass
