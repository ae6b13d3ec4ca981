"""One spec node -> one Keras layer, and how a layer is called on its inputs (the shared step of build and
validate's shape inference)."""
from __future__ import annotations

import keras

from builder.graph import pretrained
from builder.model.catalog import WRAPPERS
from builder.model.spec import Node

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
