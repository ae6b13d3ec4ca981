"""The value every check returns: a Problem names the node, the field, what is wrong and how to fix it."""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass


@dataclass(frozen=True)
class Problem:
    """One problem. `node` is the node id, or None for the whole graph; `message` says what to do.

    `field` names what is wrong (a node param such as "units", or an experiment setting such as
    "training.loss"); `fix` is an edit that `builder.experiments.experiment.apply_fix` can apply, or None.
    """

    node: str | None
    message: str
    field: str | None = None
    fix: dict | None = dataclasses.field(default=None, compare=False)  # `field` names the attribute above

    def __str__(self) -> str:
        return f"{self.node}: {self.message}" if self.node else self.message


def fmt_shape(shape) -> str:
    return "(" + ", ".join(str(d) for d in shape) + ")"


def setting_problem(section: str, name: str, message: str, fix=None) -> Problem:
    """A problem with an experiment setting (`section.name`), its fix an edit of that section."""
    return Problem(None, message, field=f"{section}.{name}", fix=None if fix is None else {section: fix})
