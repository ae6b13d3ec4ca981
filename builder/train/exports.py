"""Exports from a finished run: the model script, a training script that reproduces the run, TFLite.

    export_all(run_dir)   → {"model.keras": path, "code/model.py": path, "code/train.py": path, "model.tflite": path|None}

`code/train.py` rebuilds the run from its experiment: the same dataset and
split (through Layerlab's `datasets` package), the same seed, optimizer,
schedule, loss, metrics, batch size and epochs. Run it from the Layerlab
folder: `python runs/<run>/code/train.py`.
"""
from __future__ import annotations

from pathlib import Path

from builder.experiment import Experiment, coerce
from builder.train import runfolder


class ExportError(ValueError):
    """An export that cannot be made here, in plain words."""


def export_all(run_dir) -> dict:
    run_dir = Path(run_dir)
    out = {"model.keras": run_dir / runfolder.MODEL if (run_dir / runfolder.MODEL).exists() else None}
    out["code/model.py"], out["code/train.py"] = write_scripts(run_dir)
    try:
        out["model.tflite"] = export_tflite(run_dir)
    except ExportError:
        out["model.tflite"] = None
    return out


def write_scripts(run_dir) -> tuple[Path, Path]:
    """code/model.py (the model, from builder.codegen) and code/train.py (the run)."""
    from builder.codegen import to_python
    from builder.pretrained import RUN_FOLDER
    from builder.spec import atomic_write_text

    run_dir = Path(run_dir)
    exp = coerce(run_dir / runfolder.EXPERIMENT)
    if exp.gan:  # two networks and the adversarial loop
        from builder.train import gan_export

        return gan_export.write_scripts(run_dir, exp)
    code = run_dir / "code"
    code.mkdir(exist_ok=True)
    atomic_write_text(code / "model.py", to_python(exp.model, bases=f"../{RUN_FOLDER}"))  # the run's copies
    atomic_write_text(code / "train.py", training_script(exp, run_dir.name))
    return code / "model.py", code / "train.py"


