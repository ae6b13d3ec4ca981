"""The model spec (`layerlab/model@1`): the single source of truth.

A spec is plain JSON. `ModelSpec.from_dict` checks its structure (keys, id
syntax, types of fields); what the layers mean is checked by
`builder.validate`. Every problem names the node and says what to do.
"""
from __future__ import annotations

import graphlib
import json
import os
import re
from dataclasses import dataclass, field
from pathlib import Path

FORMAT = "layerlab/model@1"
ID_PATTERN = re.compile(r"[A-Za-z_][A-Za-z0-9_-]*")  # always fullmatch: `$` would accept a final newline
# A group names the block (a Keras sub-model) a node belongs to; nested blocks join names with "/".
GROUP_PATTERN = re.compile(r"[A-Za-z_][A-Za-z0-9_-]*(/[A-Za-z_][A-Za-z0-9_-]*)*")  # fullmatch too
_SPEC_KEYS = {"format", "name", "nodes", "outputs", "description"}
_NODE_KEYS = {"id", "type", "params", "inputs", "ui", "group"}


class SpecError(ValueError):
    """A spec that cannot be used; `problems` holds one line per problem."""

    def __init__(self, problems: list[str]):
        self.problems = list(problems)
        super().__init__("\n".join(self.problems))


@dataclass
class Node:
    id: str
    type: str
    params: dict = field(default_factory=dict)
    inputs: list[str] = field(default_factory=list)
    ui: dict | None = None
    group: str | None = None  # the block it came from, e.g. "resnet_block_1" or "encoder/stage_2"

    def to_dict(self) -> dict:
        out = {"id": self.id, "type": self.type}
        if self.params:
            out["params"] = self.params
        if self.inputs:
            out["inputs"] = list(self.inputs)
        if self.ui:
            out["ui"] = self.ui
        if self.group:
            out["group"] = self.group
        return out


@dataclass
class ModelSpec:
    name: str = "model"
    nodes: list[Node] = field(default_factory=list)
    outputs: list[str] | None = None
    description: str = ""

    # -- lookups -----------------------------------------------------------
    def node(self, node_id: str) -> Node:
        for n in self.nodes:
            if n.id == node_id:
                return n
        raise KeyError(node_id)

    def ids(self) -> list[str]:
        return [n.id for n in self.nodes]

    def output_ids(self) -> list[str]:
        """Declared outputs, else the nodes nobody consumes (contract 1)."""
        if self.outputs:
            return list(self.outputs)
        consumed = {i for n in self.nodes for i in n.inputs}
        return [n.id for n in self.nodes if n.id not in consumed and n.type != "Input"]

    def input_ids(self) -> list[str]:
        return [n.id for n in self.nodes if n.type == "Input"]

    # -- (de)serialisation -------------------------------------------------
    def to_dict(self) -> dict:
        out = {"format": FORMAT, "name": self.name}
        if self.description:
            out["description"] = self.description
        out["nodes"] = [n.to_dict() for n in self.nodes]
        if self.outputs:
            out["outputs"] = list(self.outputs)
        return out

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2)

    @classmethod
    def from_dict(cls, data) -> ModelSpec:
        problems = structure_problems(data)
        if problems:
            raise SpecError(problems)
        nodes = [
            Node(
                id=n["id"],
                type=n["type"],
                params=dict(n.get("params") or {}),
                inputs=list(n.get("inputs") or []),
                ui=n.get("ui"),
                group=n.get("group"),
            )
            for n in data["nodes"]
        ]
        return cls(
            name=data.get("name", "model"),
            nodes=nodes,
            outputs=list(data["outputs"]) if data.get("outputs") else None,
            description=data.get("description", ""),
        )

    @classmethod
    def from_json(cls, text: str) -> ModelSpec:
        return cls.from_dict(parse_json(text, "model spec"))


def parse_json(text: str, what: str):
    try:
        return json.loads(text)
    except json.JSONDecodeError as e:
        raise SpecError([f"the {what} is not valid JSON: {e.msg} at line {e.lineno}, column {e.colno}"]) from None
    except RecursionError:
        raise SpecError([f"the {what} is nested too deeply to be a Layerlab file"]) from None


def load(path) -> ModelSpec:
    return ModelSpec.from_json(read_text(path))


def save(spec: ModelSpec, path) -> None:
    atomic_write_text(path, spec.to_json())


def read_text(path) -> str:
    """A spec or experiment file's text, refused above the `max_spec_mb` budget before it is read."""
    from builder import limits

    path = Path(path)
    cap = limits.get("max_spec_mb")
    try:
        if path.stat().st_size > cap:
            raise SpecError([f"{path}: larger than {cap // limits.MB} MB, too big for a model spec or experiment "
                             "(server setting LAYERLAB_MAX_SPEC_MB)"])
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise SpecError([f"{path}: no such file"]) from None
    except UnicodeDecodeError:
        raise SpecError([f"{path}: not a UTF-8 text file; save it as UTF-8 JSON"]) from None
    except OSError as e:
        raise SpecError([f"{path}: cannot read ({e.strerror})"]) from None


