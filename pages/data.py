"""Data: pick a built-in dataset or upload one, look at it, choose augmentation.

The datasets package does the loading, splitting and augmenting; this page
only asks it and draws. The session keeps ids and settings, never arrays.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import plotly.express as px
import streamlit as st

from builder.experiments import templates
from builder.experiments.experiment import size_defaults
from datasets import audio, augment, keras_sets, registry, splits, text, uploads
from ui import charts, datacache, feedback, mydata, problems, state
from ui.forms import param_form
from ui.navigation import require_app

require_app()  # a deep link on a fresh server: let app.py draw this page
state.init()

KIND_WORDS = {"image": "pictures", "table": "a table of numbers", "points": "2-D points",
              "sequence": "sequences of readings", "tokens": "sequences of word numbers", "sound": "sound clips",
              "text": "sentences"}
FILE_KINDS = ["CSV table", "Text table (CSV)", "Image folders (ZIP)", "Sound folders (ZIP)", "NumPy arrays (NPZ)"]


@st.cache_resource(show_spinner=False)
def _registry():
    return registry


def _infos() -> dict:
    return {i.id: i for i in _registry().list_datasets()}


def _shape_text(shape) -> str:
    return " × ".join(str(d) for d in shape)


# -- choosing ---------------------------------------------------------------------------------
def _choose(dataset_id: str) -> None:
    """Switch the session to a built-in dataset, keeping the split shares."""
    data = state.get_data()
    new = state.default_data(dataset_id)
    new["validation_split"] = data.get("validation_split", 0.2)
    new["test_split"] = data.get("test_split", 0.2)
    state.set_data(new)
    state.set_upload_id(None)
    state.take("data_pick")  # the picker shows the new choice
def builtin_picker() -> None:
    infos = _infos()
    data = state.get_data()
    current = data.get("dataset") if data.get("dataset") in infos else None
    ids = list(infos)

    def label(i):
        info = infos[i]
        return f"{info.title}  ·  {info.task}  ·  {_shape_text(info.input_shape)}" + ("" if info.offline else "  ·  needs a download")

    ids = sorted(ids, key=lambda i: not infos[i].offline)  # the ones that work offline first
    choice = st.selectbox("Dataset", ids, index=ids.index(current) if current else None, format_func=label,
                          key="data_pick", placeholder="Choose a dataset…",
                          help="Built-in datasets work offline; the big Keras sets need to be downloaded once.")
    if choice and choice != current:
        _choose(choice)
        st.rerun()
    if not choice:
        return
    info = infos[choice]
    with st.container(border=True):
        st.markdown(f"**{info.title}** — {info.description}")
        c = st.columns(4)
        c[0].metric("Task", info.task)
        c[1].metric("One example", _shape_text(info.input_shape))
        c[2].metric("Examples", f"{info.size:,}")
        c[3].metric("Classes", len(info.classes) if info.classes else "—")
        st.caption(f"Made of {KIND_WORDS.get(info.kind, info.kind)}. " + (
            "Available offline." if info.offline else "Not on this machine yet."))
        if not info.offline:
            st.warning(keras_sets.offline_message(choice), icon=":material/cloud_off:")
            near = keras_sets.KERAS_SETS[choice].stand_in
            st.button(f"Use “{infos[near].title}” instead — it works offline", key="use_stand_in",
                      on_click=_choose, args=(near,), icon=":material/swap_horiz:")
    if info.options:
        with st.expander("Generator options", expanded=False):
            opts = param_form(tuple(info.options.values()), data.get("options") or {}, key=f"opt_{choice}")
            if opts != (data.get("options") or {}):
                data["options"] = opts
                state.set_data(data)
                st.rerun()


def _use_upload(upload_id: str, ds, what: str) -> None:
    """Make a kept upload the session's data (settings follow its size) and say so on the redrawn page."""
    data = state.get_data()
    data.update({"dataset": datacache.UPLOAD_PREFIX + upload_id, "options": {}})
    state.set_data(data)
    state.set_upload_id(upload_id)
    notes = _follow_size(ds.info)
    state.put("data_notice", f"Using {what}: {len(ds):,} examples of shape {_shape_text(ds.input_shape)}. "
              + " ".join(notes))
    st.rerun()


