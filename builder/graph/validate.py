"""Validation and shape inference: what is wrong with a spec, and what each layer outputs.

`check(spec)` runs on every edit in the app, so it never raises: it returns a
`Report` whose problems each name a node and say how to fix it. Output shapes
and parameter counts come from Keras itself (a fresh layer called on symbolic
tensors inside a stateless scope, so its weights are declared but never
allocated), cached per (layer type, params, input shapes), so a repeated check
of an unchanged graph never touches Keras. The sizes are then held against the
server budgets (`builder.limits`) before anything is ever built; every step is
linear in the number of nodes.
"""
from __future__ import annotations

import difflib
import json
import math
import re
import threading
from collections import deque
from dataclasses import dataclass, field

from builder import limits
from builder.graph import pretrained
from builder.graph.kerasfile import declared_weights_only, keras_message
from builder.model.catalog import CATALOG, LayerType
from builder.model.params import Param, check_params
from builder.model.problems import Problem, fmt_shape
from builder.model.spec import ModelSpec, Node, SpecError, structure_problems


@dataclass
class Report:
    problems: list[Problem] = field(default_factory=list)
    shapes: dict[str, tuple] = field(default_factory=dict)  # output shape incl. batch None
    params: dict[str, int] = field(default_factory=dict)  # trainable + non-trainable weights per node
    dtypes: dict[str, str] = field(default_factory=dict)
    spec: ModelSpec | None = None

    @property
    def ok(self) -> bool:
        return not self.problems

    @property
    def total_params(self) -> int:
        return sum(self.params.values())

    def lines(self) -> list[str]:
        """One line per problem, as the CLI prints them."""
        return [str(p) for p in self.problems]

    def problems_for(self, node_id: str) -> list[str]:
        return [p.message for p in self.problems if p.node == node_id]


def check(spec_or_dict) -> Report:
    """Check a spec (ModelSpec or its JSON dict); never raises for a bad spec."""
    data = spec_or_dict.to_dict() if isinstance(spec_or_dict, ModelSpec) else spec_or_dict
    structural = structure_problems(data)
    if structural:
        return Report(problems=[_structure_problem(line) for line in structural])
    spec = spec_or_dict if isinstance(spec_or_dict, ModelSpec) else ModelSpec.from_dict(data)
    report = Report(spec=spec)
    bad = set()  # nodes whose own declaration is broken: no shape inference for them
    ids = set(spec.ids())
    for node in spec.nodes:
        problems = _node_problems(node, ids)
        if problems:
            bad.add(node.id)
            report.problems += problems
    order, cyclic = _order(spec)
    report.problems += _cycle_problems(spec, cyclic)
    report.problems += _connection_problems(spec, cyclic)
    report.problems += _input_size_problems(spec, bad)
    _infer_shapes(spec, order, bad, report)
    report.problems += budget_problems(report)
    return report


def ensure_valid(spec_or_dict) -> ModelSpec:
    """The parsed spec if it is valid, else SpecError with one line per problem."""
    report = check(spec_or_dict)
    if not report.ok:
        raise SpecError(report.lines())
    return report.spec


# -- per-node declaration ------------------------------------------------------

def _structure_problem(line: str) -> Problem:
    match = re.match(r"node '([^']*)': (.*)", line, re.S)
    return Problem(match.group(1), match.group(2)) if match else Problem(None, line)


def suggest(type_name: str) -> list[str]:
    """Catalog names close to a mistyped layer type."""
    lower = {name.lower(): name for name in CATALOG}
    if type_name.lower() in lower:
        return [lower[type_name.lower()]]
    return difflib.get_close_matches(type_name, list(CATALOG), n=3, cutoff=0.6)


