"""Uploaded datasets kept as files, so a training worker process can load them by id.

An upload's dataset id is ``upload:<key>``; its arrays live in
``<uploads dir>/<key>.npz`` (``LAYERLAB_UPLOADS_DIR``, default a
``layerlab-uploads`` folder in the temp dir), and beside them ``<key>.json``
holds its title (the uploaded file's name) and what the checks need to know
without reading the arrays: shape, classes, size, task and kind (`info`). The
registry resolves these ids like any built-in one, so experiments, the trainer
and the CLI need nothing special for a user's own data.
"""
from __future__ import annotations

import json
import os
import re
from dataclasses import replace
from pathlib import Path

from builder import settings
from builder.files import atomic_write_text
from datasets.base import Dataset, DatasetError, DatasetInfo
from datasets.uploads import Limits, load_npz, save_npz

PREFIX = "upload:"
_KEY = re.compile(r"[A-Za-z0-9_-]{1,64}")  # fullmatch only: `$` would let a final newline through


def uploads_dir() -> Path:
    return settings.uploads_dir()


def is_stored(dataset_id) -> bool:
    return isinstance(dataset_id, str) and dataset_id.startswith(PREFIX)


def path_of(dataset_id: str) -> Path:
    """The file of an upload id (or bare key); the key is checked so an id can never name a path elsewhere."""
    key = dataset_id[len(PREFIX):] if is_stored(dataset_id) else dataset_id
    if not isinstance(key, str) or not _KEY.fullmatch(key):
        raise DatasetError(f"'{dataset_id}' is not a valid upload id; upload the file again")
    return uploads_dir() / f"{key}.npz"


INFO_FIELDS = ("task", "input_shape", "classes", "size", "kind", "extra")  # kept in <key>.json's "info"


def store(dataset: Dataset, key: str, title: str | None = None) -> str:
    """Keep `dataset` under `key`, with its title (`title`, the uploaded file's name) and info beside it;
    returns its dataset id ``upload:<key>``."""
    found = save_npz(dataset, path_of(key))
    _write_meta(path_of(key), " ".join(str(title).split()) if title else None, found)
    return PREFIX + key


def title(dataset_id: str) -> str:
    """What the student calls an upload: its file's name ("harvest.csv"), else "your upload (3b7f0a1c)"."""
    return _title(path_of(dataset_id), _read_meta(path_of(dataset_id)))


def load(dataset_id: str, task: str | None = None) -> Dataset:
    path = _in_use(dataset_id)
    dataset = _read_arrays(path, task)
    return replace(dataset, info=_as_upload(dataset_id, dataset.info, _title(path, _read_meta(path))))


def info(dataset_id: str) -> DatasetInfo:
    """The upload's shape, classes, size, task and kind from the small JSON beside its arrays (the checks ask
    this on every page and run, and must not read the arrays each time); an upload stored before the JSON
    held them is read once, and gets it."""
    path = _in_use(dataset_id)
    meta = _read_meta(path)
    try:
        kept = DatasetInfo(dataset_id, "", meta["info"]["task"], tuple(meta["info"]["input_shape"]),
                           meta["info"]["classes"], meta["info"]["size"], "", kind=meta["info"]["kind"],
                           extra=meta["info"]["extra"])
    except (KeyError, TypeError):  # stored before the info was kept beside the arrays
        kept = _read_arrays(path, None).info
        _write_meta(path, meta.get("title"), kept)
    return _as_upload(dataset_id, kept, _title(path, meta))


def _in_use(dataset_id: str) -> Path:
    """The upload's file, its time touched so `sweep` keeps it; DatasetError when it is gone."""
    path = path_of(dataset_id)
    try:
        os.utime(path)
    except FileNotFoundError:
        raise DatasetError(f"the uploaded dataset '{dataset_id}' is no longer on this server; upload it again") from None
    return path


def _read_arrays(path: Path, task: str | None) -> Dataset:
    """The stored file, however big: the upload budget was checked when it was uploaded."""
    limits = replace(Limits(), max_upload_bytes=max(path.stat().st_size, Limits().max_upload_bytes))
    return load_npz(path, task=task, limits=limits)


def _as_upload(dataset_id: str, found: DatasetInfo, name: str) -> DatasetInfo:
    return replace(found, id=dataset_id, title=name, description="A dataset you uploaded.", offline=True)


def _title(path: Path, meta: dict) -> str:
    name = meta.get("title")
    return name if isinstance(name, str) and name else f"your upload ({path.stem[:8]})"


def _read_meta(path) -> dict:
    try:
        meta = json.loads(path.with_suffix(".json").read_text(encoding="utf-8"))
    except (OSError, ValueError):  # older uploads kept no JSON
        return {}
    return meta if isinstance(meta, dict) else {}


def _write_meta(path, title: str | None, found: DatasetInfo) -> None:
    info = {name: getattr(found, name) for name in INFO_FIELDS}
    info["input_shape"] = [int(d) for d in info["input_shape"]]
    atomic_write_text(path.with_suffix(".json"), json.dumps({"title": title, "info": info} if title else {"info": info}))


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

