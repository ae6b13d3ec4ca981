"""Input gradients, the one place that needs per-backend code.

Keras 3 has no backend-neutral `grad`, so this module holds a small helper
per backend (TensorFlow `GradientTape`, `jax.value_and_grad`, torch
autograd). Everything else in `builder.explain` is `keras.ops` and NumPy.
"""
from __future__ import annotations

from collections.abc import Callable

import keras
import numpy as np

# A chunk of at most this many items goes through the model at once: big
# enough to vectorise SmoothGrad / Integrated Gradients samples, small enough
# to keep memory bounded on large inputs.
CHUNK = 512
JAX_EAGER_MAX = 64


def backend() -> str:
    return keras.backend.backend()


def value_and_grad(fn: Callable, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """`fn` maps a batch tensor (n, ...) to one score per item (n,).

    Returns (scores (n,), d score_i / d x_i with the shape of x) as NumPy.
    Items are independent, so the gradient of the summed score is the
    per-item gradient.
    """
    x = np.asarray(x, dtype="float32")
    name = backend()
    if name == "tensorflow":
        return _tensorflow(fn, x)
    if name == "jax":
        return _jax(fn, x)
    if name == "torch":
        return _torch(fn, x)
    raise NotImplementedError(
        f"input gradients are not available for the Keras backend {name!r}; use tensorflow, jax or torch"
    )


def chunked_value_and_grad(fn_for: Callable, x: np.ndarray, chunk: int = CHUNK):
    """Like `value_and_grad`, over chunks; `fn_for(start, stop)` returns the score fn of that slice."""
    if len(x) <= chunk:
        return value_and_grad(fn_for(0, len(x)), x)
    values, grads = [], []
    for start in range(0, len(x), chunk):
        stop = min(start + chunk, len(x))
        v, g = value_and_grad(fn_for(start, stop), x[start:stop])
        values.append(v)
        grads.append(g)
    return np.concatenate(values), np.concatenate(grads)


def _tensorflow(fn, x):
    import tensorflow as tf

    xt = tf.convert_to_tensor(x)
    with tf.GradientTape() as tape:
        tape.watch(xt)
        scores = fn(xt)
        total = tf.reduce_sum(scores)
    grad = tape.gradient(total, xt)
    if grad is None:  # the scores do not depend on the input at all
        grad = tf.zeros_like(xt)
    return scores.numpy(), grad.numpy()


def _jax(fn, x):
    import jax
    import jax.numpy as jnp

    def total(a):
        scores = fn(a)
        return jnp.sum(scores), scores

    # One compiled program instead of op-by-op dispatch: op-by-op JAX compiles every
    # primitive for every new batch shape, which is far slower for a whole model.
    step = jax.value_and_grad(total, has_aux=True)
    if len(x) > JAX_EAGER_MAX:
        # Big batches (SmoothGrad/IG samples) compile as one program: op-by-op JAX compiles
        # every primitive for every new shape, which is slower for a whole model. Small
        # batches (live probes, one image) stay op-by-op: their shapes repeat and hit the cache,
        # whereas a jitted closure would recompile on every call (the weights are baked in).
        step = jax.jit(step)
    (_, scores), grad = step(jnp.asarray(x))
    return np.asarray(scores), np.asarray(grad)


def _torch(fn, x):
    import torch

    xt = keras.ops.convert_to_tensor(x).detach().clone().requires_grad_(True)
    with torch.enable_grad():
        scores = fn(xt)
        scores.sum().backward()
    grad = xt.grad if xt.grad is not None else torch.zeros_like(xt)
    return scores.detach().cpu().numpy(), grad.detach().cpu().numpy()
