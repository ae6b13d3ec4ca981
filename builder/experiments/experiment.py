"""The experiment (`layerlab/experiment@1`): model + data + augmentation + training.

An experiment is everything a run needs, as plain JSON (contract 2). Every
training setting is one `Param` declaration in `HYPERPARAMS`; the app's forms,
the validation below and the tooltips all come from it.

`check(exp)` is the one verdict on "valid" (Build, Data, the sidebar and Train
all show it): every problem a student can make *before* a process starts —
unknown optimizer, a negative learning rate, a loss that does not fit the
task, data whose shape the model cannot take, an invalid model — as
`builder.graph.validate.Problem` values, each with a machine-applicable `fix` where
one is obvious (`apply_fix`). `validate(exp)` is the same list as text.

Checked once, carried: `verdict(exp)` is that list stamped with the experiment it was found for (`stamp`, a
hash of its canonical JSON). `passed` trusts a verdict whose experiment still has its stamp instead of checking
again, and the Experiment it returns carries the stamp (`Experiment.checked`), which the run folder records; so
the page's verdict is the one `submit` and the runner use, and a changed experiment is checked afresh.
"""
from __future__ import annotations

import copy
import hashlib
import json
import math
from dataclasses import dataclass, field, replace
from pathlib import Path

from builder.experiments import compute, gan
from builder.experiments.shapes import shapes_fit, squeeze_ones  # noqa: F401 - part of this module's API
from builder.graph import validate as model_validate
from builder.graph.pretrained import TYPE, fine_tune_problems
from builder.graph.validate import Problem
from builder.model import describe
from builder.model.params import Param
from builder.model.problems import setting_problem as _setting
from builder.model.spec import ModelSpec, SpecError, atomic_write_text, parse_json, read_text
from datasets import augment, registry, stored
from datasets.splits import FEATURES, MAX_FRACTION, feature_shape, features_problem, split_problems, split_sizes

FORMAT = "layerlab/experiment@1"
_KEYS = {"format", "name", "model", "data", "augmentation", "training", "gan", "sweep"}

TASKS = ("classification", "regression", "reconstruction")
OPTIMIZERS = ("sgd", "adam", "adamw", "rmsprop")
MOMENTUM_OPTIMIZERS = ("sgd", "rmsprop")
SCHEDULES = ("constant", "step", "cosine", "reduce_on_plateau")

# Which losses make sense for which task (the first one is the default).
LOSSES_BY_TASK = {
    "classification": ("sparse_categorical_crossentropy", "binary_crossentropy"),
    "regression": ("mean_squared_error", "mean_absolute_error", "huber"),
    "reconstruction": ("mean_squared_error", "mean_absolute_error", "binary_crossentropy"),
}
LOSS_ALIASES = {"mse": "mean_squared_error", "mae": "mean_absolute_error"}
ALL_LOSSES = tuple(dict.fromkeys(loss for losses in LOSSES_BY_TASK.values() for loss in losses))

METRICS_BY_TASK = {
    "classification": ("accuracy",),
    "regression": ("mae", "mse"),
    "reconstruction": ("mae", "mse"),
}
ALL_METRICS = ("accuracy", "mae", "mse")
MONITORS = ("val_loss", "loss", "val_accuracy", "accuracy", "val_mae", "mae")
GAN_HIDDEN = ("task", "loss", "metrics", "early_stopping")  # see shown_settings

