"""Decision boundary of a 2-D classifier: class probabilities on a grid (TensorFlow-Playground view)."""
from __future__ import annotations

import numpy as np

from builder.explain.logits import SQUASHES, ExplainError, output_layer


def decision_boundary(model, x2d: np.ndarray, steps: int = 60, margin: float = 0.5):
    """(xx, yy, probs): a steps×steps grid around the points `x2d` (n, 2), padded by `margin`,
    and the model's class probabilities there, (steps, steps, classes).

    One forward pass over the grid (3 600 points by default), so it is cheap
    enough to redraw after every epoch. A single sigmoid unit gives two
    columns (1 − p, p); outputs without softmax/sigmoid are treated as logits.
    """
    import keras

    pts = np.asarray(x2d, dtype="float32")
    if pts.ndim != 2 or pts.shape[1] != 2:
        raise ExplainError(f"a decision boundary needs 2-D points, shape (n, 2); got {pts.shape}")
    if tuple(model.inputs[0].shape[1:]) != (2,):
        raise ExplainError("a decision boundary needs a model whose input is 2 numbers")
    lo, hi = pts.min(axis=0) - margin, pts.max(axis=0) + margin
    xs = np.linspace(lo[0], hi[0], int(steps), dtype="float32")
    ys = np.linspace(lo[1], hi[1], int(steps), dtype="float32")
    xx, yy = np.meshgrid(xs, ys)
    grid = np.stack([xx.ravel(), yy.ravel()], axis=-1)
    out = keras.ops.convert_to_numpy(model(grid, training=False)).astype("float32")
    probs = _as_probabilities(model, out)
    return xx, yy, probs.reshape(xx.shape + (probs.shape[-1],))


def _as_probabilities(model, out: np.ndarray) -> np.ndarray:
    if out.ndim == 1:
        out = out[:, None]
    act = getattr(getattr(output_layer(model), "activation", None), "__name__", "")
    squashed = act in SQUASHES or type(output_layer(model)).__name__ == "Softmax"
    if out.shape[-1] == 1:
        p = out if squashed else 1.0 / (1.0 + np.exp(-out))
        return np.concatenate([1 - p, p], axis=-1)
    if squashed:
        return out
    e = np.exp(out - out.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)
