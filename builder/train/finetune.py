"""Transfer learning's two phases: the head first (every pretrained base frozen), then fine-tuning.

With `fine_tune_epochs` > 0 a run first trains `epochs` epochs with each `Pretrained` node frozen,
so a new head learns without wrecking the base's features; then each base is unfrozen as its
node's freeze option says and training goes on for `fine_tune_epochs` epochs at `fine_tune_rate`.
The model is compiled again between the phases: Keras fixes the trainable weights when it compiles.
"""
from __future__ import annotations

from builder.graph.pretrained import apply_freeze, base_nodes


def applies(exp) -> bool:
    return exp.hp["fine_tune_epochs"] > 0 and bool(base_nodes(exp.model))


def total_epochs(hp: dict) -> int:
    return hp["epochs"] + hp["fine_tune_epochs"]


def freeze_bases(model, spec) -> None:
    for node in base_nodes(spec):
        model.get_layer(node.id).trainable = False


def unfreeze_bases(model, spec) -> None:
    for node in base_nodes(spec):
        apply_freeze(model.get_layer(node.id), node.params)


def fine_tune_settings(hp: dict) -> dict:
    """The training settings of the second phase: the fine-tune rate, held constant."""
    return {**hp, "learning_rate": hp["fine_tune_rate"], "lr_schedule": "constant"}
