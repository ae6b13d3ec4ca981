"""The training script's sections, shared by the classic and the GAN exporters: how the data is loaded, split
and scaled, the model compiled and trained, and the test numbers computed, each as plain words and code lines."""
from __future__ import annotations

import inspect
from pathlib import Path

from builder.experiments.experiment import Experiment
from builder.graph.pretrained import base_nodes
from builder.model.spec import atomic_write_bytes
from builder.train import finetune, labels, plan
from builder.train.data import load_dataset, prepare
from datasets.splits import feature_statistics

DATA_FILE = "data.npz"


_SKLEARN_TABLES = {"iris": "load_iris", "wine": "load_wine", "breast_cancer": "load_breast_cancer",
                   "diabetes": "load_diabetes"}


_KERAS_SETS = ("mnist", "fashion_mnist", "cifar10")


def sections(exp: Experiment, data=None) -> list[tuple[str, str, str]]:
    """The script in steps: (title, what it does in a student's words, code). train.py and train.ipynb share them.
    `data`: the experiment's `prepare`d data, when already loaded."""
    hp, d = exp.hp, exp.data_settings
    data = data or prepare(exp)
    prep = data.preprocessing
    batches = plan.count_batches(len(data.x_train), hp["batch_size"])
    has_val = len(data.x_val) > 0
    steps = plan.make(exp, batches, has_val, tuple(data.info.input_shape))
    task = hp["task"]
    named = task == "classification" and bool(data.class_names)  # the script writes labels.txt
    out = [("settings", "The run's settings: change them here to try something else.", "\n".join([
        "import json",
        "import sys",
        "from pathlib import Path",
        "",
        "import keras",
        "import numpy as np",
        "from sklearn.model_selection import train_test_split",
        "",
        "HERE = Path(__file__).resolve().parent if '__file__' in globals() else Path.cwd()",
        "sys.path.insert(0, str(HERE))  # model.py lives beside this script",
        "from model import build_model  # noqa: E402",
        "",
        f"SEED = {_lit(hp['seed'])}",
        f"TASK = {_lit(task)}",
        f"VALIDATION_SPLIT = {_lit(d['validation_split'])}",
        f"TEST_SPLIT = {_lit(d['test_split'])}",
        f"RAW_MAX = {_lit(prep.raw_max)}  # pixels come in 0..RAW_MAX; the model divides by it",
        f"NORMALIZE = {_lit(prep.normalize)}  # standard: mean 0, spread 1 per feature; minmax: 0..1; none",
        f"MODEL_SHAPE = {_lit(tuple(prep.model_shape))}",
        *([f"CLASS_NAMES = {_lit(labels.one_line(data.class_names))}  # the model's outputs, in order"]
          if named else []),
    ]))]
    out.append(("data", _data_words(exp), "\n".join(_data_lines(exp, prep))))
    out.append(("split", "The examples are split into training, validation and test sets with the run's seed, so "
                "the test examples are the very ones the run was scored on. The test set is never trained on.",
                "\n".join(_split_lines(data.info.task == "classification", prep))))
    out.append(("preprocessing", _prep_words(prep), "\n".join(_prep_lines(prep, task))))
    out.append(("model", "The model you built on the canvas (model.py), started from the run's seed so its first "
                "weights are the run's. The preprocessing layers go in front of it, so the saved model takes raw "
                "data.", "\n".join(_model_lines(prep, steps))))
    out.append(("training", _training_words(steps, exp), "\n".join(_training_lines(steps, exp, batches))))
    out.append(("results", "The model scored on the test set: the same numbers as the run's evaluation.",
                "\n".join(_result_lines(task, named))))
    return out


def _data_words(exp: Experiment) -> str:
    if needs_data_file(exp):
        return ("The data comes from data.npz beside this script (Layerlab made or stored it; there is no public "
                "loader for it).")
    return "The data comes from its public loader, exactly as anyone can get it."


def _loader_lines(exp: Experiment) -> list[str] | None:
    """Code that loads the raw data with its public loader into x, y; None when it has none (made by Layerlab,
    uploaded): then it travels as data.npz."""
    ds = exp.dataset
    if ds == "digits":
        return ["from sklearn.datasets import load_digits", "", "digits = load_digits()",
                'x = digits.images.astype("float32")[..., None]  # 8×8 pictures, pixels 0..16', "y = digits.target"]
    if ds in _SKLEARN_TABLES:
        fn = _SKLEARN_TABLES[ds]
        return [f"from sklearn.datasets import {fn}", "", f"table = {fn}()", 'x = table.data.astype("float32")',
                "y = table.target"]
    if ds in _KERAS_SETS:
        opts = exp.data_settings["options"]
        n, seed = opts.get("n_samples", 0), opts.get("seed", 0)
        lines = [f"(x1, y1), (x2, y2) = keras.datasets.{ds}.load_data()  # downloaded once into ~/.keras/datasets",
                 'x = np.concatenate([x1, x2]).astype("float32")',
                 "y = np.concatenate([y1.ravel(), y2.ravel()])"]
        if ds != "cifar10":
            lines.append("x = x[..., None]  # one grey channel")
        if n:
            lines += [f"if {_lit(n)} < len(x):  # the run used a random part of the data",
                      f"    keep = np.sort(np.random.default_rng({_lit(seed)}).choice(len(x), {_lit(n)}, replace=False))",
                      "    x, y = x[keep], y[keep]"]
        return lines
    return None


