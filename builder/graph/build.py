"""Spec → keras.Model through the functional API; layer names are node ids."""
from __future__ import annotations

import keras

from builder.graph.layers import call_layer, make_layer
from builder.graph.validate import ensure_valid
from builder.model.spec import topological_order


def build_model(spec) -> keras.Model:
    """Build the functional model (a ModelSpec or its JSON dict).

    Validates first, so a bad spec raises SpecError with one plain line per
    problem instead of a Keras traceback.
    """
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


