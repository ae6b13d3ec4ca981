"""Train the GAN template for a few epochs under the backend in KERAS_BACKEND and report on it.

Run in-process by tests/builder/experiments/test_gan.py (TensorFlow) and in a fresh process per
other backend (the Keras backend is fixed at import). Prints one JSON line.
"""
import json
import sys

import numpy as np

EPOCHS = 3


def check(out_dir: str) -> dict:
    import keras

    from builder.experiments import templates
    from builder.experiments.experiment import coerce
    from builder.experiments.gan import PART
    from builder.store import runfolder
    from builder.train.gan_run import DISCRIMINATOR, SAMPLES_FILE
    from builder.train.loop import seeded_build
    from builder.train.runner import run

    exp = templates.experiment("mlp-gan")
    exp["training"]["epochs"] = EPOCHS
    status = run(exp, out_dir)
    parsed = coerce(exp)
    seed = parsed.hp["seed"]
    changed = {}
    for name, spec, file, build_seed in (("generator", parsed.model, runfolder.MODEL, seed),
                                         ("discriminator", parsed.gan[PART], DISCRIMINATOR, seed + 1)):
        start = seeded_build(spec, build_seed).get_weights()
        trained = keras.saving.load_model(f"{out_dir}/{file}", safe_mode=True).get_weights()
        changed[name] = all(not np.allclose(a, b) for a, b in zip(start, trained, strict=True) if a.ndim == 2)
    rows = runfolder.read_jsonl(f"{out_dir}/{runfolder.METRICS}")
    samples = np.load(f"{out_dir}/{SAMPLES_FILE}")
    return {
        "backend": keras.backend.backend(),
        "status": status,
        "epochs": [r["epoch"] for r in rows],
        "finite": all(np.isfinite([r["d_loss"], r["g_loss"]]).all() for r in rows),
        "changed": changed,
        "images": list(samples["images"].shape),
        "interpolation": list(samples["interpolation"].shape),
        "in_range": bool(samples["images"].min() >= 0 and samples["images"].max() <= 1),
    }


if __name__ == "__main__":
    print(json.dumps(check(sys.argv[1])))
