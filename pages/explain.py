"""Explain / Results: test metrics, confusion matrix, ROC, mistakes, saliency maps, activations."""
from __future__ import annotations

import numpy as np
import streamlit as st

from builder import predict
from builder.store import runfolder, watch
from datasets import audio
from ui import charts, gan_view, jobs, live, run_data, state
from ui.navigation import require_app

METHOD_TITLES = {"saliency": "Vanilla gradient", "smoothgrad": "SmoothGrad",
                 "integrated_gradients": "Integrated Gradients", "gradcam": "Grad-CAM", "occlusion": "Occlusion"}
GALLERY_DEFAULT = ("saliency", "smoothgrad", "integrated_gradients", "gradcam")
PREDICTED = "predicted class"
MISTAKES_PER_PAGE = 12

require_app()  # a deep link on a fresh server: let app.py draw this page
state.init()
store = jobs.get_run_store()
st.title("Explain")


runs = live.finished_runs(store)
if not runs:
    st.info("No trained model yet. Train one on the **Train** page, then come back to see what it learned.")
    st.stop()

ids = [r.id for r in runs]
titles = {r.id: f"{r.name} — {r.status}" for r in runs}  # the name the student knows a run by
current = state.get_run_id()
run_id = st.selectbox("Run", ids, index=ids.index(current) if current in ids else 0,
                      format_func=lambda r: titles.get(r, r), key="explain_run",
                      help="The newest finished run is picked first; the run you trained last is the default.")
folder = live.run_dir(store, run_id)
if gan_view.is_gan_run(folder):  # a GAN draws images: its results are samples, not test metrics
    gan_view.results(folder)
    st.stop()
evaluation = live.json_of(folder / runfolder.EVALUATION)
predictions = live.json_of(folder / runfolder.PREDICTIONS)
stamp = (watch.file_stamp(folder / runfolder.EVALUATION), watch.file_stamp(folder / runfolder.PREDICTIONS))
task = evaluation.get("task") or predictions.get("task") or "classification"

try:
    data = run_data.prepared_data(folder)
except Exception as e:  # noqa: BLE001 - a missing/unloadable dataset must not blank the metrics
    data = None
    st.warning(f"The run's data could not be loaded, so examples and saliency maps are off: {jobs.error_text(e)}")
class_names = evaluation.get("class_names") or (getattr(data, "class_names", None) if data else None)
kind = getattr(getattr(data, "info", None), "kind", None) if data else None

VIEWS = ["Results", "Saliency maps", "Activations"]
if state.peek("explain_view") not in VIEWS:
    state.put("explain_view", VIEWS[0])
# One view at a time (a lazy tab bar): the others compute nothing. Each view is a fragment, so a widget
# inside it reruns that view only.
view = st.segmented_control("View", VIEWS, key="explain_view", label_visibility="collapsed") or VIEWS[0]


# -- results -----------------------------------------------------------------------
def metric_cards(ev: dict) -> None:
    shown = [(k, ev[k]) for k in ("accuracy", "macro_f1", "auc", "mse", "mae", "r2", "reconstruction_error")
             if isinstance(ev.get(k), (int, float))]
    if not shown:
        st.info(ev.get("note") or "This run has no test metrics (it may have stopped before the evaluation).")
        return
    labels = {"accuracy": "test accuracy", "macro_f1": "macro F1", "auc": "ROC AUC", "mse": "mean squared error",
              "mae": "mean absolute error", "r2": "R²", "reconstruction_error": "reconstruction error"}
    for col, (k, v) in zip(st.columns(len(shown)), shown, strict=True):
        col.metric(labels[k], f"{v:.1%}" if k == "accuracy" else f"{v:.4g}")
    if ev.get("n"):
        st.caption(f"on {ev['n']} test examples the model never trained on")