def needs_data_file(exp: Experiment) -> bool:
    """True when the data has no public loader, so the exported script reads it from data.npz beside it."""
    return _loader_lines(exp) is None


def _data_lines(exp: Experiment, prep) -> list[str]:
    lines = _loader_lines(exp) or [f"with np.load(HERE / {_lit(DATA_FILE)}) as saved:",
                                   '    x, y = saved["x"], saved["y"]']
    lines.append('y = y.astype("int32")' if exp.hp["task"] == "classification" else 'y = y.astype("float32")')
    lines.append('print("data:", x.shape, "inputs,", y.shape, "targets")')
    return lines


def _lit(value) -> str:
    from builder.graph.codegen import literal  # imports Keras: only when a script is made

    return literal(value)


def write_data_file(exp: Experiment, path: Path, prep) -> Path:
    """The raw data as Layerlab loaded it (for data with no public loader), atomic."""
    import io

    import numpy as np

    d = exp.data_settings
    ds = load_dataset(d["dataset"], d["options"])
    buffer = io.BytesIO()
    np.savez_compressed(buffer, x=prep.raw_inputs(ds.x), y=np.asarray(ds.y))
    atomic_write_bytes(path, buffer.getvalue())
    return path


def _split_lines(stratify: bool, prep) -> list[str]:
    """Layerlab's split (datasets.splits.split_indices): stratified when the dataset has classes."""
    lines = [
        "def cut(idx, fraction):",
        "    if fraction <= 0:",
        "        return idx, idx[:0]",
        ("    labels = y[idx]  # each part gets the same mix of classes" if stratify else
         "    labels = None  # no classes to balance"),
        "    try:",
        "        return tuple(train_test_split(idx, test_size=fraction, random_state=SEED, stratify=labels))",
        "    except ValueError:  # some classes have too few examples to split evenly: split at random",
        "        return tuple(train_test_split(idx, test_size=fraction, random_state=SEED))",
        "",
        "",
        "rest, test = cut(np.arange(len(y)), TEST_SPLIT)",
        "train, val = cut(rest, VALIDATION_SPLIT / (1.0 - TEST_SPLIT))",
        "train, val, test = np.sort(train), np.sort(val), np.sort(test)",
    ]
    if prep.features == "crosses":
        lines += [
            "",
            "",
            "def crosses(points):  # x, y, x², y², x·y, sin x, sin y: the model takes these 7 numbers per point",
            '    px, py = points.astype("float32").T',
            '    return np.stack([px, py, px * px, py * py, px * py, np.sin(px), np.sin(py)], axis=1).astype("float32")',
            "",
            "",
            "x = crosses(x)",
        ]
    lines += ["x_train, x_val, x_test = x[train], x[val], x[test]",
              "y_train, y_val, y_test = y[train], y[val], y[test]",
              'print(len(train), "training,", len(val), "validation,", len(test), "test examples")']
    return lines


def _prep_words(prep) -> str:
    words = []
    if prep.normalize != "none" or prep.target:
        words.append("Statistics for the preprocessing are measured on the training set only, so nothing about "
                     "the test examples leaks into training.")
    if prep.raw_max != 1:
        words.append(f"Pixels are divided by {prep.raw_max:g} so they run from 0 to 1.")
    if prep.normalize == "standard":
        words.append("Each feature is shifted and scaled to mean 0 and spread 1, so no feature dominates "
                     "just because its numbers are big.")
    elif prep.normalize == "minmax":
        words.append("Each feature is scaled to run from 0 to 1.")
    if not words:
        words.append("The inputs go into the model as they are.")
    if prep.target:
        words.append("The targets are standardized too while training (the model learns small numbers); a last "
                     "layer turns its answers back into the target's own units.")
    return " ".join(words)


