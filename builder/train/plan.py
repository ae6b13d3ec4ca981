"""The training plan: the Keras calls a run makes, written down once, executed by the runner, printed by the exports.

    p = plan.make(experiment, batches_per_epoch, has_validation, image_shape)
    p.optimizer.make()      # a keras.optimizers.Adam(...) object, for the runner
    p.optimizer.source()    # 'keras.optimizers.Adam(learning_rate=0.001)', for train.py and train.ipynb

Every piece is a `Call` (a dotted Keras name and its arguments), so what the
runner builds and what the exported script shows cannot drift apart. The two
statements that are not single calls (the weight penalty loop and the
augmentation wrapper) are plain functions here; the exports print their source.
"""
from __future__ import annotations

import importlib
from dataclasses import dataclass, field

from datasets import augment


@dataclass(frozen=True)
class Call:
    """`func(*args, **kwargs)`, where func is a dotted name such as "keras.optimizers.Adam"; arguments may be Calls."""

    func: str
    args: tuple = ()
    kwargs: dict = field(default_factory=dict)

    def make(self):
        module, _, name = self.func.rpartition(".")
        target = importlib.import_module(module.split(".")[0])
        for part in module.split(".")[1:] + [name]:
            target = getattr(target, part)
        return target(*[_made(a) for a in self.args], **{k: _made(v) for k, v in self.kwargs.items()})

    def source(self) -> str:
        parts = [_source(a) for a in self.args] + [f"{k}={_source(v)}" for k, v in self.kwargs.items()]
        return f"{self.func}({', '.join(parts)})"


def _made(value):
    if isinstance(value, Call):
        return value.make()
    if isinstance(value, list):
        return [_made(v) for v in value]
    return value


def _source(value) -> str:
    from builder.graph.codegen import literal  # lazy: imports keras

    if isinstance(value, Call):
        return value.source()
    if isinstance(value, list) and any(isinstance(v, Call) for v in value):
        return "[" + ", ".join(_source(v) for v in value) + "]"
    return literal(value)


@dataclass
class Plan:
    optimizer: Call
    loss: str
    metrics: list
    callbacks: list  # Calls: learning-rate schedule on plateau, early stopping
    augmentation: Call | None  # a keras.Sequential of random layers, in front of the model while training only
    penalty: Call | None  # keras.regularizers.L1L2 on every kernel without a penalty of its own
    batch_size: int
    epochs: int
    steps_per_execution: int  # batches per backend call: speed only, same updates


def count_batches(examples: int, batch_size: int) -> int:
    """Training batches per epoch (the last one may be short): schedules and steps per call count them."""
    return max(1, -(-examples // batch_size))


def make(exp, batches_per_epoch: int, has_val: bool, image_shape=None) -> Plan:
    """The plan for an experiment; `image_shape` (one example as the dataset holds it) checks the augmentation."""
    hp = exp.hp
    aug = None
    if exp.augmentation:
        problems = augment.validate(exp.augmentation, image_shape)
        if problems:
            raise ValueError("; ".join(problems))
        layers = [Call(f"keras.layers.{name}", kwargs=kwargs) for name, kwargs in augment.layer_specs(exp.augmentation,
                                                                                                        hp["seed"])]
        aug = Call("keras.Sequential", (layers,), {"name": "augmentation"})
    return Plan(
        optimizer=optimizer(hp, batches_per_epoch),
        loss=hp["loss"],
        metrics=list(hp["metrics"]),
        callbacks=callbacks(hp, has_val),
        augmentation=aug,
        penalty=Call("keras.regularizers.L1L2", kwargs={"l1": hp["l1"], "l2": hp["l2"]}) if hp["l1"] or hp["l2"] else None,
        batch_size=hp["batch_size"],
        epochs=hp["epochs"],
        steps_per_execution=steps_per_execution(hp, batches_per_epoch),
    )


def optimizer(hp: dict, batches_per_epoch: int) -> Call:
    lr = hp["learning_rate"]
    if hp["lr_schedule"] == "step":
        lr = Call("keras.optimizers.schedules.ExponentialDecay", (lr,), {
            "decay_steps": hp["lr_step_epochs"] * batches_per_epoch, "decay_rate": hp["lr_factor"], "staircase": True})
    elif hp["lr_schedule"] == "cosine":
        lr = Call("keras.optimizers.schedules.CosineDecay", (lr,), {"decay_steps": hp["epochs"] * batches_per_epoch})
    name = hp["optimizer"]
    if name in ("sgd", "rmsprop"):
        return Call(f"keras.optimizers.{'SGD' if name == 'sgd' else 'RMSprop'}",
                    kwargs={"learning_rate": lr, "momentum": hp["momentum"]})
    return Call(f"keras.optimizers.{'AdamW' if name == 'adamw' else 'Adam'}", kwargs={"learning_rate": lr})


def callbacks(hp: dict, has_val: bool) -> list[Call]:
    out = []
    if hp["lr_schedule"] == "reduce_on_plateau":
        out.append(Call("keras.callbacks.ReduceLROnPlateau", kwargs={
            "monitor": "val_loss" if has_val else "loss", "factor": hp["lr_factor"], "patience": hp["lr_patience"]}))
    es = hp["early_stopping"]
    if es:
        monitor = es["monitor"]
        if not has_val and monitor.startswith("val_"):  # nothing held out: watch the training number instead
            monitor = monitor[4:]
        out.append(Call("keras.callbacks.EarlyStopping", kwargs={
            "monitor": monitor, "patience": es["patience"], "restore_best_weights": True}))
    return out


def steps_per_execution(hp: dict, batches_per_epoch: int) -> int:
    """Several batches per backend call where Keras allows it (TensorFlow, JAX; PyTorch only 1).

    Same batches, same order, same updates: only fewer trips from Python to the
    backend (TensorFlow loops in-graph; JAX runs the callbacks once per group).
    """
    import keras

    if keras.backend.backend() == "torch":
        return 1
    if hp["steps_per_execution"]:
        return int(hp["steps_per_execution"])
    return max(1, min(16, batches_per_epoch))


# -- the two steps that are statements, not calls: run here, printed into the exported script --------------
def add_weight_penalty(model, penalty) -> None:
    """Put the L1/L2 penalty on every kernel that has none of its own (training only: not saved)."""
    for layer in model.layers:
        for name in ("kernel", "depthwise_kernel", "pointwise_kernel", "embeddings"):
            var = getattr(layer, name, None)
            if var is not None and getattr(var, "regularizer", "missing") is None:
                var.regularizer = penalty


def with_augmentation(model, augmenter, image_shape):
    """A training model: the augmentation layers in front of `model` (sharing its layers, so the saved
    model never contains them). Inputs are reshaped to images for the augmentation and back."""
    import keras

    model_shape = tuple(model.input_shape[1:])
    inp = keras.Input(shape=model_shape, name="augment_input")
    x = inp if tuple(image_shape) == model_shape else keras.layers.Reshape(tuple(image_shape))(inp)
    x = augmenter(x)
    if tuple(image_shape) != model_shape:
        x = keras.layers.Reshape(model_shape)(x)
    return keras.Model(inp, model(x), name=f"{model.name}_training")
