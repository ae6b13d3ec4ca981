"""scikit-learn's shipped datasets: always offline, no download."""
from __future__ import annotations

import numpy as np


def digits():
    """8×8 grayscale handwritten digits, scaled 0..1, as (n, 8, 8, 1) images."""
    from sklearn.datasets import load_digits

    d = load_digits()
    x = (d.images / 16.0).astype(np.float32)[..., None]
    return {"x": x, "y": d.target.astype(np.int32)}


def _table(loader, regression=False):
    d = loader()
    y = d.target.astype(np.float32 if regression else np.int32)
    out = {"x": d.data.astype(np.float32), "y": y, "feature_names": [str(f) for f in d.feature_names]}
    if not regression:
        out["class_names"] = [str(c) for c in d.target_names]
    return out


def iris():
    from sklearn.datasets import load_iris

    return _table(load_iris)


def wine():
    from sklearn.datasets import load_wine

    return _table(load_wine)


def breast_cancer():
    from sklearn.datasets import load_breast_cancer

    return _table(load_breast_cancer)


def diabetes():
    from sklearn.datasets import load_diabetes

    return _table(load_diabetes, regression=True)