def _prep_lines(prep, task: str) -> list[str]:
    lines = []
    if prep.normalize == "none":
        lines.append("# NORMALIZE is 'none': the inputs go into the model as they are" +
                     (" (divided by RAW_MAX)" if prep.raw_max != 1 else ""))
    else:  # Layerlab's own function (datasets/splits.py), as the run measured them
        lines += [inspect.getsource(feature_statistics).rstrip(), "", "",
                  'shift, scale = feature_statistics(x_train.astype("float64")' +
                  (" / RAW_MAX" if prep.raw_max != 1 else "") + f", {_lit(prep.normalize)})"]
    if prep.target:
        lines += ["",
                  'y_mean, y_std = float(y_train.astype("float64").mean()), float(y_train.astype("float64").std())',
                  "y_std = y_std if y_std > 1e-12 else 1.0",
                  'y_train_t, y_val_t = (((v.astype("float64") - y_mean) / y_std).astype("float32") for v in (y_train, y_val))']
    elif task == "reconstruction":  # an autoencoder's target is its own input, as the model sees it
        lines += ["",
                  "def model_view(v):",
                  ("    v = v.astype(\"float64\")" + (" / RAW_MAX" if prep.raw_max != 1 else "")),
                  *(["    v = (v - shift) / scale"] if prep.normalize != "none" else []),
                  '    return v.astype("float32").reshape((len(v),) + MODEL_SHAPE)',
                  "",
                  "",
                  "y_train_t, y_val_t = model_view(x_train), model_view(x_val)"]
    else:
        lines += ["y_train_t, y_val_t = y_train, y_val"]
    return lines


def _model_lines(prep, steps: plan.Plan) -> list[str]:
    lines = [
        "build_model()  # a first build runs Keras' lazy set-up, which draws random numbers",
        "keras.utils.set_random_seed(SEED)",
        "model = build_model()",
        "model.summary()",
        *(_text_lines() if prep.raw_dtype == "string" else []),
        "",
        f"raw = keras.Input(shape={_lit(tuple(prep.raw_shape))}, dtype={_lit(prep.raw_dtype)}, "
        'name="raw_input")',
        "features = raw",
    ]
    if prep.raw_max != 1:
        lines.append('features = keras.layers.Rescaling(1.0 / RAW_MAX, name="pixels_to_0_1")(features)')
    if prep.normalize != "none":
        lines.append('features = keras.layers.Normalization(mean=shift, variance=scale * scale, '
                     'name="normalize_features")(features)')
    if tuple(prep.raw_shape) != tuple(prep.model_shape):
        lines.append('features = keras.layers.Reshape(MODEL_SHAPE, name="to_model_shape")(features)')
    lines += ["outputs = model(features)"]
    if prep.target:
        lines.append('outputs = keras.layers.Rescaling(y_std, offset=y_mean, name="to_target_units")(outputs)'
                     "  # back to the target's units")
    lines += ["deployable = keras.Model(raw, outputs)  # raw data in, answers out: the model to keep", ""]
    trainee = "model"
    if steps.augmentation:
        lines += ["", inspect.getsource(plan.with_augmentation).rstrip(), "",
                  "",
                  f"augmenter = {steps.augmentation.source()}",
                  f"trainee = with_augmentation(model, augmenter, {_lit(tuple(prep.raw_shape))})"]
        trainee = "trainee"
    lines.append(f"training_model = keras.Model(raw, {trainee}(features))  # what fit() trains: no target scaling"
                 + (", augmentation in front" if steps.augmentation else ""))
    if steps.penalty:
        lines += ["", "", inspect.getsource(plan.add_weight_penalty).rstrip(), "", "",
                  f"add_weight_penalty(model, {steps.penalty.source()})"]
    return lines


def _text_lines() -> list[str]:
    """Text: each TextVectorization learns its words from the training texts (as in the run, builder.train.runner),
    and the splits become TensorFlow string tensors, the form of text Keras' fit and predict take."""
    return [
        "",
        "import tensorflow as tf  # noqa: E402 - text models need TensorFlow (TextVectorization)",
        "",
        "for layer in model.layers:",
        "    if isinstance(layer, keras.layers.TextVectorization):",
        "        layer.adapt(x_train, batch_size=1024)  # its vocabulary: the training texts' words",
        "x_train, x_val, x_test = (tf.constant(part) for part in (x_train, x_val, x_test))",
    ]


def _training_words(steps: plan.Plan, exp: Experiment) -> str:
    words = [f"The model learns for {steps.epochs} epochs in batches of {steps.batch_size}, with the run's "
             "optimizer and learning rate."]
    if steps.callbacks:
        words.append("Callbacks watch each epoch (to lower the learning rate or stop early).")
    if steps.augmentation:
        words.append("Random changes to the training images (augmentation) happen only while training.")
    if finetune.applies(exp):
        words.append(f"The pretrained base stays frozen while the new head learns; then it is fine-tuned for "
                     f"{exp.hp['fine_tune_epochs']} more epochs at a lower learning rate.")
    return " ".join(words)


