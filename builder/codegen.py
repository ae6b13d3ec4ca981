"""Spec → a standalone, readable Keras script that builds the same model.

Safety: the spec is validated first (so every param value is one the catalog
allows), and every value is written as a Python literal of a known type —
strings through `repr` — so no spec can smuggle code into the script. Names
and descriptions appear only as string literals or as comments with every line
break removed.
"""
from __future__ import annotations

import keyword
import textwrap

from builder import describe
from builder.build import MERGE_TYPES, model_name
from builder.catalog import WRAPPERS
from builder.spec import ModelSpec, topological_order, unique_name
from builder.validate import ensure_valid

_RESERVED = {"keras", "layers", "regularizers", "build_model", "model", "inputs", "outputs"}


def to_python(spec, bases: str = "pretrained") -> str:
    """The script (text) for a valid spec; SpecError for an invalid one.

    `bases`: the folder, relative to the script, that holds the pretrained base files it loads.
    """
    spec = ensure_valid(spec)
    names = variable_names(spec)
    by_id = {n.id: n for n in spec.nodes}
    body, group = [], None
    for nid in topological_order(spec):
        node = by_id[nid]
        var = names[nid]
        if node.group != group:  # mark where an imported block (a Keras sub-model) starts
            group = node.group
            body.append(f"# block {group}" if group else "# (outside blocks)")
        if node.type == "Input":
            args = [f"shape={literal(tuple(node.params['shape']))}", f"name={literal(nid)}"]
            if node.params.get("dtype", "float32") != "float32":
                args.append(f"dtype={literal(node.params['dtype'])}")
            body.append(f"{var} = keras.Input({', '.join(args)})")
            continue
        if node.type == "Pretrained":
            body.append(f"{var} = {_base_expr(node)}({_call_args(node, names)})")
            continue
        body.append(f"{var} = {_layer_expr(node.type, node.params, nid)}({_call_args(node, names)})")
    inputs = _group([names[i] for i in spec.input_ids()])
    outputs = _group([names[o] for o in spec.output_ids()])
    body.append(f"return keras.Model(inputs={inputs}, outputs={outputs}, name={literal(model_name(spec.name))})")
    ordered = [{"type": by_id[i].type, "params": by_id[i].params} for i in topological_order(spec)]
    has_bases = any(n.type == "Pretrained" for n in spec.nodes)
    lines = [
        f"# Model {literal(spec.name)} ({describe.kind(ordered)}), exported by Layerlab.",
        *[f"# {line}" for line in comment_lines("Layers: " + describe.layers_line(ordered))],
        *[f"# {line}" for line in comment_lines(spec.description)],
        "# Run it with: python model.py",
        *([f"# It loads pretrained base files (.keras, weights included) from the folder {literal(bases)} "
           "beside it, or from beside it.", "from pathlib import Path", ""] if has_bases else []),
        "import keras",
        "from keras import layers, regularizers" if any("regularizers." in b for b in body) else "from keras import layers",
        "",
        "",
        *(_base_loader(bases) if has_bases else []),
        "def build_model():",
        *[f"    {line}" for line in body],
        "",
        "",
        'if __name__ == "__main__":',
        "    model = build_model()",
        "    model.summary()",
        "",
    ]
    return "\n".join(lines)


def variable_names(spec: ModelSpec) -> dict[str, str]:
    """Python variable names for node ids ('-' → '_', no keywords or clashes)."""
    names, used = {}, set(_RESERVED)
    for nid in spec.ids():
        base = nid.replace("-", "_")
        if keyword.iskeyword(base) or keyword.issoftkeyword(base) or base in _RESERVED:
            base += "_"
        names[nid] = unique_name(base, used)
    return names


def _layer_expr(type_name: str, params: dict, name: str | None) -> str:
    args = []
    for key, value in params.items():
        if key == "layer" and type_name in WRAPPERS:
            args.insert(0, _layer_expr(value["type"], value.get("params", {}), None))
        else:
            args.append(f"{key}={_param_literal(key, value)}")
    if name is not None:
        args.append(f"name={literal(name)}")
    return f"layers.{_identifier(type_name)}({', '.join(args)})"


