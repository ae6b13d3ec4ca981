"""Uploaded datasets kept as files, so a training worker process can load them by id.

An upload's dataset id is ``upload:<key>``; its arrays live in
``<uploads dir>/<key>.npz`` (``LAYERLAB_UPLOADS_DIR``, default a
``layerlab-uploads`` folder in the temp dir). The registry resolves these ids
like any built-in one, so experiments, the trainer and the CLI need nothing
special for a user's own data.
"""
from __future__ import annotations

import json
import os
import re
import tempfile
from dataclasses import replace
from pathlib import Path

from builder.spec import atomic_write_text
from datasets.base import Dataset, DatasetError

PREFIX = "upload:"
_KEY = re.compile(r"[A-Za-z0-9_-]{1,64}")  # fullmatch only: `$` would let a final newline through


def uploads_dir() -> Path:
    root = Path(os.environ.get("LAYERLAB_UPLOADS_DIR") or Path(tempfile.gettempdir()) / "layerlab-uploads")
    root.mkdir(parents=True, exist_ok=True)
    return root


def is_stored(dataset_id) -> bool:
    return isinstance(dataset_id, str) and dataset_id.startswith(PREFIX)


def path_of(dataset_id: str) -> Path:
    """The file of an upload id (or bare key); the key is checked so an id can never name a path elsewhere."""
    key = dataset_id[len(PREFIX):] if is_stored(dataset_id) else dataset_id
    if not isinstance(key, str) or not _KEY.fullmatch(key):
        raise DatasetError(f"'{dataset_id}' is not a valid upload id; upload the file again")
    return uploads_dir() / f"{key}.npz"


def store(dataset: Dataset, key: str, title: str | None = None) -> str:
    """Keep `dataset` under `key` (and `title`, the uploaded file's name, beside it); returns its dataset id
    ``upload:<key>``."""
    from datasets.uploads import save_npz

    save_npz(dataset, path_of(key))
    if title:
        atomic_write_text(path_of(key).with_suffix(".json"), json.dumps({"title": " ".join(str(title).split())}))
    return PREFIX + key


def title(dataset_id: str) -> str:
    """What the student calls an upload: its file's name ("harvest.csv"), else "your upload (3b7f0a1c)"."""
    path = path_of(dataset_id).with_suffix(".json")
    try:
        name = json.loads(path.read_text(encoding="utf-8")).get("title")
    except (OSError, ValueError, AttributeError):  # older uploads kept no name
        name = None
    return name if isinstance(name, str) and name else f"your upload ({path.stem[:8]})"


def load(dataset_id: str, task: str | None = None) -> Dataset:
    from datasets.uploads import Limits, load_npz

    path = path_of(dataset_id)
    if not path.exists():
        raise DatasetError(f"the uploaded dataset '{dataset_id}' is no longer on this server; upload it again")
    os.utime(path)  # in use: `sweep` keeps it
    size = path.stat().st_size
    limits = replace(Limits(), max_upload_bytes=max(size, Limits().max_upload_bytes))
    dataset = load_npz(path, task=task, limits=limits)
    info = replace(dataset.info, id=dataset_id, title=title(dataset_id),
                   description="A dataset you uploaded.", offline=True)
    return replace(dataset, info=info)


def sweep(max_age_s: float) -> list[str]:
    """Delete uploads nobody has used (stored or loaded) for `max_age_s` seconds; returns their ids."""
    import time

    gone, cutoff = [], time.time() - max_age_s
    for path in uploads_dir().glob("*.npz"):
        try:
            if path.stat().st_mtime < cutoff:
                path.unlink()
                path.with_suffix(".json").unlink(missing_ok=True)
                gone.append(PREFIX + path.stem)
        except OSError:  # used or removed by another process meanwhile
            pass
    return gone


def id_problem(dataset_id) -> str | None:
    """Why `dataset_id` is not a well-formed upload id, or None (only the syntax; the file may be gone)."""
    try:
        path_of(dataset_id)
    except DatasetError as e:
        return str(e)
    return None


def info(dataset_id: str):
    return load(dataset_id).info
