"""Build: the graph canvas, the layer palette, the selected layer's settings and live feedback.

Everything here edits the model spec held by ui.state; the engine (builder.*)
checks it, exports it and imports models. No model is built on this page.
"""
from __future__ import annotations

import json

import streamlit as st
from streamlit.errors import StreamlitAPIException

from builder.experiments import experiment, templates
from builder.graph import importer
from builder.model import catalog
from builder.model.spec import ModelSpec, SpecError, parse_json
from datasets import registry
from ui import canvas, edits, feedback, gan_view, problems, state, transfer
from ui.feedback import analyze, format_count, format_shape, summary_rows
from ui.forms import param_form
from ui.navigation import require_app

require_app()  # a deep link on a fresh server: let app.py draw this page
state.init()


# -- engine access (never raises into the page) ----------------------------------------
@st.cache_resource(show_spinner=False)
def _catalog():
    return catalog


@st.cache_resource(show_spinner=False)
def _templates() -> dict:
    try:
        return dict(templates.TEMPLATES)
    except Exception:  # noqa: BLE001 - the picker just stays empty
        return {}


def _layer_type(type_name: str):
    try:
        return _catalog().get(type_name)
    except Exception:  # noqa: BLE001 - unknown types are reported by validation
        return None


def _dataset_shape() -> list[int] | None:
    try:
        return list(registry.info(state.get_data().get("dataset", "")).input_shape)
    except Exception:  # noqa: BLE001 - uploads or unknown ids
        return None


def _new_params(type_name: str) -> dict:
    """A new layer's params, as the engine starts them (an Input sized to the chosen data)."""
    return _catalog().new_params(type_name, _dataset_shape())


def _rerun() -> None:
    """Redraw after an edit: only the Build view (a fragment) when the sidebar's summary of the model is
    still true, else the whole page. A click on the canvas then costs the view, not the page."""
    if feedback.model_summary(state.experiment_dict()) == state.peek(feedback.SIDEBAR_SUMMARY):
        try:
            st.rerun(scope="fragment")
        except StreamlitAPIException:  # this run is a whole-page run: the fragment cannot rerun alone
            pass
    st.rerun()


def _then_redraw(edit, *args) -> None:
    """A button's callback: make the edit, then let Streamlit redraw once — only the Build view (the
    fragment the button is in), or the whole page when the sidebar's summary of the model changed."""
    edit(*args)
    if feedback.model_summary(state.experiment_dict()) != state.peek(feedback.SIDEBAR_SUMMARY):
        st.rerun()  # from a callback: the interaction becomes one whole-page run


def _delete(node_id: str) -> None:
    state.set_spec(_own_name(edits.delete_node(state.get_spec(), node_id)))
    state.set_selected(None)


def _commit(new_spec: dict, select: str | None = "keep") -> None:
    state.set_spec(new_spec)
    if select != "keep":
        state.set_selected(select)
    _rerun()


# -- actions ------------------------------------------------------------------------------
def add_layer(type_name: str, params: dict | None = None) -> None:
    """Add a layer: after the selected one (taking over its connections), else after the model's output;
    an Input stands alone."""
    lt = _layer_type(type_name)
    spec = state.get_spec()
    params = params if params is not None else _new_params(type_name) if lt else {}
    anchor = state.get_selected()
    if lt is not None and lt.max_inputs == 0:
        new, nid = edits.add_node(spec, type_name, params, None, canvas.place_new(spec, None))
    elif lt is not None and lt.max_inputs == 1:
        new, nid = edits.insert_after(spec, type_name, params, anchor)
    else:  # a merge layer joins branches: it connects to the selected layer, and the others by hand
        new, nid = edits.add_node(spec, type_name, params, anchor)
        new = edits.tidy(new)
    state.set_spec(_own_name(new))
    state.set_selected(nid)