HYPERPARAMS: dict[str, Param] = {p.name: p for p in (
    Param("task", "choice", "classification", choices=TASKS,
          help="What the model learns: classification picks a class for each example; regression predicts "
          "numbers; reconstruction (autoencoder) learns to reproduce its own input."),
    Param("optimizer", "choice", "adam", choices=OPTIMIZERS,
          help="How the weights are updated after each batch. Adam is a safe first choice; SGD is the classic "
          "plain gradient step; AdamW is Adam with weight decay; RMSprop adapts the step per weight."),
    Param("learning_rate", "float", 0.005, min=1e-7, max=10.0, step=0.0001,
          help="How big each weight update is. Too high and the loss jumps around or becomes NaN; too low and "
          "learning is slow. 0.001–0.01 suits Adam on small models, 0.01–0.1 suits SGD."),
    Param("momentum", "float", 0.0, min=0.0, max=0.999, step=0.05,
          help="For SGD and RMSprop: keeps moving in the recent direction, which smooths and speeds up learning "
          "(0.9 is common). Ignored by Adam and AdamW.", extra={"optimizers": MOMENTUM_OPTIMIZERS}),
    Param("lr_schedule", "choice", "constant", choices=SCHEDULES,
          help="How the learning rate changes while training: constant keeps it; step multiplies it by a factor "
          "every few epochs; cosine lowers it smoothly to almost zero; reduce_on_plateau lowers it when the "
          "validation loss stops improving."),
    Param("lr_step_epochs", "int", 5, min=1, max=10000, advanced=True,
          help="For the step schedule: lower the learning rate every this many epochs."),
    Param("lr_factor", "float", 0.5, min=0.01, max=0.99, step=0.05, advanced=True,
          help="For the step and reduce_on_plateau schedules: multiply the learning rate by this factor."),
    Param("lr_patience", "int", 2, min=1, max=1000, advanced=True,
          help="For reduce_on_plateau: how many epochs without improvement before lowering the learning rate."),
    Param("batch_size", "int", 32, min=1, max=65536,
          help="How many examples the model sees before each weight update. Bigger batches run faster per "
          "example but need more memory; 32 is a good start."),
    Param("epochs", "int", 10, min=1, max=10000,
          help="How many times the model goes through the whole training set."),
    Param("fine_tune_epochs", "int", 0, min=0, max=10000, advanced=True,
          help="Transfer learning: after 'epochs' epochs that train only your head (every pretrained base "
          "frozen), train this many more with each base unfrozen as its freeze option says (none, or from a "
          "layer on), at the lower fine-tune rate. 0: one phase, the freeze options hold throughout."),
    Param("fine_tune_rate", "float", 0.0001, min=1e-7, max=1.0, step=0.00001, advanced=True,
          help="Learning rate of the fine-tuning epochs: much lower than the head's (e.g. 10× lower), so the "
          "pretrained weights are adjusted gently instead of overwritten."),
    Param("loss", "choice", None, choices=ALL_LOSSES, optional=True,
          help="What the model tries to make small. Leave empty for the usual loss of the task: sparse "
          "categorical cross-entropy for classification, mean squared error for regression and reconstruction."),
    Param("metrics", "choice", None, choices=ALL_METRICS, optional=True, extra={"multiple": True},
          help="Extra numbers reported each epoch, such as accuracy. Leave empty for the usual ones of the task."),
    Param("l1", "float", 0.0, min=0.0, max=1.0, step=0.0001, advanced=True,
          help="L1 weight penalty added to every layer's weights: pushes small weights to exactly zero."),
    Param("l2", "float", 0.0, min=0.0, max=1.0, step=0.0001, advanced=True,
          help="L2 weight penalty (weight decay) added to every layer's weights: keeps weights small and "
          "helps against overfitting. 0.0001–0.001 is typical."),
    Param("early_stopping", "str", None, optional=True,
          extra={"object": {"monitor": "val_loss", "patience": 3}},
          help='Stop when a number stops improving, e.g. {"monitor": "val_loss", "patience": 3}: stop after 3 '
          "epochs without a better validation loss and keep the best weights. Empty: train all epochs."),
    Param("seed", "int", 0, min=0, max=2**31 - 1,
          help="Starting point of all randomness (weights, shuffling, data split). Same seed, same machine ⇒ "
          "the same curves, so runs can be repeated and compared."),
    Param("mixed_precision", "bool", False, advanced=True,
          help="On a GPU, compute in 16-bit floats where safe: faster and uses less memory. Ignored on a CPU."),
    Param("max_batch_progress_rate", "float", 4.0, min=0.1, max=50.0, advanced=True,
          help="At most this many progress updates per second inside an epoch (for the live view)."),
    Param("steps_per_execution", "int", 0, min=0, max=1000, advanced=True,
          help="Batches run per call into the backend; 0 picks automatically. Never changes the results' "
          "meaning (batch size and epochs stay as chosen), only speed."),
)}

EARLY_STOPPING: dict[str, Param] = {p.name: p for p in (
    Param("monitor", "choice", "val_loss", choices=MONITORS,
          help="The number to watch; losses should go down, accuracy up."),
    Param("patience", "int", 3, min=0, max=1000,
          help="Epochs without improvement before training stops."),
)}

