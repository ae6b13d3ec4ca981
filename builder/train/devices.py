"""What the machine can train on, through the active Keras backend.

    describe().line  →  "NVIDIA H100, 80 GB — training on GPU (Keras backend jax)"
                        or  "no GPU found — training on CPU (Keras backend tensorflow)"

`current_line()` is that sentence wherever it is shown (the app's sidebar and Train page, the run's log and
status, the CLI); it never raises.
"""
from __future__ import annotations

import functools
import os
import resource
from dataclasses import dataclass, field

from builder import limits, settings


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
    return DeviceInfo(backend=backend, gpus=gpus, line=device_line(gpus, backend))


def current_line() -> str:
    """The device line of this machine; a backend that cannot even be asked is a hint, never a crash."""
    try:
        return describe().line
    except Exception as e:  # noqa: BLE001 - the line is informative only
        return f"could not detect the training device ({e})"


def device_line(gpus: list, backend: str | None = None) -> str:
    """The one sentence saying where training runs, e.g. "no GPU found — training on CPU (Keras backend jax)"."""
    if not gpus:
        where = "no GPU found — training on CPU"
    else:
        names = gpus[0].label if len(gpus) == 1 else f"{len(gpus)} GPUs ({gpus[0].label} …)"
        where = f"{names} — training on GPU"
    return f"{where} (Keras backend {backend})" if backend else where


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


def supports_mixed_precision() -> bool:
    """A GPU with float16 tensor cores (compute capability 7.0 or newer: V100, T4, A100, H100 …)."""
    try:
        return _CAPABILITY.get(backend_name(), _tf_capability)() >= (7, 0)
    except Exception:  # noqa: BLE001 - no GPU, or a driver that cannot say: stay in float32
        return False


def _tf_capability() -> tuple:
    import tensorflow as tf

    gpus = tf.config.list_physical_devices("GPU")
    return tuple(tf.config.experimental.get_device_details(gpus[0])["compute_capability"]) if gpus else (0, 0)


def _jax_capability() -> tuple:
    import jax

    gpus = [d for d in jax.devices() if d.platform == "gpu"]
    return tuple(int(p) for p in gpus[0].compute_capability.split(".")) if gpus else (0, 0)


def _torch_capability() -> tuple:
    import torch

    return torch.cuda.get_device_capability(0) if torch.cuda.is_available() else (0, 0)


_CAPABILITY = {"tensorflow": _tf_capability, "jax": _jax_capability, "torch": _torch_capability}


def set_mixed_precision(enabled: bool) -> bool:
    """mixed_float16 on a GPU that supports it only (elsewhere it is slower); returns whether it is on."""
    import keras

    on = bool(enabled) and supports_mixed_precision()
    keras.mixed_precision.set_global_policy("mixed_float16" if on else "float32")
    return on


def share_gpu_memory() -> None:
    """Take GPU memory as needed instead of most of it at start (TensorFlow, JAX).

    A warm worker stays alive between runs; without this it would hold the
    whole GPU while idle, the app's explain views could not use it, and
    several runs sharing a GPU (LAYERLAB_MAX_RUNS, Ray GPU fractions) would
    run out of memory. Must run before the backend first touches the GPU;
    harmless afterwards.
    """
    if backend_name() == "jax":
        os.environ.setdefault("XLA_PYTHON_CLIENT_PREALLOCATE", "false")
    if backend_name() != "tensorflow":
        return
    try:
        import tensorflow as tf

        for gpu in tf.config.list_physical_devices("GPU"):
            tf.config.experimental.set_memory_growth(gpu, True)
    except (ImportError, RuntimeError, ValueError):
        pass


# -- how much of the machine training may take ------------------------------------------
SERVER_CORES = 1  # cores kept free for the web server while runs train


