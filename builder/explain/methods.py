"""Attribution methods: which input values drive the model's score for a class.

`explain(model, x, method, target=None, **options)` explains a whole batch in
one call. Gradient methods and occlusion return an array with the shape of
`x` (before any channel reduction); Grad-CAM and the edge control return one
map per item over the input's spatial axes. `to_map` turns either into
(n, h, w) maps, `per_feature` / `per_step` into bars for tables / sequences.

Scores are pre-softmax (see `builder.explain.logits`). The default target is
the predicted class.
"""
from __future__ import annotations

import itertools

import numpy as np

from builder.explain.gradients import CHUNK, chunked_value_and_grad
from builder.explain.logits import ExplainError, Scores

# What the app offers; "edges" is a negative control for the sanity check
# (an input edge detector that ignores the model), not an explanation.
METHODS = ("saliency", "smoothgrad", "integrated_gradients", "gradcam", "occlusion")
CONTROLS = ("edges",)
ALIASES = {
    "gradient": "saliency", "vanilla": "saliency", "vanilla_gradient": "saliency",
    "ig": "integrated_gradients", "integrated-gradients": "integrated_gradients",
    "grad-cam": "gradcam", "grad_cam": "gradcam",
}
TITLES = {
    "saliency": "Vanilla gradient",
    "smoothgrad": "SmoothGrad",
    "integrated_gradients": "Integrated Gradients",
    "gradcam": "Grad-CAM",
    "occlusion": "Occlusion",
    "edges": "Input edges (control)",
}
EPS = 1e-8
GRADIENT_METHODS = ("saliency", "smoothgrad", "integrated_gradients", "gradcam")


def method_name(method: str) -> str:
    name = ALIASES.get(str(method).lower(), str(method).lower())
    if name not in METHODS + CONTROLS:
        raise ExplainError(f"unknown explanation method {method!r}; choose one of: {', '.join(METHODS)}")
    return name


def explain(model, x, method: str = "saliency", target=None, **options) -> np.ndarray:
    """Attributions for a batch `x` (a single item without batch axis also works)."""
    name = method_name(method)
    scores = Scores.of(model)
    xb, single = scores.check_input(x)
    if name in GRADIENT_METHODS and not _float_input(model):
        raise ExplainError(
            f"{TITLES[name]} needs real-valued inputs, but this model reads whole numbers (token ids for an "
            "Embedding); there is no gradient with respect to a token — use occlusion instead"
        )
    if name == "edges":
        out = edges(xb)
    else:
        t = scores.targets(xb, target)
        fn = {
            "saliency": saliency, "smoothgrad": smoothgrad, "integrated_gradients": integrated_gradients,
            "gradcam": gradcam, "occlusion": occlusion,
        }[name]
        try:
            out = fn(scores, xb, t, **options)
        except TypeError as err:  # an option the method does not take
            raise ExplainError(f"{TITLES[name]}: {err}") from None
    return out[0] if single else out


def _float_input(model) -> bool:
    dtype = str(getattr(model.inputs[0], "dtype", "float32"))
    return "float" in dtype


# -- gradient methods ---------------------------------------------------------
def _gradients(scores: Scores, x: np.ndarray, t: np.ndarray) -> np.ndarray:
    return scores.gradients(x, scores.onehot(t))


def saliency(scores: Scores, x, t) -> np.ndarray:
    """Vanilla gradient d score_t / d x (Simonyan et al. 2014)."""
    return _gradients(scores, x, t)


def smoothgrad(scores: Scores, x, t, noise: float = 0.15, samples: int = 25, seed: int = 0) -> np.ndarray:
    """Mean gradient over `samples` noisy copies (Smilkov et al. 2017).

    `noise` is the Gaussian standard deviation as a fraction of each item's
    value range. Every item gets the same `samples` noise draws (scaled to its
    range), so an item's map does not depend on the rest of the batch. All
    copies of all items go through the model as one batch.
    """
    samples = int(samples)
    if samples < 1 or noise < 0:
        raise ExplainError("SmoothGrad needs samples ≥ 1 and noise ≥ 0")
    axes = tuple(range(1, x.ndim))
    sigma = noise * (x.max(axis=axes, keepdims=True) - x.min(axis=axes, keepdims=True))
    rng = np.random.default_rng(seed)
    draws = rng.standard_normal((samples, 1) + x.shape[1:]).astype("float32")
    noisy = x[None] + draws * sigma[None]
    grads = _gradients(scores, noisy.reshape((-1,) + x.shape[1:]), np.tile(t, samples))
    return grads.reshape((samples,) + x.shape).mean(axis=0)


