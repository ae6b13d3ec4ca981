"""Try: a student's own input, the trained model's answer and where it looked.

Opens the run named by `?run=<run id>`, else the newest finished run this
workspace may see. The engine (`builder.predict`) frames the input, answers
and explains; this page only gathers the input and draws.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from builder import limits, predict
from builder.train.evaluate import probabilities
from datasets import audio
from ui import charts, drawpad, gan_view, jobs, live, mydata, run_data, state
from ui.navigation import require_app

SOURCES = ["Draw", "Camera", "Upload", "Test example"]
SOUND_SOURCES = ["Record", "Upload", "Test example"]
GAN_SLIDERS = 4  # noise directions a student moves by hand
SHOWN = 200  # px: pictures on screen, however small the model's input
METHOD_TITLES = {"saliency": "gradient", "gradcam": "Grad-CAM", "integrated_gradients": "integrated gradients",
                 "occlusion": "occlusion"}

require_app()  # a deep link on a fresh server: let app.py draw this page
state.init()
store = jobs.get_run_store()
st.title("Try it")


def pick_run(runs: list) -> str:
    """The run from ?run=, else the newest; the choice is written back into the address."""
    ids = [r.id for r in runs]
    asked = st.query_params.get("run")
    if asked in ids and state.peek("try_run") != asked and not state.peek("try_run_seen"):
        state.put("try_run", asked)
    state.put("try_run_seen", True)
    run_id = st.selectbox("Run", ids, key="try_run", format_func=lambda r: f"{r} — {live.status_of(store, r).get('name', '')}",
                          help="A finished run; the newest is picked first. The page's address names the run, "
                               "so it can be shared (the teacher's projector, a classmate).")
    if st.query_params.get("run") != run_id:
        st.query_params["run"] = run_id
    return run_id


# -- inputs -------------------------------------------------------------------------
def picture_from_bytes(raw: bytes | None, name: str):
    if raw is None:
        return None
    try:
        return predict.read_picture(raw, limits.get("max_image_pixels"), name)
    except predict.PictureError as e:
        st.error(str(e), icon=":material/image_not_supported:")
        return None


def test_example(trained, key: str):
    """(raw input, caption) of a test example the student picks by number."""
    x, y = trained.examples()["test"]
    i = st.number_input("Test example", 0, len(x) - 1, 0, key=key, help="The model never trained on these.")
    truth = trained.class_names[int(y[i])] if trained.task == "classification" and trained.class_names else None
    return x[int(i)], (f"test example {int(i)} · true: {truth}" if truth is not None else f"test example {int(i)}")


def image_input(trained):
    """(original picture or None, raw input or None, caption) from the source the student picks."""
    source = st.segmented_control("Input", SOURCES, default=SOURCES[0], key="try_source") or SOURCES[0]
    if source == "Test example":
        raw, caption = test_example(trained, "try_example")
        return None, raw, caption
    if source == "Draw":
        st.caption("Draw with the mouse (or a finger); the answer comes when you lift it.")
        drawpad.show("try_pad")
        picture = picture_from_bytes(drawpad.picture("try_pad"), "the drawing")
    elif source == "Camera":
        shot = st.camera_input("Hold your object up to the camera", key="try_camera")
        picture = picture_from_bytes(shot.getvalue() if shot else None, "the snapshot")
    else:
        file = st.file_uploader("A PNG or JPEG picture (any size; photos too)", type=["png", "jpg", "jpeg", "webp"],
                                key="try_upload")
        picture = picture_from_bytes(file.getvalue() if file else None, file.name if file else "")
    if picture is None:
        return None, None, ""
    return picture, trained.from_picture(picture), "as the model sees it"


def text_input(trained):
    """A typed sentence as the text model's raw input, or None before one is typed."""
    sentence = st.text_input("Type a sentence", key="try_sentence", max_chars=limits.get("max_text_chars"),
                             placeholder="e.g. my friend likes pizza today")
    return trained.from_sentence(sentence) if sentence.strip() else None