def _own_name(spec: dict) -> dict:
    """A model whose layers changed is no longer the template it started from: it gets a name of its own
    ("my-model", "my-model-2"…), so sidebar, run names and exported code say what it is."""
    template_names = {t.spec_dict.get("name") for t in _templates().values()}
    if spec.get("name") in template_names:  # the template's description no longer fits either
        spec = {k: v for k, v in spec.items() if k != "description"} | {"name": edits.fresh_name(template_names)}
    return spec


def new_model() -> None:
    """A clean start: an Input sized to the chosen data, and an output layer sized to its classes."""
    try:
        info = registry.info(state.get_data().get("dataset", ""))
        shape, classes = list(info.input_shape), (len(info.classes) if info.classes else None)
    except Exception:  # noqa: BLE001 - unknown data: a 2-number input to start from
        shape, classes = None, None
    taken = {t.spec_dict.get("name") for t in templates.TEMPLATES.values()} | {state.get_spec().get("name")}
    experiment = state.experiment_dict()
    experiment.pop("gan", None)  # a new model is one network, also after a GAN
    state.load_experiment_dict({**experiment, "model": edits.new_model(shape, classes, edits.fresh_name(taken))})
    state.set_selected(None)
    state.put("build_notice", "A new model: the data's input and an output for its classes. Add layers "
                              "between them from the palette. Undo brings the old model back.")


def load_template(template_id: str) -> None:
    try:
        tpl = _templates()[template_id]
        state.load_experiment_dict(templates.experiment(template_id))  # its model, data and settings
        state.set_selected(None)
        state.put("build_notice", f"Loaded the template “{tpl.title}” with its data ({tpl.dataset}) and "
                                  "training settings. Undo brings your model and data back.")
    except Exception as e:  # noqa: BLE001
        state.put("build_error", f"Could not load the template '{template_id}': {e}")


# -- page -----------------------------------------------------------------------------------
def welcome() -> None:
    slot = st.container()  # always there, so hiding the welcome never shifts (remounts) the canvas
    if state.peek("welcome_dismissed"):
        return
    with slot.container(border=True):
        c1, c2 = st.columns([6, 1])
        c1.markdown(
            "#### Welcome to Layerlab — three steps to a trained network\n"
            "**1. Data** — pick a dataset (digits are already chosen). &nbsp; "
            "**2. Build** — a model is already loaded below: add layers from the palette, drag from a "
            "layer's bottom dot onto another layer to connect them, click a layer to change it. &nbsp; "
            "**3. Train** — press *Train* and watch the curves live."
        )
        if _has_page("pages/train.py"):
            c2.page_link("pages/train.py", label="Go to Train", icon=":material/rocket_launch:")
        if c2.button("Got it", key="welcome_ok"):
            state.put("welcome_dismissed", True)
            state.save()  # a reload of this workspace does not greet again
            st.rerun()


def _has_page(path: str) -> bool:
    from pathlib import Path

    return (Path(__file__).parent.parent / path).exists()


def toolbar(spec: dict, fb) -> None:
    c_tpl, c_load, c_undo, c_redo, c_status = st.columns([3.2, 1, 0.9, 0.9, 3], vertical_alignment="bottom")
    tpls = _templates()
    choice = c_tpl.selectbox(
        "Start from a template", list(tpls), index=None, placeholder="Choose a template…", key="template_pick",
        format_func=lambda t: f"{tpls[t].title}  ·  for {tpls[t].dataset}",
        help="Ready-made models to start from; loading one replaces the canvas (Undo brings it back).",
    )
    if choice:
        c_tpl.caption(tpls[choice].description)
    if c_load.button("Load", disabled=not choice, width="stretch", key="template_load"):
        load_template(choice)
        _rerun()
    c_undo.button("Undo", icon=":material/undo:", disabled=not state.can_undo(), width="stretch", key="undo",
                  help="Undo the last change to the model", on_click=_then_redraw, args=(state.undo,))
    c_redo.button("Redo", icon=":material/redo:", disabled=not state.can_redo(), width="stretch", key="redo",
                  help="Redo what you undid", on_click=_then_redraw, args=(state.redo,))
    with c_status:
        if fb.ok:
            st.success(f"**Ready to train** · {len(spec.get('nodes', []))} layers · "
                       f"**{format_count(fb.total_params)}** params", icon=":material/check_circle:")
        elif fb.builds:
            st.warning(f"**Valid model**, but {len(fb.problems)} problem(s) before training — see below",
                       icon=":material/warning:")
        else:
            st.error(f"**{len(fb.problems)} problem(s)** — fix the red layers", icon=":material/error:")


