"""Form widgets generated from `builder.model.params.Param` declarations.

One declaration gives the widget (kind → widget, min/max/step → range,
choices → select box), its tooltip (`help`) and where it sits (advanced
params go inside an expander). `param_form` returns the edited values; it
writes a param only when the user changed it, so specs stay short.
"""
from __future__ import annotations

import json
import math

import streamlit as st

_UNSET = "(Keras default)"


def _num(v):
    return None if v is None or (isinstance(v, float) and not math.isfinite(v)) else v


def parse_list(text: str, kind: str, int_or_tuple: bool = False):
    """'3, 3' or '[3, 3]' → [3, 3]; 'None' items allowed in shapes; '' → None. Raises ValueError."""
    text = text.strip()
    if not text:
        return None
    if text.startswith("[") or text.startswith("("):
        text = text[1:-1] if text[-1:] in "])" else text[1:]
    items = [t.strip() for t in text.replace(";", ",").split(",") if t.strip()]
    out = []
    for item in items:
        if item.lower() == "none" and kind == "shape":
            out.append(None)
            continue
        try:
            out.append(float(item) if kind == "floats" else int(item))
        except ValueError:
            word = "numbers" if kind == "floats" else "whole numbers"
            raise ValueError(f"'{item}' is not a number; write {word} separated by commas, like 3, 3") from None
    if int_or_tuple and len(out) == 1:
        return out[0]
    return out


def format_list(value) -> str:
    if value is None:
        return ""
    if isinstance(value, (list, tuple)):
        return ", ".join("None" if v is None else f"{v:g}" if isinstance(v, float) else str(v) for v in value)
    return str(value)


_JSON_KINDS = {"layer": '{"type": "LSTM", "params": {"units": 32}}', "pairs": "[[1, 1], [2, 2]]"}


def param_widget(param, value, key: str):
    """Draw one widget for `param` showing `value`; return the (possibly new) value."""
    k, label, hlp = param.kind, param.name.replace("_", " "), param.help or None
    if k == "bool":
        return st.toggle(label, value=bool(value), key=key, help=hlp)
    if k == "choice":
        options = list(param.choices)
        if param.optional or value is None:
            options = [None] + options
        index = options.index(value) if value in options else 0
        return st.selectbox(label, options, index=index, key=key, help=hlp,
                            format_func=lambda o: _UNSET if o is None else str(o))
    if k == "int":
        lo, hi = _num(param.min), _num(param.max)
        if lo is not None and hi is not None and hi - lo <= 32 and value is not None:
            return st.slider(label, int(lo), int(hi), int(value), step=int(param.step or 1), key=key, help=hlp)
        return st.number_input(label, min_value=None if lo is None else int(lo), max_value=None if hi is None else int(hi),
                               value=None if value is None else int(value), step=int(param.step or 1), key=key, help=hlp,
                               placeholder=_UNSET)
    if k == "float":
        lo, hi = _num(param.min), _num(param.max)
        if lo is not None and hi is not None and hi <= 1.0 and lo >= 0.0 and value is not None:
            return st.slider(label, float(lo), float(hi), float(value), step=float(param.step or 0.01), key=key, help=hlp)
        return st.number_input(label, min_value=None if lo is None else float(lo), max_value=None if hi is None else float(hi),
                               value=None if value is None else float(value), step=float(param.step or 0.01),
                               format="%g", key=key, help=hlp, placeholder=_UNSET)
    if k in ("shape", "ints", "floats"):
        text = st.text_input(label, value=format_list(value), key=key, help=hlp, placeholder="e.g. 3, 3")
        try:
            return parse_list(text, k, param.int_or_tuple)
        except ValueError as e:
            st.error(f"{param.name}: {e}")
            return value
    if k == "regularizer":
        value = value if isinstance(value, dict) else {}
        st.caption(f"{label}", help=hlp)
        c1, c2 = st.columns(2)
        l1 = c1.number_input("L1", min_value=0.0, max_value=1.0, value=float(value.get("l1", 0.0)), step=0.0001,
                             format="%g", key=key + ".l1")
        l2 = c2.number_input("L2", min_value=0.0, max_value=1.0, value=float(value.get("l2", 0.0)), step=0.0001,
                             format="%g", key=key + ".l2")
        return None if not l1 and not l2 else {"l1": l1, "l2": l2}
    if k in _JSON_KINDS:  # nested values (a wrapped layer, padding pairs): edited as JSON text
        example = _JSON_KINDS[k]
        widget = st.text_area if k == "layer" else st.text_input
        text = widget(label, value=json.dumps(value) if value is not None else "", key=key, help=hlp,
                      placeholder=example)
        try:
            return json.loads(text) if text.strip() else None
        except json.JSONDecodeError as e:
            st.error(f"{param.name}: not valid JSON ({e.msg}); write it like {example}")
            return value
    # "str" and anything new
    text = st.text_input(label, value="" if value is None else str(value), key=key, help=hlp)
    return text if text or not param.optional else None


def param_form(params, given: dict, key: str) -> dict:
    """Widgets for all `params`; returns `given` updated with the values the user changed."""
    out = dict(given)
    basic = [p for p in params if not p.advanced]
    advanced = [p for p in params if p.advanced]
    for p in basic:
        _one(p, out, given, key)
    if advanced:
        with st.expander("More options"):
            for p in advanced:
                _one(p, out, given, key)
    return out


def _one(p, out: dict, given: dict, key: str) -> None:
    current = given.get(p.name, p.default)
    new = param_widget(p, current, f"{key}.{p.name}")
    if _differs(new, current):
        if new is None and not p.required:
            out.pop(p.name, None)
        else:
            out[p.name] = new


def _differs(a, b) -> bool:
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        return list(a) != list(b)
    if isinstance(a, float) and isinstance(b, (int, float)) and not isinstance(b, bool):
        return not math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-12)
    return a != b
