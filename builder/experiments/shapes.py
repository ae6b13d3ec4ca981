"""Does the data fit the model? Shape comparisons shared by the experiment's checks and the GAN's."""
from __future__ import annotations

import math


def squeeze_ones(shape) -> tuple:
    return tuple(d for d in shape if d != 1)


def shapes_fit(data_shape, model_shape, flatten: bool = True) -> bool:
    """Equal, equal once size-1 axes are dropped ((28, 28, 1) feeds an Input of [28, 28]), or a flat
    Input of exactly the data's number of values ((28, 28, 1) feeds [784], as in the classic MLP)."""
    data_shape, model_shape = tuple(data_shape), tuple(model_shape)
    if len(data_shape) == len(model_shape):
        return all(m is None or m == d for d, m in zip(data_shape, model_shape, strict=True))
    if None in model_shape or None in data_shape:
        return False
    if flatten and len(model_shape) == 1:
        return math.prod(data_shape) == model_shape[0]
    return squeeze_ones(data_shape) == squeeze_ones(model_shape)