DATA: dict[str, Param] = {p.name: p for p in (
    Param("dataset", "str", None, required=True, help="Id of a dataset from the registry, e.g. \"digits\"."),
    Param("validation_split", "float", 0.2, min=0.0, max=MAX_FRACTION, step=0.05,
          help="Fraction of the data held out to watch for overfitting while training. Validation and test "
          "together must stay below 0.9."),
    Param("test_split", "float", 0.2, min=0.0, max=MAX_FRACTION, step=0.05,
          help="Fraction of the data kept aside for the final evaluation; the model never trains on it. "
          "Validation and test together must stay below 0.9."),
    Param("normalize", "choice", "auto", choices=("auto", "standard", "minmax", "none"),
          help="How inputs are scaled, fitted on the training split only: auto standardizes tables and "
          "point sets and leaves images (already 0..1) as they are."),
    Param("features", "choice", "raw", choices=FEATURES,
          help="For 2-D points: 'raw' feeds x and y; 'crosses' feeds x, y, x², y², x·y, sin x and sin y "
          "(TensorFlow Playground's features), so a small model can bend its boundary easily. "
          "The Input then takes 7 numbers."),
    Param("options", "str", None, optional=True, extra={"object": {}},
          help="Options passed to the dataset loader (for example the number of samples)."),
)}


@dataclass
class Experiment:
    model: ModelSpec
    data: dict = field(default_factory=lambda: {"dataset": "digits"})
    augmentation: list = field(default_factory=list)
    training: dict = field(default_factory=dict)
    name: str = ""
    gan: dict | None = None  # a GAN experiment: {"discriminator": ModelSpec}; `model` is its generator (builder.experiments.gan)
    sweep: dict | None = None  # a hyperparameter sweep's settings and space, as given (checked by builder.sweep)
    checked: str = field(default="", compare=False, repr=False)  # the stamp it passed `check` with (`passed`)

    # -- resolved settings ---------------------------------------------------
    @property
    def hp(self) -> dict:
        """The training settings with every default filled in."""
        out = {name: p.default for name, p in HYPERPARAMS.items()}
        out.update(self.training)
        task = out["task"]
        if not out.get("loss"):
            out["loss"] = LOSSES_BY_TASK.get(task, ALL_LOSSES)[0]
        out["loss"] = LOSS_ALIASES.get(out["loss"], out["loss"])
        if out.get("metrics") is None:
            out["metrics"] = list(METRICS_BY_TASK.get(task, ()))
        if isinstance(out.get("early_stopping"), dict):
            es = {n: p.default for n, p in EARLY_STOPPING.items()}
            es.update(out["early_stopping"])
            out["early_stopping"] = es
        return out

    @property
    def dataset(self) -> str:
        return self.data.get("dataset", "")

    @property
    def data_settings(self) -> dict:
        out = {name: p.default for name, p in DATA.items()}
        out.update(self.data)
        out["options"] = dict(out.get("options") or {})
        return out

    @property
    def title(self) -> str:
        """Its name, else what it is: "MLP on digits", "Autoencoder on shapes"."""
        if self.name:
            return self.name
        nodes = [{"type": n.type} for n in self.model.nodes]
        network = describe.kind(nodes, reconstructs=self.hp.get("task") == "reconstruction", gan=bool(self.gan))
        return f"{network} on {dataset_title(self.dataset)}"

    # -- (de)serialisation ---------------------------------------------------
    def to_dict(self) -> dict:
        out = {"format": FORMAT}
        if self.name:
            out["name"] = self.name
        out.update(model=self.model.to_dict(), data=dict(self.data),
                   augmentation=[dict(a) for a in self.augmentation], training=dict(self.training))
        if self.gan:
            out[gan.KEY] = gan.to_dict(self.gan)
        if self.sweep is not None:
            out["sweep"] = copy.deepcopy(self.sweep)
        return out

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2)

    @classmethod
    def from_dict(cls, data) -> Experiment:
        """Structure checks only (keys, types); `validate` checks the meaning."""
        problems = _structure_problems(data)
        if problems:
            raise SpecError(problems)
        try:
            model = data["model"] if isinstance(data["model"], ModelSpec) else ModelSpec.from_dict(data["model"])
        except SpecError as e:
            raise SpecError([f"model: {p}" for p in e.problems]) from None
        return cls(model=model, data=dict(data["data"]), augmentation=list(data.get("augmentation") or []),
                   training=dict(data.get("training") or {}), name=data.get("name", ""),
                   gan=gan.parse(data[gan.KEY]) if gan.KEY in data else None, sweep=data.get("sweep"))

    @classmethod
    def from_json(cls, text: str) -> Experiment:
        return cls.from_dict(parse_json(text, "experiment"))