def sound_input(trained):
    """A recorded or uploaded clip (its loudest second), or a test clip, as the sound model's raw input."""
    source = st.segmented_control("Input", SOUND_SOURCES, default=SOUND_SOURCES[0], key="try_sound_source") or SOUND_SOURCES[0]
    if source == "Test example":
        return test_example(trained, "try_clip")[0]
    if source == "Record":
        clip = st.audio_input("Record a clip (its loudest second is what the model hears)", key="try_mic",
                              sample_rate=audio.RATE)
    else:
        clip = st.file_uploader("A WAV file", type=["wav", "wave"], key="try_wav")
    if clip is None:
        return None
    try:
        return trained.from_recording(clip.getvalue(), "the recording" if source == "Record" else f"'{clip.name}'")
    except ValueError as e:  # not WAV, too long: in plain words
        st.error(str(e), icon=":material/block:")
        return None


def table_input(trained, names: list[str]):
    """One number field per feature, preset from a test row, bounded by the data's range."""
    x_train = trained.examples()["train"][0]
    start, _ = test_example(trained, "try_row")
    lo, hi = x_train.min(0), x_train.max(0)
    pad = (hi - lo) * 0.5 + 1e-6
    values = []
    cols = st.columns(4)
    for j, name in enumerate(names):
        values.append(cols[j % 4].number_input(
            name, float(lo[j] - pad[j]), float(hi[j] + pad[j]), float(start[j]), key=f"try_f{j}_{state.peek('try_row')}",
            format="%.4g", help=f"In the training data: {lo[j]:.4g} … {hi[j]:.4g}"))
    return np.array(values, np.float32)


def sequence_input(trained):
    """The sequence as an editable table (one row per step), preset from a test example."""
    start, caption = test_example(trained, "try_seq")
    steps = np.asarray(start).reshape(len(start), -1)
    frame = pd.DataFrame(steps, columns=[f"value {k}" if steps.shape[1] > 1 else "value" for k in range(steps.shape[1])])
    st.caption(f"Edit the values ({caption}); token data take whole numbers.")
    edited = st.data_editor(frame, key=f"try_seq_edit_{state.peek('try_seq')}", num_rows="fixed",
                            width="stretch", height=260)
    return edited.to_numpy(np.float64).reshape(trained.shape)


def point_input(trained):
    """A point clicked on the plane (the decision boundary behind it) or typed."""
    xx, yy, probs = boundary(trained)
    x_train, y_train = trained.examples()["train"]
    fig = charts.boundary_figure(xx, yy, probs, x_train[:, :2], y_train, trained.class_names)
    fig.add_trace(go.Scatter(x=xx.ravel(), y=yy.ravel(), mode="markers", marker={"opacity": 0, "size": 9},
                             hoverinfo="x+y", showlegend=False, name="click"))  # the plane, clickable
    x0, y0 = state.peek("try_point") or (float(x_train[0, 0]), float(x_train[0, 1]))
    fig.add_trace(go.Scatter(x=[x0], y=[y0], mode="markers", marker={"symbol": "x", "size": 16, "color": "black"},
                             name="your point"))
    event = st.plotly_chart(fig, on_select="rerun", selection_mode="points", key="try_plane")
    points = (event or {}).get("selection", {}).get("points") or []
    if points and (points[0]["x"], points[0]["y"]) != state.peek("try_point_clicked"):
        state.put("try_point_clicked", (points[0]["x"], points[0]["y"]))
        state.put("try_point", (float(points[0]["x"]), float(points[0]["y"])))
        st.rerun()
    st.caption(f"Your point: ({x0:.3g}, {y0:.3g}). Click anywhere on the plane to move it.")
    return trained.from_point(x0, y0)


