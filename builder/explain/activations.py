"""Feature maps: what one layer computes for one input."""
from __future__ import annotations

import numpy as np

from builder.explain.logits import ExplainError


def feature_layers(model) -> list[str]:
    """Layers whose output is a stack of maps (h, w, k) or a sequence (t, k)."""
    names = []
    for layer in model.layers:
        try:
            shape = layer.output.shape
        except (AttributeError, ValueError):
            continue
        if len(shape) >= 3 and not isinstance(layer, _input_layer_type()):
            names.append(layer.name)
    return names


def activations(model, layer: str, x: np.ndarray) -> np.ndarray:
    """The output of `layer` for one input `x` (without batch axis), e.g. (h, w, filters)."""
    import keras

    try:
        tensor = model.get_layer(layer).output
    except ValueError:
        raise ExplainError(f"no layer named {layer!r}; layers with feature maps: {', '.join(feature_layers(model)) or 'none'}") from None
    item = np.asarray(x, dtype="float32")
    want = tuple(model.inputs[0].shape[1:])
    if item.shape != want and item.shape[1:] == want and item.shape[0] == 1:
        item = item[0]
    if item.ndim != len(want):
        raise ExplainError(f"give one input of shape {want}, got {item.shape}")
    probe = keras.Model(model.inputs[0], tensor)
    return keras.ops.convert_to_numpy(probe(item[None], training=False))[0]


def grid(maps: np.ndarray, cols: int = 8, pad: int = 1) -> np.ndarray:
    """(h, w, k) feature maps → one (rows·(h+pad), cols·(w+pad)) mosaic, each map scaled to [0, 1]."""
    m = np.asarray(maps, dtype="float32")
    if m.ndim != 3:
        raise ExplainError(f"a mosaic needs maps of shape (h, w, k), got {m.shape}")
    h, w, k = m.shape
    lo, hi = m.min(axis=(0, 1)), m.max(axis=(0, 1))
    m = np.where(hi > lo, (m - lo) / np.where(hi > lo, hi - lo, 1), 0.0)
    cols = max(1, min(cols, k))
    rows = -(-k // cols)
    out = np.zeros((rows * (h + pad), cols * (w + pad)), dtype="float32")
    for i in range(k):
        r, c = divmod(i, cols)
        out[r * (h + pad) : r * (h + pad) + h, c * (w + pad) : c * (w + pad) + w] = m[..., i]
    return out


def _input_layer_type():
    import keras

    return keras.layers.InputLayer
