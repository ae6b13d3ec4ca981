"""A `.keras` file or a live `keras.Model` → a model spec the user can edit.

Only models made of catalog layers can be opened. Only the file's
`config.json` is read (its size checked from the archive header first), and
before Keras even sees it the config is scanned: Lambda layers and custom
classes are refused, all named in one message, so no code from the file ever
runs, and its layers are counted against the node budget. Keras then
rebuilds the architecture in safe mode with its weights declared but never
allocated, and the spec is held against the server budgets like any other.
Weights are not imported — a spec describes the architecture only.
"""
from __future__ import annotations

import functools
import re
import zipfile
from pathlib import Path

from builder.graph.kerasfile import (
    CUSTOM_CODE,
    declared_weights_only,
    keras_message,
    read_config,
    refuse_custom_code,
    refuse_too_many_layers,
)
from builder.graph.validate import check
from builder.model.catalog import CATALOG, INPUT_DTYPES, LayerType
from builder.model.spec import ID_PATTERN, ModelSpec, Node, SpecError, unique_name

# Config keys that carry no architecture Layerlab shows (or only the initial weights): ignored on import.
_IGNORED_KEYS = {"name", "trainable", "dtype", "seed", "autocast"}
_IGNORED_SUFFIXES = ("_initializer", "_constraint")
_SAME_AS = {"strides": "pool_size", "value_dim": "key_dim",  # settings whose empty value copies another
            "sequence_length": "fft_length"}


def from_keras_file(path) -> ModelSpec:
    """Open a `.keras` file in safe mode; SpecError names what is wrong with it."""
    path = Path(path)
    if not path.is_file():
        raise SpecError([f"{path}: no such file"])
    if not zipfile.is_zipfile(path):
        hint = ("old HDF5 (.h5) files are not supported; re-save it with model.save('model.keras')"
                if path.suffix.lower() in (".h5", ".hdf5") else "save a model with model.save('model.keras')")
        raise SpecError([f"{path}: not a Keras model file (.keras zip archive); {hint}"])
    config = read_config(path)
    refuse_custom_code(config)
    refuse_too_many_layers(config)  # before Keras rebuilds anything: that costs milliseconds a layer
    import keras

    try:
        with declared_weights_only():  # a 1.5 KB file may declare gigabytes of weights
            model = _rebuild(_architecture(config))
    except Exception as e:  # noqa: BLE001 - any loading failure becomes one plain line
        raise SpecError([f"{path}: Keras could not open this model: {keras_message(e)}"]) from None
    if not isinstance(model, keras.Model):
        raise SpecError([f"{path}: the file holds a {type(model).__name__}, not a model"])
    return from_model(model)


def _rebuild(config: dict):
    """Keras' object for a saved config, in safe mode. A Sequential is put together from its layers at once: Keras'
    own from_config rebuilds the model after each layer it adds (500 layers: minutes)."""
    import keras

    layers = (config.get("config") or {}).get("layers") if config.get("class_name") == "Sequential" else None
    if not isinstance(layers, list) or not all(isinstance(c, dict) and "module" in c for c in layers):
        return keras.saving.deserialize_keras_object(config, safe_mode=True)
    model = keras.Sequential([keras.saving.deserialize_keras_object(c, safe_mode=True) for c in layers],
                             name=config["config"].get("name"))
    shape = config["config"].get("build_input_shape")
    if not model.built and isinstance(shape, list):  # saved without an Input: Keras builds it from the shape
        model.build(tuple(shape))
    return model


def _architecture(config: dict) -> dict:
    """The model's config without its training set-up (load_model's compile=False)."""
    return {k: v for k, v in config.items() if k != "compile_config"}


def from_model(model) -> ModelSpec:
    """A live Sequential or functional model → spec (architecture only, no weights).

    A model used as a layer inside it (a block) is flattened into the graph and its nodes
    carry the block's name as their `group`; arithmetic written with + - * / and two helper
    layers of keras.applications become the catalog layers that compute the same thing.
    """
    import keras

    custom = _custom_layers(model)
    if custom:
        raise SpecError([CUSTOM_CODE.format(what="; ".join(custom))])
    graph = _Graph()
    outputs = graph.add_model(model, None, None)
    top_outputs = None if isinstance(model, keras.Sequential) else outputs
    spec = ModelSpec(name=model.name, nodes=graph.nodes, outputs=top_outputs, description=" ".join(graph.notes))
    report = check(spec)
    if not report.ok:
        raise SpecError([f"the imported model cannot be used as it is: {line}" for line in report.lines()])
    return spec


