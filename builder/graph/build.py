"""Spec → keras.Model through the functional API; layer names are node ids."""
from __future__ import annotations

import keras

from builder.model.catalog import WRAPPERS
from builder.model.spec import Node, topological_order

MERGE_TYPES = {"Add", "Subtract", "Multiply", "Average", "Concatenate", "Maximum", "Minimum", "Dot"}


def to_keras_params(params: dict) -> dict:
    """Spec params (plain JSON) → Keras constructor kwargs."""
    out = {}
    for key, value in params.items():
        if key.endswith("_regularizer") and isinstance(value, dict):
            value = keras.regularizers.L1L2(l1=float(value.get("l1", 0.0)), l2=float(value.get("l2", 0.0)))
        elif isinstance(value, list):
            value = _tuples(value)
        out[key] = value
    return out


def _tuples(value):
    """JSON lists → tuples, nested ones too (paddings like ((1, 1), (2, 2)))."""
    return tuple(_tuples(v) for v in value) if isinstance(value, list) else value


def make_layer(node: Node):
    """The Keras layer for one non-Input node."""
    params = dict(node.params)
    if node.type == "Pretrained":  # a saved model with its weights, frozen as the node says
        from builder.graph import pretrained

        return pretrained.load(node)
    if node.type in WRAPPERS:  # Bidirectional, TimeDistributed: the inner layer comes first
        inner = params.pop("layer")
        wrapped = getattr(keras.layers, inner["type"])(**to_keras_params(inner.get("params", {})))
        return getattr(keras.layers, node.type)(wrapped, name=node.id, **to_keras_params(params))
    return getattr(keras.layers, node.type)(name=node.id, **to_keras_params(params))


def call_layer(layer, node: Node, inputs: list):
    if node.type == "MultiHeadAttention":  # inputs are query, value[, key]
        return layer(*inputs)
    if len(inputs) == 1 and node.type not in MERGE_TYPES:
        return layer(inputs[0])
    return layer(inputs)


def build_model(spec) -> keras.Model:
    """Build the functional model (a ModelSpec or its JSON dict).

    Validates first, so a bad spec raises SpecError with one plain line per
    problem instead of a Keras traceback.
    """
    from builder.graph.validate import ensure_valid  # validate imports this module

    spec = ensure_valid(spec)
    tensors = {}
    by_id = {n.id: n for n in spec.nodes}
    for nid in topological_order(spec):
        node = by_id[nid]
        if node.type == "Input":
            shape = tuple(node.params["shape"])
            tensors[nid] = keras.Input(shape=shape, name=nid, dtype=node.params.get("dtype", "float32"))
        else:
            tensors[nid] = call_layer(make_layer(node), node, [tensors[i] for i in node.inputs])
    inputs = [tensors[i] for i in spec.input_ids()]
    outputs = [tensors[o] for o in spec.output_ids()]
    return keras.Model(
        inputs=inputs[0] if len(inputs) == 1 else inputs,
        outputs=outputs[0] if len(outputs) == 1 else outputs,
        name=model_name(spec.name),
    )


def model_name(name: str) -> str:
    """The spec name as a safe Keras model name (letters, digits, '_' and '-')."""
    cleaned = "".join(c if c.isalnum() or c in "_-" else "_" for c in name)
    return cleaned or "model"


_model_name = model_name  # older name, kept for callers