def atomic_write_text(path, text: str) -> None:
    """Write to a temporary file beside `path`, then rename: never half a file."""
    atomic_write_bytes(path, text.encode("utf-8"))


def atomic_write_bytes(path, data: bytes) -> None:
    """`atomic_write_text` for bytes (model files)."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    try:
        tmp.write_bytes(data)
        tmp.replace(path)
    except BaseException:  # disk full, read-only, killed: leave no temp file behind
        tmp.unlink(missing_ok=True)
        raise


def structure_problems(data) -> list[str]:
    """Problems with the JSON structure alone (not with what layers mean)."""
    if not isinstance(data, dict):
        return ["a model spec must be a JSON object with 'format', 'nodes' and optionally 'outputs'"]
    problems = []
    fmt = data.get("format")
    if fmt != FORMAT:
        problems.append(f"format is {fmt!r}, expected {FORMAT!r}; is this a Layerlab model spec?")
    for key in data:
        if key not in _SPEC_KEYS:
            problems.append(f"unknown key '{key}' in the spec (allowed: {', '.join(sorted(_SPEC_KEYS))})")
    if "name" in data and not isinstance(data["name"], str):
        problems.append("'name' must be text")
    nodes = data.get("nodes")
    if not isinstance(nodes, list) or not nodes:
        problems.append("'nodes' must be a non-empty list of layers; start from a template")
        return problems
    too_many = too_many_nodes(len(nodes))
    if too_many:
        return problems + [too_many]
    seen = set()
    for i, node in enumerate(nodes):
        problems += _node_problems(i, node, seen)
    outputs = data.get("outputs")
    if outputs is not None and not (isinstance(outputs, list) and all(isinstance(o, str) for o in outputs)):
        problems.append("'outputs' must be a list of node ids")
    return problems


def too_many_nodes(count: int) -> str | None:
    """The refusal for a model of `count` layers over the node budget, else None."""
    from builder import limits

    cap = limits.get("max_nodes")
    if count <= cap:
        return None
    return (f"the model has {count:,} layers; the limit is {cap:,} (server setting LAYERLAB_MAX_NODES) — "
            "use a smaller model")


def _node_problems(i: int, node, seen: set) -> list[str]:
    if not isinstance(node, dict):
        return [f"node #{i + 1} must be an object with 'id' and 'type'"]
    nid = node.get("id")
    where = f"node {nid!r}" if isinstance(nid, str) else f"node #{i + 1}"  # repr shows a hidden newline
    problems = [f"{where}: unknown key '{k}' (allowed: {', '.join(sorted(_NODE_KEYS))})" for k in node if k not in _NODE_KEYS]
    if not isinstance(nid, str) or not ID_PATTERN.fullmatch(nid):
        problems.append(f"{where}: id must start with a letter or '_' and use only letters, digits, '_' and '-'")
    elif nid in seen:
        problems.append(f"{where}: id is used twice; give each layer its own name")
    else:
        seen.add(nid)
    if not isinstance(node.get("type"), str):
        problems.append(f"{where}: 'type' must name a layer, such as \"Dense\"")
    if not isinstance(node.get("params", {}), dict):
        problems.append(f"{where}: 'params' must be an object of name: value")
    inputs = node.get("inputs", [])
    if not isinstance(inputs, list) or not all(isinstance(x, str) for x in inputs):
        problems.append(f"{where}: 'inputs' must be a list of node ids")
    group = node.get("group")
    if group is not None and not (isinstance(group, str) and GROUP_PATTERN.fullmatch(group)):
        problems.append(f"{where}: 'group' must be a block name like \"block_1\" (nested: \"encoder/block_1\")")
    ui = node.get("ui")
    if ui is not None and not isinstance(ui, dict):
        problems.append(f"{where}: 'ui' must be an object like {{\"x\": 120, \"y\": 40}}")
    return problems


def unique_name(base: str, used: set) -> str:
    """`base`, or `base_2`, `base_3`… — the first not in `used` (which it joins)."""
    name, k = base, 2
    while name in used:
        name, k = f"{base}_{k}", k + 1
    used.add(name)
    return name


def topological_order(spec: ModelSpec) -> list[str]:
    """Node ids so that every node comes after its inputs (linear time).

    Raises SpecError naming the nodes on a cycle or the dangling inputs.
    """
    by_id = {n.id: n for n in spec.nodes}
    problems = [
        f"{n.id}: input '{src}' does not exist; connect an existing layer or remove it"
        for n in spec.nodes
        for src in n.inputs
        if src not in by_id
    ]
    if problems:
        raise SpecError(problems)
    try:
        return list(graphlib.TopologicalSorter({n.id: n.inputs for n in spec.nodes}).static_order())
    except graphlib.CycleError as e:
        cycle = list(reversed(e.args[1]))
        raise SpecError([f"{cycle[0]}: the graph has a cycle ({' → '.join(cycle)}); "
                         "remove one of these connections"]) from None