def _custom_layers(model) -> list[str]:
    """Every Lambda and non-Keras layer class inside a live model, nested ones too."""
    import keras

    found = []
    for layer in model._flatten_layers(include_self=False):
        if isinstance(layer, keras.layers.Lambda):
            found.append(f"Lambda layer '{layer.name}'")
        elif not type(layer).__module__.startswith("keras."):
            found.append(f"custom class {type(layer).__name__} in layer '{layer.name}'")
    return found


class _Graph:
    """Spec nodes collected from a Keras graph; `ids` maps (id(operation), output index) → node id."""

    def __init__(self):
        self.nodes: list[Node] = []
        self.ids: dict[tuple[int, int], str] = {}
        self.used: set[str] = set()
        self.added: set[int] = set()  # id() of each Keras operation already in the graph
        self.notes: list[str] = []  # what the import changed, in words (the spec's description)

    def add(self, node: Node, group: str | None) -> str:
        node.id, node.group = _safe_id(node.id, self.used), group
        self.nodes.append(node)
        return node.id

    def add_model(self, model, sources: list[str] | None, group: str | None) -> list[str]:
        """Add a model's layers; `sources` feed its inputs (None: it is the top model). Its output ids."""
        import keras

        if not model.inputs:
            raise SpecError([f"model '{model.name}' has no input shape yet; start it with keras.Input(shape=...)"])
        for i, tensor in enumerate(model.inputs):
            entry = tensor._keras_history.operation
            self.ids[(id(entry), 0)] = sources[i] if sources else self.add(_input_node(entry, self.notes), group)
        if isinstance(model, keras.Sequential):
            previous = self.ids[(id(model.inputs[0]._keras_history.operation), 0)]
            for layer in model.layers:
                previous = self.add_operation(layer, [previous], group)[0]
            return [previous]
        # the calls that belong to this model's graph: a layer may also have calls in other graphs
        calls = {id(node) for nodes in model._nodes_by_depth.values() for node in nodes}
        for op in model.operations:
            if not isinstance(op, keras.layers.InputLayer):
                inbound = _only_call(op, calls)
                self.add_operation(op, [self.source(t, op) for t in inbound.input_tensors], group, inbound)
        return [self.source(t, None) for t in model.outputs]

    def add_operation(self, op, sources: list[str], group: str | None, inbound=None) -> list[str]:
        """Add one layer, block or raw operation fed by `sources`; its output ids (also recorded in `ids`).

        `inbound` is its call in the graph; a Sequential's layers have none of their own (they form a chain).
        """
        import keras

        if id(op) in self.added:
            raise SpecError([f"layer '{op.name}' is used more than once (shared weights); "
                             "Layerlab needs each layer used once"])
        self.added.add(id(op))
        if isinstance(op, keras.Model):
            name = _safe_base(op.name)
            outputs = self.add_model(op, sources, f"{group}/{name}" if group else name)
        elif not isinstance(op, keras.layers.Layer):
            outputs = [self.add(_operation_node(op, inbound, sources), group)]
        elif inbound is None:  # inside a Sequential
            outputs = [self.add(_layer_node(op, sources), group)]
        elif type(op).__name__ in _APPLICATION_HELPERS and type(op).__module__.startswith("keras.src.applications"):
            outputs = [_APPLICATION_HELPERS[type(op).__name__](self, op, inbound, sources, group)]
        else:
            _refuse_call_options(op, inbound)
            outputs = [self.add(_layer_node(op, sources), group)]
        for i, out in enumerate(outputs):
            self.ids[(id(op), i)] = out
        return outputs

    def source(self, tensor, consumer) -> str:
        history = tensor._keras_history
        key = (id(history.operation), history.tensor_index)
        if key not in self.ids:
            where = f" feeding '{consumer.name}'" if consumer is not None else ""
            raise SpecError([f"layer '{history.operation.name}'{where} has several outputs, which Layerlab does not "
                             "support"])
        return self.ids[key]


def _only_call(op, calls: set):
    """The one call of `op` among a graph's `calls`; SpecError for a layer used twice there."""
    mine = [node for node in op._inbound_nodes if id(node) in calls]
    if len(mine) != 1:
        raise SpecError([f"layer '{op.name}' is used more than once (shared weights); Layerlab needs each layer used once"])
    return mine[0]


def _refuse_call_options(layer, inbound) -> None:
    """SpecError if the layer was called with an option the spec cannot hold (e.g. use_causal_mask=True)."""
    import keras

    for key, value in inbound.arguments.kwargs.items():
        if key not in ("training", "mask") and value not in (None, False) and not isinstance(value, keras.KerasTensor):
            raise SpecError([f"layer '{layer.name}' is called with {key}={value!r}, which Layerlab cannot represent; "
                             "rebuild it without that option"])


_RAW = ("the model computes '{name}' with the raw operation {operation}{why}, which no Layerlab layer computes; "
        "rebuild that step with a Keras layer (e.g. layers.Add instead of +)")

