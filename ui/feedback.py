"""Live feedback on a spec for the pages: shapes, parameter counts and problems.

All the checking is done by the engine (`builder.model.spec`, `builder.graph.validate`);
this module only calls it safely and reshapes the answer for drawing, so a
page never sees an exception or a traceback.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field

import streamlit as st

from builder.experiments import experiment as ex
from builder.experiments.experiment import problem_text
from builder.experiments.gan import PART
from builder.graph import validate
from builder.graph.validate import Problem
from builder.model.spec import ModelSpec, SpecError


@dataclass
class Feedback:
    ok: bool
    problems: list[tuple[str | None, str]] = field(default_factory=list)  # (node id or None, message)
    shapes: dict[str, tuple] = field(default_factory=dict)
    params: dict[str, int] = field(default_factory=dict)
    total_params: int | None = None
    model_ok: bool | None = None  # the model alone builds (what the code export needs); None: same as ok
    items: list = field(default_factory=list)  # the engine's Problem values behind `problems` (with fixes)

    @property
    def builds(self) -> bool:
        return self.ok if self.model_ok is None else self.model_ok

    def node_problems(self, node_id: str) -> list[str]:
        return [m for n, m in self.problems if n == node_id]

    def general_problems(self) -> list[str]:
        return [m for n, m in self.problems if n is None]


def analyze(spec: dict) -> Feedback:
    """Validate a spec dict with the engine; never raises."""
    return _analyze_cached(json.dumps(spec, sort_keys=True))


@st.cache_data(max_entries=512, show_spinner=False)
def _analyze_cached(spec_json: str) -> Feedback:
    data = json.loads(spec_json)
    try:
        spec = ModelSpec.from_dict(data)
    except SpecError as e:
        return Feedback(ok=False, problems=[_split_node(p, data) for p in e.problems])
    try:
        report = validate.check(spec)
    except Exception as e:  # an engine bug must not take the page down
        return Feedback(ok=False, problems=[(None, f"could not check the model: {e}")])
    problems = [(getattr(p, "node", None), getattr(p, "message", str(p))) for p in report.problems]
    return Feedback(
        ok=bool(report.ok),
        problems=problems,
        shapes={k: tuple(v) if v is not None else None for k, v in (report.shapes or {}).items()},
        params=dict(report.params or {}),
        total_params=report.total_params,
    )


def _split_node(problem: str, data) -> tuple[str | None, str]:
    """Structure problems are phrased "node 'x': …" or "x: …"; attach them to the node."""
    ids = set()
    if isinstance(data, dict) and isinstance(data.get("nodes"), list):
        ids = {n.get("id") for n in data["nodes"] if isinstance(n, dict) and isinstance(n.get("id"), str)}
    for nid in ids:
        for prefix in (f"node '{nid}': ", f"{nid}: "):
            if problem.startswith(prefix):
                return nid, problem[len(prefix):]
    return None, problem


SIDEBAR_SUMMARY = "_sidebar_model_summary"  # session key: the summary the sidebar shows right now


def model_summary(experiment: dict) -> tuple:
    """What the sidebar says on every page: the model's name and whether it is ready to train (with how many
    problems). Sizes and counts live on the Build page, so most edits redraw the Build view alone."""
    fb = review(experiment)
    return experiment["model"].get("name"), fb.ok, len(fb.problems)


def format_shape(shape) -> str:
    if shape is None:
        return "?"
    if isinstance(shape, list) and shape and isinstance(shape[0], (list, tuple)):
        return ", ".join(format_shape(s) for s in shape)
    return "(" + ", ".join("None" if d is None else str(d) for d in shape) + ")"


def format_count(n: int | None) -> str:
    return "—" if n is None else f"{n:,}"


def summary_rows(spec: dict, fb: Feedback) -> list[dict]:
    """The Keras-summary table: layer, type, output shape, params, connected to."""
    rows = []
    for node in spec.get("nodes", []):
        nid = node.get("id")
        rows.append({
            "layer": nid,
            "type": node.get("type"),
            "output shape": format_shape(fb.shapes.get(nid)) if nid in fb.shapes else "—",
            "params": fb.params.get(nid, 0 if node.get("type") == "Input" else None),
            "connected to": ", ".join(node.get("inputs", [])),
        })
    return rows


def verdict(experiment: dict) -> list:
    """THE verdict on model + data + training (builder.experiments.experiment.check, what Train enforces), cached per
    experiment: every page shows this one list."""
    return _verdict_cached(json.dumps(experiment, sort_keys=True))


@st.cache_data(max_entries=512, show_spinner=False)
def _verdict_cached(experiment_json: str) -> list:
    try:
        return ex.check(json.loads(experiment_json))
    except Exception as e:  # noqa: BLE001 - an engine bug must not take the page down
        return [Problem(None, f"could not check the experiment: {e}")]


def review(experiment: dict, part: str | None = None) -> Feedback:
    """The model's shapes and counts with the whole experiment's problems: what Build, Data, the sidebar
    and Train all show. `ok` means Train will accept it; `builds` that the model alone is valid.

    `part` "discriminator": a GAN's discriminator is on the canvas, so its shapes are shown and only its
    problems are marked on nodes (the generator's become lines, and the reverse for the generator)."""
    from dataclasses import replace

    on_canvas = part == PART
    fb = analyze(experiment["gan"][PART] if on_canvas else experiment["model"])
    items = verdict(experiment)
    problems = [(p.node, p.message) if p.node and (p.field or "").startswith(PART) == on_canvas
                else (None, problem_text(p)) for p in items]
    return replace(fb, ok=not items, problems=problems, model_ok=fb.ok, items=items)