def integrated_gradients(scores: Scores, x, t, baseline=None, steps: int = 50) -> np.ndarray:
    """(x − baseline) × path-averaged gradient (Sundararajan et al. 2017).

    The path integral uses the trapezoidal rule over `steps` intervals; all
    path points of all items go through the model as one batch. `baseline`:
    None/"zeros" (black image), a number, or an array shaped like one item or
    like x. Completeness: attributions sum to score(x) − score(baseline).
    """
    steps = int(steps)
    if steps < 1:
        raise ExplainError("Integrated Gradients needs steps ≥ 1")
    base = _baseline(baseline, x)
    alphas = np.linspace(0.0, 1.0, steps + 1, dtype="float32")
    weights = np.full(steps + 1, 1.0 / steps, dtype="float32")
    weights[[0, -1]] *= 0.5
    shape = (-1,) + (1,) * x.ndim
    path = base[None] + alphas.reshape(shape) * (x - base)[None]
    grads = _gradients(scores, path.reshape((-1,) + x.shape[1:]), np.tile(t, steps + 1))
    avg = np.tensordot(weights, grads.reshape((steps + 1,) + x.shape), axes=1)
    return ((x - base) * avg).astype("float32")


def _baseline(baseline, x: np.ndarray) -> np.ndarray:
    if baseline is None or (isinstance(baseline, str) and baseline == "zeros"):
        return np.zeros_like(x)
    if isinstance(baseline, str):
        raise ExplainError(f"unknown baseline {baseline!r}; use 'zeros', a number or an array")
    b = np.asarray(baseline, dtype="float32")
    try:
        return np.broadcast_to(b, x.shape).astype("float32")
    except ValueError:
        raise ExplainError(f"baseline of shape {b.shape} does not fit inputs of shape {x.shape}") from None


# -- Grad-CAM -----------------------------------------------------------------
def conv_layers(model) -> list[str]:
    """Names of layers Grad-CAM can use: convolutions with a spatial output."""
    out = []
    for layer in model.layers:
        if "Conv" in type(layer).__name__ and "Transpose" not in type(layer).__name__:
            try:
                rank = len(layer.output.shape)
            except (AttributeError, ValueError):
                continue
            if rank >= 3:
                out.append(layer.name)
    return out


def gradcam_layers(model) -> list[str]:
    """Convolutions Grad-CAM can use, in model order: those no skip connection goes around."""
    scores, usable = Scores.of(model), []
    for name in conv_layers(scores.model):
        try:
            scores.head_from(scores.model.get_layer(name).output)
            usable.append(name)
        except ExplainError:
            continue
    return usable


