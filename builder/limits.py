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

MB = 1024 * 1024


@dataclass(frozen=True)
class Budget:
    name: str
    env: str
    default: int
    unit: str  # "" for a count, "MB" for a size given in MiB
    help: str

    def value(self) -> int:
        """The setting in base units (bytes for MB budgets); a bad setting falls back to the default."""
        raw = os.environ.get(self.env, "").replace("_", "").strip()
        number = int(raw) if raw.isdigit() and int(raw) > 0 else self.default
        return number * MB if self.unit == "MB" else number


BUDGETS: dict[str, Budget] = {b.name: b for b in (
    # models (spec validation, .keras import)
    Budget("max_params", "LAYERLAB_MAX_PARAMS", 50_000_000, "",
           "weights in one model (trainable and not), counted from the declared sizes"),
    Budget("max_activations", "LAYERLAB_MAX_ACTIVATIONS", 20_000_000, "",
           "numbers all layers output for one example, added up (memory per example while training)"),
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
    Budget("max_dataset_mb", "LAYERLAB_MAX_DATASET_MB", 256, "MB",
           "an uploaded dataset once loaded as float32 numbers (images after resizing)"),
    Budget("max_csv_mb", "LAYERLAB_MAX_CSV_MB", 50, "MB", "a CSV/TSV upload"),
    Budget("max_csv_columns", "LAYERLAB_MAX_CSV_COLUMNS", 2_000, "", "columns of a CSV/TSV upload"),
    Budget("max_csv_rows", "LAYERLAB_MAX_CSV_ROWS", 1_000_000, "", "rows of a CSV/TSV upload"),
    # a workshop: what one workspace (one student) may hold
    Budget("max_active_runs", "LAYERLAB_MAX_ACTIVE_RUNS", 1, "", "runs one workspace may have queued or training"),
    Budget("max_stored_runs", "LAYERLAB_MAX_STORED_RUNS", 30, "",
           "finished runs one workspace keeps; beyond it the oldest unshared one is removed"),
)}


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


def count(n: int) -> str:
    """A big count in words people read: 393.3 M, 4.1 G."""
    for size, suffix in ((1e9, " G"), (1e6, " M"), (1e3, " k")):
        if n >= size:
            return f"{n / size:.1f}{suffix}"
    return str(n)