def _node_problems(node: Node, ids: set[str]) -> list[Problem]:
    lt = CATALOG.get(node.type)
    if lt is None:
        close = suggest(node.type)
        hint = f"did you mean {' or '.join(close)}?" if close else "pick a layer from the catalog"
        return [Problem(node.id, f"unknown layer type '{node.type}'; {hint}")]
    problems = _param_problems(node.id, lt, node.params)
    if not problems:
        problems = _stride_and_dilation_problems(node)
    if lt.name == "Pretrained" and not problems:
        problems = pretrained.node_problems(node)
    if "layer" in node.params and "layer" in lt.param_map:
        problems += _wrapped_problems(node.id, node.params["layer"], lt.param_map["layer"])
    problems += _input_count_problems(node, lt)
    for src in node.inputs:
        if src not in ids:
            problems.append(Problem(node.id, f"input '{src}' does not exist; connect an existing layer or remove it"))
    return problems


def _param_problems(node_id: str, lt: LayerType, params: dict, prefix: str = "") -> list[Problem]:
    lines = check_params(lt.param_map, params, owner=node_id)
    return [Problem(node_id, prefix + line[len(node_id) + 2:]) for line in lines]


def _stride_and_dilation_problems(node: Node) -> list[Problem]:
    """Keras' plain and transposed convolutions cannot both stride and dilate (depthwise and separable ones can)."""
    def above_one(name):
        value = node.params.get(name, 1)
        return any(v > 1 for v in (value if isinstance(value, list) else [value]))

    if "dilation_rate" not in CATALOG[node.type].param_map or node.type.startswith(("Depthwise", "Separable")):
        return []
    if not (above_one("strides") and above_one("dilation_rate")):
        return []
    return [Problem(node.id, f"a {node.type} cannot have both strides and dilation_rate above 1; set dilation_rate "
                             "to 1 (or strides to 1 and downsample with a pooling layer)", field="dilation_rate",
                    fix={"node": node.id, "params": {"dilation_rate": None}})]


def _wrapped_problems(node_id: str, layer, declared: Param) -> list[Problem]:
    example, choices = json.dumps(declared.default), declared.choices
    if not isinstance(layer, dict) or set(layer) - {"type", "params"} or not isinstance(layer.get("params", {}), dict):
        return [Problem(node_id, f"'layer' must be an object like {example}")]
    kind = layer.get("type")
    if kind not in choices:
        return [Problem(node_id, f"'layer' type must be one of {', '.join(choices)}, got {kind!r}")]
    return _param_problems(node_id, CATALOG[kind], layer.get("params", {}), prefix=f"wrapped {kind}: ")


def _input_count_problems(node: Node, lt: LayerType) -> list[Problem]:
    n = len(node.inputs)
    if lt.max_inputs == 0:
        return [Problem(node.id, "an Input layer takes no inputs; remove its incoming connections")] if n else []
    if n == 0:
        return [Problem(node.id, f"{lt.name} has no input; connect a layer to it")]
    if len(set(node.inputs)) != n and lt.name != "MultiHeadAttention":
        return [Problem(node.id, f"{lt.name} is connected to the same layer twice; connect each input once")]
    if lt.min_inputs <= n and (lt.max_inputs is None or n <= lt.max_inputs):
        return []
    if lt.input_names:
        names = ", ".join(lt.input_names[: lt.min_inputs]) + "".join(f"[, {x}]" for x in lt.input_names[lt.min_inputs:])
        need = f"{lt.min_inputs} or {lt.max_inputs} inputs in this order ({names})"
    elif lt.max_inputs is None:
        need = f"at least {lt.min_inputs} inputs"
    elif lt.min_inputs == lt.max_inputs:
        need = f"exactly {lt.min_inputs} input{'s' if lt.min_inputs > 1 else ''}"
    else:
        need = f"{lt.min_inputs} to {lt.max_inputs} inputs"
    fix = "connect more layers to it" if n < lt.min_inputs else "remove connections"
    return [Problem(node.id, f"{lt.name} needs {need} but has {n}; {fix}")]


# -- graph ---------------------------------------------------------------------