def gradcam(scores: Scores, x, t, layer: str | None = None) -> np.ndarray:
    """Grad-CAM (Selvaraju et al. 2017) on a convolutional layer, resized to the input.

    Map = ReLU(Σ_k α_k A_k) with α_k the spatial mean of d score / d A_k,
    then divided by (max + ε) per item: in [0, 1], and exactly 0 — never
    0/0 — when every weighted activation is negative.
    Returns (n, *input spatial shape).
    """
    import keras

    model = scores.model
    names = conv_layers(model)
    if layer is None:
        if not names:
            raise ExplainError("Grad-CAM needs a convolutional layer (Conv1D/Conv2D/…); this model has none — use saliency")
        usable = gradcam_layers(model)
        if not usable:
            raise ExplainError("Grad-CAM needs a convolutional layer that no skip connection goes around; "
                               "add a Conv layer after the last merge, or use saliency")
        layer = usable[-1]
    try:
        target_layer = model.get_layer(layer)
    except ValueError:
        raise ExplainError(f"no layer named {layer!r}; convolutional layers: {', '.join(names) or 'none'}") from None
    tensor = target_layer.output
    features = keras.Model(model.inputs[0], tensor)
    head = scores.head_from(tensor)
    onehot = scores.onehot(t)
    acts, grads = [], []
    for start in range(0, len(x), CHUNK):
        a = keras.ops.convert_to_numpy(features(x[start : start + CHUNK], training=False))
        pick = keras.ops.convert_to_tensor(onehot[start : start + CHUNK])
        _, g = chunked_value_and_grad(lambda _a, _b, p=pick: lambda v: keras.ops.sum(head(v) * p, axis=-1), a)
        acts.append(a)
        grads.append(g)
    a, g = np.concatenate(acts), np.concatenate(grads)
    spatial = tuple(range(1, a.ndim - 1))
    alpha = g.mean(axis=spatial, keepdims=True)
    cam = np.maximum((a * alpha).sum(axis=-1), 0.0)
    cam = cam / (cam.max(axis=spatial, keepdims=True) + EPS)
    return resize(cam, x.shape[1 : 1 + cam.ndim - 1]).astype("float32")


def resize(maps: np.ndarray, size) -> np.ndarray:
    """Linear interpolation (half-pixel centres) of (n, *spatial) maps to `size`, any number of axes."""
    out = maps
    for axis, new in enumerate(size, start=1):
        old = out.shape[axis]
        if old == new:
            continue
        pos = np.clip((np.arange(new) + 0.5) * old / new - 0.5, 0, old - 1)
        lo = np.floor(pos).astype(int)
        hi = np.minimum(lo + 1, old - 1)
        w = (pos - lo).reshape((-1,) + (1,) * (out.ndim - axis - 1))
        out = np.take(out, lo, axis=axis) * (1 - w) + np.take(out, hi, axis=axis) * w
    return out


# -- occlusion ----------------------------------------------------------------
def occlusion_axes(x: np.ndarray) -> tuple[int, ...]:
    """Axes a window slides over: spatial axes of images, time of sequences, features of tables."""
    if x.ndim >= 4:
        return tuple(range(1, x.ndim - 1))
    return (1,)