def load(path) -> Experiment:
    return Experiment.from_json(read_text(path))


def save(exp: Experiment, path) -> None:
    atomic_write_text(Path(path), exp.to_json())


def coerce(exp) -> Experiment:
    """An `Experiment` from an Experiment, a dict or a path."""
    if isinstance(exp, Experiment):
        return exp
    if isinstance(exp, dict):
        return Experiment.from_dict(exp)
    return load(exp)


def _structure_problems(data) -> list[str]:
    if not isinstance(data, dict):
        return ["an experiment must be a JSON object with 'model', 'data', 'augmentation' and 'training'"]
    problems = []
    if data.get("format") != FORMAT:
        problems.append(f"format is {data.get('format')!r}, expected {FORMAT!r}; is this a Layerlab experiment?")
    problems += [f"unknown key '{k}' in the experiment (allowed: {', '.join(sorted(_KEYS))})"
                 for k in data if k not in _KEYS]
    if not isinstance(data.get("model"), (dict, ModelSpec)):
        problems.append("'model' must be a model spec object (layerlab/model@1); pick a template to start")
    if not isinstance(data.get("data"), dict):
        problems.append("'data' must be an object such as {\"dataset\": \"digits\"}")
    elif problem := _upload_id_problem(data["data"].get("dataset")):
        problems.append(f"data: {problem}")
    if not isinstance(data.get("augmentation", []), list):
        problems.append("'augmentation' must be a list of layers such as [{\"type\": \"RandomFlip\"}]")
    if not isinstance(data.get("training", {}), dict):
        problems.append("'training' must be an object of settings such as {\"epochs\": 5}")
    if "name" in data and not isinstance(data["name"], str):
        problems.append("'name' must be text")
    if data.get("sweep") is not None and not isinstance(data["sweep"], dict):
        problems.append("'sweep' must be an object such as {\"trials\": 12, \"space\": {}}")
    return problems


def dataset_title(dataset_id: str) -> str:
    """The dataset as people name it: an upload by its file's name ("harvest.csv"), a built-in one by its id."""
    if stored.is_stored(dataset_id) and not stored.id_problem(dataset_id):
        return stored.title(dataset_id)
    return dataset_id


def _upload_id_problem(dataset_id) -> str | None:
    """An upload id that could name a path outside the uploads folder is refused on load, not later."""
    return stored.id_problem(dataset_id) if stored.is_stored(dataset_id) else None


# -- defaults that follow the data's size ---------------------------------------------
SMALL_IMAGES = 1000  # image datasets up to this many examples train better with augmentation and transfer
EPOCHS_BY_SIZE = ((200, 60), (SMALL_IMAGES, 30))  # (up to n examples, epochs): few examples need more passes
SMALL_AUGMENTATION = ({"type": "RandomFlip", "params": {"mode": "horizontal"}},
                      {"type": "RandomRotation", "params": {"factor": 0.05}})


@dataclass(frozen=True)
class SizeDefaults:
    training: dict  # settings to set ({} when the declared defaults suit the data)
    augmentation: list  # augmentation to switch on ([] to leave it as it is)
    notes: list  # what was set and why, and what else to try, in a student's words


def size_defaults(experiment: dict, info) -> SizeDefaults:
    """Settings for new data of `info.size` examples: a small image set gets more epochs, flips and small
    rotations, and the advice to start from a pretrained model. Never lowers what the student chose."""
    if getattr(info, "kind", None) != "image" or not 0 < info.size <= SMALL_IMAGES:
        return SizeDefaults({}, [], [])
    training, notes = {}, []
    epochs = next(e for n, e in EPOCHS_BY_SIZE if info.size <= n)
    if coerce(experiment).hp["epochs"] < epochs:
        training["epochs"] = epochs
        notes.append(f"{info.size} pictures are few: training goes through them {epochs} times (epochs).")
    augmentation = [] if experiment.get("augmentation") else [copy.deepcopy(a) for a in SMALL_AUGMENTATION]
    if augmentation:
        notes.append("Augmentation is on (flips and small rotations), so the model sees varied copies.")
    if not has_pretrained_base(experiment):
        notes.append("A pretrained model learns far more from few pictures: try the template "
                     "“Transfer learning” on the Build page.")
    return SizeDefaults(training, augmentation, notes)


# -- the verdict -------------------------------------------------------------------
SECTIONS = ("training", "data", "augmentation", "sweep")  # + gan.PART: a discriminator node's problem