def _base_loader(folder: str) -> list[str]:
    return [
        "def pretrained_base(file, name, freeze, unfreeze_from=None, output_layer=None):",
        '    """A saved model with its weights, used as one layer; frozen all / none / from a layer on."""',
        "    here = Path(__file__).resolve().parent",
        f"    path = here / {literal(folder)} / file",
        "    if not path.exists():  # downloaded on its own, beside this script",
        "        path = here / file",
        "    base = keras.saving.load_model(path, compile=False)",
        "    if output_layer:  # the base ends there: that layer's output feeds the head",
        "        base = keras.Model(base.inputs, base.get_layer(output_layer).output)",
        "    base.name = name",
        '    base.trainable = freeze != "all"',
        '    if freeze == "from":  # the layers before unfreeze_from keep their weights',
        "        names = [layer.name for layer in base.layers]",
        "        for layer in base.layers[:names.index(unfreeze_from)]:",
        "            layer.trainable = False",
        "    return base",
        "",
        "",
    ]


def _base_expr(node) -> str:
    from builder.pretrained import file_name

    args = [literal(file_name(node.params["model"])), f"name={literal(node.id)}",
            f"freeze={literal(node.params.get('freeze', 'all'))}"]
    if node.params.get("freeze") == "from":
        args.append(f"unfreeze_from={literal(node.params['unfreeze_from'])}")
    if node.params.get("output_layer"):
        args.append(f"output_layer={literal(node.params['output_layer'])}")
    return f"pretrained_base({', '.join(args)})"


def _identifier(text: str) -> str:
    # Catalog names only reach here after validation; this guards the guarantee anyway.
    if not text.isidentifier() or keyword.iskeyword(text):
        raise ValueError(f"{text!r} is not a layer class name")
    return text


def _param_literal(key: str, value) -> str:
    if key.endswith("_regularizer") and isinstance(value, dict):
        l1, l2 = float(value.get("l1", 0.0)), float(value.get("l2", 0.0))
        return f"regularizers.L1L2(l1={literal(l1)}, l2={literal(l2)})"
    if key.isidentifier():
        return literal(_tuples(value))
    raise ValueError(f"{key!r} is not a parameter name")


def _tuples(value):
    return tuple(_tuples(v) for v in value) if isinstance(value, list) else value


def _call_args(node, names: dict[str, str]) -> str:
    srcs = [names[s] for s in node.inputs]
    if node.type == "MultiHeadAttention":  # query, value[, key]
        return ", ".join(f"{k}={v}" for k, v in zip(("query", "value", "key"), srcs, strict=False))
    if len(srcs) == 1 and node.type not in MERGE_TYPES:
        return srcs[0]
    return f"[{', '.join(srcs)}]"


def _group(names: list[str]) -> str:
    return names[0] if len(names) == 1 else f"[{', '.join(names)}]"


def literal(value) -> str:
    """A Python literal for a JSON-like value (None, bool, number, text, list, tuple, dict); refuses anything else.

    The one way any value reaches exported code: JSON's null/true/false are not Python.
    """
    if value is None or isinstance(value, bool):
        return repr(value)
    if isinstance(value, int):
        return repr(int(value))
    if isinstance(value, float):
        if value != value or value in (float("inf"), float("-inf")):
            raise ValueError("only finite numbers can be exported")
        return repr(float(value))
    if isinstance(value, str):
        plain = value.isascii() and value.isprintable() and '"' not in value and "\\" not in value
        return f'"{value}"' if plain else repr(value)
    if isinstance(value, (list, tuple)):
        items = [literal(v) for v in value]
        if isinstance(value, tuple):
            return f"({items[0]},)" if len(items) == 1 else f"({', '.join(items)})"
        return f"[{', '.join(items)}]"
    if isinstance(value, dict):
        if not all(isinstance(k, str) for k in value):
            raise ValueError("only objects with text keys can be exported")
        return "{" + ", ".join(f"{literal(k)}: {literal(v)}" for k, v in value.items()) + "}"
    raise ValueError(f"cannot export a value of type {type(value).__name__}")


def comment_lines(text: str) -> list[str]:
    """Text split at every kind of line break, with unprintable characters dropped."""
    if not text:
        return []
    lines = ["".join(c for c in line if c.isprintable()) for line in text.splitlines()]
    return [part for line in lines for part in (textwrap.wrap(line, 100) or [""])]
