"""Datasets for the pages, cached once per server and shared by all sessions.

Sessions hold only ids (`state.data["dataset"]`, `state.upload_id`); the
arrays live here. Uploaded data is also written as an .npz file by the
engine's `datasets.stored`, so a training process can read it: an upload's
dataset id in the experiment is "upload:<upload_id>". Every upload id is
resolved through `stored.path_of`, which refuses ids that could name a path.
"""
from __future__ import annotations

import hashlib
import json

import streamlit as st

from datasets import stored

UPLOAD_PREFIX = stored.PREFIX


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


def store_upload(raw: bytes, kind: str, settings: dict, dataset, workspace: str, file_name: str | None = None) -> str:
    """Keep an uploaded dataset for `workspace`, named by its `file_name`; returns its id (same file + settings ⇒
    same id).

    Refused (ValueError, plain words) beyond the workspace's upload budgets or the server's disk budget.
    Uploads nobody used for `upload_ttl_hours` are deleted first.
    """
    from builder import limits
    from ui import state

    key = hashlib.sha256(raw + kind.encode() + json.dumps(settings, sort_keys=True).encode()).hexdigest()[:16]
    stored.sweep(limits.get("upload_ttl_hours") * 3600)
    limits.check_disk(stored.uploads_dir(), _runs_root())
    state.workspaces().add_upload(workspace, key, int(dataset.x.nbytes + dataset.y.nbytes), file_name or "")
    _remember(key, dataset)
    stored.store(dataset, key, file_name)  # the engine's own store, which the registry and trainer read
    return key


def _runs_root():
    from ui.jobs import runs_root

    return runs_root()


def _remember(key: str, dataset) -> None:
    """Keep a dataset in the server's memory, dropping the oldest while the cache is over its byte budget."""
    from builder import limits

    cache = _uploads()
    cache.pop(key, None)
    cache[key] = dataset
    size = lambda ds: ds.x.nbytes + ds.y.nbytes  # noqa: E731
    while len(cache) > 1 and sum(size(ds) for ds in cache.values()) > limits.get("max_dataset_cache_mb"):
        cache.pop(next(iter(cache)))


def get_upload(upload_id: str | None):
    """The upload's Dataset, None when it is gone; an id that is not a valid upload key raises DatasetError."""
    if not upload_id:
        return None
    cache = _uploads()
    if upload_id in cache:
        return cache[upload_id]
    if stored.path_of(upload_id).exists():
        _remember(upload_id, stored.load(stored.PREFIX + upload_id))
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