def earlier_uploads() -> None:
    """The workspace's uploads, by file name, newest first: one click uses one again."""
    names = {u["id"]: u["name"] for u in reversed(state.uploads())}
    if not names:
        return
    current = state.get_upload_id() if datacache.is_upload(state.get_data().get("dataset")) else None
    c1, c2 = st.columns([3, 1], vertical_alignment="bottom")
    pick = c1.selectbox("Your uploads", list(names), format_func=names.get, key="upload_pick",
                        index=list(names).index(current) if current in names else 0)
    if not c2.button("Use it", key="upload_again", disabled=pick == current, width="stretch"):
        return
    try:
        ds = datacache.get_upload(pick)
    except ValueError:
        ds = None
    if ds is None:
        st.error(f"{names[pick]} is no longer on the server (uploads nobody uses are deleted after a while); "
                 "upload the file again.", icon=":material/cloud_off:")
        return
    _use_upload(pick, ds, f"{names[pick]} again")


def upload_form() -> None:
    earlier_uploads()

    kind = st.radio("File type", FILE_KINDS, horizontal=True, key="upload_kind")
    if kind in ("CSV table", "Text table (CSV)"):
        f = st.file_uploader("CSV or TSV file", type=["csv", "tsv", "txt"], key="upload_csv",
                             help="One row per example; one column is what to predict.")
        if f is None:
            return
        raw = f.getvalue()
        read = _columns(f.file_id, f.name, raw)
        if isinstance(read, str):
            st.error(read)
            return
        columns, note = read
        if note:
            st.info(note, icon=":material/info:")
        if kind == "Text table (CSV)":
            c1, c2 = st.columns(2)
            words = c1.selectbox("Column of text", columns, key="text_column")
            target = c2.selectbox("Column to predict", [c for c in columns if c != words], key="text_target")
            settings = {"text": words, "target": target}

            def loader():
                return text.load_text_csv(_named(raw, f.name), words, target)
            _use_button(f, raw, kind, settings, loader)
            return
        c1, c2 = st.columns(2)
        target = c1.selectbox("Column to predict", columns, index=len(columns) - 1, key="csv_target")
        missing = c2.selectbox("Empty cells", uploads.MISSING_POLICIES, key="csv_missing",
                               format_func=lambda m: {"drop_rows": "drop those rows", "fill_mean": "fill with the column mean",
                                                      "error": "stop with an error"}.get(m, m))
        settings = {"target": target, "missing": missing}

        def loader():
            return uploads.load_csv(_named(raw, f.name), target, missing=missing)
    elif kind == "Sound folders (ZIP)":
        f = st.file_uploader("ZIP with one folder per class of WAV clips (yes/1.wav, no/7.wav …)", type=["zip"],
                             key="upload_sound_zip")
        if f is None:
            return
        raw, settings = f.getvalue(), {}

        def loader():
            return audio.load_wav_zip(_named(raw, f.name))
    elif kind == "Image folders (ZIP)":
        f = st.file_uploader("ZIP with one folder per class (cats/1.png, dogs/7.jpg …)", type=["zip"], key="upload_zip")
        if f is None:
            return
        raw = f.getvalue()
        c1, c2 = st.columns(2)
        size = c1.number_input("Image size (pixels)", 8, 256, 28, step=4, key="zip_size",
                               help="Every image is resized to this width and height.")
        color = c2.selectbox("Colour", ["grayscale", "rgb"], key="zip_color")
        settings = {"size": int(size), "color": color}

        def loader():
            return uploads.load_image_zip(_named(raw, f.name), size=int(size), color=color)
    else:
        f = st.file_uploader("NPZ with arrays x and y (optional class_names)", type=["npz"], key="upload_npz")
        if f is None:
            return
        raw = f.getvalue()
        settings = {}

        def loader():
            return uploads.load_npz(_named(raw, f.name))
    _use_button(f, raw, kind, settings, loader)


def _use_button(f, raw: bytes, kind: str, settings: dict, loader) -> None:
    """"Use this data": read the file with `loader`, keep it as an upload and make it the session's data."""
    if st.button("Use this data", type="primary", key="upload_use"):
        try:
            with st.spinner(f"Reading {f.name}…"):
                ds = loader()
        except Exception as e:  # noqa: BLE001
            st.error(f"Could not use {f.name}: {e}", icon=":material/block:")
            return
        try:
            upload_id = datacache.store_upload(raw, kind, settings, ds, state.workspace_id(), f.name)
        except ValueError as e:  # a workspace or disk budget: in plain words, nothing stored
            st.error(f"Could not keep {f.name}: {e}", icon=":material/block:")
            return
        _use_upload(upload_id, ds, f.name)


