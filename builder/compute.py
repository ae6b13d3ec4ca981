"""What one training step costs: arithmetic (FLOPs) and activation memory, estimated from the shapes.

A model can be small in weights and still far too much for a server to run:
a 31×31 convolution over a 2048² picture takes minutes per batch, and
attention over 20,000 steps holds 100 GB of scores per example with a few
thousand weights. `estimate(report)` gives, per layer and per example, the
forward FLOPs and the bytes its output (and, for attention, its score
matrices) takes; `problems(report, batch)` holds one training step against
the server budgets (`builder.limits`) and names the layers that cost most.
Everything comes from the shapes `builder.validate` inferred, with no Keras
call, in time linear in the nodes.

The estimates are deliberately simple: a layer with weights does about
2 × weights operations per output position (a Dense per vector, a
convolution per pixel, a recurrent layer per time step); a layer without
weights about one per number it reads or writes. A `Pretrained` base counts
as one such layer (its inner activations are not seen).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

from builder import limits
from builder.catalog import CATALOG
from builder.validate import Problem, Report

FLOAT_BYTES = 4
STEP_FACTOR = 3  # a training step: the forward pass and the backward pass (about twice the forward)
KEPT_FACTOR = 2  # each layer's output is kept for the backward pass, and its gradient is made there
RECURRENT = ("SimpleRNN", "LSTM", "GRU", "Bidirectional")  # weights applied once per input time step


@dataclass(frozen=True)
class Cost:
    """Per example, per node id: forward FLOPs, and bytes of the numbers it produces."""

    flops: dict[str, int]
    memory: dict[str, int]


def estimate(report: Report) -> Cost:
    """The cost of each node whose shape is known (a valid model's report has them all)."""
    flops, memory = {}, {}
    for node in report.spec.nodes if report.spec else ():
        if node.id not in report.shapes or any(s not in report.shapes for s in node.inputs):
            continue
        out = report.shapes[node.id]
        ins = [report.shapes[s] for s in node.inputs]
        flops[node.id], extra = _node_cost(node, out, ins, report.params.get(node.id, 0))
        memory[node.id] = (_numbers(out) + extra) * FLOAT_BYTES
    return Cost(flops, memory)


def _node_cost(node, out, ins, weights: int) -> tuple[int, int]:
    """(forward FLOPs, numbers held besides its output) of one node, per example."""
    if node.type == "Input":
        return 0, 0
    if node.type == "MultiHeadAttention":
        return _attention_cost(node, ins, weights)
    if node.type == "Dot":  # a contraction: sqrt(a·d × b·d × a·b) = a·b·d multiply-adds
        return 2 * math.isqrt(_numbers(ins[0]) * _numbers(ins[1]) * _numbers(out)), 0
    if not weights:
        return max(_numbers(out), sum(_numbers(s) for s in ins)), 0
    if node.type == "Embedding":  # a lookup, no arithmetic
        return _numbers(out), 0
    if node.type in RECURRENT:
        return 2 * weights * _steps(ins[0]), 0
    if node.type.endswith("Transpose"):  # every input position spreads over a kernel's window
        return 2 * weights * _positions(ins[0]), 0
    return 2 * weights * _positions(out), 0


def _attention_cost(node, ins, weights: int) -> tuple[int, int]:
    """Projections, plus the score matrices (heads × query steps × value steps) and what they weigh."""
    heads, key_dim = _param(node, "num_heads"), _param(node, "key_dim")
    value_dim = _param(node, "value_dim") or key_dim
    queries, values = _positions(ins[0]), _positions(ins[1] if len(ins) > 1 else ins[0])
    scores = heads * queries * values
    flops = 2 * weights * max(queries, values) + 2 * scores * (key_dim + value_dim)
    projected = heads * (queries * key_dim + values * (key_dim + value_dim))
    return flops, 2 * scores + projected  # the scores, their softmax, and the projected inputs


def _param(node, name: str):
    return node.params.get(name, CATALOG[node.type].param_map[name].default)


def _numbers(shape) -> int:
    """Numbers in one example of a batch shape (an unknown axis counts as 1)."""
    return math.prod(d or 1 for d in shape[1:])


def _positions(shape) -> int:
    """Places a layer's weights are applied at: every axis but the batch and the last (features, channels)."""
    return math.prod(d or 1 for d in shape[1:-1])


def _steps(shape) -> int:
    return (shape[1] or 1) if len(shape) > 2 else 1


def step_batch(batch_size, dataset_info=None) -> int | None:
    """The examples in one training step: the batch size, at most the dataset's size; None if not valid."""
    if not isinstance(batch_size, int) or isinstance(batch_size, bool) or batch_size < 1:
        return None
    size = getattr(dataset_info, "size", None)
    return min(batch_size, size) if isinstance(size, int) and size > 0 else batch_size


def problems(report: Report, batch: int | None) -> list[Problem]:
    """One training step of `batch` examples against the FLOPs and activation-memory budgets.

    Each problem names the three costliest layers; its fix, where a smaller batch is enough, sets the
    largest batch size that fits both budgets.
    """
    if not batch or not report.ok:
        return []
    cost = estimate(report)
    per_example = {"max_step_flops": (cost.flops, STEP_FACTOR), "max_step_memory_mb": (cost.memory, KEPT_FACTOR)}
    fits = min(limits.get(budget) // max(1, factor * sum(sizes.values()))
               for budget, (sizes, factor) in per_example.items())
    fix = {"training": {"batch_size": int(fits)}} if 1 <= fits < batch else None
    found = []
    for budget, (sizes, factor) in per_example.items():
        total, cap = factor * batch * sum(sizes.values()), limits.get(budget)
        if total <= cap:
            continue
        words = limits.count if budget == "max_step_flops" else limits.size
        what = "operations" if budget == "max_step_flops" else "of activations in memory"
        types = {n.id: n.type for n in report.spec.nodes}
        biggest = sorted(sizes, key=sizes.get, reverse=True)[:3]
        named = ", ".join(f"'{nid}' ({types[nid]}) {words(factor * batch * sizes[nid])}" for nid in biggest if sizes[nid])
        advice = "a smaller batch size" if fix else "a smaller input"
        found.append(Problem(None, f"one training step (batch {batch:,}) needs about {words(total)} "
                                   f"{what}, over the limit of {words(cap)} (server setting "
                                   f"{limits.BUDGETS[budget].env}); biggest layers: {named}; use {advice}, "
                                   "fewer filters, units or attention heads, or pool/stride earlier",
                             field="training.batch_size" if fix else "model", fix=fix))
    return found