def palette() -> None:
    """The layer palette: one pop-over per family, each layer a button with its help as tooltip."""
    groups = [(f, types) for f, types in _catalog().by_family().items() if types]
    with st.container(horizontal=True, gap="small", vertical_alignment="center"):
        st.button("New model", icon=":material/add_box:", key="new_model", on_click=_then_redraw, args=(new_model,),
                  help="Start again from an Input sized to your data and an output sized to its classes")
        st.button("Tidy up", icon=":material/auto_awesome_mosaic:", key="tidy", on_click=_then_redraw,
                  args=(lambda: state.set_spec(edits.tidy(state.get_spec())),),
                  help="Lay the layers out again, in order, top to bottom")
        st.markdown("**Add a layer:**")
        for family, types in groups:
            if family == "transfer":  # a base needs a file or an application first
                transfer_popover()
                continue
            with st.popover(family.capitalize(), key=f"pal_{family}"):
                sel = state.get_selected()
                st.caption(f"Goes after **{sel}**" if sel else "Goes after the model's output (select a layer to "
                           "put it after that one).")
                with st.container(horizontal=True, gap="small"):
                    for lt in types:
                        st.button(lt.name, key=f"add_{lt.name}", help=lt.help, on_click=_then_redraw,
                                  args=(add_layer, lt.name))


def transfer_popover() -> None:
    with st.popover("Transfer", key="pal_transfer"):
        spec = state.get_spec()
        anchor = state.get_selected() or edits.current_output(spec)
        params = transfer.menu(analyze(spec).shapes.get(anchor))
        if params is not None:
            add_layer("Pretrained", params)
        if params is not None or state.has("build_error"):
            _rerun()


def problems_list(fb) -> None:
    problems.show(fb.items, key="build", title="The model cannot be built yet:" if not fb.builds
                  else "Before this model can train on the chosen data:")


def side_panel(spec: dict, fb, version: int) -> None:
    sel = state.get_selected()
    ids = [n["id"] for n in spec.get("nodes", [])]
    if sel not in ids:
        st.markdown("**Layer settings**")
        st.info("Click a layer on the canvas (or pick one here) to change its settings.", icon=":material/touch_app:")
        pick = st.selectbox("Layer", ids, index=None, placeholder="Choose a layer…", key=f"side_pick_{version}")
        if pick:
            state.set_selected(pick)
            _rerun()
        return
    st.button("Deselect", key="side_deselect", type="tertiary", icon=":material/close:",
              on_click=state.set_selected, args=(None,), help="With nothing selected, new layers go after the output")
    node_editor(spec, fb, sel, version, prefix="side")


def node_editor(spec: dict, fb, nid: str, version: int, prefix: str) -> None:
    """Settings of one layer: id, params (from the catalog), inputs in order, delete."""
    node = next(n for n in spec["nodes"] if n["id"] == nid)
    lt = _layer_type(node.get("type"))
    st.markdown(f"#### {nid} · {node.get('type')}")
    if lt is not None:
        st.caption(lt.help)
    shape = fb.shapes.get(nid)
    if shape is not None:
        st.markdown(f"Output `{format_shape(shape)}` · **{format_count(fb.params.get(nid, 0))}** params")
    for msg in fb.node_problems(nid):
        st.error(msg, icon=":material/error:")
    key = f"{prefix}_{nid}_{version}"
    new_id = st.text_input("Name (id)", value=nid, key=f"{key}.id", help="A unique name; it becomes the Keras layer name.")
    if new_id and new_id != nid:
        if new_id in {n["id"] for n in spec["nodes"]}:
            st.error(f"The name '{new_id}' is taken; pick another.")
        else:
            _commit(edits.rename_node(spec, nid, new_id), select=new_id)
    given = node.get("params") or {}
    params = given
    if node.get("type") == "Pretrained":  # its layers are picked from the base, its source named in words
        params = transfer.settings(given, key)
    elif lt is not None and lt.params:
        params = param_form(lt.params, given, key)
    if params != given:
        _commit(edits.set_params(spec, nid, params))
    inputs_editor(spec, node, lt, key)
    st.button("Delete layer", key=f"{key}.delete", type="secondary", width="stretch", on_click=_then_redraw,
              args=(_delete, nid))


