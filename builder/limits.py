"""Server budgets: how big a model, a file or a dataset may be before Layerlab refuses it.

A shared workshop server is handed broken and hostile files, so every size is
checked against a budget *before* anything that size is allocated. Each
budget is a server setting: an environment variable read when it is checked
(so a test or an admin can change it without a restart), else its default.
README's "Limits" section lists them.
"""
from __future__ import annotations

import os
from dataclasses import dataclass

from builder import settings

MB = 1024 * 1024


def machine_mb() -> int:
    """The machine's memory in MiB (4 GiB where it cannot be read)."""
    try:
        return os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE") // MB
    except (OSError, ValueError, AttributeError):
        return 4096


@dataclass(frozen=True)
class Budget:
    name: str
    env: str
    default: int
    unit: str  # "" for a count, "MB" for a size given in MiB
    help: str

    def value(self) -> int:
        """The setting in base units (bytes for MB budgets); a bad setting falls back to the default."""
        raw = settings.text(self.env).replace("_", "").strip()
        number = int(raw) if raw.isdigit() and int(raw) > 0 else self.default
        return number * MB if self.unit == "MB" else number


BUDGETS: dict[str, Budget] = {b.name: b for b in (
    # models (spec validation, .keras import)
    Budget("max_params", "LAYERLAB_MAX_PARAMS", 50_000_000, "",
           "weights in one model (trainable and not), counted from the declared sizes"),
    Budget("max_activations", "LAYERLAB_MAX_ACTIVATIONS", 20_000_000, "",
           "numbers all layers output for one example, added up (memory per example while training)"),
    Budget("max_step_flops", "LAYERLAB_MAX_STEP_FLOPS", 1_000_000_000_000, "",
           "arithmetic operations of one training step (forward and backward over a whole batch), estimated "
           "from the layer shapes when the experiment is checked"),
    Budget("max_step_memory_mb", "LAYERLAB_MAX_STEP_MEMORY_MB", 4096, "MB",
           "activation memory of one training step: every layer's output and its gradient for the whole batch, "
           "attention scores included, estimated when the experiment is checked"),
    Budget("max_worker_mb", "LAYERLAB_MAX_WORKER_MB", 8192, "MB",
           "memory one training worker process may hold (its heap and the private memory it writes, "
           "RLIMIT_DATA); a run that needs more ends as failed, with the reason"),
    Budget("max_pool_mb", "LAYERLAB_MAX_POOL_MB", max(1024, machine_mb() // 2), "MB",
           "memory all training workers together may hold (proportional set size: pages they share count once); "
           "no further run starts above it, and when runs grow past it the newest goes back to the queue. "
           "Default: half the machine's memory"),
    Budget("worker_reserve_mb", "LAYERLAB_WORKER_RESERVE_MB", 400, "MB",
           "memory set aside for each training worker when the pool is sized: runs at once (LAYERLAB_MAX_RUNS) "
           "default to LAYERLAB_MAX_POOL_MB divided by it, at most 16 per core"),
    Budget("max_input_dim", "LAYERLAB_MAX_INPUT_DIM", 100_000, "", "size of any one axis of an Input"),
    Budget("max_nodes", "LAYERLAB_MAX_NODES", 2_000, "", "layers in one model spec"),
    Budget("max_spec_mb", "LAYERLAB_MAX_SPEC_MB", 8, "MB", "a model spec or experiment JSON file"),
    Budget("max_keras_config_mb", "LAYERLAB_MAX_KERAS_CONFIG_MB", 8, "MB",
           "config.json inside an imported .keras file"),
    # uploads (datasets/uploads.py)
    Budget("max_upload_mb", "LAYERLAB_MAX_UPLOAD_MB", 200, "MB", "one uploaded file as sent"),
    Budget("max_unpacked_mb", "LAYERLAB_MAX_UNPACKED_MB", 1024, "MB", "all entries of a ZIP or NPZ together, unpacked"),
    Budget("max_entry_mb", "LAYERLAB_MAX_ENTRY_MB", 64, "MB", "one entry of a ZIP (one image file), unpacked"),
    Budget("max_files", "LAYERLAB_MAX_FILES", 20_000, "", "entries in one archive"),
    Budget("max_image_pixels", "LAYERLAB_MAX_IMAGE_PIXELS", 4096 * 4096, "",
           "pixels of one image, read from its header before it is decoded"),
    Budget("max_archive_pixels", "LAYERLAB_MAX_ARCHIVE_PIXELS", 1_000_000_000, "",
           "pixels of all images in one ZIP together, read from their headers before any is decoded"),
    Budget("max_decode_seconds", "LAYERLAB_MAX_DECODE_SECONDS", 60, "",
           "seconds of server CPU spent decoding one ZIP's images; the upload is refused beyond it"),
    Budget("max_dataset_mb", "LAYERLAB_MAX_DATASET_MB", 256, "MB",
           "an uploaded dataset once loaded as float32 numbers (images after resizing)"),
    Budget("max_csv_mb", "LAYERLAB_MAX_CSV_MB", 50, "MB", "a CSV/TSV upload"),
    Budget("max_csv_columns", "LAYERLAB_MAX_CSV_COLUMNS", 2_000, "", "columns of a CSV/TSV upload"),
    Budget("max_csv_rows", "LAYERLAB_MAX_CSV_ROWS", 1_000_000, "", "rows of a CSV/TSV upload"),
    Budget("max_clip_seconds", "LAYERLAB_MAX_CLIP_SECONDS", 30, "",
           "seconds of sound in one WAV clip, read from its header (rate, channels, frames) before it is decoded"),
    Budget("max_text_chars", "LAYERLAB_MAX_TEXT_CHARS", 10_000, "", "characters in one line or row of a text dataset"),
    Budget("max_vocabulary", "LAYERLAB_MAX_VOCABULARY", 20_000, "",
           "distinct words a text model keeps (the most frequent ones; the rest read as unknown)"),
    # a workshop: what one workspace (one student) may hold
    Budget("max_workspaces", "LAYERLAB_MAX_WORKSPACES", 500, "",
           "workspaces on the server (one is made when a browser first saves something; empty ones are swept)"),
    Budget("max_active_runs", "LAYERLAB_MAX_ACTIVE_RUNS", 1, "", "runs one workspace may have queued or training"),
    Budget("max_sweep_trials", "LAYERLAB_MAX_SWEEP_TRIALS", 50, "", "trials (runs) one hyperparameter sweep may ask for"),
    Budget("max_sweep_parallel", "LAYERLAB_MAX_SWEEP_PARALLEL", 2, "",
           "trials of one sweep queued or training at once (besides the workspace's own single run)"),
    Budget("max_sweep_choices", "LAYERLAB_MAX_SWEEP_CHOICES", 64, "", "values in one choice list of a sweep's space"),
    Budget("max_stored_runs", "LAYERLAB_MAX_STORED_RUNS", 30, "",
           "finished runs one workspace keeps; beyond it the oldest unshared one is removed"),
    Budget("max_workspace_uploads", "LAYERLAB_MAX_WORKSPACE_UPLOADS", 10, "", "uploaded datasets one workspace keeps"),
    Budget("max_workspace_upload_mb", "LAYERLAB_MAX_WORKSPACE_UPLOAD_MB", 512, "MB",
           "uploaded datasets of one workspace together, as stored"),
    Budget("max_class_examples", "LAYERLAB_MAX_CLASS_EXAMPLES", 500, "",
           "examples in one class of a workspace's own data (My data: webcam, drawing pad, files, Try)"),
    Budget("max_mydata_examples", "LAYERLAB_MAX_MYDATA_EXAMPLES", 2_000, "",
           "examples in all of one workspace's own datasets together (each kept as a PNG of at most 128 px a side)"),
    Budget("max_mydata_classes", "LAYERLAB_MAX_MYDATA_CLASSES", 50, "", "classes in one own dataset"),
    Budget("max_mydata_datasets", "LAYERLAB_MAX_MYDATA_DATASETS", 10, "", "own datasets (My data) one workspace keeps"),
    Budget("upload_ttl_hours", "LAYERLAB_UPLOAD_TTL_HOURS", 72, "",
           "hours an upload is kept after it was last used; then it is deleted"),
    Budget("max_disk_mb", "LAYERLAB_MAX_DISK_MB", 20_480, "MB",
           "the runs and uploads folders together; a new run or upload is refused above it"),
    Budget("max_run_mb", "LAYERLAB_MAX_RUN_MB", 2048, "MB",
           "what one run writes into its folder, counted while it trains; a run that would go over it stops as failed"),
    Budget("max_loaded_models", "LAYERLAB_MAX_LOADED_MODELS", 8, "",
           "trained runs the Try page keeps loaded for all sessions (least recently used go first)"),
    Budget("max_dataset_cache_mb", "LAYERLAB_MAX_DATASET_CACHE_MB", 1024, "MB",
           "uploaded datasets the web server keeps in memory for all sessions (least recently stored go first)"),
)}


def folder_bytes(*folders) -> int:
    """Bytes of every file under `folders` (walked when a run or upload is about to be added, not per page)."""
    total = 0
    for folder in folders:
        for root, _dirs, files in os.walk(folder):
            for name in files:
                try:
                    total += os.stat(os.path.join(root, name)).st_size
                except OSError:
                    pass
    return total


def check_disk(*folders) -> None:
    """Raise DiskFull (a ValueError with a plain message) when `folders` hold more than `max_disk_mb`."""
    used, allowed = folder_bytes(*folders), get("max_disk_mb")
    if used >= allowed:
        raise DiskFull(f"The server's storage for runs and uploads is full ({used // MB:,} MB of {allowed // MB:,} MB). "
                       "Delete old runs on the Runs page, or ask the teacher to make room.")


def check_run_disk(run_dir, adding: int = 0) -> None:
    """Raise DiskFull when a run folder, with `adding` bytes more, would hold more than `max_run_mb`."""
    used, allowed = folder_bytes(run_dir), get("max_run_mb")
    if used + adding > allowed:
        raise DiskFull(f"the run stopped: its folder would hold {size(used + adding)}, over the limit of "
                       f"{size(allowed)} for one run (server setting LAYERLAB_MAX_RUN_MB); use smaller pictures, "
                       "a smaller model or fewer epochs")


class DiskFull(ValueError):
    """The disk budget for runs and uploads is spent."""


def get(name: str) -> int:
    """The current value of budget `name` (bytes for MB budgets)."""
    return BUDGETS[name].value()


def lines() -> list[str]:
    """One line per budget: setting, current value, what it limits."""
    out = []
    for b in BUDGETS.values():
        value = b.value() // MB if b.unit == "MB" else b.value()
        out.append(f"{b.env}={value:_}{' ' + b.unit if b.unit else ''}  {b.help}")
    return out


def size(n: int) -> str:
    """Bytes in words people read, in the units of the MB settings: 640.0 kB, 4.0 GB."""
    for unit, suffix in ((1024**3, " GB"), (MB, " MB"), (1024, " kB")):
        if n >= unit:
            return f"{n / unit:.1f}{suffix}"
    return f"{n} bytes"


def count(n: int) -> str:
    """A big count in words people read: 393.3 M, 4.1 G, 1.5 T."""
    for size, suffix in ((1e12, " T"), (1e9, " G"), (1e6, " M"), (1e3, " k")):
        if n >= size:
            return f"{n / size:.1f}{suffix}"
    return str(n)