def _order(spec: ModelSpec) -> tuple[list[str], set[str]]:
    """Topological order (Kahn) of the nodes not on or after a cycle, and the rest."""
    ids = set(spec.ids())
    pending = {n.id: len({s for s in n.inputs if s in ids}) for n in spec.nodes}
    users: dict[str, list[str]] = {i: [] for i in ids}
    for n in spec.nodes:
        for src in set(n.inputs) & ids:
            users[src].append(n.id)
    ready = deque(i for i in spec.ids() if pending[i] == 0)
    order = []
    while ready:
        nid = ready.popleft()
        order.append(nid)
        for user in users[nid]:
            pending[user] -= 1
            if pending[user] == 0:
                ready.append(user)
    return order, ids - set(order)


def _cycle_problems(spec: ModelSpec, cyclic: set[str]) -> list[Problem]:
    by_id = {n.id: n for n in spec.nodes}
    problems, reported = [], set()
    for start in spec.ids():
        if start not in cyclic or start in reported:
            continue
        path, seen, nid = [], {}, start
        while nid not in seen:  # follow inputs inside the cyclic part until a node repeats
            seen[nid] = len(path)
            path.append(nid)
            nid = next(s for s in by_id[nid].inputs if s in cyclic)
        loop = path[seen[nid]:]
        if reported & set(loop):
            reported.update(path)
            continue
        reported.update(path)
        arrows = " → ".join(reversed(loop + [loop[0]]))
        problems.append(Problem(loop[-1], f"the graph has a cycle ({arrows}); remove one of these connections"))
    return problems


def _connection_problems(spec: ModelSpec, cyclic: set[str]) -> list[Problem]:
    ids = set(spec.ids())
    outputs = spec.output_ids()
    problems = [Problem(None, f"output '{o}' is not a layer in the model; pick an existing layer as output")
                for o in outputs if o not in ids]
    outputs = [o for o in outputs if o in ids]
    if not outputs:
        problems.append(Problem(None, "the model has no output; mark the last layer as the output"))
        return problems
    if not spec.input_ids():
        problems.append(Problem(None, "the model has no Input layer; add one and connect it to the first layer"))
    by_id = {n.id: n for n in spec.nodes}
    reaches_output = _reach(outputs, lambda nid: [s for s in by_id[nid].inputs if s in ids])
    users: dict[str, list[str]] = {i: [] for i in ids}
    for n in spec.nodes:
        for src in n.inputs:
            if src in ids:
                users[src].append(n.id)
    fed = _reach(spec.input_ids(), lambda nid: users[nid])
    for n in spec.nodes:
        if n.id in cyclic or any(src not in ids for src in n.inputs):
            continue  # already reported as a cycle or a missing input
        if n.id not in reaches_output:
            problems.append(Problem(n.id, "not connected to any output; connect it to the rest of the model or delete it"))
        elif n.type != "Input" and n.inputs and n.id not in fed:
            problems.append(Problem(n.id, "gets no data from any Input layer; connect it to the model's input"))
    return problems


def _reach(starts, step) -> set[str]:
    seen, todo = set(starts), list(starts)
    while todo:
        for nxt in step(todo.pop()):
            if nxt not in seen:
                seen.add(nxt)
                todo.append(nxt)
    return seen


# -- budgets -------------------------------------------------------------------

def _input_size_problems(spec: ModelSpec, bad: set[str]) -> list[Problem]:
    cap = limits.get("max_input_dim")
    return [Problem(n.id, _axis_message(n.params["shape"], cap))
            for n in spec.nodes if n.type == "Input" and n.id not in bad
            and any(d is not None and d > cap for d in n.params["shape"])]


def _axis_message(shape, cap: int) -> str:
    big = max(d for d in shape if d is not None)
    return (f"shape {list(shape)} has an axis of {big:,}, over the limit of {cap:,} (server setting "
            "LAYERLAB_MAX_INPUT_DIM); use a smaller input, e.g. resize the images")