def inputs_editor(spec: dict, node: dict, lt, key: str) -> None:
    if lt is not None and lt.max_inputs == 0:
        return
    nid = node["id"]
    ins = node.get("inputs", [])
    st.markdown("**Inputs, in order**")
    if not ins:
        st.caption("No input yet: drag from another layer's bottom dot onto this layer, or add one below.")
    for i, src in enumerate(ins):
        role = canvas.input_roles(node.get("type"))
        label = f"**{i + 1}** · {src}" + (f" ({role[i]})" if i < len(role) else "")
        with st.container(horizontal=True, vertical_alignment="center", gap="small"):
            st.markdown(label, width="stretch")
            if st.button("", icon=":material/arrow_upward:", key=f"{key}.up{i}", disabled=i == 0,
                         help="Move this input up"):
                _commit(edits.move_input(spec, nid, i, -1))
            if st.button("", icon=":material/arrow_downward:", key=f"{key}.down{i}", disabled=i == len(ins) - 1,
                         help="Move this input down"):
                _commit(edits.move_input(spec, nid, i, +1))
            if st.button("", icon=":material/link_off:", key=f"{key}.rm{i}", help="Disconnect this input"):
                _commit(edits.remove_input(spec, nid, i))
    others = [n["id"] for n in spec["nodes"] if n["id"] != nid]
    if lt is None or lt.max_inputs is None or len(ins) < lt.max_inputs:
        src = st.selectbox("Connect an input", others, index=None, placeholder="Choose a layer…", key=f"{key}.addin")
        if src:
            _commit(edits.add_input(spec, nid, src))


def canvas_tab(spec: dict, fb, version: int) -> None:
    palette()
    c_canvas, c_side = st.columns([4, 1.3], gap="small")
    with c_canvas:
        canvas.show(spec, fb, state.get_selected(), version, state.peek(CANVAS_ACK), _canvas_events,
                    key="canvas", height=600)
        canvas.legend()
        st.caption("Click a layer to change it · drag from a layer's bottom dot onto another layer to connect · "
                   "right-click a layer for more · Delete removes what is selected (Shift-click selects several) · "
                   "the numbers on connections are the input order.")
        problems_list(fb)
    with c_side:
        side_panel(spec, fb, version)


CANVAS_ACK = "_canvas_ack"


def _canvas_events() -> None:
    """The canvas' callback: apply the student's operations (in order, each once), then redraw."""
    events = canvas.pending_events("canvas", state.peek(CANVAS_ACK))
    if not events:
        return
    state.put(CANVAS_ACK, events[-1]["seq"])
    spec = state.get_spec()
    out = canvas.apply_events(spec, events, state.get_selected(), new_params=_new_params,
                              max_inputs=lambda t: getattr(_layer_type(t), "max_inputs", None))
    if out.changed:
        structural = canvas.structure_key(out.spec) != canvas.structure_key(spec)
        state.set_spec(_own_name(out.spec) if structural else out.spec)
    state.set_selected(out.selected)
    if out.notices:
        state.put("build_notice", " ".join(out.notices))
    if feedback.model_summary(state.experiment_dict()) != state.peek(feedback.SIDEBAR_SUMMARY):
        st.rerun()  # from a callback: the interaction becomes one whole-page run


