"""A `.keras` file or a live `keras.Model` → a model spec the user can edit.

Only models made of catalog layers can be opened. A file is read with Keras's
safe mode, and before Keras even sees it its config is scanned: a Lambda layer
or any custom class is refused by name, so no code from the file ever runs.
Weights are not imported — a spec describes the architecture only.
"""
from __future__ import annotations

import json
import zipfile
from pathlib import Path

from builder.catalog import CATALOG, LayerType
from builder.spec import ID_PATTERN, ModelSpec, Node, SpecError, unique_name

CUSTOM_CODE = "this model contains custom code ({what}); Layerlab only opens models made of standard Keras layers"

# Config keys that carry no architecture Layerlab shows (or only the initial weights): ignored on import.
_IGNORED_KEYS = {"name", "trainable", "dtype", "seed", "autocast"}
_IGNORED_SUFFIXES = ("_initializer", "_constraint")
_SAME_AS = {"strides": "pool_size", "value_dim": "key_dim"}  # optional params whose empty value copies another


def from_keras_file(path) -> ModelSpec:
    """Open a `.keras` file in safe mode; SpecError names what is wrong with it."""
    path = Path(path)
    if not path.is_file():
        raise SpecError([f"{path}: no such file"])
    if not zipfile.is_zipfile(path):
        hint = ("old HDF5 (.h5) files are not supported; re-save it with model.save('model.keras')"
                if path.suffix.lower() in (".h5", ".hdf5") else "save a model with model.save('model.keras')")
        raise SpecError([f"{path}: not a Keras model file (.keras zip archive); {hint}"])
    refuse_custom_code(_read_config(path))
    import keras

    from builder.validate import keras_message

    try:
        model = keras.saving.load_model(path, safe_mode=True, compile=False)
    except Exception as e:  # noqa: BLE001 - any loading failure becomes one plain line
        raise SpecError([f"{path}: Keras could not open this model: {keras_message(e)}"]) from None
    return from_model(model)


def _read_config(path: Path) -> dict:
    try:
        with zipfile.ZipFile(path) as archive:
            return json.loads(archive.read("config.json"))
    except KeyError:
        raise SpecError([f"{path}: a zip file but not a Keras model (no config.json inside)"]) from None
    except (zipfile.BadZipFile, json.JSONDecodeError, UnicodeDecodeError, OSError):
        raise SpecError([f"{path}: the Keras model file is damaged; save the model again"]) from None


def refuse_custom_code(config) -> None:
    """SpecError if a saved config holds a Lambda, a Python function or any non-Keras class."""
    for item in _walk(config):
        class_name = item.get("class_name")
        if not isinstance(class_name, str):
            continue
        name = (item.get("config") or {}).get("name") if isinstance(item.get("config"), dict) else None
        if class_name == "Lambda":
            raise SpecError([CUSTOM_CODE.format(what=f"Lambda layer '{name}'")])
        if class_name in ("__lambda__", "function"):
            raise SpecError([CUSTOM_CODE.format(what="a Python function")])
        module = item.get("module")
        if module is not None and not (isinstance(module, str) and (module == "keras" or module.startswith("keras."))):
            what = f"custom class {class_name}" + (f" in layer '{name}'" if name else "")
            raise SpecError([CUSTOM_CODE.format(what=what)])


def _walk(value):
    if isinstance(value, dict):
        yield value
        for v in value.values():
            yield from _walk(v)
    elif isinstance(value, list):
        for v in value:
            yield from _walk(v)


def from_model(model) -> ModelSpec:
    """A live Sequential or functional model → spec (architecture only, no weights)."""
    import keras

    if isinstance(model, keras.Sequential):
        nodes = _sequential_nodes(model)
        outputs = None
    else:
        nodes, outputs = _functional_nodes(model)
    ids = _safe_ids([n.id for n in nodes])
    for n in nodes:
        n.id, n.inputs = ids[n.id], [ids[i] for i in n.inputs]
    spec = ModelSpec(name=model.name, nodes=nodes, outputs=[ids[o] for o in outputs] if outputs else None)
    from builder.validate import check

    report = check(spec)
    if not report.ok:
        raise SpecError([f"the imported model cannot be used as it is: {line}" for line in report.lines()])
    return spec


def _sequential_nodes(model) -> list[Node]:
    if not model.inputs:
        raise SpecError([f"model '{model.name}' has no input shape yet; start it with keras.Input(shape=...)"])
    entry = model.inputs[0]._keras_history.operation
    nodes, previous = [_input_node(entry)], entry.name
    for layer in model.layers:
        node = _layer_node(layer)
        node.inputs = [previous]
        nodes.append(node)
        previous = node.id
    return nodes


def _functional_nodes(model) -> tuple[list[Node], list[str]]:
    import keras

    nodes = []
    known = {layer.name for layer in model.layers}
    for layer in model.layers:
        if isinstance(layer, keras.layers.InputLayer):
            nodes.append(_input_node(layer))
            continue
        if len(layer._inbound_nodes) != 1:
            raise SpecError([f"layer '{layer.name}' is used more than once (shared weights); "
                             "Layerlab needs each layer used once"])
        node = _layer_node(layer)
        node.inputs = [_source(t, layer, known) for t in layer._inbound_nodes[0].input_tensors]
        nodes.append(node)
    outputs = [_source(t, None, known) for t in model.outputs]
    return nodes, outputs


