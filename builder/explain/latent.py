"""The latent map of an autoencoder: where each example lands in its code (bottleneck) layer."""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from builder.explain.logits import ExplainError


@dataclass(frozen=True)
class LatentMap:
    layer: str  # the code layer
    coords: np.ndarray  # (n, 2) float32, one point per example
    labels: np.ndarray | None  # (n,) the class of each point, for colouring; None when not given
    method: str  # "code": the code has 2 numbers, used as they are; "pca": its first two principal components
    explained: float  # share of the code's variance the two axes show (1.0 for a 2-number code)


def code_layer(model) -> str:
    """The bottleneck: the inner layer with the fewest values per example (the earliest on a tie)."""
    import keras

    outputs = {id(t) for t in model.outputs}
    best, size = None, math.inf
    for layer in model.layers:
        if isinstance(layer, keras.layers.InputLayer) or id(layer.output) in outputs:
            continue
        dims = layer.output.shape[1:]
        if all(d is not None for d in dims) and math.prod(dims) < size:
            best, size = layer.name, math.prod(dims)
    if best is None:
        raise ExplainError("the model has no inner layer with a fixed size to use as its code")
    return best


def latent_map(model, x, labels=None, layer: str | None = None) -> LatentMap:
    """Where each example of `x` lands in `layer`'s output (default: the bottleneck, `code_layer`).

    A code of 2 numbers is the map itself; a wider one is shown through its first two
    principal components (fitted on these examples), and `explained` says how much of
    the code's spread that view keeps.
    """
    import keras

    layer = layer or code_layer(model)
    try:
        tensor = model.get_layer(layer).output
    except ValueError:
        raise ExplainError(f"no layer named {layer!r}") from None
    if labels is not None and len(labels) != len(x):
        raise ExplainError(f"{len(labels)} labels for {len(x)} examples; give one label per example")
    probe = keras.Model(model.inputs[0], tensor)
    codes = np.asarray(probe.predict(np.asarray(x, dtype="float32"), verbose=0), dtype=np.float64).reshape(len(x), -1)
    if codes.shape[1] == 2:
        coords, method, explained = codes, "code", 1.0
    elif codes.shape[1] < 2 or len(codes) < 2:
        raise ExplainError(f"layer {layer!r} gives {codes.shape[1]} number(s) per example for {len(codes)} example(s); "
                           "a map needs a code of at least 2 numbers and at least 2 examples")
    else:
        coords, explained = _principal_plane(codes)
        method = "pca"
    return LatentMap(layer, coords.astype("float32"), None if labels is None else np.asarray(labels), method, explained)


def _principal_plane(codes: np.ndarray) -> tuple[np.ndarray, float]:
    """Coordinates on the first two principal axes and the share of variance they hold."""
    centred = codes - codes.mean(axis=0)
    _, singular, axes = np.linalg.svd(centred, full_matrices=False)
    axes = axes[:2] * np.sign(axes[:2][np.arange(2), np.abs(axes[:2]).argmax(axis=1)])[:, None]  # repeatable signs
    total = float((singular ** 2).sum())
    return centred @ axes.T, float((singular[:2] ** 2).sum() / total) if total > 0 else 1.0