def list_tab(spec: dict, fb, version: int) -> None:
    """The accessible editor: the same spec as an ordered list with forms (keyboard friendly)."""
    st.caption("The same model as a list, for keyboards and small screens. Changes here show on the canvas too.")
    nodes = spec.get("nodes", [])
    for i, node in enumerate(nodes):
        nid = node["id"]
        shape = format_shape(fb.shapes[nid]) if nid in fb.shapes else "?"
        bad = " ⚠️" if fb.node_problems(nid) else ""
        with st.expander(f"{i + 1}. {nid} · {node.get('type')} → {shape}{bad}", expanded=False):
            c1, c2, _ = st.columns([1, 1, 4])
            if c1.button("Move up", key=f"list_up_{nid}_{version}", disabled=i == 0):
                _commit(edits.move_node(spec, nid, -1))
            if c2.button("Move down", key=f"list_down_{nid}_{version}", disabled=i == len(nodes) - 1):
                _commit(edits.move_node(spec, nid, +1))
            node_editor(spec, fb, nid, version, prefix="list")
    st.markdown("**Add a layer**")
    c1, c2, c3 = st.columns([2, 2, 1], vertical_alignment="bottom")
    types = list(_catalog().CATALOG)
    t = c1.selectbox("Layer type", types, index=types.index("Dense") if "Dense" in types else 0, key="list_add_type")
    ids = [n["id"] for n in nodes]
    after = c2.selectbox("Connected to", ids, index=len(ids) - 1 if ids else None, key=f"list_add_after_{version}")
    if c3.button("Add", key="list_add", width="stretch"):
        lt = _layer_type(t)
        new, nid = edits.add_node(spec, t, _new_params(t) if lt else {}, None if lt and lt.max_inputs == 0 else after,
                                  canvas.place_new(spec, after))
        _commit(new, select=nid)


def code_tab(spec: dict, fb) -> None:
    if not fb.builds:
        st.warning("Fix the problems first; the code is written for a valid model.", icon=":material/error:")
        return
    try:
        from builder.graph import codegen  # lazy: imports keras

        with st.spinner("Writing the code…"):
            code = codegen.to_python(spec_obj(spec))
    except Exception as e:  # noqa: BLE001
        st.error(f"Could not write the Python code: {e}")
        return
    st.download_button("Download model.py", code, file_name=f"{spec.get('name', 'model')}.py", mime="text/x-python",
                       key="dl_code")
    st.code(code, language="python")


def spec_obj(spec: dict):
    return ModelSpec.from_dict(spec)


def summary_tab(spec: dict, fb) -> None:
    import pandas as pd

    rows = summary_rows(spec, fb)
    st.dataframe(pd.DataFrame(rows), hide_index=True, width="stretch")
    st.markdown(f"**Total params: {format_count(fb.total_params)}**" if fb.builds else "Total params: fix the problems first.")


def save_load_tab(spec: dict) -> None:
    c1, c2 = st.columns(2)
    with c1:
        st.markdown("**Save**")
        name = spec.get("name", "model")
        st.download_button("Model spec (JSON)", json.dumps(spec, indent=2), file_name=f"{name}.json",
                           mime="application/json", key="dl_spec", width="stretch")
        st.download_button("Whole experiment (JSON)", json.dumps(state.experiment_dict(), indent=2),
                           file_name=f"{name}-experiment.json", mime="application/json", key="dl_exp",
                           width="stretch", help="Model + data + augmentation + training settings")
    with c2:
        st.markdown("**Load**")
        up = st.file_uploader("A model spec or experiment (.json)", type=["json"], key="upload_json")
        if up is not None and st.button("Load this file", key="load_json", width="stretch"):
            load_json_file(up.getvalue(), up.name)
            _rerun()
        kf = st.file_uploader("Import a Keras model (.keras)", type=["keras"], key="upload_keras",
                              help="Loaded in safe mode: models with custom code are refused.")
        if kf is not None and st.button("Import this model", key="load_keras", width="stretch"):
            import_keras(kf.getvalue(), kf.name)
            _rerun()