def _training_lines(steps: plan.Plan, exp: Experiment, batches: int) -> list[str]:
    bases = _bases(exp)
    lines = []
    if bases:
        lines += [f"BASES = {_lit(bases)}  # pretrained base: [freeze, unfreeze_from]",
                  "for name in BASES:  # transfer learning: the head first, every pretrained base frozen",
                  "    model.get_layer(name).trainable = False"]
    lines += [
        "training_model.compile(",
        f"    optimizer={steps.optimizer.source()},",
        f"    loss={_lit(steps.loss)},",
        f"    metrics={_lit(steps.metrics)},",
        f"    steps_per_execution={_lit(steps.steps_per_execution)},  # batches per backend call: speed only",
        ")",
        f"callbacks = [{', '.join(c.source() for c in steps.callbacks)}]",
        "history = training_model.fit(",
        f"    x_train, y_train_t, batch_size={_lit(steps.batch_size)}, epochs={_lit(steps.epochs)},",
        "    validation_data=(x_val, y_val_t) if len(x_val) else None,",
        "    callbacks=callbacks, shuffle=True, verbose=2,",
        ")",
    ]
    return lines + (_fine_tune_lines(exp, steps, batches) if bases else [])


def _fine_tune_lines(exp: Experiment, steps: plan.Plan, batches: int) -> list[str]:
    """The second phase of transfer learning (builder.train.finetune)."""
    hp = exp.hp
    return [
        "",
        f"# then fine-tuning: each base unfrozen as its node says, {_lit(hp['fine_tune_epochs'])} epochs at a lower rate",
        "for name, (freeze, start) in BASES.items():",
        "    base = model.get_layer(name)",
        '    base.trainable = freeze != "all"',
        '    if freeze == "from":',
        "        names = [layer.name for layer in base.layers]",
        "        for layer in base.layers[:names.index(start)]:",
        "            layer.trainable = False",
        "training_model.compile(  # Keras fixes what trains when it compiles",
        f"    optimizer={plan.optimizer(finetune.fine_tune_settings(hp), batches).source()},",
        f"    loss={_lit(steps.loss)},",
        f"    metrics={_lit(steps.metrics)},",
        f"    steps_per_execution={_lit(steps.steps_per_execution)},",
        ")",
        "done = len(history.epoch)  # early stopping may have ended the first phase sooner",
        "history = training_model.fit(",
        f"    x_train, y_train_t, batch_size={_lit(steps.batch_size)}, initial_epoch=done, "
        f"epochs=done + {_lit(hp['fine_tune_epochs'])},",
        "    validation_data=(x_val, y_val_t) if len(x_val) else None,",
        "    callbacks=callbacks, shuffle=True, verbose=2,",
        ")",
    ]


def _bases(exp: Experiment) -> dict:
    """Pretrained node id → [freeze, unfreeze_from], for a run with fine-tuning epochs (else {})."""
    if not finetune.applies(exp):
        return {}
    return {n.id: [n.params.get("freeze", "all"), n.params.get("unfreeze_from")] for n in base_nodes(exp.model)}


def _result_lines(task: str, named_classes: bool) -> list[str]:
    lines = ['deployable.save("model.keras")  # in the folder you run this from']
    if named_classes:  # as Layerlab's deploy/labels.txt and Teachable Machine's exports
        lines.append(f'Path({_lit(labels.FILE)}).write_text("".join(f"{{name}}\\n" for name in CLASS_NAMES))'
                     "  # one class name a line, in output order")
    lines += ["predictions = deployable.predict(x_test, verbose=0)", "test = {}"]
    if task == "classification":
        lines += ["labels = (predictions[:, 0] > 0.5).astype(int) if predictions.shape[-1] == 1 else predictions.argmax(-1)",
                  'test["accuracy"] = float((labels == y_test).mean())']
    elif task == "regression":
        lines += ["from sklearn.metrics import mean_absolute_error, mean_squared_error, r2_score  # noqa: E402",
                  "",
                  "truth, guess = y_test.reshape(len(y_test), -1), predictions.reshape(len(predictions), -1)",
                  'test.update(mse=float(mean_squared_error(truth, guess)), mae=float(mean_absolute_error(truth, guess)),',
                  "            r2=float(r2_score(truth, guess)))"]
    else:
        lines += ["errors = ((model_view(x_test) - predictions.reshape(model_view(x_test).shape)) ** 2)",
                  'test["reconstruction_error"] = float(errors.reshape(len(errors), -1).mean(axis=1).mean())']
    lines += ["final = {name: float(values[-1]) for name, values in history.history.items()}",
              'print(json.dumps({"final": final, "test": test}))']
    return lines