def training_script(exp: Experiment, run_id: str = "") -> str:
    """A standalone script (text) that trains the experiment like the runner does."""
    from builder.codegen import comment_lines, literal  # imports Keras: only when a script is made
    from builder.train.runner import steps_per_execution

    hp = exp.hp
    data = exp.data_settings
    shape = tuple(exp.model.node(exp.model.input_ids()[0]).params["shape"])
    batches = _batches_per_epoch(exp)
    spe = _spe_literal(hp, batches, steps_per_execution)
    lines = [
        *[f"# {line}" for line in comment_lines(f"Run {run_id}" if run_id else "")],
        '"""Training script exported by Layerlab.',
        "",
        "It reproduces the run: same data split, seed and hyperparameters. Run it from the",
        "Layerlab folder, which holds the `datasets` package:",
        "",
        "    python runs/<run>/code/train.py",
        '"""',
        "import json",
        "import sys",
        "from pathlib import Path",
        "",
        "import keras",
        "",
        "sys.path.insert(0, str(Path(__file__).resolve().parent))  # model.py lives beside this script",
        "sys.path.append(str(Path.cwd()))",
        "from model import build_model  # noqa: E402",
        "",
        "try:",
        "    from datasets import registry, splits",
        "except ImportError:",
        '    sys.exit("run this script from the Layerlab folder: it loads the data with Layerlab\'s datasets package")',
        "",
        f"SEED = {literal(hp['seed'])}",
        f"TASK = {literal(hp['task'])}",
        f"BATCH_SIZE = {literal(hp['batch_size'])}",
        f"EPOCHS = {literal(hp['epochs'])}",
        *([f"BASES = {literal(_bases(exp))}  # pretrained base: [freeze, unfreeze_from]"] if _bases(exp) else []),
        f"INPUT_SHAPE = {literal(shape)}",
        "",
        "# -- data: the same dataset, split and scaling as the run ------------------------",
        f"dataset = registry.load({literal(data['dataset'])}, **{literal(data['options'])})",
        f"parts = splits.prepare(dataset, {literal(data['validation_split'])}, {literal(data['test_split'])}, "
        f"seed=SEED, normalize={literal(data['normalize'])}, features={literal(data['features'])})",
        "",
        "",
        "def shaped(x):",
        "    return x if x.shape[1:] == INPUT_SHAPE else x.reshape((len(x),) + INPUT_SHAPE)",
        "",
        "",
        "x_train, x_val, x_test = shaped(parts.x_train), shaped(parts.x_val), shaped(parts.x_test)",
    ]
    if hp["task"] == "reconstruction":
        lines.append("y_train, y_val, y_test = x_train, x_val, x_test  # an autoencoder learns its input")
    elif hp["task"] == "classification":
        lines.append("y_train, y_val, y_test = (y.astype('int32') for y in (parts.y_train, parts.y_val, parts.y_test))")
    else:
        lines.append("y_train, y_val, y_test = (y.astype('float32') for y in (parts.y_train, parts.y_val, parts.y_test))")
    lines += [
        "",
        "# -- model: seeded so the starting weights are the run's ---------------------------",
        "build_model()  # a first build runs Keras' lazy set-up, which draws random numbers",
        "keras.backend.clear_session()",
        "keras.utils.set_random_seed(SEED)",
        "model = build_model()",
        "training_model = model",
    ]
    if exp.augmentation:
        image_shape = tuple(_dataset_input_shape(exp) or shape)
        lines += [
            "",
            "# augmentation runs only while training: it wraps the model, it is not part of it",
            "from datasets import augment  # noqa: E402",
            "",
            f"augmenter = augment.build({literal(exp.augmentation)}, seed=SEED, input_shape={literal(image_shape)})",
            "inp = keras.Input(shape=INPUT_SHAPE)",
            f"x = keras.layers.Reshape({literal(image_shape)})(inp)" if image_shape != shape else "x = inp",
            "x = augmenter(x)",
        ]
        if image_shape != shape:
            lines.append("x = keras.layers.Reshape(INPUT_SHAPE)(x)")
        lines.append("training_model = keras.Model(inp, model(x))")
    if hp["l1"] or hp["l2"]:
        lines += [
            "",
            f"penalty = keras.regularizers.L1L2(l1={literal(hp['l1'])}, l2={literal(hp['l2'])})  # weight decay on every kernel",
            "for layer in model.layers:",
            "    for name in ('kernel', 'depthwise_kernel', 'pointwise_kernel', 'embeddings'):",
            "        var = getattr(layer, name, None)",
            "        if var is not None and var.regularizer is None:",
            "            var.regularizer = penalty",
        ]
    lines += ["", "# -- training -------------------------------------------------------------------------"]
    fine_tune = _fine_tune_lines(exp, batches)
    if fine_tune:
        lines += ["for name in BASES:  # transfer learning: the head first, every pretrained base frozen",
                  "    model.get_layer(name).trainable = False"]
    lines += _optimizer_lines(hp, batches)
    lines += [
        "training_model.compile(",
        "    optimizer=optimizer,",
        f"    loss={literal(hp['loss'])},",
        f"    metrics={literal(list(hp['metrics']))},",
        f"    steps_per_execution={spe},  # batches per backend call: speed only",
        ")",
        "callbacks = []",
    ]
    has_val = data["validation_split"] > 0
    if hp["lr_schedule"] == "reduce_on_plateau":
        lines.append(f"callbacks.append(keras.callbacks.ReduceLROnPlateau(monitor={literal('val_loss' if has_val else 'loss')}, "
                     f"factor={literal(hp['lr_factor'])}, patience={literal(hp['lr_patience'])}))")
    if hp["early_stopping"]:
        monitor = hp["early_stopping"]["monitor"]
        if not has_val and monitor.startswith("val_"):
            monitor = monitor[4:]
        lines.append(f"callbacks.append(keras.callbacks.EarlyStopping(monitor={literal(monitor)}, "
                     f"patience={literal(hp['early_stopping']['patience'])}, restore_best_weights=True))")
    lines += [
        "history = training_model.fit(",
        "    x_train, y_train, batch_size=BATCH_SIZE, epochs=EPOCHS,",
        "    validation_data=(x_val, y_val) if len(x_val) else None,",
        "    callbacks=callbacks, shuffle=True, verbose=2,",
        ")",
        *fine_tune,
        "",
        "# -- results --------------------------------------------------------------------------",
        "final = {name: float(values[-1]) for name, values in history.history.items()}",
        "test = model.evaluate(x_test, y_test, batch_size=256, verbose=0, return_dict=True) if len(x_test) else {}",
        'print(json.dumps({"final": final, "test": {k: float(v) for k, v in test.items()}}))',
        "",
    ]
    return "\n".join(lines)


def _fine_tune_lines(exp: Experiment, batches: int) -> list[str]:
    """The second phase of transfer learning (builder.train.finetune), or [] when the run has none."""
    from builder.codegen import literal
    from builder.train import finetune

    if not finetune.applies(exp):
        return []
    hp = exp.hp
    return [
        "",
        f"# then fine-tuning: each base unfrozen as its node says, {literal(hp['fine_tune_epochs'])} epochs at a lower rate",
        "for name, (freeze, start) in BASES.items():",
        "    base = model.get_layer(name)",
        '    base.trainable = freeze != "all"',
        '    if freeze == "from":',
        "        names = [layer.name for layer in base.layers]",
        "        for layer in base.layers[:names.index(start)]:",
        "            layer.trainable = False",
        *_optimizer_lines(finetune.fine_tune_settings(hp), batches),
        f"training_model.compile(optimizer=optimizer, loss={literal(hp['loss'])}, metrics="
        f"{literal(list(hp['metrics']))})  # Keras fixes what trains when it compiles",
        "done = len(history.epoch)",
        "history = training_model.fit(",
        f"    x_train, y_train, batch_size=BATCH_SIZE, initial_epoch=done, epochs=done + {literal(hp['fine_tune_epochs'])},",
        "    validation_data=(x_val, y_val) if len(x_val) else None,",
        "    callbacks=callbacks, shuffle=True, verbose=2,",
        ")",
    ]


