"""Heavy things a finished run needs for its results, cached per run folder.

The trained model (`model.keras`) and the run's own test split (the same data,
split and seed the trainer used, through `builder.train.data.prepare`) are
loaded once per run and shared by every session (`st.cache_resource`); the
cache key includes the model file's modification time so a re-run is seen.
"""
from __future__ import annotations

from pathlib import Path

import streamlit as st

from builder.experiments.experiment import load
from builder.store import runfolder, watch
from builder.train.data import prepare
from datasets import registry


def _mtime(path: Path) -> float:
    try:
        return path.stat().st_mtime
    except OSError:
        return 0.0


@st.cache_resource(show_spinner="Loading the trained model…", max_entries=8)
def _model(path: str, mtime: float):
    import keras

    return keras.saving.load_model(path, compile=False, safe_mode=True)


def load_model(run_dir) -> object:
    """The run's trained Keras model; raises FileNotFoundError when it has none yet."""
    path = Path(run_dir) / "model.keras"
    if not path.exists():
        raise FileNotFoundError(f"run '{Path(run_dir).name}' has no saved model yet (it saves one when it ends)")
    return _model(str(path), _mtime(path))


@st.cache_resource(show_spinner="Preparing the run's test data…", max_entries=4)
def _prepared(run_dir: str, mtime: float):
    return prepare(load(Path(run_dir) / "experiment.json"))


def prepared_data(run_dir):
    """builder.train.data.Prepared for the run: x_test, y_test, class_names, info…"""
    path = Path(run_dir) / "experiment.json"
    if not path.exists():
        raise FileNotFoundError(f"run '{Path(run_dir).name}' has no experiment.json")
    return _prepared(str(run_dir), _mtime(path))


@st.cache_resource(show_spinner=False, max_entries=256)
def _experiment(path: str, stamp: tuple | None) -> dict:
    return (runfolder.read_json(path, {}) or {}) if stamp else {}


def run_experiment(run_dir) -> dict:
    """experiment.json of a run as a dict ({} when missing or unreadable), read once per change of the file
    (the live view asks on every poll). Do not modify it."""
    path = Path(run_dir) / runfolder.EXPERIMENT
    return _experiment(str(path), watch.file_stamp(path))


@st.cache_resource(show_spinner=False, max_entries=8)
def _feature_names(dataset: str, options_json: str):
    import json


    names = getattr(registry.load(dataset, **json.loads(options_json)), "feature_names", None)
    return list(names) if names else None


def feature_names(run_dir) -> list[str] | None:
    """Column names of a tabular dataset a run trained on (None when it has none)."""
    import json

    data = run_experiment(run_dir).get("data") or {}
    try:
        return _feature_names(data.get("dataset", ""), json.dumps(data.get("options") or {}, sort_keys=True))
    except Exception:  # noqa: BLE001 - names are a nicety: bars fall back to numbers
        return None


@st.cache_resource(show_spinner=False, max_entries=16)
def _class_names(dataset: str) -> tuple[str, ...]:
    return tuple(str(c) for c in registry.info(dataset).classes or ())


def class_names(run_dir) -> tuple[str, ...]:
    """The class names of the dataset a run trains on, in label order (() when it has none)."""
    data = run_experiment(run_dir).get("data") or {}
    try:
        return _class_names(str(data.get("dataset", "")))
    except Exception:  # noqa: BLE001 - names are a nicety: labels fall back to numbers
        return ()
