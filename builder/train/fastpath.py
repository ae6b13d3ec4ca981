"""The GPU fast path: the training set lives on the device, many steps run per call.

A small model on a GPU is bound by the host, not the GPU: for every batch
plain `fit` slices NumPy, copies the slice to the device, dispatches one step
and runs its callbacks. Here each `fit` step is a *group* of batches: the
model's train function draws the epoch's sample order exactly as plain `fit`
would (same batches, same order, same updates) and gathers each batch from
arrays put on the device once. Under JAX a group runs as one compiled
`lax.scan`; PyTorch loops over the group in Python (Keras compiles no loop
there) but skips the per-batch data copies and callbacks. Epochs, validation,
callbacks and metrics stay Keras' own; batch callbacks see one call per group.

    if fastpath.applies(device, data.x_train, data.y_train):
        groups = fastpath.install(model, data.x_train, data.y_train, batch_size)
        model.fit(groups, None, batch_size=1, shuffle=False, validation_batch_size=…, …)
"""
from __future__ import annotations

import math

import numpy as np

from builder import settings

DEFAULT_BUDGET_MB = 1024  # training arrays up to this size are copied to the GPU
GROUP = 64  # batches per compiled call under JAX: ~0.1 s of a small model, so stop stays prompt
TORCH_GROUP = 16  # batches per fit step under PyTorch (no compiled loop there: a shorter group)
UNROLL = 4  # steps per loop iteration inside that call: fewer loop round trips on the GPU, short compiles
BACKENDS = ("jax", "torch")  # TensorFlow already loops in-graph (steps_per_execution)


def budget_bytes() -> int:
    """The device-data budget: server setting LAYERLAB_DEVICE_DATA_MB (0 switches the fast path off)."""
    mb = settings.number("LAYERLAB_DEVICE_DATA_MB", DEFAULT_BUDGET_MB)
    return int(mb * 2**20)


def applies(device, x, y) -> bool:
    """On a GPU, under JAX or PyTorch, for a training set within the budget.

    Server setting LAYERLAB_FAST_PATH: `auto` (that rule), `on` (on a CPU too),
    `off` (never).
    """
    mode = settings.fast_path()
    if mode == "off" or device.backend not in BACKENDS or not all(isinstance(a, np.ndarray) for a in (x, y)):
        return False
    if not 0 < x.nbytes + y.nbytes <= budget_bytes():
        return False
    return device.on_gpu or mode == "on"


def validation_batch(batch_size: int, x) -> int:
    """Validation needs no gradients: bigger batches, fewer calls, the same mean (≤ 16 MB of inputs each)."""
    per_sample = max(1, x[:1].nbytes)
    return max(batch_size, min(1024, len(x), (16 << 20) // per_sample))


def install(model, x, y, batch_size: int) -> np.ndarray:
    """Put x and y on the device and make each `fit` step train a group of batches from them.

    Returns what to pass to `model.fit(…, batch_size=1, shuffle=False)`: one
    number per group (`group_size` batches, the last one shorter). Call after
    `compile`; the model is built here from one real sample, because `fit`
    would otherwise build it from a group number.
    """
    import keras

    backend = keras.backend.backend()
    model._symbolic_build(data_batch=(x[:1], y[:1]))
    groups = _Groups(len(x), batch_size, group_size(backend), backend)
    make = _jax_train_function if backend == "jax" else _torch_train_function
    model.train_function = make(model, x, y, groups)
    return np.arange(groups.per_epoch, dtype="int32")


def group_size(backend: str) -> int:
    """Batches per `fit` step: one compiled call under JAX; a Python loop without Keras' per-batch work on PyTorch."""
    return GROUP if backend == "jax" else TORCH_GROUP


class _Groups:
    """The sample indices of each group, in the epoch's order drawn exactly as plain `fit` draws it."""

    def __init__(self, n: int, batch_size: int, group: int, backend: str):
        self.n, self.batch, self.group = n, batch_size, group
        self.per_epoch = math.ceil(math.ceil(n / batch_size) / group)
        self.draw = _jax_order if backend == "jax" else _torch_order
        # Plain fit opens its data once more to build the model: one more order drawn (under PyTorch
        # after the loader's base seed; each epoch's base seed the group loader draws itself).
        if backend == "torch":
            _torch_seed()
        self.draw(n)
        self.order = None
        self.count = 0

    def next(self):
        """(full batches (k, batch), the epoch's shorter last batch or an empty array)."""
        g = self.count % self.per_epoch
        if g == 0:
            self.order = self.draw(self.n)
        self.count += 1
        chunk = self.order[g * self.group * self.batch:(g + 1) * self.group * self.batch]
        k = len(chunk) // self.batch
        return chunk[:k * self.batch].reshape(k, self.batch), chunk[k * self.batch:]


def _jax_order(n: int) -> np.ndarray:
    return np.random.permutation(n).astype("int32")  # Keras' array adapter shuffles so under JAX


def _torch_order(n: int) -> np.ndarray:
    """As the RandomSampler of Keras' PyTorch DataLoader draws it (after the loader's base seed)."""
    import torch

    generator = torch.Generator()
    generator.manual_seed(_torch_seed())
    return torch.randperm(n, generator=generator).numpy().astype("int32")


def _torch_seed() -> int:
    import torch

    return int(torch.empty((), dtype=torch.int64).random_().item())


def _jax_train_function(model, x, y, groups: _Groups):
    import jax

    xd, yd = jax.device_put(x), jax.device_put(y)

    def steps(state, xd, yd, idx):  # idx: (steps, batch) sample indices
        def one(state, i):
            logs, state = model.train_step(state, (xd[i], yd[i]))
            return state, logs

        state, logs = jax.lax.scan(one, state, idx, unroll=min(UNROLL, len(idx)))
        return jax.tree.map(lambda v: v[-1], logs), state

    steps = jax.jit(steps, donate_argnums=0)

    def train_function(state, iterator):  # fit's contract; each of its steps is one group
        next(iterator)
        full, rest = groups.next()
        if len(full):
            logs, state = steps(state, xd, yd, full)
        if len(rest):  # the epoch's last, shorter batch: compiled once, kept exact
            logs, state = steps(state, xd, yd, rest[None])
        return logs, state

    return train_function


def _torch_train_function(model, x, y, groups: _Groups):
    import torch
    from keras.src.backend.torch.core import get_device

    xd = torch.as_tensor(x, device=get_device())
    yd = torch.as_tensor(y, device=get_device())

    def train_function(data):  # fit's contract; each of its steps is one group
        full, rest = groups.next()
        idx = torch.as_tensor(np.concatenate([full.ravel(), rest]), device=xd.device)
        for lo in range(0, len(idx), groups.batch):
            logs = model.train_step((xd[idx[lo:lo + groups.batch]], yd[idx[lo:lo + groups.batch]]))
        return logs

    return train_function