def misclassified(items: list[dict]) -> None:
    """Every misclassified test example (the run's `mistakes`; older runs kept only a sample), a page at a time."""
    wrong = predictions.get("mistakes")
    among = f"the {evaluation.get('n') or len(items)} test examples"
    if wrong is None:  # a run from before every mistake was kept
        wrong = [it for it in items if it.get("true") != it.get("predicted")]
        among = f"the {len(items)} test examples kept for display"
    st.markdown("#### Mistakes")
    if not wrong:
        st.caption(f"No mistakes among {among}.")
        return
    st.caption(f"{len(wrong)} of {among} are misclassified.")
    if data is None or kind != "image":
        st.dataframe([{"test item": it["index"], "true": _name(it["true"]), "predicted": _name(it["predicted"])}
                      for it in wrong], hide_index=True)
        return
    pages = -(-len(wrong) // MISTAKES_PER_PAGE)
    page = st.number_input(f"Page (of {pages})", 1, pages, 1, key=f"mistakes_page_{run_id}") if pages > 1 else 1
    shown = wrong[(page - 1) * MISTAKES_PER_PAGE: page * MISTAKES_PER_PAGE]
    cols = st.columns(6)
    for i, it in enumerate(shown):
        with cols[i % len(cols)]:
            st.image(charts.enlarge(charts.to_rgb(data.x_test[it["index"]]), 96), width=96,
                     caption=f"true {_name(it['true'])} · predicted {_name(it['predicted'])}")


def _name(k) -> str:
    try:
        return str(class_names[int(k)]) if class_names else str(k)
    except (IndexError, TypeError, ValueError):
        return str(k)


@st.cache_resource(show_spinner=False, max_entries=64)
def _figure(run: str, stamp: tuple, which: str, _ev: dict, _preds: dict, _names):
    """A results figure of one run, built once per state of its files and shared by all sessions."""
    ev, preds, class_names = _ev, _preds, _names
    if which == "confusion":
        return charts.confusion_heatmap(ev["confusion_matrix"], class_names)
    if which == "roc":
        return charts.roc_figure({c["class"]: c for c in ev.get("roc") or [] if c.get("fpr")})
    if which == "regression":
        items = preds.get("items") or []
        return charts.regression_scatter([np.ravel(it["true"])[0] for it in items],
                                         [np.ravel(it["predicted"])[0] for it in items])
    imgs, titles_ = [], []
    for p in ev["pairs"]:
        imgs += [np.asarray(p["input"]), np.asarray(p["output"])]
        titles_ += [f"input #{p['index']}", f"output (error {p['error']:.3g})"]
    return charts.image_grid(imgs, titles_, cols=4)


@st.fragment
def results_view() -> None:
    status = live.status_of(store, run_id)
    if status.get("evaluation_error"):
        st.warning(f"The evaluation after training failed: {status['evaluation_error']}")
    metric_cards(evaluation)
    items = predictions.get("items") or []
    if task == "classification" and evaluation.get("confusion_matrix"):
        c1, c2 = st.columns(2)
        with c1:
            st.plotly_chart(_figure(run_id, stamp, "confusion", evaluation, predictions, class_names), width="stretch", key="confusion")
        with c2:
            if any(c.get("fpr") for c in evaluation.get("roc") or []):
                st.plotly_chart(_figure(run_id, stamp, "roc", evaluation, predictions, class_names), width="stretch", key="roc")
        misclassified(items)
        if kind == "points":
            live.boundary(folder, key="explain_boundary")  # the decision boundary after the last epoch
    elif task == "regression" and items:
        st.plotly_chart(_figure(run_id, stamp, "regression", evaluation, predictions, class_names), width="stretch", key="regression")
    elif task == "reconstruction" and evaluation.get("pairs"):
        if np.asarray(evaluation["pairs"][0]["input"]).ndim >= 2:
            st.plotly_chart(_figure(run_id, stamp, "pairs", evaluation, predictions, class_names), width="stretch", key="pairs")
        latent_view()
    df = live.metrics_of(store, run_id)
    if not df.empty:
        with st.expander("Training curves of this run"):
            live.curves(df, key="explain_curves", folder=folder)


@st.cache_resource(show_spinner="Placing the test examples on the latent map…", max_entries=16)
def _latent_figure(run: str, mtime: float, _model, _x, _labels, _names):
    from builder.explain import latent_map  # lazy: imports keras

    found = latent_map(_model, _x, _labels)
    return charts.latent_figure(found.coords, found.labels, _names, found.method, found.explained, found.layer)


def latent_view() -> None:
    """Where the test examples land in the autoencoder's code, coloured by their class."""
    model = _model_or_none() if data is not None else None
    if model is None or len(data.x_test) == 0:
        return
    labels = data.labels_test if class_names and data.labels_test is not None else None
    try:
        fig = _latent_figure(run_id, mtime_of_model(), model, data.x_test[:1000], labels[:1000] if labels is not None
                             else None, class_names)
    except Exception as e:  # noqa: BLE001 - the map is an extra: say why it is missing
        st.info(f"No latent map for this model: {jobs.error_text(e)}")
        return
    st.plotly_chart(fig, width="stretch", key="latent_map")
    st.caption("Each dot is a test example at its code, the bottleneck layer; the autoencoder never saw the "
               "classes, so classes that sit apart were told apart by reconstruction alone.")


# -- saliency ----------------------------------------------------------------------
@st.cache_data(show_spinner=False, max_entries=64)
def _attributions(run: str, mtime: float, method: str, indices: tuple, target, opts: tuple, _model, _x) -> np.ndarray:
    from builder.explain import explain  # lazy: imports keras

    return np.asarray(explain(_model, _x, method, target=target, **dict(opts)))


def mtime_of_model() -> float:
    return (folder / runfolder.MODEL).stat().st_mtime


@st.cache_resource(show_spinner=False, max_entries=64)
def _probabilities(run: str, mtime: float, indices: tuple, _model, _x) -> np.ndarray:
    """The model's outputs for the shown test examples, computed once per run and selection."""
    return np.asarray(_model.predict(_x, verbose=0))


@st.cache_resource(show_spinner=False, max_entries=32)
def _feature_maps(run: str, mtime: float, layer: str, index: int, _model, _x):
    """The feature-map figure of one layer for one test example, once per run, layer and example."""
    from builder.explain import activations  # lazy: imports keras

    return charts.feature_maps(activations(_model, layer, _x))


def _model_or_none():
    try:
        return run_data.load_model(folder)
    except Exception as e:  # noqa: BLE001
        st.error(f"Could not load the trained model: {jobs.error_text(e)}")
        return None


def _maps(model, x, indices, methods, target, options=None) -> dict:
    from builder.explain import normalize, to_map  # lazy: imports keras

    mtime = mtime_of_model()
    out = {}
    for m in methods:
        with st.spinner(f"Computing {METHOD_TITLES[m]}…"):
            try:
                opts = tuple(sorted((options or {}).get(m, {}).items()))
                attr = _attributions(run_id, mtime, m, tuple(indices), target, opts, model, x)
                out[m] = normalize(to_map(attr)) if kind == "image" else attr
            except Exception as e:  # noqa: BLE001 - one method failing leaves the others
                st.warning(f"{METHOD_TITLES[m]}: {jobs.error_text(e)}")
    return out


@st.fragment
def saliency_view() -> None:
    model = _model_or_none() if data is not None else None
    if model is None or data is None or len(data.x_test) == 0:
        st.info("Saliency maps need the trained model and the run's test data.")
    elif task != "classification":
        st.info("Saliency maps explain a class score, so they are shown for classification runs.")
    elif kind in ("sound", "text"):
        sound_text_view()
    else:
        from builder.explain import conv_layers, gradcam_layers, overlay  # lazy: imports keras

        has_conv = bool(conv_layers(model))
        offered = [m for m in METHOD_TITLES if m != "gradcam" or has_conv]
        c1, c2, c3, c4 = st.columns([4, 2, 2, 1])
        default = [m for m in GALLERY_DEFAULT if m in offered]
        if kind != "image":
            default = ["integrated_gradients"]
        methods = c1.multiselect("Methods", offered, default=default, format_func=METHOD_TITLES.get, key=f"methods_{run_id}",
                                 help="Vanilla gradient: how much each input value moves the class score. "
                                 "SmoothGrad: the same averaged over noisy copies (less speckle). Integrated "
                                 "Gradients: gradients along a path from a blank input (adds up to the score). "
                                 "Grad-CAM: where the last convolution layer looks. Occlusion: score drop when "
                                 "a patch is hidden.")
        choice = c2.selectbox("Explain the class", [PREDICTED, *(class_names or [])], key="target_class",
                              help="By default each input is explained for the class the model predicts.")
        target = None if choice == PREDICTED else class_names.index(choice)
        options: dict = {}
        n_max = min(12, len(data.x_test))
        count = c3.slider("Test examples", 1, n_max, min(4, n_max), key="n_examples") if n_max > 1 else 1
        start = c4.number_input("First example", 0, max(0, len(data.x_test) - count), 0, key="first_example",
                                help="Index of the first test example shown.")
        if not has_conv:
            st.caption("Grad-CAM needs a convolution layer; this model has none.")
        elif "gradcam" in methods:
            layers = gradcam_layers(model) or conv_layers(model)
            cam_layer = st.columns([1, 3])[0].selectbox("Grad-CAM layer", layers, index=len(layers) - 1,
                                     key="gradcam_layer",
                                     help="The convolution whose feature maps Grad-CAM weighs. The last one usually "
                                     "shows best where the model looks; layers that a skip connection goes around "
                                     "are not offered.")
            options["gradcam"] = {"layer": cam_layer}
        indices = list(range(int(start), int(start) + count))
        x = data.x_test[indices]
        maps = _maps(model, x, indices, methods, target, options)
        probs = _probabilities(run_id, mtime_of_model(), tuple(indices), model, x)
        preds = probs.argmax(-1) if probs.ndim == 2 and probs.shape[-1] > 1 else (probs.ravel() > 0.5).astype(int)
        if kind == "image":
            shown = [m for m in methods if m in maps]
            header = st.columns(len(shown) + 1)
            header[0].markdown("**input**")
            for col, m in zip(header[1:], shown, strict=True):
                col.markdown(f"**{METHOD_TITLES[m]}**")
            for row, i in enumerate(indices):
                cols = st.columns(len(shown) + 1)
                img = data.x_test[i]
                cols[0].image(charts.enlarge(charts.to_rgb(img), 128), width=128,
                              caption=f"true {_name(data.y_test[i])} · predicted {_name(preds[row])}")
                for col, m in zip(cols[1:], shown, strict=True):
                    col.image(charts.enlarge(overlay(img, maps[m][row]), 128), width=128)
        else:
            row = st.selectbox("Example", list(range(len(indices))), format_func=lambda r: f"test item {indices[r]}",
                               key="bar_example")
            names = run_data.feature_names(folder) if kind == "table" else None
            for m in methods:
                if m not in maps:
                    continue
                from builder.explain import per_feature, per_step  # lazy: imports keras

                attr = maps[m]
                if attr.ndim == 2:
                    values, axis = per_feature(attr)[row], "feature"
                else:
                    values, axis = per_step(attr, signed=True)[row], "time step"
                st.markdown(f"**{METHOD_TITLES[m]}** — true {_name(data.y_test[indices[row]])}, "
                            f"predicted {_name(preds[row])}")
                st.plotly_chart(charts.attribution_bars(values, names if axis == "feature" else None, axis),
                                width="stretch", key=f"bars_{m}")


def sound_text_view() -> None:
    """A sound run: saliency over the model's own spectrogram of a test clip. A text run: each word's share in the
    answer for a test sentence, as highlighted words."""
    try:
        trained = predict.open_run(folder)
    except ValueError as e:
        st.info(f"Explaining needs the run's deployable model: {jobs.error_text(e)}")
        return
    c1, c2 = st.columns(2)
    i = int(c1.number_input(f"Test example (of {len(data.x_test)})", 0, len(data.x_test) - 1, 0, key="st_example"))
    choice = c2.selectbox("Explain the class", [PREDICTED, *(class_names or [])], key="target_class",
                          help="By default the example is explained for the class the model predicts.")
    target = None if choice == PREDICTED else class_names.index(choice)
    raw = trained.from_sentence(np.ravel(data.x_test[i])[0]) if kind == "text" else data.x_test[i]
    answer = trained.answer(raw, method=None)
    st.markdown(f"true **{_name(data.y_test[i])}** · predicted **{answer.label}** "
                f"({answer.probabilities[answer.index]:.0%})")
    try:
        with st.spinner("Explaining…"):
            if kind == "text":
                scores = trained.word_scores(str(raw[0]), target)
                st.caption(f"Each word left out in turn: how far the probability of “{_name(scores.target)}” falls "
                           "without it.")
                st.html(charts.word_highlights(scores.words, scores.scores))
                return
            picture, saliency = trained.sound_saliency(raw, target)
    except ValueError as e:
        st.warning(jobs.error_text(e))
        return
    st.audio(np.asarray(raw, np.float32), sample_rate=int((data.info.extra or {}).get("rate", audio.RATE)))
    st.plotly_chart(charts.sound_saliency_figure(picture, saliency), width="stretch", key="sound_saliency")


# -- activations --------------------------------------------------------------------
@st.fragment
def activations_view() -> None:
    model = _model_or_none() if data is not None else None
    if model is None or data is None or len(data.x_test) == 0:
        st.info("Activations need the trained model and the run's test data.")
    else:
        from builder.explain import feature_layers  # lazy: imports keras

        layers = feature_layers(model) or [layer.name for layer in model.layers[1:]]
        c1, c2 = st.columns([2, 1])
        layer = c1.selectbox("Layer", layers, key="act_layer", help="What this layer computes for one test example.")
        i = c2.number_input("Test example", 0, len(data.x_test) - 1, 0, key="act_example")
        if kind == "image":
            st.image(charts.enlarge(charts.to_rgb(data.x_test[int(i)]), 96), width=96,
                     caption=f"test example {int(i)} (true {_name(data.y_test[int(i)])})")
        try:
            with st.spinner("Computing the feature maps…"):
                fig = _feature_maps(run_id, mtime_of_model(), layer, int(i), model, data.x_test[int(i)])
            st.plotly_chart(fig, width="stretch", key="feature_maps")
        except Exception as e:  # noqa: BLE001
            st.error(f"Could not compute the activations of '{layer}': {jobs.error_text(e)}")


{"Results": results_view, "Saliency maps": saliency_view, "Activations": activations_view}[view]()
