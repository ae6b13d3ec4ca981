"""Pretrained bases: a saved Keras model, weights kept, used as one `Pretrained` node of a spec.

A base is a `.keras` file in the pretrained store (`LAYERLAB_PRETRAINED_DIR`, default a
`pretrained` folder beside the uploads), named by the first 16 hex digits of its SHA-256,
so the id `pretrained:<key>` means the same weights wherever an experiment goes. A file
enters the store only through `store_file` — a user's upload, or `from_application`, which
saves a keras.applications model with its ImageNet weights. Like the importer, it scans the
file's config first (no Lambda, no custom class: no code from the file ever runs) and opens
it in safe mode. Validation reads only the architecture (weights declared, never
allocated); `load` opens the weights for a build and applies the node's freeze option.
"""
from __future__ import annotations

import hashlib
import json
import re
import shutil
import tempfile
import zipfile
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from builder import limits, settings
from builder.files import atomic_write
from builder.graph.kerasfile import declared_weights_only, keras_message, read_config, refuse_custom_code
from builder.model.problems import Problem, fmt_shape
from builder.model.spec import SpecError, atomic_write_text

TYPE = "Pretrained"
PREFIX = "pretrained:"
SHIPPED = Path(__file__).parents[1] / "bases"  # bases that ship with Layerlab (bench/make_pretrained_base.py)
RUN_FOLDER = "pretrained"  # in a run folder: a copy of each base file the run's model uses
_KEY = re.compile(r"[0-9a-f]{16}")  # fullmatch only
# A few keras.applications image models (include_top=False) a student can start from: name → smallest side.
APPLICATIONS = {"MobileNetV2": 32, "MobileNetV3Small": 32, "EfficientNetB0": 32, "ResNet50": 32, "VGG16": 32,
                "DenseNet121": 32}


class PretrainedError(ValueError):
    """A base that cannot be stored or loaded; `problem` says why and what to do."""

    def __init__(self, problem: Problem):
        self.problem = problem
        super().__init__(problem.message)


@dataclass(frozen=True)
class BaseInfo:
    id: str
    title: str
    input_shape: tuple  # without the batch axis
    output_shape: tuple
    layers: tuple[str, ...]  # the base's own layer names, in order (for "unfreeze from")
    params: int


# -- the store -----------------------------------------------------------------------------
def store_dir() -> Path:
    return settings.pretrained_dir()


def is_base_id(value) -> bool:
    return isinstance(value, str) and value.startswith(PREFIX) and bool(_KEY.fullmatch(value[len(PREFIX):]))


def path_of(base_id: str) -> Path:
    """The file of a base id: one that ships with Layerlab, else the store's; the key is checked, so an id
    never names a path elsewhere."""
    if not is_base_id(base_id):
        raise SpecError([f"'{base_id}' is not a pretrained base id; upload the base again"])
    name = f"{base_id[len(PREFIX):]}.keras"
    return SHIPPED / name if (SHIPPED / name).exists() else store_dir() / name


def file_name(base_id: str) -> str:
    return path_of(base_id).name


def id_of(path) -> str:
    """The id a `.keras` file gets in the store: its content's."""
    return PREFIX + hashlib.sha256(Path(path).read_bytes()).hexdigest()[:16]


def store_file(path, title: str | None = None) -> str:
    """Check a `.keras` file and keep it (weights included) in the store; returns its id `pretrained:<key>`."""
    path = Path(path)
    cap = limits.get("max_upload_mb")
    if not path.is_file() or not zipfile.is_zipfile(path):
        raise _error(f"{path.name}: not a Keras model file; save the model with model.save('model.keras')")
    if path.stat().st_size > cap:
        raise _error(f"{path.name} is larger than {cap // limits.MB} MB (server setting LAYERLAB_MAX_UPLOAD_MB)")
    try:
        refuse_custom_code(read_config(path))
        declared = _architecture(path).count_params()  # a tiny file may declare gigabytes: count before loading
    except SpecError as e:
        raise _error("; ".join(e.problems)) from None
    except Exception as e:  # noqa: BLE001 - any Keras complaint about the config becomes one plain line
        raise _error(f"{path.name}: Keras could not open this model: {keras_message(e)}") from None
    if declared > limits.get("max_params"):
        raise _error(f"{path.name} has {limits.count(declared)} weights, over the limit of "
                     f"{limits.count(limits.get('max_params'))} (server setting LAYERLAB_MAX_PARAMS)")
    import keras

    model = _open(path, path.name)
    base_id = id_of(path)
    target = path_of(base_id)
    if target.exists():  # the same bytes again: the same base, kept as first described
        return base_id
    meta = {"title": title or model.name, "input_shape": list(model.input_shape[1:]),
            "output_shape": list(model.output_shape[1:]),
            "layers": [layer.name for layer in model.layers if not isinstance(layer, keras.layers.InputLayer)],
            "params": int(model.count_params())}
    atomic_write_text(target.with_suffix(".json"), json.dumps(meta))  # first: a base file always has one
    with open(path, "rb") as source:
        atomic_write(target, lambda f: shutil.copyfileobj(source, f))
    return base_id