@st.cache_data(show_spinner=False, max_entries=16)
def _boundary(run_dir: str, stamp, _trained):
    x = _trained.examples()["train"][0][:, :2]
    lo, hi = x.min(0) - 0.5, x.max(0) + 0.5
    xs, ys = np.linspace(lo[0], hi[0], 60), np.linspace(lo[1], hi[1], 60)
    xx, yy = np.meshgrid(xs, ys)
    grid = np.stack([_trained.from_point(a, b) for a, b in zip(xx.ravel(), yy.ravel(), strict=True)])
    return xx, yy, probabilities(_trained.outputs(grid.astype(np.float32))).reshape(xx.shape + (-1,))


def boundary(trained):
    return _boundary(str(trained.run_dir), id(trained), trained)


# -- the answer ---------------------------------------------------------------------
def show_pictures(trained, original, raw, caption: str, answer) -> None:
    from builder.explain import overlay  # lazy: imports keras

    image = np.asarray(raw, np.float32).reshape(trained.shape) / trained.prep.raw_max
    cols = st.columns(3 if original is not None else 2)
    if original is not None:
        cols[0].image(original, width=SHOWN, caption="your picture")
    cols[-2].image(charts.enlarge(charts.to_rgb(np.clip(image, 0, 1) * 255), SHOWN), width=SHOWN, caption=caption)
    if answer.task == "reconstruction":
        out = np.clip(np.asarray(answer.output, np.float32).reshape(trained.shape[:2] + (-1,)), 0, 1)
        cols[-1].image(charts.enlarge(charts.to_rgb(out * 255), SHOWN), width=SHOWN, caption="the reconstruction")
    elif answer.saliency is not None:
        heat = overlay(np.clip(image, 0, 1), answer.saliency)
        cols[-1].image(charts.enlarge(heat, SHOWN), width=SHOWN,
                       caption=f"where it looked ({METHOD_TITLES.get(answer.method, answer.method)}, class {answer.label})")


def show_answer(trained, answer, names=None) -> None:
    st.markdown(f"### {answer.text()}")
    if answer.task == "classification":
        order = np.argsort(answer.probabilities)
        fig = go.Figure(go.Bar(x=[100 * answer.probabilities[i] for i in order], y=[answer.class_names[i] for i in order],
                               orientation="h", marker_color=["#d62728" if i == answer.index else "#9aa5b1" for i in order],
                               text=[f"{100 * answer.probabilities[i]:.1f} %" for i in order], textposition="outside"))
        fig.update_layout(height=60 + 26 * len(order), margin={"l": 10, "r": 40, "t": 10, "b": 30},
                          xaxis={"range": [0, 115], "title": "probability (%)"}, yaxis={"type": "category"})
        st.plotly_chart(fig, key="try_probs")
    if answer.saliency is not None and trained.kind != "image":
        axis = "feature" if trained.kind == "table" else "step"
        st.markdown(f"**Where it looked** ({METHOD_TITLES.get(answer.method, answer.method)}): what pushed the "
                    f"answer {'up (red) or down (blue)' if trained.kind == 'table' else 'at each step'}")
        st.plotly_chart(charts.attribution_bars(answer.saliency, names, axis_title=axis), key="try_bars")


def show_sound_or_words(trained, raw, answer) -> None:
    """Where a sound model listened (saliency over its spectrogram), or which words decided a text."""
    try:
        if trained.kind == "text":
            scores = trained.word_scores(str(raw[0]), answer.index)
            st.markdown(f"**Which words decided it** (each left out in turn: how far “{answer.label}” falls "
                        "without it)")
            st.html(charts.word_highlights(scores.words, scores.scores))
            return
        st.audio(np.asarray(raw, np.float32), sample_rate=audio.RATE)
        st.caption("what the model heard")
        picture, saliency = trained.sound_saliency(raw, answer.index)
        st.plotly_chart(charts.sound_saliency_figure(picture, saliency), key="try_sound_saliency")
    except ValueError as e:
        st.warning(jobs.error_text(e))