def occlusion(scores: Scores, x, t, window=None, stride=None, baseline: float = 0.0, axes=None) -> np.ndarray:
    """Score drop when a window of the input is replaced by `baseline` (Zeiler & Fergus 2014).

    Model-agnostic (forward passes only) and works for any input rank. The
    window covers the chosen `axes` (default: see `occlusion_axes`) and all
    other axes in full (all channels, all features of a time step). Each value
    gets the mean drop of the windows covering it; with stride == window each
    value gets its window's drop.
    """
    axes = tuple(axes) if axes is not None else occlusion_axes(x)
    sizes = [x.shape[a] for a in axes]
    window = _per_axis(window, [max(1, s // 7) for s in sizes], "window")
    stride = _per_axis(stride, window, "stride")
    starts = [_starts(s, w, st) for s, w, st in zip(sizes, window, stride, strict=True)]
    slices = []
    for corner in itertools.product(*starts):
        index = [slice(None)] * x.ndim
        for a, c, w in zip(axes, corner, window, strict=True):
            index[a] = slice(c, c + w)
        slices.append(tuple(index))
    onehot = scores.onehot(t)
    base_score = (scores.predict(x) * onehot).sum(-1)
    total = np.zeros_like(x)
    count = np.zeros_like(x)
    per_chunk = max(1, CHUNK // max(1, len(x)))
    for i in range(0, len(slices), per_chunk):
        group = slices[i : i + per_chunk]
        batch = np.repeat(x[None], len(group), axis=0)
        for j, index in enumerate(group):
            batch[j][index] = baseline
        z = scores.predict(batch.reshape((-1,) + x.shape[1:])).reshape(len(group), len(x), -1)
        drop = base_score[None] - (z * onehot[None]).sum(-1)  # (windows, n)
        for j, index in enumerate(group):
            total[index] += drop[j].reshape((-1,) + (1,) * (x.ndim - 1))
            count[index] += 1
    return np.where(count > 0, total / np.maximum(count, 1), 0.0).astype("float32")


def _per_axis(value, default, what):
    if value is None:
        return list(default)
    values = [int(value)] * len(default) if np.isscalar(value) else [int(v) for v in value]
    if len(values) != len(default) or min(values) < 1:
        raise ExplainError(f"occlusion {what} must be a positive integer or one per occluded axis ({len(default)})")
    return values


def _starts(size: int, window: int, stride: int) -> list[int]:
    window = min(window, size)
    starts = list(range(0, size - window + 1, stride))
    if starts[-1] + window < size:  # always cover the far edge
        starts.append(size - window)
    return starts


# -- negative control ---------------------------------------------------------
def edges(x: np.ndarray) -> np.ndarray:
    """Sobel gradient magnitude of the input (channel mean). Ignores the model on purpose:
    it looks like a plausible saliency map, so the sanity check must flag it."""
    img = x.mean(axis=-1) if x.ndim == 4 else x
    if img.ndim != 3:
        raise ExplainError("the edge control works on images only")
    p = np.pad(img, ((0, 0), (1, 1), (1, 1)), mode="edge")
    gx = (p[:, :-2, 2:] + 2 * p[:, 1:-1, 2:] + p[:, 2:, 2:]) - (p[:, :-2, :-2] + 2 * p[:, 1:-1, :-2] + p[:, 2:, :-2])
    gy = (p[:, 2:, :-2] + 2 * p[:, 2:, 1:-1] + p[:, 2:, 2:]) - (p[:, :-2, :-2] + 2 * p[:, :-2, 1:-1] + p[:, :-2, 2:])
    return np.hypot(gx, gy).astype("float32")


# -- reductions ---------------------------------------------------------------
def to_map(attr: np.ndarray, reduce: str = "abs_max") -> np.ndarray:
    """(n, h, w, c) attributions → (n, h, w) maps; (n, h, w) maps pass through.

    reduce: "abs_max" (default, Simonyan), "abs_sum", "l2" (all ≥ 0) or "sum" (signed).
    """
    a = np.asarray(attr, dtype="float32")
    if a.ndim == 4:
        ops = {"abs_max": lambda v: np.abs(v).max(-1), "abs_sum": lambda v: np.abs(v).sum(-1),
               "l2": lambda v: np.sqrt((v * v).sum(-1)), "sum": lambda v: v.sum(-1)}
        if reduce not in ops:
            raise ExplainError(f"unknown reduction {reduce!r}; use one of {', '.join(ops)}")
        return ops[reduce](a)
    if a.ndim in (2, 3):
        return a if reduce == "sum" else np.abs(a)
    raise ExplainError(f"cannot make image maps from attributions of shape {a.shape}")


def normalize(maps: np.ndarray) -> np.ndarray:
    """Each item's map divided by its largest absolute value: non-negative maps land in [0, 1]."""
    m = np.asarray(maps, dtype="float32")
    axes = tuple(range(1, m.ndim))
    return (m / (np.abs(m).max(axis=axes, keepdims=True) + EPS)).astype("float32")


def per_feature(attr: np.ndarray) -> np.ndarray:
    """Tabular attributions (n, features): one signed value per feature (bars)."""
    a = np.asarray(attr, dtype="float32")
    if a.ndim != 2:
        raise ExplainError(f"per-feature values need tabular attributions (n, features), got shape {a.shape}")
    return a


def per_step(attr: np.ndarray, signed: bool = False) -> np.ndarray:
    """Sequence attributions (n, steps[, features]) → (n, steps): summed over features."""
    a = np.asarray(attr, dtype="float32")
    if a.ndim == 2:
        return a if signed else np.abs(a)
    if a.ndim != 3:
        raise ExplainError(f"per-step values need sequence attributions (n, steps, features), got shape {a.shape}")
    return a.sum(-1) if signed else np.abs(a).sum(-1)
