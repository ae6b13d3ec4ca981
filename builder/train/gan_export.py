"""Exports of a GAN run: the two networks' scripts and a `train.py` that reproduces the adversarial loop.

    code/model.py          the generator (builder.codegen; model.keras holds its trained weights)
    code/discriminator.py  the discriminator
    code/train.py          same data, seeds, optimizer and GAN step as the run

The step itself is `builder/train/adversarial.py`, copied into train.py
verbatim (it needs only Keras), so the script trains exactly like the app.
"""
from __future__ import annotations

import inspect
from pathlib import Path


def write_scripts(run_dir, exp) -> tuple[Path, Path]:
    from builder.codegen import to_python
    from builder.gan import PART
    from builder.spec import atomic_write_text

    code = Path(run_dir) / "code"
    code.mkdir(exist_ok=True)
    atomic_write_text(code / "model.py", to_python(exp.model))
    atomic_write_text(code / "discriminator.py", to_python(exp.gan[PART]))
    atomic_write_text(code / "train.py", training_script(exp, Path(run_dir).name))
    return code / "model.py", code / "train.py"


def training_script(exp, run_id: str = "") -> str:
    from builder.codegen import comment_lines, literal
    from builder.gan import PART, noise_size
    from builder.train import adversarial, plan
    from builder.train.gan_run import training_data

    hp, data = exp.hp, exp.data_settings
    disc = exp.gan[PART]
    image_shape = tuple(disc.node(disc.input_ids()[0]).params["shape"])
    batches = max(1, -(-len(training_data(exp).x_train) // hp["batch_size"]))  # as the run counted them
    lines = [
        *[f"# {line}" for line in comment_lines(f"Run {run_id}" if run_id else "")],
        '"""GAN training script exported by Layerlab.',
        "",
        "It reproduces the run: same data split, seeds, hyperparameters and adversarial step. Run it",
        "from the Layerlab folder, which holds the `datasets` package:",
        "",
        "    python runs/<run>/code/train.py",
        "",
        "It saves the generator as generator.keras and prints the last epoch's losses as JSON.",
        '"""',
        "import json",
        "import sys",
        "from pathlib import Path",
        "",
        "import keras",
        "from keras import ops",
        "",
        "sys.path.insert(0, str(Path(__file__).resolve().parent))  # model.py and discriminator.py live here",
        "sys.path.append(str(Path.cwd()))",
        "from discriminator import build_model as build_discriminator  # noqa: E402",
        "from model import build_model as build_generator  # noqa: E402",
        "",
        "try:",
        "    from datasets import registry, splits",
        "except ImportError:",
        '    sys.exit("run this script from the Layerlab folder: it loads the data with Layerlab\'s datasets package")',
        "",
        f"SEED = {literal(hp['seed'])}",
        f"BATCH_SIZE = {literal(hp['batch_size'])}",
        f"EPOCHS = {literal(hp['epochs'])}",
        f"NOISE_SIZE = {literal(noise_size(exp.model))}",
        f"IMAGE_SHAPE = {literal(image_shape)}",
        "",
        "",
        "# -- the adversarial step (Layerlab's builder/train/adversarial.py) --------------------",
        _step_source(adversarial),
        "",
        "# -- data: the run's real training images -------------------------------------------",
        f"dataset = registry.load({literal(data['dataset'])}, **{literal(data['options'])})",
        f"parts = splits.prepare(dataset, {literal(data['validation_split'])}, {literal(data['test_split'])}, "
        f"seed=SEED, normalize={literal(data['normalize'])}, features={literal(data['features'])})",
        "x_train = parts.x_train.reshape((len(parts.x_train),) + IMAGE_SHAPE)",
        "",
        "",
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