# -- the page -----------------------------------------------------------------------
def gan_section(folder) -> None:
    """A GAN answers no input: sliders over a few noise directions draw new pictures."""
    st.info("A GAN draws new pictures from noise instead of answering an input: move the sliders or ask for a new "
            "sample.", icon=":material/brush:")
    try:
        generator = predict.open_generator(folder)
    except ValueError as e:
        st.error(jobs.error_text(e))
        return
    if st.button("New sample", icon=":material/casino:", key="try_gan_new"):
        state.put("try_gan_seed", state.peek("try_gan_seed") + 1)
    z = generator.noise(state.peek("try_gan_seed"))
    cols = st.columns(2)
    with cols[0]:
        for k in range(min(GAN_SLIDERS, generator.size)):
            z[k] += st.slider(f"Noise direction {k + 1}", -3.0, 3.0, 0.0, 0.1, key=f"try_gan_{k}")
    picture = generator.draw(z)
    cols[1].image(charts.enlarge(charts.to_rgb(picture * 255), SHOWN), width=SHOWN, caption="the generator's picture")


def try_run(folder) -> None:
    problem = predict.deploy_problem(folder)
    if problem:
        st.warning(problem[0].upper() + problem[1:] + ".", icon=":material/block:")
        return
    try:
        with st.spinner("Loading the trained model…"):
            trained = predict.open_run(folder)
            trained.examples()
    except ValueError as e:
        st.error(jobs.error_text(e))
        return
    names = feature_names(trained)
    original, caption = None, "your input"
    if trained.kind == "image":
        original, raw, caption = image_input(trained)
    elif trained.kind == "points":
        raw = point_input(trained)
    elif trained.kind == "table":
        raw = table_input(trained, names)
    elif trained.kind == "text":
        raw = text_input(trained)
    elif trained.kind == "sound":
        raw = sound_input(trained)
    else:
        raw = sequence_input(trained)
    if raw is None:
        st.caption("Give the model an input to see its answer.")
        return
    method = None
    if trained.task == "classification" and trained.kind not in ("points", "sound", "text"):
        offered = trained.methods()
        method = st.radio("Where it looked, by", offered, horizontal=True, key="try_method",
                          format_func=METHOD_TITLES.get) if len(offered) > 1 else offered[0]
    try:
        answer = trained.answer(raw, method)
    except ValueError as e:
        st.error(jobs.error_text(e))
        return
    if trained.kind == "image":
        show_pictures(trained, original, raw, caption, answer)
    show_answer(trained, answer, names)
    if trained.kind in ("sound", "text") and answer.task == "classification":
        show_sound_or_words(trained, raw, answer)
    if trained.kind == "image" and answer.task == "classification":
        keep(trained, original, raw, answer)


def keep(trained, original, raw, answer) -> None:
    """"Add to my data as <label>": the student's input, labelled (the answer, or the right class), goes into
    the workspace's own data, where the Data page shows it and a later run trains on it."""
    c1, c2 = st.columns([2, 3], vertical_alignment="bottom")
    label = c1.selectbox("Its right label", answer.class_names, index=answer.index,
                         key=f"try_keep_label_{answer.index}",  # a new answer proposes its own label
                         help="Fix a mistake: pick the class it really is, then keep the picture for training.")
    if c2.button(f"Add to my data as “{label}”", key="try_keep", icon=":material/add_photo_alternate:"):
        picture = original if original is not None else np.asarray(raw, np.float32).reshape(trained.shape) / trained.prep.raw_max
        problem = mydata.add_picture(label, picture=picture, make=True)
        if problem:
            st.error(f"Not added: {problem}", icon=":material/block:")
        else:
            st.success(f"Added to your own data as “{label}”; see it on the Data page under My data.",
                       icon=":material/check_circle:")


def feature_names(trained) -> list[str] | None:
    if trained.kind != "table":
        return None
    return run_data.feature_names(trained.run_dir) or [f"feature {j}" for j in range(trained.shape[0])]


runs = live.finished_runs(store)
if not runs:
    st.info("No trained model yet. Train one on the **Train** page, then come back and try it on your own input.")
    st.stop()
folder = live.run_dir(store, pick_run(runs))
if gan_view.is_gan_run(folder):
    gan_section(folder)
else:
    try_run(folder)