def check(exp, dataset_info=None) -> list[Problem]:
    """THE verdict on model + data + training: every problem before a process starts; [] means ready.

    Build, Data, the sidebar and Train all show this one list. Each `Problem` names its `node` (or
    None), its `field` ("units" or "shape" on a node; "training.loss", "data.test_split"… for a setting;
    "model" for the graph as a whole) and, where one is obvious, a `fix` for `apply_fix`. `exp` is an
    Experiment, its dict or a path; `dataset_info` (a `datasets.registry.DatasetInfo`) is looked up
    when not given.
    """
    try:
        exp = coerce(exp)
    except SpecError as e:
        return [Problem(None, line) for line in e.problems]
    problems = training_problems(exp.training) + _data_problems(exp.data)
    report = model_validate.check(exp.model)
    problems += [p if p.node or p.field else replace(p, field="model") for p in report.problems]
    if report.ok and not any(p.field == "training.fine_tune_epochs" for p in problems):
        problems += fine_tune_problems(exp.model, exp.hp["fine_tune_epochs"])
    info = dataset_info
    if info is None and not any(p.field in ("data.dataset", "data.options") for p in problems):
        info, problem = _dataset_info(exp.dataset, exp.data_settings["options"])
        problems += [problem] if problem else []
    if info is not None and not any(p.field == "training.batch_size" for p in problems):
        problems += batch_problems(exp, info)
    problems += compute.problems(report, compute.step_batch(exp.hp["batch_size"], info))
    if exp.gan:  # two networks, checked against each other and the data (builder.experiments.gan)
        return problems + gan.problems(exp, report, info, None if info is None else data_input_shape(info, exp.data_settings))
    if info is not None:
        problems += _augmentation_problems(exp.augmentation, info)
        problems += _fit_problems(exp, report, info)
    return problems


def validate(exp, dataset_info=None) -> list[str]:
    """`check` as plain lines for the CLI, logs and job errors: "training: …", "data: …", "model: node: …"."""
    return [problem_text(p) for p in check(exp, dataset_info)]


@dataclass(frozen=True)
class Verdict:
    """`check`'s problems for one experiment (parsed when it parses) and that experiment's `stamp` then."""
    experiment: object
    problems: tuple
    stamp: str

    @property
    def ok(self) -> bool:
        return not self.problems

    def holds(self) -> bool:
        """Whether the experiment is still the one checked (nobody changed it since)."""
        return bool(self.stamp) and _stamp_or_none(self.experiment) == self.stamp


def verdict(exp, problems=None) -> Verdict:
    """The verdict on `exp`: `problems` when the caller already holds `check(exp)`'s list for exactly this
    experiment (the page's cached one), else checked now."""
    found = check(exp) if problems is None else problems
    try:
        exp = coerce(exp)
    except SpecError:  # it does not parse: `found` says so, and no stamp can be trusted
        return Verdict(exp, tuple(found), "")
    return Verdict(exp, tuple(found), stamp(exp))


