"""Sanity check by model randomization (Adebayo et al. 2018).

An explanation that means something must depend on what the model learned:
re-initialise the trained weights and the maps must change. We measure the
Spearman rank correlation between the maps of the trained model and of a
randomly re-initialised copy (per item, then the mean). A method whose maps
stay almost the same (correlation near 1) is flagged — e.g. an edge detector
that only reflects the input.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from builder.explain.logits import Scores
from builder.explain.methods import explain, method_name, to_map

# Calibrated on the shapes CNN of tests/builder/explain/test_groundtruth.py (numbers in
# the README's "Explainability" section): mean |rank correlation| between the
# trained and the re-initialised model's maps was about 0.0-0.15 for vanilla
# gradient, SmoothGrad and Grad-CAM, about 0.45-0.6 for occlusion and
# Integrated Gradients (both multiply in the input, so part of their map is the
# input itself, as Adebayo et al. report for gradient×input), and 1.0 for the
# input-edge control. 0.7 flags maps that barely depend on the weights while
# leaving room above the input-weighted methods.
THRESHOLD = 0.7


@dataclass(frozen=True)
class SanityResult:
    method: str
    correlation: float  # mean Spearman rank correlation, trained vs randomized maps
    per_item: np.ndarray
    threshold: float

    @property
    def passed(self) -> bool:
        """True when the maps changed enough: the method depends on the weights."""
        return abs(self.correlation) < self.threshold


def randomized_copy(model, seed: int = 0):
    """A copy of `model` with freshly initialised weights; the original is untouched.

    `clone_model` re-creates every layer from its config (biases, norms and
    their statistics back to their initial values); the kernels are then drawn
    Glorot-uniform from a NumPy generator, so the copy is repeatable without
    touching Keras' global seed.
    """
    import keras

    copy = keras.models.clone_model(model)
    rng = np.random.default_rng(seed)
    for var in copy.trainable_weights:
        shape = tuple(var.shape)
        if len(shape) < 2:
            continue
        receptive = int(np.prod(shape[:-2])) if len(shape) > 2 else 1
        fan_in, fan_out = shape[-2] * receptive, shape[-1] * receptive
        limit = np.sqrt(6.0 / (fan_in + fan_out))
        var.assign(rng.uniform(-limit, limit, size=shape).astype(var.dtype))
    return copy


def rank_correlation(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Spearman correlation per item between two batches of maps (n, ...) → (n,).

    A constant map has no ranking; its correlation counts as 0.
    """
    from scipy.stats import spearmanr

    a = np.asarray(a, dtype="float64").reshape(len(a), -1)
    b = np.asarray(b, dtype="float64").reshape(len(b), -1)
    out = np.zeros(len(a))
    for i, (u, v) in enumerate(zip(a, b, strict=True)):
        if np.ptp(u) > 0 and np.ptp(v) > 0:
            out[i] = spearmanr(u, v).statistic
    return out


def model_randomization_check(model, x, method: str, target=None, threshold: float = THRESHOLD,
                              seed: int = 0, **options) -> SanityResult:
    """Compare `method`'s maps of the trained model and of a re-initialised copy.

    The target class is held fixed (the trained model's prediction unless
    given) so that only the weights differ between the two maps.
    """
    name = method_name(method)
    x = np.asarray(x, dtype="float32")
    if target is None:
        target = Scores(model).targets(x)
    trained = to_map(explain(model, x, name, target=target, **options))
    randomized = to_map(explain(randomized_copy(model, seed), x, name, target=target, **options))
    per_item = rank_correlation(trained, randomized)
    return SanityResult(name, float(per_item.mean()), per_item, threshold)