def load_json_file(raw: bytes, name: str) -> None:
    """Load a spec or an experiment; on any problem say so and keep the current model."""
    try:
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            raise SpecError([f"{name} is not a UTF-8 text file; save it as UTF-8 JSON"]) from None
        data = parse_json(text, f"file {name}")
        if isinstance(data, dict) and data.get("format") == "layerlab/experiment@1":
            exp = experiment.Experiment.from_dict(data)
            problems = [p for p in experiment.validate(exp) if p]
            model_problems = analyze(exp.model.to_dict()).problems
            if model_problems:
                raise SpecError([f"{n}: {m}" if n else m for n, m in model_problems])
            state.load_experiment_dict(exp.to_dict())
            msg = f"Loaded the experiment from {name}."
            if problems:
                msg += " Check before training: " + "; ".join(problems)
            state.put("build_notice", msg)
            return
        spec = spec_obj(data).to_dict()  # structure problems raise SpecError
        fb = analyze(spec)
        if not fb.ok:
            raise SpecError([f"{n}: {m}" if n else m for n, m in fb.problems])
        state.set_spec(spec)
        state.set_selected(None)
        state.put("build_notice", f"Loaded the model from {name}.")
    except SpecError as e:
        state.put("build_error", f"Could not load {name}; your model is unchanged.\n\n" + "\n".join(
            f"- {p}" for p in e.problems))
    except Exception as e:  # noqa: BLE001 - anything else, in plain words
        state.put("build_error", f"Could not load {name}; your model is unchanged. {e}")


def import_keras(raw: bytes, name: str) -> None:
    import os
    import tempfile

    try:
        with tempfile.TemporaryDirectory() as d:
            path = os.path.join(d, os.path.basename(name) or "model.keras")
            with open(path, "wb") as f:
                f.write(raw)
            with st.spinner("Reading the Keras model…"):
                spec = importer.from_keras_file(path)
        state.set_spec(spec.to_dict())
        state.set_selected(None)
        state.put("build_notice", f"Imported {name}.")
    except Exception as e:  # noqa: BLE001 - refused custom code, broken files: say it, keep the model
        state.put("build_error", f"Could not import {name}; your model is unchanged. {e}")


def notices() -> None:
    # Always one container, so a message never shifts the canvas below it (that would remount it).
    box = st.container()
    if msg := state.take("build_error"):
        box.error(msg, icon=":material/block:")
    if msg := state.take("build_notice"):
        box.success(msg, icon=":material/check_circle:")


@st.fragment
def build_view() -> None:
    gan_view.part_selector()  # a GAN: which of its two networks the views below edit
    spec = state.get_spec()
    fb = feedback.review(state.experiment_dict(), state.gan_part())
    version = state.spec_version()
    toolbar(spec, fb)
    notices()
    # One view at a time (a lazy tab bar): an edit reruns only the view on screen.
    if state.peek("build_tab") not in TABS:
        state.put("build_tab", next(iter(TABS)))
    view = st.segmented_control("View", list(TABS), key="build_tab", label_visibility="collapsed")
    draw = TABS.get(view or next(iter(TABS)))
    if draw in (canvas_tab, list_tab):
        draw(spec, fb, version)
    elif draw is save_load_tab:
        draw(spec)
    else:
        draw(spec, fb)


TABS = {
    ":material/account_tree: Canvas": canvas_tab,
    ":material/list: Layer list": list_tab,
    ":material/code: Python code": code_tab,
    ":material/table_chart: Summary": summary_tab,
    ":material/save: Save / load": save_load_tab,
}
def assignment_banner() -> None:
    """The teacher's hand-out, one click away (the student's own model stays one Undo away)."""
    exp = state.workspaces().assignment()
    if exp is None or state.is_teacher():
        return
    c1, c2 = st.columns([5, 1], vertical_alignment="center")
    c1.info("Your teacher handed out an assignment: a model with its data and training settings.",
            icon=":material/assignment:")
    if c2.button("Load the assignment", key="load_assignment", width="stretch"):
        load_json_file(json.dumps(exp).encode(), "the teacher's assignment")
        st.rerun()


welcome()
assignment_banner()
build_view()