# Raw activation operations (keras.ops.relu(x), keras.activations.swish(x)) → Activation(name), which calls the same
# function; those with a setting become the layer that holds it.
_ACTIVATION_OPS = {"Relu": "relu", "Relu6": "relu6", "Sigmoid": "sigmoid", "Tanh": "tanh", "Silu": "silu", "Selu": "selu",
                   "Softplus": "softplus", "Softsign": "softsign", "HardSigmoid": "hard_sigmoid", "HardSilu": "hard_silu",
                   "Exp": "exponential", "Gelu": "gelu", "LogSoftmax": "log_softmax"}
_SETTING_OPS = {"ReLU": ("ReLU", ("max_value", "negative_slope", "threshold")), "LeakyRelu": ("LeakyReLU", ("negative_slope",)),
                "Elu": ("ELU", ("alpha",)), "Softmax": ("Softmax", ("axis",))}


def _operation_node(op, inbound, sources: list[str]) -> Node:
    """A raw operation on tensors → the catalog layer that computes exactly the same; SpecError naming it if none."""
    kind, params = type(op).__name__, None
    if len(sources) == 1 and len(inbound.arguments.args) == 1 and not inbound.arguments.kwargs:
        params = _activation_params(op, kind)
    if isinstance(params, tuple):
        return Node(id=op.name, type=params[0], params=params[1], inputs=sources)
    if params is None and kind in ("Add", "Multiply", "Subtract", "TrueDivide"):
        return _arithmetic_node(op, inbound, sources)
    raise SpecError([_RAW.format(name=op.name, operation=_operation_name(op), why=params or "")])


def _activation_params(op, kind: str):
    """(layer type, params) for an activation operation; a str saying why not; None if it is none."""
    if kind == "Gelu" and op.approximate:  # keras.ops.gelu's default; Activation("gelu") is the exact one
        return " (approximate=True; Layerlab's gelu is the exact one, keras.activations.gelu)"
    if kind == "LogSoftmax" and op.axis != -1:
        return f" (axis={op.axis}; Layerlab's log_softmax works on the last axis)"
    if kind in _ACTIVATION_OPS:
        return "Activation", {"activation": _ACTIVATION_OPS[kind]}
    layer_type, names = _SETTING_OPS.get(kind, (None, ()))
    if layer_type is None:
        return None
    declared = CATALOG[layer_type].param_map
    params = {name: getattr(op, name) for name in names if getattr(op, name) != declared[name].default}
    return ("Activation", {"activation": "relu"}) if layer_type == "ReLU" and not params else (layer_type, params)


def _operation_name(op) -> str:
    """keras.ops.true_divide for keras' TrueDivide operation."""
    snake = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", type(op).__name__).lower()
    return f"keras.ops.{snake}"


def _arithmetic_node(op, inbound, sources: list[str]) -> Node:
    """`a + b`, `a * b`, `a - b` on two tensors → Add, Multiply, Subtract; with one number → Rescaling."""
    import keras

    kind, args = type(op).__name__, inbound.arguments.args
    numbers = [a for a in args if isinstance(a, (int, float)) and not isinstance(a, bool)]
    if len(args) == 2 and len(sources) == 2 and kind in ("Add", "Multiply", "Subtract"):
        return Node(id=op.name, type=kind, inputs=sources)
    if len(args) == 2 and len(sources) == 1 and len(numbers) == 1:
        c, tensor_first = float(numbers[0]), isinstance(args[0], keras.KerasTensor)
        scale_offset = {"Add": (1.0, c), "Multiply": (c, 0.0), "Subtract": (1.0, -c) if tensor_first else (-1.0, c),
                        "TrueDivide": (1.0 / c, 0.0) if tensor_first and c else None}.get(kind)
        if scale_offset:
            params = {"scale": scale_offset[0]} | ({"offset": scale_offset[1]} if scale_offset[1] else {})
            return Node(id=op.name, type="Rescaling", params=params, inputs=sources)
    raise SpecError([_RAW.format(name=op.name, operation=_operation_name(op), why="")])


def _layer_scale(graph: _Graph, layer, inbound, sources: list[str], group: str | None) -> str:
    # ConvNeXt's LayerScale multiplies each channel by a learned factor: a 1×1 depthwise convolution without bias.
    rank = len(inbound.input_tensors[0].shape)
    if rank not in (3, 4):
        raise SpecError([f"layer '{layer.name}' (LayerScale) works on rank {rank}; Layerlab maps it for sequences "
                         "and images only"])
    kind, kernel = ("DepthwiseConv2D", [1, 1]) if rank == 4 else ("DepthwiseConv1D", [1])
    return graph.add(Node(id=layer.name, type=kind, params={"kernel_size": kernel, "use_bias": False},
                          inputs=sources), group)