def budget_problems(report: Report) -> list[Problem]:
    """The model's weights and per-example activations against the server budgets, biggest layers named."""
    problems = []
    types = {n.id: n.type for n in report.spec.nodes} if report.spec else {}
    activations = {nid: math.prod(d or 1 for d in shape[1:]) for nid, shape in report.shapes.items()}
    for sizes, budget, what, fix in (
            (report.params, "max_params", "weights", "use fewer units, filters or embedding rows"),
            (activations, "max_activations", "numbers per example in its layer outputs",
             "use a smaller input, fewer filters, or pool/stride earlier")):
        total, cap = sum(sizes.values()), limits.get(budget)
        if total > cap:
            biggest = [nid for nid in sorted(sizes, key=sizes.get, reverse=True)[:3] if sizes[nid]]
            named = ", ".join(f"'{nid}' ({types.get(nid, '?')}) {limits.count(sizes[nid])}" for nid in biggest)
            problems.append(Problem(None, f"the model has {limits.count(total)} {what}, over the limit of "
                                          f"{limits.count(cap)} (server setting {limits.BUDGETS[budget].env}); "
                                          f"biggest layers: {named}; {fix}"))
    return problems + _vocabulary_problems(report.spec)


def _vocabulary_problems(spec) -> list[Problem]:
    """A TextVectorization keeps at most `max_vocabulary` words: its vocabulary is built on the server."""
    cap = limits.get("max_vocabulary")
    return [Problem(n.id, f"'{n.id}' may keep {'every word' if n.params.get('max_tokens') is None else n.params['max_tokens']}"
                          f", over the limit of {cap:,} words (server setting LAYERLAB_MAX_VOCABULARY); set max_tokens "
                          f"to {cap:,} or fewer", "max_tokens", {"node": n.id, "params": {"max_tokens": cap}})
            for n in (spec.nodes if spec else ()) if n.type == "TextVectorization"
            and (n.params.get("max_tokens") is None or n.params["max_tokens"] > cap)]


# -- shapes --------------------------------------------------------------------


def _infer_shapes(spec: ModelSpec, order: list[str], bad: set[str], report: Report) -> None:
    by_id = {n.id: n for n in spec.nodes}
    for nid in order:
        node = by_id[nid]
        if nid in bad or any(src not in report.shapes for src in node.inputs):
            continue
        if node.type == "Input":
            report.shapes[nid] = (None, *node.params["shape"])
            report.dtypes[nid] = node.params.get("dtype", "float32")
            report.params[nid] = 0
            continue
        lt = CATALOG[node.type]
        problem = _rank_problem(node, lt, by_id, report.shapes) or _merge_problem(node, lt, report.shapes)
        if problem is None:
            result = _keras_infer(node, [report.shapes[s] for s in node.inputs], [report.dtypes[s] for s in node.inputs])
            if isinstance(result, str):
                problem = result
            else:
                report.shapes[nid], report.dtypes[nid], report.params[nid] = result
        if problem:
            report.problems.append(Problem(nid, problem))


def _rank_problem(node: Node, lt: LayerType, by_id: dict, shapes: dict) -> str | None:
    if not lt.input_ranks:
        return None
    for index, src in enumerate(node.inputs):
        shape = shapes[src]
        if len(shape) in lt.input_ranks:
            continue
        rank = lt.input_ranks[0]
        which = f" as {lt.input_name(index)}" if lt.input_names else ""
        return (f"{lt.name} needs input of rank {rank} {lt.rank_hint} but gets {fmt_shape(shape)} "
                f"from '{src}'{which}; {_rank_fix(lt, rank, shape, by_id[src])}")
    return None


def _rank_fix(lt: LayerType, need: int, shape: tuple, src: Node) -> str:
    got = len(shape)
    if src.type == "Flatten":
        return "remove Flatten or add Reshape"
    twin = lt.name.replace("2D", "1D") if need == 4 else lt.name.replace("1D", "2D")
    use_twin = twin != lt.name and twin in CATALOG and got in CATALOG[twin].input_ranks
    if src.type == "Input" and need - got == 1 and need in (3, 4):
        axis = "channels" if need == 4 else "features"
        fix = f"give the Input a {axis} axis, e.g. shape {list(shape[1:]) + [1]}"
        return f"{fix}, or use {twin} if the data is a sequence" if use_twin else fix
    if use_twin:
        return f"use {twin} instead, or add a Reshape before it"
    target = "(height, width, channels)" if need == 4 else "(steps, features)" if need == 3 else "the right rank"
    return f"add a Reshape to {target} before it"