def _source(tensor, layer, known: set[str]) -> str:
    history = tensor._keras_history
    op = history.operation
    where = f" feeding '{layer.name}'" if layer is not None else ""
    if op.name not in known:
        raise SpecError([f"the model computes '{op.name}'{where} with a raw operation instead of a layer; "
                         "rebuild it with Keras layers (e.g. layers.Add instead of +)"])
    if history.tensor_index != 0:
        raise SpecError([f"layer '{op.name}' has several outputs, which Layerlab does not support"])
    return op.name


def _input_node(layer) -> Node:
    shape = list(layer.batch_shape[1:])
    dtype = "int32" if "int" in str(layer.dtype) else "float32"
    params = {"shape": shape}
    if dtype != "float32":
        params["dtype"] = dtype
    return Node(id=layer.name, type="Input", params=params)


def _layer_node(layer) -> Node:
    import keras

    kind = type(layer).__name__
    if isinstance(layer, keras.layers.Lambda):
        raise SpecError([CUSTOM_CODE.format(what=f"Lambda layer '{layer.name}'")])
    if not type(layer).__module__.startswith("keras."):
        raise SpecError([CUSTOM_CODE.format(what=f"custom layer '{layer.name}' of class {kind}")])
    if isinstance(layer, keras.Model):
        raise SpecError([f"layer '{layer.name}' is a whole model inside the model; Layerlab needs a flat list of layers"])
    if kind not in CATALOG or kind == "Input":
        raise SpecError([f"layer '{layer.name}' is a {kind}, which Layerlab's layer catalog does not have; "
                         "replace it with a catalog layer"])
    params = layer_params(layer, CATALOG[kind])
    _refuse_lost_settings(layer, kind, params)
    return Node(id=layer.name, type=kind, params=params)


def layer_params(layer, lt: LayerType) -> dict:
    """The catalog params of a Keras layer, leaving out those at Keras's default."""
    config = layer.get_config()
    params = {}
    for p in lt.params:
        if p.kind == "layer":
            inner = getattr(layer, "forward_layer", None) or layer.layer  # Bidirectional | TimeDistributed
            inner_kind = type(inner).__name__
            if inner_kind not in p.choices:
                raise SpecError([f"layer '{layer.name}' wraps a {inner_kind}; {lt.name} in Layerlab wraps "
                                 f"{', '.join(p.choices)}"])
            params["layer"] = {"type": inner_kind, "params": layer_params(inner, CATALOG[inner_kind])}
            continue
        if p.kind == "regularizer":
            value = _regularizer(layer, p.name)
        elif p.name in config:
            value = plain(config[p.name])
            if p.kind == "int" and isinstance(value, list) and len(value) == 1:
                value = value[0]  # e.g. LayerNormalization keeps axis -1 as [-1]
        else:
            continue
        twin = _SAME_AS.get(p.name)
        if twin in config and value == plain(config[twin]):
            continue  # Keras stores "empty = same as <twin>" as a copy of the twin
        if p.required or value != plain(p.default):
            params[p.name] = value
    return params


def _regularizer(layer, name: str):
    reg = getattr(layer, name, None)
    if reg is None:
        return None
    l1, l2 = getattr(reg, "l1", 0.0), getattr(reg, "l2", 0.0)
    if type(reg).__name__ not in ("L1", "L2", "L1L2"):
        raise SpecError([f"layer '{layer.name}' uses a {type(reg).__name__} regularizer; Layerlab supports L1/L2 only"])
    return {"l1": float(l1), "l2": float(l2)}


def plain(value):
    """JSON-style value: tuples → lists (recursively)."""
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    return value


def _refuse_lost_settings(layer, kind: str, params: dict) -> None:
    """SpecError if the layer uses a setting the spec cannot express (it would be silently lost)."""
    from builder.build import make_layer

    fresh = make_layer(Node(id=layer.name, type=kind, params=params)).get_config()
    original = layer.get_config()
    for key, value in original.items():
        if key in _IGNORED_KEYS or key.endswith(_IGNORED_SUFFIXES) or key in CATALOG[kind].param_map:
            continue
        if key in ("layer", "backward_layer"):
            continue  # Bidirectional: the wrapped layer is compared through its own params
        if kind == "MultiHeadAttention" and key == "attention_axes" and plain(value) in (None, [1]):
            continue  # Keras fills in the default axes (sequence) when the layer is built
        if plain(value) != plain(fresh.get(key)):
            raise SpecError([f"layer '{layer.name}' ({kind}) uses {key}={value!r}, which Layerlab cannot "
                             "represent; rebuild it without that setting"])


def _safe_ids(names: list[str]) -> dict[str, str]:
    """Keras layer names → unique spec ids matching the id pattern."""
    out, used = {}, set()
    for name in names:
        base = "".join(c if c.isalnum() and c.isascii() or c in "_-" else "_" for c in name) or "layer"
        if not ID_PATTERN.match(base):
            base = "_" + base
        out[name] = unique_name(base, used)
    return out