def stamp(exp) -> str:
    """SHA-256 of the experiment's canonical JSON (sorted keys; its name left out, as a name never changes the
    verdict): the same whichever form the experiment travels in (dict, Experiment, experiment.json)."""
    canonical = {k: v for k, v in coerce(exp).to_dict().items() if k != "name"}
    return hashlib.sha256(json.dumps(canonical, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


def passed(exp) -> Experiment:
    """The experiment ready to run, carrying its stamp in `checked`: a `Verdict` that still holds is trusted as
    it is; anything else (an Experiment, its dict, a path, a verdict on an experiment changed since) is checked
    now. SpecError lists the problems."""
    if isinstance(exp, Verdict):
        found = exp if exp.holds() else verdict(exp.experiment)
    else:
        found = verdict(exp)
    if found.problems:
        raise SpecError([problem_text(p) for p in found.problems])
    ready = coerce(found.experiment)
    ready.checked = found.stamp
    return ready


def trusted(exp: Experiment, recorded: str | None = None) -> bool:
    """Whether `exp` passed `check` as it is now: its own stamp (`passed`) or `recorded` (the run folder's)
    is its current one."""
    current = _stamp_or_none(exp)
    return current is not None and current in (exp.checked, recorded)


def _stamp_or_none(exp) -> str | None:
    try:
        return stamp(exp)
    except SpecError:
        return None


def problem_text(p: Problem) -> str:
    section = (p.field or "").split(".")[0]
    if section == gan.PART:
        return f"{section}: {p}"
    if section in SECTIONS:
        return f"{section}: {p.message}"
    return f"model: {p}" if p.node or p.field else p.message


def apply_fix(experiment, fix: dict) -> dict:
    """A copy of the experiment dict with a Problem's `fix` applied.

    A fix is {"node": id, "params": {...}} (a model node's params), {"training": {...}} or
    {"data": {...}}; a None value removes the setting, so its default applies. A GAN's discriminator
    node: {"discriminator": {"node": id, "params": {...}}}.
    """
    out = copy.deepcopy(experiment.to_dict() if isinstance(experiment, Experiment) else experiment)
    if "node" in fix:
        nodes = {n.get("id"): n for n in out["model"]["nodes"]}
        if fix["node"] not in nodes:
            raise ValueError(f"the model has no node '{fix['node']}' any more; check the model again")
        _merge(nodes[fix["node"]].setdefault("params", {}), fix.get("params", {}))
    if gan.PART in fix:
        gan.apply_fix(out, fix[gan.PART])
    for section in ("training", "data"):
        if section in fix:
            _merge(out.setdefault(section, {}), fix[section])
    return out


def _merge(target: dict, changes: dict) -> None:
    for key, value in changes.items():
        if value is None:
            target.pop(key, None)
        else:
            target[key] = copy.deepcopy(value)



def training_problems(training: dict) -> list[Problem]:
    problems = [_setting("training", key, f"unknown setting '{key}' (known: {', '.join(HYPERPARAMS)})", {key: None})
                for key in training if key not in HYPERPARAMS]
    opt = training.get("optimizer", "adam")
    if opt not in OPTIMIZERS:
        problems.append(_setting("training", "optimizer", f"unknown optimizer {opt!r}; choose one of "
                                 f"{', '.join(OPTIMIZERS)}", {"optimizer": HYPERPARAMS["optimizer"].default}))
    handled = {"optimizer"}  # reported above in plainer words
    lr = training.get("learning_rate", HYPERPARAMS["learning_rate"].default)
    if isinstance(lr, (int, float)) and not isinstance(lr, bool) and (not math.isfinite(lr) or lr <= 0):
        handled.add("learning_rate")
        problems.append(_setting("training", "learning_rate", "the learning rate must be a positive number such "
                                 f"as 0.001, got {lr}", {"learning_rate": HYPERPARAMS["learning_rate"].default}))
    task = training.get("task", "classification")
    loss = LOSS_ALIASES.get(training.get("loss"), training.get("loss"))
    if task in TASKS and loss and loss in ALL_LOSSES and loss not in LOSSES_BY_TASK[task]:
        fits = ", ".join(LOSSES_BY_TASK[task])
        problems.append(_setting("training", "loss", f"the loss {loss!r} does not fit a {task} task; use one of "
                                 f"{fits}", {"loss": LOSSES_BY_TASK[task][0]}))
    for name, value in training.items():
        param = HYPERPARAMS.get(name)
        if param is None or name in handled:
            continue
        if name == "loss":
            value = LOSS_ALIASES.get(value, value)
        problem = _check_param(param, value)
        if problem:  # the run would not use this value: the fix puts the declared default back, in view
            problems.append(_setting("training", name, problem, {name: param.default}))
    return problems


def batch_problems(exp: Experiment, info) -> list[Problem]:
    """A batch bigger than the training split: every epoch would be one smaller batch than the one asked for."""
    size = getattr(info, "size", None)
    if not isinstance(size, int) or not isinstance(exp.training.get("batch_size", 0), int):
        return []
    settings = exp.data_settings
    try:
        train = split_sizes(size, settings["validation_split"], settings["test_split"])[0]
    except (TypeError, ValueError):
        return []  # fractions out of range: the data check says so
    batch = exp.hp["batch_size"]
    if train < 1 or batch <= train:
        return []
    return [_setting("training", "batch_size", f"the batch size {batch} is larger than the {train} training "
                     f"examples, so each epoch would be one batch of {train}; choose {train} or less",
                     {"batch_size": min(HYPERPARAMS["batch_size"].default, train)})]


def shown_settings(experiment: dict) -> tuple[str, ...]:
    """The training settings that apply to this experiment dict's kind, in declaration order (what Train shows).

    A GAN always trains with binary cross-entropy, has no classes and no validation loss, so task, loss,
    metrics and early stopping do not apply; the fine-tuning settings apply only to a model with a pretrained
    base. Reads the dict as it is, so a model that does not parse yet still gets its form.
    """
    hidden = set(GAN_HIDDEN if experiment.get(gan.KEY) else ())
    if not has_pretrained_base(experiment):
        hidden |= {"fine_tune_epochs", "fine_tune_rate"}
    return tuple(name for name in HYPERPARAMS if name not in hidden)


def has_pretrained_base(experiment: dict) -> bool:
    """Whether the experiment dict's model holds a pretrained base (read as it is: it need not parse)."""
    nodes = (experiment.get("model") or {}).get("nodes") or []
    return any(isinstance(n, dict) and n.get("type") == TYPE for n in nodes)


def metric_choices(task: str) -> tuple[str, ...]:
    """Metrics that mean something for the task (accuracy only counts classes)."""
    return METRICS_BY_TASK.get(task, ALL_METRICS)


def monitor_choices(task: str) -> tuple[str, ...]:
    """Numbers early stopping can watch for the task: the losses and the task's metrics."""
    metrics = metric_choices(task)
    return tuple(m for m in MONITORS if m.removeprefix("val_") in ("loss", *metrics))


def _check_param(param: Param, value) -> str | None:
    if param.extra.get("multiple"):
        if value is None:
            return None
        if not isinstance(value, list):
            return f"'{param.name}' must be a list such as [\"accuracy\"]"
        bad = [v for v in value if v not in param.choices]
        return f"'{param.name}': unknown {', '.join(map(repr, bad))}; choose from {', '.join(param.choices)}" if bad else None
    if param.name == "early_stopping":
        if value is None:
            return None
        if not isinstance(value, dict):
            return "'early_stopping' must be null or an object like {\"monitor\": \"val_loss\", \"patience\": 3}"
        for key in value:
            if key not in EARLY_STOPPING:
                return f"early_stopping: unknown key '{key}' (known: monitor, patience)"
        for key, p in EARLY_STOPPING.items():
            if key in value and (problem := p.check(value[key])):
                return f"early_stopping: {problem}"
        return None
    if "object" in param.extra:
        return None if value is None or isinstance(value, dict) else f"'{param.name}' must be an object"
    return param.check(value)


def _data_problems(data: dict) -> list[Problem]:
    problems = [_setting("data", k, f"unknown key '{k}' (known: {', '.join(DATA)})", {k: None})
                for k in data if k not in DATA]
    if not isinstance(data.get("dataset"), str) or not data.get("dataset"):
        problems.append(_setting("data", "dataset", "pick a dataset (\"dataset\": an id from "
                                 "`python -m builder datasets`)"))
    for name in ("normalize", "features"):
        if name in data and (problem := DATA[name].check(data[name])):
            problems.append(_setting("data", name, problem, {name: DATA[name].default}))
    defaults = {name: DATA[name].default for name in ("validation_split", "test_split")}
    fractions = {**defaults, **{k: data[k] for k in defaults if k in data}}
    problems += [_setting("data", "test_split" if line.startswith("test_split") else "validation_split", line,
                          defaults) for line in split_problems(*fractions.values())]
    if data.get("options") is not None and not isinstance(data["options"], dict):
        problems.append(_setting("data", "options", "'options' must be an object of loader options", {"options": None}))
    return problems


def _dataset_info(dataset_id: str, options: dict):
    try:
        if options:  # options (image size, number of features…) can change the shape: make it to see
            return registry.load(dataset_id, **options).info, None
        return registry.info(dataset_id), None
    except (KeyError, ValueError) as e:
        return None, _setting("data", "dataset", str(e.args[0] if e.args else e))


def _augmentation_problems(entries: list, info) -> list[Problem]:
    if not entries:
        return []
    lines = [f"#{i + 1}: must be an object like {{\"type\": \"RandomFlip\", \"params\": {{}}}}"
             for i, e in enumerate(entries) if not isinstance(e, dict) or "type" not in e]
    if not lines:
        try:
            lines = augment.validate(entries, tuple(info.input_shape))
        except Exception as e:  # noqa: BLE001 - their validator failing must not hide the rest
            lines = [str(e)]
    return [Problem(None, line, field="augmentation") for line in lines]


# -- does the data fit the model? ------------------------------------------------



def data_input_shape(info, data_settings: dict) -> tuple:
    """The shape of one example as the model gets it: the dataset's, after the chosen `features`."""
    return feature_shape(info.input_shape, data_settings.get("features", DATA["features"].default))


def _fit_problems(exp: Experiment, report, info) -> list[Problem]:
    spec, hp, settings = exp.model, exp.hp, exp.data_settings
    if settings["features"] in FEATURES and (problem := features_problem(info.input_shape, settings["features"])):
        return [_setting("data", "features", problem, {"features": "raw"})]
    inputs, outputs = spec.input_ids(), spec.output_ids()
    if len(inputs) > 1:
        return [Problem(None, f"has {len(inputs)} inputs, but a dataset feeds exactly one; keep one Input layer",
                        field="model")]
    if len(outputs) > 1:
        return [Problem(None, f"has {len(outputs)} outputs ({', '.join(outputs)}); training needs exactly one",
                        field="model")]
    if not inputs or not outputs:
        return []  # the model check says so
    problems = []
    data_in = data_input_shape(info, settings)
    model_in = tuple(spec.node(inputs[0]).params.get("shape") or ())
    if not shapes_fit(data_in, model_in):
        target = [math.prod(data_in)] if len(model_in) == 1 else list(data_in)  # a flat Input stays flat
        problems.append(Problem(inputs[0], f"data shape {list(data_in)} does not match the model input "
                                f"'{inputs[0]}' shape {list(model_in)}; set the Input shape to {target}",
                                field="shape", fix={"node": inputs[0], "params": {"shape": target}}))
    out_shape = report.shapes.get(outputs[0])
    return problems + _task_problems(spec.node(outputs[0]), None if out_shape is None else tuple(out_shape)[1:],
                                     model_in, info, hp)


def _task_problems(out, out_shape, model_in, info, hp) -> list[Problem]:
    """Does the model's output fit the task and the data's labels? `out_shape` is None when unknown."""
    task, data_task = hp["task"], getattr(info, "task", None)
    classes = getattr(info, "classes", None)
    n = len(classes) if isinstance(classes, (list, tuple)) else classes
    if task == "classification" and data_task and data_task != "classification" and not n:
        return [_setting("training", "task", f"the dataset '{info.id}' is for {data_task}, not classification; "
                         "change the task", {"task": data_task, "loss": None} if data_task in TASKS else None)]
    if task == "regression" and data_task == "classification":
        return [_setting("training", "task", f"the dataset '{info.id}' has classes, not numbers; choose the "
                         "classification task", {"task": "classification", "loss": None})]
    if out_shape is None:
        return []
    if task == "classification" and n:
        return _class_problems(out, out_shape, n, hp["loss"])
    if task == "reconstruction" and not shapes_fit(model_in, out_shape, flatten=False):
        return [Problem(out.id, f"for reconstruction the output '{out.id}' must have the input's shape "
                        f"{list(model_in)}, but it has {list(out_shape)}; end with a layer that rebuilds the "
                        "input shape", field="shape")]
    if task == "regression" and out_shape not in ((), (1,)):
        return [Problem(out.id, f"gives {list(out_shape)} numbers per example, but the data has one target "
                        "number; set units=1 on the last layer", field="units", fix=_output_fix(out, 1, None))]
    return []


def _class_problems(out, out_shape, n: int, loss: str) -> list[Problem]:
    if len(out_shape) > 1:
        return [Problem(out.id, f"gives an output of shape {list(out_shape)} per example, but classification "
                        f"needs one vector of {n} class probabilities; add Flatten or GlobalAveragePooling "
                        "before the last Dense", field="shape")]
    units = out_shape[-1] if out_shape else 1
    if loss == "binary_crossentropy":
        if n != 2:
            return [_setting("training", "loss", f"binary cross-entropy needs 2 classes, but the data has {n}; "
                             "use sparse_categorical_crossentropy", {"loss": "sparse_categorical_crossentropy"})]
        if units != 1:
            return [Problem(out.id, f"has {units} units, but binary cross-entropy needs 1 output unit with "
                            "sigmoid; set units=1 (with sigmoid) on the last layer", field="units",
                            fix=_output_fix(out, 1, "sigmoid"))]
        return []
    if units != n:
        return [Problem(out.id, f"has {units} units but the data has {n} classes; "
                        f"set units={n} (with softmax) on the last layer", field="units",
                        fix=_output_fix(out, n, "softmax"))]
    return []


def _output_fix(out, units: int, activation: str | None) -> dict | None:
    """Set the last layer's units (and activation) when it is a Dense layer; no obvious fix otherwise."""
    if out.type != "Dense":
        return None
    return {"node": out.id, "params": {"units": units, "activation": activation}}