def _open(path: Path, what: str):
    """The model in `path` with its weights (safe mode); one input and one output, else PretrainedError."""
    import keras

    try:
        model = keras.saving.load_model(path, compile=False, safe_mode=True)
    except Exception as e:  # noqa: BLE001 - any loading failure becomes one plain line
        raise _error(f"{what}: Keras could not open this model: {keras_message(e)}") from None
    if not isinstance(model, keras.Model):
        raise _error(f"{what} holds a {type(model).__name__}, not a model")
    if len(model.inputs) != 1 or len(model.outputs) != 1:
        raise _error(f"{what} has {len(model.inputs)} inputs and {len(model.outputs)} outputs; a pretrained base "
                     "needs exactly one of each")
    return model


def info(base_id: str) -> BaseInfo:
    path = path_of(base_id)
    try:
        meta = json.loads(path.with_suffix(".json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        raise SpecError([f"the pretrained base '{base_id}' is not on this server; upload its .keras file again "
                         "(or pick the application again)"]) from None
    return BaseInfo(base_id, meta["title"], tuple(meta["input_shape"]), tuple(meta["output_shape"]),
                    tuple(meta["layers"]), int(meta["params"]))


def _error(message: str, field: str = "model") -> PretrainedError:
    return PretrainedError(Problem(None, message, field=field))


# -- keras.applications ------------------------------------------------------------------------
def application_input(name: str, incoming_shape) -> tuple[int, int, int]:
    """The input an application base gets after a layer of `incoming_shape` (with batch, or None): the
    incoming pictures' size, at least the application's smallest side, in colour."""
    h, w = incoming_shape[1:3] if incoming_shape and len(incoming_shape) == 4 else (None, None)
    smallest = APPLICATIONS[name]
    return max(h or smallest, smallest), max(w or smallest, smallest), 3


def from_application(name: str, input_shape, allow_download: bool = True) -> str:
    """A keras.applications model (without its classifier top) with ImageNet weights, kept in the store.

    The weights come from Keras' cache (~/.keras/models, or $KERAS_HOME/models) or, where allowed and
    the machine is online, are downloaded there. When neither works, PretrainedError says so plainly.
    """
    import keras

    if name not in APPLICATIONS:
        raise _error(f"unknown application {name!r}; choose one of {', '.join(APPLICATIONS)}", "application")
    shape = tuple(int(d) for d in input_shape)
    smallest = APPLICATIONS[name]
    if len(shape) != 3 or shape[2] != 3 or min(shape[:2]) < smallest:
        raise _error(f"{name} with ImageNet weights takes colour images of at least {smallest}×{smallest} "
                     f"pixels, shape (height, width, 3); got {fmt_shape(shape)} — add a Resizing layer and "
                     "three channels before the base", "application")
    try:
        with _downloads(allow_download):
            model = getattr(keras.applications, name)(weights="imagenet", include_top=False, input_shape=shape)
    except _NoDownload:
        raise _error(f"the ImageNet weights of {name} are not on this machine, and downloading is off; "
                     f"copy them into {_cache()} or upload a .keras model with its weights instead",
                     "application") from None
    except Exception as e:  # noqa: BLE001 - offline, a proxy, a broken cache file: one plain line
        raise _error(f"could not get the ImageNet weights of {name} ({keras_message(e)}); this machine seems "
                     f"to be offline — copy them into {_cache()} or upload a .keras model with its weights "
                     "instead", "application") from None
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / f"{name}.keras"
        model.save(path)
        return store_file(path, title=f"{name} (ImageNet weights)")


class _NoDownload(Exception):
    pass


@contextmanager
def _downloads(allowed: bool):
    """With `allowed` False, Keras' weight fetcher may only use its cache (a download raises _NoDownload)."""
    from keras.src.utils import file_utils  # the module whose urlretrieve keras.utils.get_file calls

    if allowed:
        yield
        return

    def refuse(*args, **kwargs):
        raise _NoDownload()

    original = file_utils.urlretrieve
    file_utils.urlretrieve = refuse
    try:
        yield
    finally:
        file_utils.urlretrieve = original


def _cache() -> str:
    from keras.src.backend.config import keras_home

    return str(Path(keras_home()) / "models")