def _custom_scale(graph: _Graph, layer, inbound, sources: list[str], group: str | None) -> str:
    # InceptionResNetV2's CustomScaleLayer computes x + scale * residual: a Rescaling, then an Add.
    scaled = graph.add(Node(id=f"{layer.name}_scale", type="Rescaling", params={"scale": float(layer.scale)},
                            inputs=[sources[1]]), group)
    return graph.add(Node(id=layer.name, type="Add", inputs=[sources[0], scaled]), group)


# keras.applications classes outside keras.layers → the catalog layers that compute the same (same weights count).
_APPLICATION_HELPERS = {"LayerScale": _layer_scale, "CustomScaleLayer": _custom_scale}


def _input_node(layer, notes: list[str]) -> Node:
    """An Input node of the layer's dtype, or the nearest one Layerlab has (said in `notes`)."""
    given = str(layer.dtype)
    dtype = given if given in INPUT_DTYPES else "float32" if "float" in given else "int32"
    if dtype != given:
        notes.append(f"Input '{layer.name}' was {given} in Keras and is {dtype} here (Layerlab's inputs are "
                     f"{', '.join(INPUT_DTYPES)}).")
    params = {"shape": list(layer.batch_shape[1:])}
    if dtype != "float32":
        params["dtype"] = dtype
    return Node(id=layer.name, type="Input", params=params)


def _layer_node(layer, sources: list[str]) -> Node:
    kind = type(layer).__name__
    if kind not in CATALOG or kind == "Input":
        raise SpecError([f"layer '{layer.name}' is a {kind}, which Layerlab's layer catalog does not have; "
                         "replace it with a catalog layer"])
    params = layer_params(layer, CATALOG[kind])
    if kind == "MultiHeadAttention":
        _drop_filled_in_axes(layer, params)
    _refuse_lost_settings(layer, kind)
    return Node(id=layer.name, type=kind, params=params, inputs=sources)


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
            value = _plain(config[p.name])
            if p.kind == "int" and isinstance(value, list) and len(value) == 1:
                value = value[0]  # e.g. LayerNormalization keeps axis -1 as [-1]
        else:
            continue
        twin = _SAME_AS.get(p.name)
        if twin in config and value == _plain(config[twin]):
            continue  # Keras stores "empty = same as <twin>" as a copy of the twin
        if p.required or value != _plain(p.default):
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


def _plain(value):
    """JSON-style value: tuples → lists (recursively)."""
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


def _drop_filled_in_axes(layer, params: dict) -> None:
    """Leave out attention_axes when they are the ones Keras picks itself for the query's rank (all axes between
    the batch and the features), which a built layer's config holds as if they had been given."""
    query = ((layer.get_build_config() or {}).get("shapes_dict") or {}).get("query_shape")
    if query is not None and params.get("attention_axes") == list(range(1, len(query) - 1)):
        del params["attention_axes"]


def _refuse_lost_settings(layer, kind: str) -> None:
    """SpecError if the layer uses a setting outside the catalog away from Keras' default (it would be lost)."""
    fresh, config = _fresh_config(kind), layer.get_config()
    for key, value in config.items():
        if key in _IGNORED_KEYS or key.endswith(_IGNORED_SUFFIXES) or key in CATALOG[kind].param_map:
            continue
        if key in _SAME_AS and _plain(value) == _plain(config.get(_SAME_AS[key])):
            continue  # left empty: Keras filled in its twin's value
        if key in ("layer", "backward_layer"):
            continue  # Bidirectional: the wrapped layer is compared through its own params
        if _plain(value) != _plain(fresh.get(key)):
            raise SpecError([f"layer '{layer.name}' ({kind}) uses {key}={value!r}, but Layerlab's {kind} has no "
                             f"'{key}' setting: it always uses Keras' default {fresh.get(key)!r}; rebuild the "
                             f"layer with {key}={fresh.get(key)!r} to open it"])


@functools.cache
def _fresh_config(kind: str) -> dict:
    """The config of a new layer of `kind` (settings outside the catalog at Keras' defaults); one per type, so an
    import costs one layer construction per layer type, not per layer."""
    from builder.graph.layers import make_layer  # imports keras: opening the importer stays light

    required = {p.name: p.default for p in CATALOG[kind].params if p.required}
    return make_layer(Node(id="fresh", type=kind, params=required)).get_config()


def _safe_id(name: str, used: set) -> str:
    """A Keras layer name → a unique spec id matching the id pattern (joins `used`)."""
    return unique_name(_safe_base(name), used)


def _safe_base(name: str) -> str:
    base = "".join(c if c.isalnum() and c.isascii() or c in "_-" else "_" for c in name) or "layer"
    return base if ID_PATTERN.fullmatch(base) else "_" + base
