"""One declaration per parameter: type, default, range or choices, help.

The same `Param` drives the app's form widget, the validation of a spec and
the tooltip, for layers, augmentation layers and hyperparameters alike.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

# Param kinds. "shape" is a tuple of positive ints (None allowed where
# `allow_none_items`), "ints" a tuple of ints (kernel sizes, strides, axes),
# "pairs" paddings and croppings as Keras takes them: one int, `length` ints,
# or `length` [before, after] pairs.
KINDS = ("int", "float", "bool", "choice", "str", "shape", "ints", "floats", "pairs", "regularizer", "layer")

_MISSING = object()


@dataclass(frozen=True)
class Param:
    name: str
    kind: str
    default: Any = None
    help: str = ""
    min: float | None = None
    max: float | None = None
    choices: tuple = ()
    optional: bool = False  # None is an accepted value
    required: bool = False  # no Keras default: the spec must give it
    length: int | None = None  # for "ints"/"floats": exact tuple length
    int_or_tuple: bool = False  # "ints" that Keras also accepts as one int
    advanced: bool = False  # hidden behind "more options" in forms
    step: float | None = None  # slider/number-input step for forms
    extra: dict = field(default_factory=dict)

    def __post_init__(self):
        assert self.kind in KINDS, self.kind

    def check(self, value: Any) -> str | None:
        """Return None if `value` is acceptable, else a plain-words problem."""
        if value is None:
            return None if self.optional else f"'{self.name}' needs a value"
        k = self.kind
        if k == "bool":
            return None if isinstance(value, bool) else f"'{self.name}' must be true or false"
        if k == "int":
            if isinstance(value, bool) or not isinstance(value, int):
                return f"'{self.name}' must be a whole number, got {value!r}"
            return self._range(value)
        if k == "float":
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
                return f"'{self.name}' must be a number, got {value!r}"
            return self._range(value)
        if k == "choice":
            if value not in self.choices:
                opts = ", ".join(repr(c) for c in self.choices)
                return f"'{self.name}' must be one of {opts}; got {value!r}"
            return None
        if k == "str":
            return None if isinstance(value, str) else f"'{self.name}' must be text"
        if k in ("shape", "ints", "floats"):
            return self._check_tuple(value)
        if k == "pairs":
            return self._check_pairs(value)
        if k == "regularizer":
            return _check_regularizer(self.name, value)
        return None  # "layer" (a wrapped layer) is checked by builder.graph.validate with the catalog

    def _range(self, value) -> str | None:
        if self.min is not None and value < self.min:
            return f"'{self.name}' must be at least {self.min}, got {value}"
        if self.max is not None and value > self.max:
            return f"'{self.name}' must be at most {self.max}, got {value}"
        return None

    def _check_tuple(self, value) -> str | None:
        if self.int_or_tuple and isinstance(value, int) and not isinstance(value, bool):
            return self._range(value)
        if not isinstance(value, (list, tuple)):
            return f"'{self.name}' must be a list of numbers like [3, 3], got {value!r}"
        if self.length is not None and len(value) != self.length:
            return f"'{self.name}' must have {self.length} numbers, got {len(value)}"
        if self.kind == "shape" and len(value) == 0:
            return f"'{self.name}' must have at least one dimension"
        number = (int, float) if self.kind == "floats" else (int,)
        for item in value:
            if item is None and self.kind == "shape" and self.extra.get("allow_none_items"):
                continue
            if isinstance(item, bool) or not isinstance(item, number):
                return f"'{self.name}' must hold only numbers, got {item!r}"
            problem = self._range(item)
            if problem:
                return problem
        return None


    def _check_pairs(self, value) -> str | None:
        """One int, `length` ints, or `length` [before, after] pairs (e.g. [[1, 1], [2, 2]])."""
        items = _pair_items(value, self.length)
        if items is None or any(isinstance(i, bool) or not isinstance(i, int) for i in items):
            example = [[1, 1]] * (self.length or 1)
            return (f"'{self.name}' must be a number, {self.length} numbers, or {self.length} [before, after] "
                    f"pairs like {example}; got {value!r}")
        return next((p for p in map(self._range, items) if p), None)


def _pair_items(value, length) -> list | None:
    """The numbers inside a "pairs" value, or None when its layout is wrong."""
    if not isinstance(value, (list, tuple)):
        return [value]
    if len(value) != length:
        return None
    if all(isinstance(v, (list, tuple)) for v in value):
        return [i for pair in value for i in pair] if all(len(pair) == 2 for pair in value) else None
    return list(value)


def _check_regularizer(name: str, value) -> str | None:
    example = '{"l1": 0, "l2": 0.001}'
    if not isinstance(value, dict):
        return f"'{name}' must be an object like {example}, got {value!r}"
    for key, amount in value.items():
        if key not in ("l1", "l2"):
            return f"'{name}' knows only 'l1' and 'l2', not {key!r}; write it like {example}"
        if isinstance(amount, bool) or not isinstance(amount, (int, float)) or not math.isfinite(amount) or amount < 0:
            return f"'{name}': {key} must be a number of 0 or more, got {amount!r}"
    return None


def check_params(declared: dict[str, Param], given: dict, owner: str) -> list[str]:
    """Problems with `given` params against their declarations, in plain words."""
    problems = []
    for name in given:
        if name not in declared:
            known = ", ".join(declared) or "none"
            problems.append(f"{owner}: unknown parameter '{name}' (known: {known})")
    for name, param in declared.items():
        if name in given:
            problem = param.check(given[name])
            if problem:
                problems.append(f"{owner}: {problem}")
        elif param.required:
            problems.append(f"{owner}: '{name}' is required — {param.help}")
    return problems


def defaults(declared: dict[str, Param]) -> dict:
    """The declared defaults of params that have one (used to fill new nodes)."""
    return {n: p.default for n, p in declared.items() if not p.required and p.default is not None}
