"""Exports of a GAN run: the two networks' scripts and a `train.py` that reproduces the adversarial loop.

    code/model.py          the generator (builder.graph.codegen; model.keras holds its trained weights)
    code/discriminator.py  the discriminator
    code/train.py          same data, seeds, optimizer and GAN step as the run

The step itself is `builder/train/adversarial.py`, copied into train.py
verbatim (it needs only Keras), so the script trains exactly like the app.
"""
from __future__ import annotations

import inspect
from pathlib import Path

from builder.experiments.gan import PART, noise_size
from builder.exports import script
from builder.model.spec import atomic_write_text


def write_scripts(run_dir, exp) -> list[Path]:
    from builder.graph.codegen import to_python  # lazy: imports keras
    from builder.train.gan_run import training_data  # lazy: imports keras

    code = Path(run_dir) / "code"
    code.mkdir(exist_ok=True)
    real = _real_images_experiment(exp)
    data = training_data(exp)
    atomic_write_text(code / "model.py", to_python(exp.model))
    atomic_write_text(code / "discriminator.py", to_python(exp.gan[PART]))
    atomic_write_text(code / "train.py", training_script(exp, Path(run_dir).name, data))
    written = [code / "model.py", code / "train.py", code / "discriminator.py"]
    if script.needs_data_file(real):
        written.append(script.write_data_file(real, code / script.DATA_FILE, data.preprocessing))
    return written


def _real_images_experiment(exp):
    """The experiment as the real images see it: the discriminator's input, the run's data settings."""
    import dataclasses


    return dataclasses.replace(exp, model=exp.gan[PART], gan=None)


def training_script(exp, run_id: str = "", data=None) -> str:
    """A standalone script: the run's real images through the same public loader, split and scaling as any
    exported train.py (builder.exports.classic), then the adversarial loop with the run's seeds and optimizer."""
    from builder.graph.codegen import comment_lines, literal  # lazy: imports keras
    from builder.train import adversarial, plan  # lazy: imports keras
    from builder.train.gan_run import training_data  # lazy: imports keras

    hp = exp.hp
    real = _real_images_experiment(exp)
    data = data or training_data(exp)
    prep = data.preprocessing
    image_shape = tuple(prep.model_shape)
    batches = plan.count_batches(len(data.x_train), hp["batch_size"])
    shared = {title: code for title, _words, code in script.sections(real, data)
              if title in ("data", "split", "preprocessing")}
    lines = [
        *[f"# {line}" for line in comment_lines(f"Run {run_id}" if run_id else "")],
        '"""GAN training script exported by Layerlab: it trains the run\'s two networks again, on its own.',
        "",
        "It needs only Keras (with TensorFlow, JAX or PyTorch), NumPy and scikit-learn, with model.py (the",
        "generator) and discriminator.py beside it. Run it in any folder:",
        "",
        "    python train.py",
        "",
        "It loads the real images, splits and scales them like the run (same seed), trains with the run's",
        "settings, saves the generator as generator.keras and prints the last epoch's losses as JSON.",
        '"""',
        "import json",
        "import sys",
        "from pathlib import Path",
        "",
        "import keras",
        "import numpy as np",
        "from keras import ops",
        "from sklearn.model_selection import train_test_split",
        "",
        "HERE = Path(__file__).resolve().parent",
        "sys.path.insert(0, str(HERE))  # model.py and discriminator.py live here",
        "from discriminator import build_model as build_discriminator  # noqa: E402",
        "from model import build_model as build_generator  # noqa: E402",
        "",
        f"SEED = {literal(hp['seed'])}",
        f"BATCH_SIZE = {literal(hp['batch_size'])}",
        f"EPOCHS = {literal(hp['epochs'])}",
        f"NOISE_SIZE = {literal(noise_size(exp.model))}",
        f"VALIDATION_SPLIT = {literal(real.data_settings['validation_split'])}",
        f"TEST_SPLIT = {literal(real.data_settings['test_split'])}",
        f"RAW_MAX = {literal(prep.raw_max)}  # pixels come in 0..RAW_MAX",
        f"MODEL_SHAPE = {literal(image_shape)}",
        "",
        "",
        "# -- the adversarial step (Layerlab's builder/train/adversarial.py) --------------------",
        _step_source(adversarial),
        "",
        "# -- data: the run's real training images, from the same loader, split and scaling -------",
        *shared["data"].splitlines(),
        *shared["split"].splitlines(),
        *shared["preprocessing"].splitlines(),
        'x_train = x_train.astype("float64")' + (" / RAW_MAX" if prep.raw_max != 1 else ""),
        *(["x_train = (x_train - shift) / scale"] if prep.normalize != "none" else []),
        'x_train = x_train.astype("float32").reshape((len(x_train),) + MODEL_SHAPE)',
        "",
        "",
        "# -- the two networks, seeded like the run's, and the loop ---------------------------------",
        "def seeded(build, seed):",
        '    """The run\'s starting weights: a first build runs Keras\' lazy set-up, which draws random numbers."""',
        "    build()",
        "    keras.utils.set_random_seed(seed)",
        "    return build()",
        "",
        "",
        "generator = seeded(build_generator, SEED)",
        "discriminator = seeded(build_discriminator, SEED + 1)",
        "gan = GAN(generator, discriminator, NOISE_SIZE, seed=SEED)",
        f"optimizer = {plan.optimizer(hp, batches).source()}",
        f"gan.compile(optimizer=optimizer, steps_per_execution={literal(plan.steps_per_execution(hp, batches))})",
        "history = gan.fit(x_train, batch_size=BATCH_SIZE, epochs=EPOCHS, shuffle=True, verbose=2)",
        "generator.save('generator.keras')",
        'print(json.dumps({name: float(values[-1]) for name, values in history.history.items()}))',
        "",
    ]
    return "\n".join(lines)


def _step_source(module) -> str:
    """The module's code without its docstring and imports (the script imports keras and ops itself)."""
    source = inspect.getsource(module)
    return source[source.index("\nclass "):].strip("\n") + "\n"
