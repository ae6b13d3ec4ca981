"""Keras' standard datasets (MNIST, Fashion-MNIST, CIFAR-10) through Keras' own loaders.

They are only loaded from the Keras cache (`$KERAS_HOME/datasets`, default
`~/.keras/datasets`) unless downloading is allowed; offline and uncached they
raise `DatasetUnavailable` with what to do — never a hang or a traceback.
"""
from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np

from datasets.base import DatasetUnavailable


@dataclass(frozen=True)
class KerasSet:
    id: str
    title: str
    files: tuple[str, ...]  # paths under <keras home>/datasets that the loader needs
    place: str  # what to tell the user to put in ~/.keras/datasets
    stand_in: str  # the nearest built-in set that always works offline


KERAS_SETS = {
    "mnist": KerasSet("mnist", "MNIST", ("mnist.npz",), "mnist.npz", "digits"),
    "fashion_mnist": KerasSet(
        "fashion_mnist", "Fashion-MNIST",
        tuple(f"fashion-mnist/{f}" for f in (
            "train-labels-idx1-ubyte.gz", "train-images-idx3-ubyte.gz",
            "t10k-labels-idx1-ubyte.gz", "t10k-images-idx3-ubyte.gz")),
        "the four fashion-mnist/*.gz files", "shapes",
    ),
    "cifar10": KerasSet(
        "cifar10", "CIFAR-10",
        tuple(f"cifar-10-batches-py-target/cifar-10-batches-py/{f}"
              for f in ("data_batch_1", "data_batch_2", "data_batch_3", "data_batch_4", "data_batch_5", "test_batch")),
        "the extracted cifar-10-batches-py folder (under cifar-10-batches-py-target/)", "shapes",
    ),
}


def cache_dirs() -> list[str]:
    """Where Keras looks for downloaded datasets (it falls back to /tmp/.keras when home is read-only)."""
    home = os.path.expanduser(os.environ.get("KERAS_HOME") or os.path.join("~", ".keras"))
    return [os.path.join(home, "datasets"), os.path.join("/tmp", ".keras", "datasets")]


def is_cached(set_id: str) -> bool:
    files = KERAS_SETS[set_id].files
    return any(all(os.path.isfile(os.path.join(d, f)) for f in files) for d in cache_dirs())


def offline_message(set_id: str) -> str:
    s = KERAS_SETS[set_id]
    return (f"{s.title} is not available offline — place {s.place} in ~/.keras/datasets "
            f"or connect to the internet")


def load(set_id: str, allow_download: bool = True) -> dict:
    """x float32 (n, h, w, c) scaled 0..1 (train and test joined; splitting is ours), y int32."""
    if not is_cached(set_id) and not allow_download:
        raise DatasetUnavailable(offline_message(set_id))
    import keras

    loader = {"mnist": keras.datasets.mnist, "fashion_mnist": keras.datasets.fashion_mnist,
              "cifar10": keras.datasets.cifar10}[set_id]
    try:
        (x_train, y_train), (x_test, y_test) = loader.load_data()
    except Exception as exc:  # network errors, bad cache files: say it in plain words
        raise DatasetUnavailable(f"{offline_message(set_id)} (download failed: {exc})") from exc
    x = np.concatenate([x_train, x_test])
    y = np.concatenate([np.ravel(y_train), np.ravel(y_test)]).astype(np.int32)
    x = x.astype(np.float32) / 255.0
    if x.ndim == 3:
        x = x[..., None]
    return {"x": x, "y": y}
