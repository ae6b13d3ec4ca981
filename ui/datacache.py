"""Datasets for the pages, cached once per server and shared by all sessions.

Sessions hold only ids (`state.data["dataset"]`, `state.upload_id`); the
arrays live here. Uploaded data is also written as an .npz file (x, y,
class_names) under `uploads_dir()`, so a training process can read it:
an upload's dataset id in the experiment is "upload:<upload_id>".
"""
from __future__ import annotations

import hashlib
import json
import os
import tempfile
from pathlib import Path

import numpy as np
import streamlit as st

UPLOAD_PREFIX = "upload:"
MAX_UPLOADS = 64  # kept in memory across all sessions; older ones are read back from disk


def uploads_dir() -> Path:
    root = os.environ.get("LAYERLAB_UPLOADS_DIR") or os.path.join(tempfile.gettempdir(), "layerlab-uploads")
    path = Path(root)
    path.mkdir(parents=True, exist_ok=True)
    return path


def upload_path(upload_id: str) -> Path:
    return uploads_dir() / f"{upload_id}.npz"


def is_upload(dataset_id) -> bool:
    return isinstance(dataset_id, str) and dataset_id.startswith(UPLOAD_PREFIX)


@st.cache_resource(show_spinner=False)
def _uploads() -> dict:
    return {}


@st.cache_resource(show_spinner="Loading the dataset…", max_entries=16)
def _builtin(dataset_id: str, options_json: str):
    from datasets import registry

    return registry.load(dataset_id, allow_download=False, **json.loads(options_json))


def load_builtin(dataset_id: str, options: dict | None = None):
    """The registry's dataset (arrays shared between sessions: treat them as read-only)."""
    return _builtin(dataset_id, json.dumps(options or {}, sort_keys=True))


def store_upload(raw: bytes, kind: str, settings: dict, dataset) -> str:
    """Keep an uploaded dataset; returns its id (same file + settings ⇒ same id)."""
    key = hashlib.sha256(raw + kind.encode() + json.dumps(settings, sort_keys=True).encode()).hexdigest()[:16]
    cache = _uploads()
    if len(cache) >= MAX_UPLOADS:
        cache.pop(next(iter(cache)))
    cache[key] = dataset
    try:
        try:
            from datasets import stored  # the engine's own store, which the registry and trainer read
        except ImportError:
            stored = None
        if stored is not None:
            stored.store(dataset, key)
        else:
            names = np.array(dataset.class_names if dataset.class_names is not None else [], dtype=str)
            np.savez_compressed(upload_path(key), x=dataset.x, y=dataset.y, class_names=names)
    except Exception:  # noqa: BLE001 - the page still works; only a training process needs the file
        pass
    return key


def get_upload(upload_id: str | None):
    if not upload_id:
        return None
    cache = _uploads()
    if upload_id in cache:
        return cache[upload_id]
    path = upload_path(upload_id)
    if path.exists():
        from datasets import uploads

        with open(path, "rb") as f:
            cache[upload_id] = uploads.load_npz(f)
        return cache[upload_id]
    return None


def current(data: dict, upload_id: str | None):
    """The Dataset the session's data settings point at (raises the engine's plain-words errors)."""
    dataset_id = data.get("dataset", "")
    if is_upload(dataset_id):
        ds = get_upload(dataset_id[len(UPLOAD_PREFIX):] or upload_id)
        if ds is None:
            raise ValueError("the uploaded data is no longer on the server; upload the file again")
        return ds
    return load_builtin(dataset_id, data.get("options") or {})