def _bases(exp: Experiment) -> dict:
    """Pretrained node id → [freeze, unfreeze_from], for a run with fine-tuning epochs (else {})."""
    from builder.pretrained import base_nodes
    from builder.train import finetune

    if not finetune.applies(exp):
        return {}
    return {n.id: [n.params.get("freeze", "all"), n.params.get("unfreeze_from")] for n in base_nodes(exp.model)}


def _optimizer_lines(hp: dict, batches: int) -> list[str]:
    from builder.codegen import literal

    lr = literal(hp["learning_rate"])
    lines = [f"learning_rate = {lr}"]
    if hp["lr_schedule"] == "step":
        lines.append(f"learning_rate = keras.optimizers.schedules.ExponentialDecay({lr}, decay_steps="
                     f"{literal(hp['lr_step_epochs'] * batches)}, decay_rate={literal(hp['lr_factor'])}, staircase=True)"
                     f"  # x{literal(hp['lr_factor'])} every {literal(hp['lr_step_epochs'])} epochs")
    elif hp["lr_schedule"] == "cosine":
        lines.append(f"learning_rate = keras.optimizers.schedules.CosineDecay({lr}, decay_steps={literal(hp['epochs'] * batches)})")
    name = hp["optimizer"]
    if name in ("sgd", "rmsprop"):
        cls = "SGD" if name == "sgd" else "RMSprop"
        lines.append(f"optimizer = keras.optimizers.{cls}(learning_rate=learning_rate, momentum={literal(hp['momentum'])})")
    else:
        cls = {"adam": "Adam", "adamw": "AdamW"}[name]
        lines.append(f"optimizer = keras.optimizers.{cls}(learning_rate=learning_rate)")
    return lines


def _batches_per_epoch(exp: Experiment) -> int:
    """Training batches per epoch, from the data split the run used."""
    import math

    from builder.train.data import load_dataset, split

    d = exp.data_settings
    ds = load_dataset(d["dataset"], d["options"])
    parts = split(ds, d["validation_split"], d["test_split"], exp.hp["seed"], d["normalize"])
    return max(1, math.ceil(len(parts[0]) / exp.hp["batch_size"]))


def _spe_literal(hp: dict, batches: int, chooser) -> int:
    try:
        return int(chooser(hp, batches))
    except Exception:  # noqa: BLE001 - Keras missing: one step per call is always valid
        return 1


def _dataset_input_shape(exp: Experiment):
    try:
        from datasets import registry

        return tuple(registry.info(exp.dataset).input_shape)
    except Exception:  # noqa: BLE001
        return None


def export_tflite(run_dir) -> Path:
    """model.tflite beside model.keras (TensorFlow backend only)."""
    import keras

    run_dir = Path(run_dir)
    if keras.backend.backend() != "tensorflow":
        raise ExportError(f"TensorFlow Lite export needs the TensorFlow backend; this is {keras.backend.backend()}. "
                          "Start Layerlab with KERAS_BACKEND=tensorflow to export it.")
    source = run_dir / runfolder.MODEL
    if not source.exists():
        raise ExportError("this run has no saved model yet; export once it has finished or been stopped")
    model = keras.saving.load_model(source, compile=False)
    target = run_dir / "model.tflite"
    tmp = run_dir / ".model.tmp.tflite"
    try:
        _convert(model, tmp)
        tmp.replace(target)
    finally:  # a failed conversion or a full disk leaves no temp file
        tmp.unlink(missing_ok=True)
    return target


def _convert(model, tmp: Path) -> None:
    try:
        model.export(str(tmp), format="litert", verbose=False)
    except Exception as first:  # noqa: BLE001 - fall back to the classic converter
        try:
            import tensorflow as tf

            tmp.write_bytes(tf.lite.TFLiteConverter.from_keras_model(model).convert())
        except Exception as e:  # noqa: BLE001
            raise ExportError(f"this model cannot be converted to TensorFlow Lite ({type(first).__name__}: "
                              f"{str(first).splitlines()[0] if str(first) else ''}; {type(e).__name__})") from None