@st.cache_resource(show_spinner="Reading the table…", max_entries=16)
def _columns(file_id: str, name: str, _raw: bytes) -> tuple[list[str], str | None] | str:
    """(column names, how the first line was read) of an uploaded table, read once per upload (not on
    every rerun), or the reason it cannot be read."""
    try:
        table = uploads.read_table(_named(_raw, name))
    except Exception as e:  # noqa: BLE001 - UploadError and friends, in plain words
        return f"Could not read {name}: {e}"
    return list(table.columns), table.attrs.get("note")


def _named(raw: bytes, name: str):
    import io

    buf = io.BytesIO(raw)
    buf.name = name
    return buf


# -- looking ----------------------------------------------------------------------------------
# Everything drawn about a dataset is computed once per data settings and shared by all sessions: a
# rerun that changes nothing re-sends the cached figures instead of splitting and plotting again.
@dataclass
class DataView:
    counts: dict  # "Examples", "Training", … → number
    notes: list
    samples: object  # a Plotly figure, or a table (pandas) for tabular data
    balance: object  # a Plotly figure (classes) or a table (regression targets), or None
    error: str | None = None
    warnings: list = field(default_factory=list)  # classes with too few examples (datasets.splits.small_classes)


def _follow_size(info) -> list[str]:
    """Settings that follow the new data's size (the engine's size_defaults), set in view; returns its notes."""
    found = size_defaults(state.experiment_dict(), info)
    if found.training:
        state.set_training({**state.get_training(), **found.training})
    if found.augmentation:
        state.set_augmentation(found.augmentation)
    return found.notes


def _data_key(data: dict) -> str:
    return json.dumps([data, state.get_upload_id()], sort_keys=True)


@st.cache_resource(show_spinner="Looking at the data…", max_entries=32)
def _view(data_key: str, _ds) -> DataView:
    data = json.loads(data_key)[0]
    try:
        parts = splits.split(_ds, float(data.get("validation_split", 0.2)), float(data.get("test_split", 0.2)), seed=0)
    except Exception as e:  # noqa: BLE001 - shown as a message
        return DataView({"Examples": len(_ds)}, list(_ds.notes), _samples(_ds), None, f"Could not split the data: {e}")
    counts = {"Examples": len(_ds), "Training": len(parts.y_train), "Validation": len(parts.y_val),
              "Test": len(parts.y_test)}
    return DataView(counts, list(_ds.notes) + list(parts.notes), _samples(_ds), _balance(_ds, parts),
                    warnings=splits.small_classes(_ds))


def _balance(ds, parts):
    if ds.class_names is None:
        return splits.target_stats(parts)
    table = splits.class_balance(parts)
    long = table.melt(id_vars="class", value_vars=[c for c in ("train", "validation", "test") if c in table],
                      var_name="split", value_name="examples")
    fig = px.bar(long, x="class", y="examples", color="split", barmode="stack", height=320,
                 color_discrete_sequence=["#1a73e8", "#f4b400", "#0f9d58"])
    fig.update_layout(margin=dict(l=10, r=10, t=10, b=10), legend_title_text="")
    fig.update_xaxes(type="category")
    return fig


def show_dataset(ds, data: dict) -> None:
    view = _view(_data_key(data), ds)
    if view.error:
        st.error(view.error)
    for col, (name, n) in zip(st.columns(4), view.counts.items(), strict=False):
        col.metric(name, f"{n:,}")
    for note in view.notes:
        st.info(note, icon=":material/info:")
    for warning in view.warnings:
        st.warning(warning, icon=":material/warning:")
    left, right = st.columns([3, 2], gap="large")
    with left:
        st.markdown("**Samples**")
        if view.samples is None:
            sound_samples(ds)
        else:
            _draw(view.samples, "samples")
    with right:
        if view.balance is not None:
            st.markdown("**Class balance**" if ds.class_names is not None else "**Target values**")
            _draw(view.balance, "balance")
    fit_model_hint(ds)