def _merge_problem(node: Node, lt: LayerType, shapes: dict) -> str | None:
    if not lt.merge:
        return None
    first, first_shape = node.inputs[0], shapes[node.inputs[0]]
    for src in node.inputs[1:]:
        shape = shapes[src]
        if lt.merge == "elementwise":
            if len(shape) == len(first_shape) and all(_dims_fit(a, b) for a, b in zip(first_shape, shape, strict=True)):
                continue
            return (f"{lt.name} needs inputs of the same shape but gets {fmt_shape(first_shape)} from '{first}' "
                    f"and {fmt_shape(shape)} from '{src}'; make their sizes match (e.g. the same units or filters)")
        axis = node.params.get("axis", -1)
        rank = len(first_shape)
        if not -rank <= axis < rank:
            return (f"{lt.name} axis {axis} does not exist for inputs of shape {fmt_shape(first_shape)}; "
                    f"use an axis from {-rank + 1} to {rank - 1} (-1 is the last)")
        if len(shape) == rank and -rank <= axis < rank:
            keep = [i for i in range(rank) if i != axis % rank]
            if all(first_shape[i] is None or shape[i] is None or first_shape[i] == shape[i] for i in keep):
                continue
        return (f"{lt.name} joins along axis {axis}, so all other sizes must match, but gets {fmt_shape(first_shape)} "
                f"from '{first}' and {fmt_shape(shape)} from '{src}'; pool, upsample or reshape one branch to match")
    return None


def _dims_fit(a, b) -> bool:
    return a is None or b is None or a == b or a == 1 or b == 1


# Keras results per (type, params, input shapes, dtypes): (shape, dtype, count) or a problem string.
_CACHE: dict[tuple, tuple | str] = {}
_CACHE_LIMIT = 4096
_LOCK = threading.Lock()


def _keras_infer(node: Node, shapes: list[tuple], dtypes: list[str]):
    key = (node.type, json.dumps(node.params, sort_keys=True), tuple(shapes), tuple(dtypes))
    hit = _CACHE.get(key)
    if hit is not None:
        return hit
    with _LOCK:
        result = _keras_infer_uncached(node, shapes, dtypes)
        if len(_CACHE) >= _CACHE_LIMIT:
            _CACHE.clear()
        _CACHE[key] = result
    return result


def clear_cache() -> None:
    _CACHE.clear()


def _keras_infer_uncached(node: Node, shapes: list[tuple], dtypes: list[str]):
    import keras

    from builder.graph.layers import call_layer, make_layer  # keras: check() stays light

    try:
        with declared_weights_only():
            if node.type == "Pretrained":  # a whole saved model: its architecture, without its weights
                return pretrained.infer(node, shapes, dtypes)
            layer = make_layer(node)
            tensors = [keras.KerasTensor(shape, dtype=dtype) for shape, dtype in zip(shapes, dtypes, strict=True)]
            out = call_layer(layer, node, tensors)
        if not isinstance(out, keras.KerasTensor):
            return f"{node.type} gives several outputs here, which Layerlab does not support; change its params"
        return tuple(out.shape), str(out.dtype), int(layer.count_params())
    except Exception as e:  # noqa: BLE001 - any Keras complaint becomes a plain-words problem on this node
        got = " and ".join(fmt_shape(s) for s in shapes)
        message = keras_message(e)
        if "zero or negative" in message or "Negative dimension" in message:
            return (f"{node.type} would make its output smaller than nothing from input {got}; use padding 'same', "
                    "a smaller kernel or pool size, or fewer downsampling layers before it")
        if "fully-defined" in message or "must be fully defined" in message:
            return (f"{node.type} needs a fixed size on the last axis but gets {got}; give the Input a number "
                    "there instead of null (None)")
        return f"{node.type} cannot work on input {got}: {message}; check its params or the layers before it"