def cpu_cores() -> int:
    """Cores this process may run on (the affinity mask, so a container's limit counts)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


@functools.cache
def gpu_count() -> int:
    """GPUs nvidia-smi lists, without importing a backend (the web server asks on every rerun: asked once)."""
    import shutil
    import subprocess

    if not shutil.which("nvidia-smi"):
        return 0
    try:
        out = subprocess.run(["nvidia-smi", "-L"], capture_output=True, text=True, timeout=5).stdout
    except (OSError, subprocess.SubprocessError):
        return 0
    return sum(1 for line in out.splitlines() if line.startswith("GPU "))


def default_max_runs(cores: int | None = None, gpus: int | None = None) -> int:
    """How many runs may train at once when the server setting does not say.

    On CPU the runs share the processor (a class's runs all make progress,
    new runs' first epochs first: `FIRST_EPOCH_NICE`), as many as the pool's
    memory budget holds at `worker_reserve_mb` each, at most `RUNS_PER_CORE`
    per core (beyond that a run crawls; waiting its turn says more). On GPUs
    the small models of a class share a GPU (4 runs each), but each run still
    needs a host core to feed it.
    """
    cores = cpu_cores() if cores is None else cores
    gpus = gpu_count() if gpus is None else gpus
    free = max(1, cores - SERVER_CORES)
    if gpus:
        return max(1, min(4 * gpus, free))
    return max(1, min(RUNS_PER_CORE * cores, limits.get("max_pool_mb") // limits.get("worker_reserve_mb")))


def core_sharers(cores: int | None = None) -> int:
    """How many runs a worker's thread pools are sized for (the free cores split between them): one per two
    cores after the server's."""
    return max(1, (max(1, (cpu_cores() if cores is None else cores) - SERVER_CORES)) // 2)


def warm_workers(cores: int | None = None) -> int:
    """Idle workers kept warmed up (a tiny run done) for the next Train clicks: env LAYERLAB_WARM_WORKERS,
    else a class's worth, 10 per core, as many as the pool's memory budget holds at the reserve each.

    A warmed worker shows its first point after tracing the new model only; a fresh fork also starts the
    backend's runtime first, which costs a class pressing Train together about three times as long.
    """
    setting = settings.positive_int("LAYERLAB_WARM_WORKERS")
    if setting:
        return setting
    cores = cpu_cores() if cores is None else cores
    return max(1, min(10 * cores, limits.get("max_pool_mb") // limits.get("worker_reserve_mb")))


# -- sharing the processor between many runs -----------------------------------------------
FIRST_EPOCH_NICE = 5  # a worker until its run's first point: behind the web server, ahead of older runs
LATER_EPOCHS_NICE = 19  # after it: a 22nd of a first epoch's share of a contended core (weights 15 : 335)
RUNS_PER_CORE = 16


def lower_priority(nice: int) -> None:
    """Lower every thread of this process to niceness `nice` (no change where it is already that low).

    Linux keeps a niceness per thread, so the backend's pools started by now
    are reniced one by one; threads started later inherit it. Without privilege
    a process can only lower its priority: a worker goes one way, and ends
    after its run (a fresh one starts at FIRST_EPOCH_NICE).
    """
    tasks = os.listdir("/proc/self/task") if os.path.isdir("/proc/self/task") else ["0"]
    for tid in map(int, tasks):
        try:
            if os.getpriority(os.PRIO_PROCESS, tid) < nice:
                os.setpriority(os.PRIO_PROCESS, tid, nice)
        except OSError:  # the thread ended meanwhile
            pass


def memory_mb(pid: int) -> float:
    """A process's proportional set size in MB: the pages it shares with others (a fork server's imports)
    split between them, so adding up a pool counts each page once. 0 when it is gone (or no /proc)."""
    try:
        with open(f"/proc/{pid}/smaps_rollup") as f:
            return next(int(line.split()[1]) for line in f if line.startswith("Pss:")) / 1024
    except (OSError, StopIteration, ValueError):
        return 0.0


@dataclass(frozen=True)
class ThreadPlan:
    """What one training process may use: `threads` per pool and the cores it is pinned to (None: all)."""

    threads: int
    cores: tuple | None = None


def thread_plan(runs: int, threads: int | None = None, cores: int | None = None) -> ThreadPlan:
    """Threads for each of `runs` concurrent training processes, leaving the server a core.

    `threads` (the server setting LAYERLAB_TRAIN_THREADS) overrides the share;
    the processes are pinned off the first core unless the setting asks for
    every core.
    """
    all_cores = sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None
    n = cores if cores is not None else (len(all_cores) if all_cores else cpu_cores())
    free = max(1, n - SERVER_CORES)
    share = threads if threads else max(1, free // max(1, runs))
    pinned = tuple(all_cores[SERVER_CORES:]) if all_cores and len(all_cores) > SERVER_CORES and share < n else None
    return ThreadPlan(threads=share, cores=pinned)


def limit_memory() -> int:
    """Cap this process's memory at the `max_worker_mb` budget; returns the cap in bytes.

    RLIMIT_DATA counts the heap and the private memory a process writes, so an overrun makes an allocation
    fail (TensorFlow: ResourceExhaustedError, NumPy: MemoryError) instead of the machine's OOM killer
    picking a victim. RLIMIT_AS would also count the address space TensorFlow and CUDA only reserve
    (gigabytes never touched) and break them.
    """
    cap = limits.get("max_worker_mb")
    _soft, hard = resource.getrlimit(resource.RLIMIT_DATA)
    cap = cap if hard == resource.RLIM_INFINITY else min(cap, hard)
    resource.setrlimit(resource.RLIMIT_DATA, (cap, hard))
    return cap


def limit_threads(plan: ThreadPlan) -> None:
    """Apply a plan in a fresh training process, before the backend is imported.

    Pinning (Linux) bounds every pool the backends size from the affinity mask
    (XLA's, TensorFlow's, OpenMP's); the variables fix the pool sizes.
    """
    if plan.cores and hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, plan.cores)
    n = str(plan.threads)
    for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "TF_NUM_INTRAOP_THREADS"):
        os.environ[var] = n
    os.environ["TF_NUM_INTEROP_THREADS"] = str(min(2, plan.threads))


def apply_backend_threads(plan: ThreadPlan) -> None:
    """The backend's own thread settings, right after import (before any op runs)."""
    backend = backend_name()
    if backend == "tensorflow":
        import tensorflow as tf

        try:
            tf.config.threading.set_intra_op_parallelism_threads(plan.threads)
            tf.config.threading.set_inter_op_parallelism_threads(min(2, plan.threads))
        except RuntimeError:  # TensorFlow already started its pools: the variables set them
            pass
    elif backend == "torch":
        import torch

        torch.set_num_threads(plan.threads)


def threads_in_use() -> dict:
    """What this process's backend reports (the worker sends it to the manager)."""
    backend = backend_name()
    out = {"backend": backend, "cores": cpu_cores()}
    if backend == "tensorflow":
        import tensorflow as tf

        out["threads"] = tf.config.threading.get_intra_op_parallelism_threads()
        out["inter_op_threads"] = tf.config.threading.get_inter_op_parallelism_threads()
    elif backend == "torch":
        import torch

        out["threads"] = torch.get_num_threads()
    else:  # XLA's CPU pool takes one thread per core it may run on
        out["threads"] = out["cores"]
    return out