def sound_samples(ds) -> None:
    """One clip at a time: a player and its spectrogram (computed by the engine)."""
    i = int(st.number_input(f"Clip (of {len(ds):,})", 0, len(ds) - 1, 0, key="sound_clip"))
    names = ds.class_names or []
    label = names[int(ds.y[i])] if 0 <= int(ds.y[i]) < len(names) else str(ds.y[i])
    rate = int((ds.info.extra or {}).get("rate", audio.RATE))
    st.audio(np.asarray(ds.x[i], np.float32), sample_rate=rate)
    st.caption(f"clip {i} · class “{label}” · {len(ds.x[i]) / rate:g} s at {rate:,} Hz")
    st.plotly_chart(_spectrogram(_data_key(state.get_data()), i, rate, ds), width="stretch", key="spectrogram")


@st.cache_resource(show_spinner=False, max_entries=64)
def _spectrogram(data_key: str, index: int, rate: int, _ds):
    freqs, times, db = audio.spectrogram(_ds.x[index], rate)
    return charts.spectrogram_figure(db, freqs, times)


def _draw(thing, key: str) -> None:
    if isinstance(thing, pd.DataFrame):
        st.dataframe(thing, hide_index=True, width="stretch", height=min(360, 38 + 35 * len(thing)), key=key)
    else:
        st.plotly_chart(thing, width="stretch", key=key)


def _samples(ds):
    """A picture of a few examples: images, points, sequences, or a table of rows (None for sounds: they are
    played one at a time)."""
    kind = ds.info.kind if ds.info.kind else ("image" if ds.is_image else "table")
    if kind == "sound":
        return None
    rng = np.random.default_rng(0)
    idx = np.sort(rng.choice(len(ds), size=min(len(ds), 18), replace=False))
    names = ds.class_names

    def label(y):
        return names[int(y)] if names is not None and 0 <= int(y) < len(names) else f"{float(y):.3g}"

    if ds.is_image:
        return charts.image_grid([ds.x[i] for i in idx], titles=[label(ds.y[i]) for i in idx], cols=9,
                                 height_per_row=110)
    if kind == "points" or (ds.x.ndim == 2 and ds.x.shape[1] == 2):
        frame = pd.DataFrame({"x1": ds.x[:, 0], "x2": ds.x[:, 1], "class": [label(y) for y in ds.y]})
        fig = px.scatter(frame, x="x1", y="x2", color="class", height=360, opacity=0.8)
        fig.update_layout(margin=dict(l=10, r=10, t=10, b=10))
        fig.update_yaxes(scaleanchor="x", scaleratio=1)
        return fig
    if kind == "sequence" or ds.x.ndim == 3:
        rows = []
        for i in idx[:6]:
            seq = np.asarray(ds.x[i]).reshape(len(ds.x[i]), -1)[:, 0]
            rows += [{"step": t, "value": float(v), "example": f"#{i} → {label(ds.y[i])}"} for t, v in enumerate(seq)]
        fig = px.line(pd.DataFrame(rows), x="step", y="value", color="example", height=360)
        fig.update_layout(margin=dict(l=10, r=10, t=10, b=10))
        return fig
    cols = ["text"] if kind == "text" else ds.feature_names if ds.feature_names and len(ds.feature_names) == ds.x.shape[-1] else [
        f"feature {j}" for j in range(ds.x.reshape(len(ds.x), -1).shape[1])]
    frame = pd.DataFrame(ds.x[idx].reshape(len(idx), -1), columns=cols)
    frame.insert(0, "target", [label(ds.y[i]) for i in idx])
    return frame


def fit_model_hint(ds) -> None:
    """The verdict on model + this data + training (the one Train enforces), with one-click fixes."""
    found = feedback.verdict(state.experiment_dict())
    if not found:
        st.success("The model fits this data and is ready to train.", icon=":material/check_circle:")
        return
    problems.show(found, key="data", title="Before the model can train on this data:")
    match = templates.for_dataset(ds.info.id)
    if match and st.button(f"Or load the template “{templates.TEMPLATES[match].title}” made for it", key="fit_template"):
        state.load_experiment_dict(templates.experiment(match, dataset=ds.info.id))
        state.set_selected(None)
        st.rerun()