# -- the node ---------------------------------------------------------------------------------
def node_problems(node) -> list[Problem]:
    """What is wrong with a Pretrained node's base and freeze option (its params' types are checked already)."""
    base_id, freeze = node.params.get("model", ""), node.params.get("freeze", "all")
    if not base_id:
        return [Problem(node.id, "no base chosen yet; upload a .keras model or pick an application in the "
                                 "palette's Transfer menu", field="model")]
    try:
        base = info(base_id)
    except SpecError as e:
        return [Problem(node.id, e.problems[0], field="model")]
    end = node.params.get("output_layer")
    if end and end not in base.layers:
        return [Problem(node.id, f"output_layer: '{end}' is not one of the base's layers ({_some(base.layers)})",
                        field="output_layer")]
    kept = base.layers[:base.layers.index(end) + 1] if end else base.layers
    start = node.params.get("unfreeze_from")
    if freeze == "from" and start not in kept:
        named = f"'{start}' is not one of its layers" if start else "name the first layer that learns"
        return [Problem(node.id, f"freeze 'from': {named} (unfreeze_from; the base's layers are "
                                 f"{_some(kept)})", field="unfreeze_from")]
    return []


def _some(names, n: int = 8) -> str:
    shown = ", ".join(names[:n])
    return shown + (f" … {names[-1]}" if len(names) > n else "")


def infer(node, shapes: list[tuple], dtypes: list[str]):
    """(output shape, dtype, weight count) of the node for its input shape, or a problem string."""
    import keras

    base = info(node.params["model"])
    got = shapes[0][1:]
    if len(got) != len(base.input_shape) or any(a is not None and b is not None and a != b
                                                 for a, b in zip(got, base.input_shape, strict=True)):
        return (f"the pretrained base '{base.title}' takes inputs of shape {fmt_shape(base.input_shape)} but gets "
                f"{fmt_shape(got)}; {_input_fix(got, base.input_shape)}")
    model = cut(_architecture(path_of(node.params["model"])), node.params, node.id)
    out = model(keras.KerasTensor(shapes[0], dtype=dtypes[0]))
    return tuple(out.shape), str(out.dtype), int(model.count_params())


def _input_fix(got: tuple, want: tuple) -> str:
    if len(got) != 3 or len(want) != 3:
        return "add a Reshape layer before it, or use data of that shape"
    fixes = [f"a Resizing layer to {want[0]}×{want[1]}"] if got[:2] != want[:2] else []
    if got[2] != want[2]:
        fixes.append(f"a 1×1 Conv2D with filters {want[2]} (the channels it takes)")
    return "add " + " and ".join(fixes) + " before it"


def _architecture(path: Path):
    """The model in `path` rebuilt from its config alone: its weights declared, never allocated."""
    import keras

    config = read_config(path)
    with declared_weights_only():
        return keras.saving.deserialize_keras_object({k: v for k, v in config.items() if k != "compile_config"},
                                                     safe_mode=True)


def load(node):
    """The base of a Pretrained node with its weights, named by the node id, frozen as the node says."""
    model = cut(_open(path_of(node.params["model"]), f"the pretrained base of '{node.id}'"), node.params, node.id)
    apply_freeze(model, node.params)
    return model


def cut(model, params: dict, name: str):
    """The base named `name`, ending at its layer `output_layer` when one is given (e.g. before a saved
    classifier's own head), so that layer's output feeds the student's head."""
    import keras

    end = params.get("output_layer")
    if end:
        return keras.Model(model.inputs, model.get_layer(end).output, name=name)
    model.name = name
    return model


def apply_freeze(base, params: dict) -> None:
    """freeze 'all': no weight of the base learns; 'none': all do; 'from': the layers from `unfreeze_from` on."""
    freeze = params.get("freeze", "all")
    base.trainable = freeze != "all"
    if freeze == "from":
        names = [layer.name for layer in base.layers]
        for layer in base.layers[:names.index(params["unfreeze_from"])]:
            layer.trainable = False


def fine_tune_problems(spec, fine_tune_epochs: int) -> list[Problem]:
    """Fine-tuning epochs need a pretrained base with layers to unfreeze."""
    if not fine_tune_epochs:
        return []
    bases = base_nodes(spec)
    if not bases:
        return [Problem(None, "fine-tuning epochs are set, but the model has no pretrained base; set them to 0 "
                              "or add a base from the palette's Transfer menu", field="training.fine_tune_epochs",
                        fix={"training": {"fine_tune_epochs": None}})]
    if all(n.params.get("freeze", "all") == "all" for n in bases):
        first = bases[0].id
        return [Problem(first, "fine-tuning needs layers to unfreeze, but the base is frozen ('all'); set freeze to "
                               "'none' (or 'from' a layer) — the head still trains first with the base frozen",
                        field="freeze", fix={"node": first, "params": {"freeze": "none"}})]
    return []


def base_nodes(spec) -> list:
    return [n for n in spec.nodes if n.type == TYPE]


def copy_files(spec, folder) -> list[Path]:
    """Copy the spec's base files into `folder` (a run folder's `pretrained/`, an export's), so they travel."""
    folder = Path(folder)
    out = []
    for base_id in dict.fromkeys(n.params["model"] for n in base_nodes(spec)):
        folder.mkdir(parents=True, exist_ok=True)
        target = folder / file_name(base_id)
        if not target.exists():
            shutil.copyfile(path_of(base_id), target)
        out.append(target)
    return out
