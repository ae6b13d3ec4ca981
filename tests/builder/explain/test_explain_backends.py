"""Same model, same weights, same maps: TensorFlow against JAX.

The test process (TensorFlow) saves a small CNN's weights (npz) with a batch
of inputs, then ONE subprocess with KERAS_BACKEND=jax rebuilds the same
architecture, loads the weights, explains the batch with every method and writes its maps; they must match the
TensorFlow maps closely. Running this file as a script is that subprocess.
`EXPLAIN_OTHER_BACKEND=torch` compares with PyTorch instead.
"""
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

METHODS = {
    "saliency": {},
    "smoothgrad": {"samples": 8, "noise": 0.2, "seed": 3},
    "integrated_gradients": {"steps": 16},
    "gradcam": {},
    "occlusion": {"window": 4, "stride": 4},
}
ROOT = Path(__file__).resolve().parents[3]


def explain_all(model, x) -> dict:
    from builder.explain import explain

    target = np.arange(len(x)) % 3  # fixed targets: no dependence on a near-tie argmax
    return {m: explain(model, x, m, target=target, **opts) for m, opts in METHODS.items()}


def cnn(keras):
    """The same architecture in both processes; the weights travel as an npz."""
    inp = keras.Input((16, 16, 1))
    h = keras.layers.Conv2D(6, 3, activation="relu", padding="same", name="c1")(inp)
    h = keras.layers.MaxPooling2D()(h)
    h = keras.layers.Conv2D(8, 3, activation="relu", name="c2")(h)
    h = keras.layers.BatchNormalization(name="bn")(h)
    h = keras.layers.GlobalAveragePooling2D()(h)
    out = keras.layers.Dense(3, activation="softmax", name="out")(h)
    return keras.Model(inp, out)


@pytest.mark.slow  # a second Python process that imports Keras under another backend (~10-40 s)
def test_saliency_agrees_across_backends(tmp_path):
    keras = pytest.importorskip("keras")
    here = keras.backend.backend()
    # EXPLAIN_OTHER_BACKEND=torch checks PyTorch instead (one subprocess either way).
    other = os.environ.get("EXPLAIN_OTHER_BACKEND") or ("jax" if here != "jax" else "tensorflow")
    pytest.importorskip(other)
    keras.utils.set_random_seed(7)
    model = cnn(keras)
    bn = model.get_layer("bn")  # non-trivial moving statistics, so inference-mode BN matters
    bn.moving_mean.assign(np.linspace(-0.2, 0.2, 8).astype("float32"))
    bn.moving_variance.assign(np.linspace(0.5, 2.0, 8).astype("float32"))
    np.savez(tmp_path / "weights.npz", *model.get_weights())
    x = np.random.default_rng(0).uniform(size=(5, 16, 16, 1)).astype("float32")
    np.save(tmp_path / "x.npy", x)
    mine = explain_all(model, x)

    env = dict(os.environ, KERAS_BACKEND=other, PYTHONPATH=str(ROOT), CUDA_VISIBLE_DEVICES="", JAX_PLATFORMS="cpu")
    done = subprocess.run([sys.executable, __file__, str(tmp_path)], env=env, capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    theirs = np.load(tmp_path / "maps.npz")
    assert str(theirs["backend"]) == other
    for method in METHODS:
        a, b = mine[method], theirs[method]
        scale = float(np.abs(a).max())
        assert scale > 0, method
        np.testing.assert_allclose(b, a, rtol=1e-3, atol=1e-4 * scale, err_msg=f"{method}: {here} vs {other}")


if __name__ == "__main__":  # the subprocess: rebuild, load the weights, explain, save
    import keras

    folder = Path(sys.argv[1])
    model = cnn(keras)
    with np.load(folder / "weights.npz") as f:
        model.set_weights([f[f"arr_{i}"] for i in range(len(f.files))])
    maps = explain_all(model, np.load(folder / "x.npy"))
    np.savez(folder / "maps.npz", backend=keras.backend.backend(), **maps)
