"""Shared test set-up: quiet TensorFlow, a deterministic CPU run."""
import os

import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("CUDA_VISIBLE_DEVICES", "")
os.environ.setdefault("LAYERLAB_PREWARM", "0")  # AppTests of app.py start no worker processes


@pytest.fixture(autouse=True)
def _workspaces_in_tmp(tmp_path_factory, monkeypatch):
    """Workspaces a page test saves go to a folder of their own (not inside a test's runs folder), never beside
    the repository's runs folder (a test that names its own LAYERLAB_HOME sets it after this)."""
    monkeypatch.setenv("LAYERLAB_HOME", str(tmp_path_factory.mktemp("workspaces")))