def splits_form() -> None:
    data = state.get_data()
    c1, c2 = st.columns(2)
    val = c1.slider("Validation share", 0.0, 0.5, float(data.get("validation_split", 0.2)), 0.05, key="val_split",
                    help="Held out while training to spot overfitting.")
    test = c2.slider("Test share", 0.0, 0.5, float(data.get("test_split", 0.2)), 0.05, key="test_split",
                     help="Kept aside for the final evaluation; never trained on.")
    if val != data.get("validation_split") or test != data.get("test_split"):
        data["validation_split"], data["test_split"] = val, test
        state.set_data(data)
        st.rerun()


# -- augmentation -------------------------------------------------------------------------------
def augmentation(ds) -> None:
    if not ds.is_image:
        st.caption("Augmentation makes changed copies of pictures while training; this dataset has no pictures.")
        return
    entries = state.get_augmentation()
    names = list(augment.AUGMENTATIONS)
    chosen = st.multiselect("Augmentation layers (applied in this order, only while training)", names,
                            default=[e["type"] for e in entries if e.get("type") in names], key="aug_pick",
                            help="Each one randomly changes the training pictures, so the model learns what does not matter.")
    by_type = {e["type"]: e for e in entries}
    new_entries = []
    for name in chosen:
        lt = augment.AUGMENTATIONS[name]
        entry = by_type.get(name, {"type": name, "params": {}})
        with st.expander(f"{name} — {lt.help}", expanded=False):
            params = param_form(lt.params, entry.get("params") or {}, key=f"aug_{name}")
        new_entries.append({"type": name, "params": params})
    if new_entries != entries:
        state.set_augmentation(new_entries)
        st.rerun()
    if not new_entries:
        return
    problems = augment.validate(new_entries, ds.input_shape)
    for p in problems:
        st.error(p, icon=":material/error:")
    if problems:
        return
    i = int(st.number_input("Preview example #", 0, len(ds) - 1, 0, key="aug_example"))
    try:
        with st.spinner("Making augmented copies…"):
            grid = _preview(json.dumps(new_entries, sort_keys=True), _data_key(state.get_data()), i, ds)
    except Exception as e:  # noqa: BLE001
        st.error(f"Could not preview the augmentation: {e}")
        return
    st.plotly_chart(grid, width="stretch", key="aug_grid")


@st.cache_resource(show_spinner=False, max_entries=64)
def _preview(entries_json: str, data_key: str, index: int, _ds):
    """The original and augmented copies of one example, as one figure; cached per (augmentation, data
    settings, example) and shared by all sessions."""
    copies = augment.preview(json.loads(entries_json), _ds.x[index], n=8, seed=0)
    return charts.image_grid([_ds.x[index]] + list(copies), titles=["original"] + [f"copy {k + 1}" for k in range(len(copies))],
                             cols=9, height_per_row=120)


# -- page -------------------------------------------------------------------------------------------
st.markdown("## Data")
st.caption("Step 1 of 3 — choose what the network learns from. Then go to **Build**.")
if msg := state.take("data_notice"):
    st.success(msg, icon=":material/check_circle:")
data = state.get_data()
source = st.segmented_control("Source", ["Built-in dataset", "Upload your own", "My data"], key="data_source",
                              default=("My data" if mydata.is_mine(state.get_upload_id()) else "Upload your own")
                              if datacache.is_upload(data.get("dataset")) else "Built-in dataset")
if source == "Upload your own":
    upload_form()
elif source == "My data":
    if used := mydata.section():
        _use_upload(*used, "your own data")
else:
    builtin_picker()
data = state.get_data()
try:
    with st.spinner("Loading the data…"):
        ds = datacache.current(data, state.get_upload_id())
except Exception as e:  # noqa: BLE001 - unavailable Keras sets, lost uploads: say so, keep the page
    st.error(f"{e}", icon=":material/cloud_off:")
    ds = None
if ds is not None:
    st.divider()
    uploaded = {u["id"]: u["name"] for u in state.uploads()}.get(state.get_upload_id(), "your upload")
    st.markdown(f"### Current data: {uploaded if datacache.is_upload(data.get('dataset')) else ds.info.title}")
    splits_form()
    show_dataset(ds, state.get_data())
    st.divider()
    st.markdown("### Augmentation")
    augmentation(ds)
