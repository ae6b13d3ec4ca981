"""Plotly figure builders for the Train, Explain and Runs pages.

Pure functions from DataFrames and arrays to `plotly.graph_objects.Figure`:
no Streamlit here, so every figure can be unit-tested on known values.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

# Columns of metrics.jsonl that are bookkeeping, not curves.
NOT_CURVES = {"epoch", "time_s", "time", "elapsed_s", "partial", "lr", "learning_rate"}
TRAIN_COLOR = "#1f77b4"
VAL_COLOR = "#ff7f0e"
FINE_TUNE_COLOR = "#52606d"  # the slate of a frozen base on the canvas
PALETTE = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf")


def _layout(fig: go.Figure, height: int = 320, **kw) -> go.Figure:
    fig.update_layout(height=height, margin=dict(l=10, r=10, t=40, b=10), template="plotly_white", **kw)
    return fig


def metric_names(df: pd.DataFrame) -> list[str]:
    """Base metric names in a metrics table: `loss` first, then the rest, without `val_`."""
    names = []
    for col in df.columns:
        base = col[4:] if col.startswith("val_") else col
        if base in NOT_CURVES or base in names:
            continue
        if not pd.api.types.is_numeric_dtype(df[col]):
            continue
        names.append(base)
    return sorted(names, key=lambda n: (n != "loss", names.index(n)))


def _epochs(df: pd.DataFrame) -> list:
    return df["epoch"].tolist() if "epoch" in df.columns else list(range(1, len(df) + 1))


def training_curves(df: pd.DataFrame, title: str = "", fine_tune_from: int | None = None) -> go.Figure:
    """One panel per metric (loss first), train and validation as two lines; with `fine_tune_from` (the first
    fine-tuning epoch of a transfer run) a dashed line where the base's layers start to learn."""
    names = metric_names(df) or ["loss"]
    fig = make_subplots(rows=1, cols=len(names), subplot_titles=names, horizontal_spacing=0.08)
    x = _epochs(df)
    for i, name in enumerate(names, start=1):
        for col, label, color in ((name, "train", TRAIN_COLOR), (f"val_{name}", "validation", VAL_COLOR)):
            if col not in df.columns:
                continue
            fig.add_trace(
                go.Scatter(x=x, y=df[col].tolist(), mode="lines+markers", name=label, legendgroup=label,
                           showlegend=i == 1, line=dict(color=color), meta=col),
                row=1, col=i,
            )
        fig.update_xaxes(title_text="epoch", row=1, col=i)
        if isinstance(fine_tune_from, int) and fine_tune_from > 1:
            fig.add_vline(x=fine_tune_from - 0.5, line=dict(dash="dash", color=FINE_TUNE_COLOR), row=1, col=i,
                          annotation=dict(text="fine-tuning", font=dict(color=FINE_TUNE_COLOR)))
    return _layout(fig, title=title or None, legend=dict(orientation="h", y=-0.25))


def overlay_curves(tables: dict[str, pd.DataFrame], metric: str) -> go.Figure:
    """The same metric of several runs on one chart (solid train, dotted validation)."""
    fig = go.Figure()
    for i, (label, df) in enumerate(tables.items()):
        color = PALETTE[i % len(PALETTE)]
        x = _epochs(df)
        for col, dash, suffix in ((metric, "solid", ""), (f"val_{metric}", "dot", " (val)")):
            if col in df.columns:
                fig.add_trace(go.Scatter(x=x, y=df[col].tolist(), mode="lines+markers", name=f"{label}{suffix}",
                                         line=dict(color=color, dash=dash), meta=col))
    fig.update_xaxes(title_text="epoch")
    fig.update_yaxes(title_text=metric)
    return _layout(fig, height=420, title=metric, legend=dict(orientation="h", y=-0.2))


def confusion_heatmap(matrix, class_names: list[str] | None = None) -> go.Figure:
    """Confusion matrix as an annotated heatmap: rows are true classes, columns predicted."""
    z = np.asarray(matrix)
    n = z.shape[0]
    names = [str(c) for c in (class_names or range(n))]
    fig = go.Figure(go.Heatmap(z=z.tolist(), x=names, y=names, colorscale="Blues", texttemplate="%{z}",
                               hovertemplate="true %{y}<br>predicted %{x}<br>%{z} items<extra></extra>"))
    fig.update_xaxes(title_text="predicted", type="category", side="bottom")
    fig.update_yaxes(title_text="true", type="category", autorange="reversed")
    size = min(700, 160 + 40 * n)
    return _layout(fig, height=size, title="Confusion matrix")


def roc_figure(curves: dict[str, dict]) -> go.Figure:
    """ROC curves: `{label: {"fpr": [...], "tpr": [...], "auc": float}}` plus the chance diagonal."""
    fig = go.Figure()
    for i, (label, c) in enumerate(curves.items()):
        auc = c.get("auc")
        name = f"{label} (AUC {auc:.3f})" if isinstance(auc, (int, float)) else str(label)
        fig.add_trace(go.Scatter(x=list(c["fpr"]), y=list(c["tpr"]), mode="lines", name=name,
                                 line=dict(color=PALETTE[i % len(PALETTE)])))
    fig.add_trace(go.Scatter(x=[0, 1], y=[0, 1], mode="lines", name="chance", line=dict(color="#aaa", dash="dash")))
    fig.update_xaxes(title_text="false positive rate", range=[0, 1])
    fig.update_yaxes(title_text="true positive rate", range=[0, 1.02])
    return _layout(fig, height=420, title="ROC curves")


def regression_scatter(y_true, y_pred) -> go.Figure:
    """Predicted against true values, with the y = x line a perfect model would sit on."""
    t = np.asarray(y_true, dtype=float).ravel()
    p = np.asarray(y_pred, dtype=float).ravel()
    lo, hi = (float(min(t.min(), p.min())), float(max(t.max(), p.max()))) if t.size else (0.0, 1.0)
    fig = go.Figure(go.Scatter(x=t.tolist(), y=p.tolist(), mode="markers", name="test items", opacity=0.7))
    fig.add_trace(go.Scatter(x=[lo, hi], y=[lo, hi], mode="lines", name="perfect", line=dict(color="#aaa", dash="dash")))
    fig.update_xaxes(title_text="true")
    fig.update_yaxes(title_text="predicted")
    return _layout(fig, height=420, title="Predicted vs true")


def boundary_figure(xx, yy, probs, points=None, labels=None, class_names: list[str] | None = None,
                    test_points=None, test_labels=None) -> go.Figure:
    """Decision boundary: the predicted class over a grid as a filled contour, the training points on top
    (filled, coloured by class) and the test points outlined.

    `xx`, `yy` are 2-D grid coordinates (or 1-D axes); `probs` is (gh, gw, classes)
    or (gh, gw) for one sigmoid output.
    """
    xx, yy, probs = np.asarray(xx), np.asarray(yy), np.asarray(probs, dtype=float)
    x_axis = xx[0] if xx.ndim == 2 else xx
    y_axis = yy[:, 0] if yy.ndim == 2 else yy
    if probs.ndim == 2 or probs.shape[-1] == 1:  # one sigmoid unit: P(class 1)
        z = probs.reshape(probs.shape[0], probs.shape[1])
        contour = go.Contour(x=x_axis.tolist(), y=y_axis.tolist(), z=z.tolist(), colorscale="RdBu_r", zmin=0, zmax=1, opacity=0.55,
                             contours=dict(start=0, end=1, size=0.1), colorbar=dict(title="P(class 1)"),
                             name="P(class 1)", hoverinfo="skip")
    else:
        z = probs.argmax(axis=-1)
        contour = go.Contour(x=x_axis.tolist(), y=y_axis.tolist(), z=z.tolist(), colorscale=_class_scale(probs.shape[-1]), opacity=0.45,
                             showscale=False, contours=dict(coloring="fill", start=-0.5, end=probs.shape[-1] - 0.5, size=1),
                             line=dict(width=0), name="predicted class", hoverinfo="skip")
    fig = go.Figure(contour)
    if points is not None:
        pts = np.asarray(points, dtype=float)
        lab = np.zeros(len(pts), dtype=int) if labels is None else np.asarray(labels).astype(int).ravel()
        for k in np.unique(lab):
            sel = lab == k
            name = class_names[k] if class_names and k < len(class_names) else f"class {k}"
            fig.add_trace(go.Scatter(x=pts[sel, 0].tolist(), y=pts[sel, 1].tolist(), mode="markers", name=str(name),
                                     marker=dict(color=PALETTE[k % len(PALETTE)], size=6, line=dict(color="white", width=0.5))))
    if test_points is not None and len(test_points):
        pts = np.asarray(test_points, dtype=float)
        lab = np.asarray(test_labels).astype(int).ravel()
        for k in np.unique(lab):
            sel = lab == k
            name = class_names[k] if class_names and k < len(class_names) else f"class {k}"
            fig.add_trace(go.Scatter(x=pts[sel, 0].tolist(), y=pts[sel, 1].tolist(), mode="markers",
                                     name=f"{name} (test)", meta="test",
                                     marker=dict(color=PALETTE[k % len(PALETTE)], size=8, symbol="circle-open",
                                                 line=dict(width=2))))
    fig.update_yaxes(scaleanchor="x", scaleratio=1)
    return _layout(fig, height=420, title="Decision boundary")


def latent_figure(coords, labels=None, class_names: list[str] | None = None, method: str = "code",
                  explained: float = 1.0, layer: str = "code") -> go.Figure:
    """An autoencoder's latent map: one point per example at its code (or the code's first two principal
    axes), coloured by class when labels are given."""
    pts = np.asarray(coords, dtype=float)
    lab = np.zeros(len(pts), dtype=int) if labels is None else np.asarray(labels).astype(int).ravel()
    fig = go.Figure()
    for k in np.unique(lab):
        sel = lab == k
        name = "examples" if labels is None else class_names[k] if class_names and k < len(class_names) else f"class {k}"
        fig.add_trace(go.Scatter(x=pts[sel, 0].tolist(), y=pts[sel, 1].tolist(), mode="markers", name=str(name),
                                 marker=dict(color=PALETTE[k % len(PALETTE)], size=6, opacity=0.8)))
    axes = ("code 1", "code 2") if method == "code" else ("principal axis 1", "principal axis 2")
    fig.update_xaxes(title_text=axes[0])
    fig.update_yaxes(title_text=axes[1])
    title = (f"Latent map: the 2 numbers of '{layer}'" if method == "code" else
             f"Latent map: '{layer}' on its first two principal axes ({explained:.0%} of its spread)")
    return _layout(fig, height=460, title=title)


def _class_scale(n: int) -> list:
    """A discrete colorscale: class k gets PALETTE[k] over its integer band."""
    if n <= 1:
        return [[0, PALETTE[0]], [1, PALETTE[0]]]
    scale = []
    for k in range(n):
        color = PALETTE[k % len(PALETTE)]
        scale += [[k / n, color], [(k + 1) / n, color]]
    return scale


def to_rgb(image) -> np.ndarray:
    """Any image array (h, w), (h, w, 1), (h, w, 3) of floats or ints -> uint8 RGB for display."""
    a = np.asarray(image)
    if a.ndim == 3 and a.shape[-1] == 1:
        a = a[..., 0]
    if a.ndim == 3 and a.shape[-1] == 4:
        a = a[..., :3]
    if a.dtype != np.uint8:
        a = a.astype(float)
        lo, hi = float(np.nanmin(a)), float(np.nanmax(a))
        a = (a - lo) / (hi - lo) if hi > lo else np.zeros_like(a)
        a = np.clip(np.nan_to_num(a) * 255, 0, 255).astype(np.uint8)
    if a.ndim == 2:
        a = np.stack([a] * 3, axis=-1)
    return a


def enlarge(rgb, size: int = 96) -> np.ndarray:
    """Nearest-neighbour upscale so tiny images (8×8 digits) show crisp instead of blurred."""
    a = np.asarray(rgb)
    factor = max(1, int(size) // max(1, max(a.shape[:2])))
    return np.repeat(np.repeat(a, factor, axis=0), factor, axis=1) if factor > 1 else a


def png_data_url(rgb) -> str:
    """A uint8 RGB array as a `data:image/png` URL: encoded once, then drawn as often as needed
    without Streamlit opening and re-encoding the picture each time."""
    import base64
    import io

    from PIL import Image

    buf = io.BytesIO()
    # the fastest compression: a live picture is encoded for every epoch of every run a class trains (the
    # default level took twice as long, 0.35 ms a saliency pair, for files a sixth smaller)
    Image.fromarray(np.asarray(rgb, dtype=np.uint8)).save(buf, format="PNG", compress_level=1)
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


def image_grid(images, titles: list[str] | None = None, cols: int = 6, height_per_row: int = 150) -> go.Figure:
    """A grid of images (any shape `to_rgb` takes) with a title over each."""
    images = list(images)
    n = max(1, len(images))
    cols = max(1, min(cols, n))
    rows = (n + cols - 1) // cols
    titles = [str(t) for t in (titles or [""] * len(images))]
    fig = make_subplots(rows=rows, cols=cols, subplot_titles=titles + [""] * (rows * cols - len(titles)),
                        horizontal_spacing=0.02, vertical_spacing=0.12 / rows)
    for i, img in enumerate(images):
        fig.add_trace(go.Image(z=to_rgb(img), hoverinfo="skip"), row=i // cols + 1, col=i % cols + 1)
    fig.update_xaxes(visible=False)
    fig.update_yaxes(visible=False)
    fig.update_annotations(font_size=11)
    return _layout(fig, height=rows * height_per_row + 40)


def feature_maps(acts, max_maps: int = 32, cols: int = 8) -> go.Figure:
    """Feature maps of one input, (h, w, channels) -> a grid of heatmaps, one per channel."""
    a = np.asarray(acts, dtype=float)
    if a.ndim == 4:  # a batch of one
        a = a[0]
    if a.ndim == 1:  # a dense layer: one bar per unit
        fig = go.Figure(go.Bar(x=list(range(a.size)), y=a.tolist()))
        fig.update_xaxes(title_text="unit")
        return _layout(fig, title="Activations")
    if a.ndim == 2:  # (steps, channels) sequence or a single map: show as one heatmap
        fig = go.Figure(go.Heatmap(z=a.T.tolist(), colorscale="Viridis"))
        fig.update_xaxes(title_text="position")
        fig.update_yaxes(title_text="channel")
        return _layout(fig, title="Activations")
    n = min(a.shape[-1], max_maps)
    cols = min(cols, n)
    rows = (n + cols - 1) // cols
    fig = make_subplots(rows=rows, cols=cols, subplot_titles=[f"#{k}" for k in range(n)],
                        horizontal_spacing=0.01, vertical_spacing=0.08 / rows)
    for k in range(n):
        fig.add_trace(go.Heatmap(z=a[..., k].tolist(), colorscale="Viridis", showscale=False),
                      row=k // cols + 1, col=k % cols + 1)
    fig.update_xaxes(visible=False)
    fig.update_yaxes(visible=False, autorange="reversed")
    fig.update_annotations(font_size=10)
    return _layout(fig, height=rows * 110 + 40)


def attribution_bars(values, names: list[str] | None = None, axis_title: str = "feature") -> go.Figure:
    """Per-feature (tabular) or per-time-step (sequence) attributions as bars, positive red, negative blue."""
    v = np.asarray(values, dtype=float).ravel()
    x = [str(n) for n in names] if names is not None else list(range(len(v)))
    colors = ["#d62728" if val >= 0 else "#1f77b4" for val in v]
    fig = go.Figure(go.Bar(x=x, y=v.tolist(), marker_color=colors))
    fig.update_xaxes(title_text=axis_title, type="category")
    fig.update_yaxes(title_text="attribution")
    return _layout(fig, height=340)


def class_balance(counts: dict) -> go.Figure:
    """Bar chart of per-class counts (used for the test-set summary)."""
    fig = go.Figure(go.Bar(x=[str(k) for k in counts], y=list(counts.values())))
    return _layout(fig, height=260)


def spectrogram_figure(db, freqs, times) -> go.Figure:
    """A clip's spectrogram (datasets.audio.spectrogram): loudness in dB over time (x) and frequency (y)."""
    fig = go.Figure(go.Heatmap(z=np.asarray(db), x=np.asarray(times), y=np.asarray(freqs), colorscale="Viridis",
                               colorbar={"title": "dB"}, hovertemplate="%{x:.2f} s · %{y:.0f} Hz · %{z:.0f} dB<extra></extra>"))
    fig.update_xaxes(title_text="time (s)")
    fig.update_yaxes(title_text="frequency (Hz)")
    return _layout(fig, height=300)


def sound_saliency_figure(picture, saliency) -> go.Figure:
    """The model's own spectrogram of a clip (bands × frames) next to where it listened (saliency, 0..1)."""
    fig = make_subplots(rows=1, cols=2, subplot_titles=("what the model hears (its spectrogram)",
                                                        "where it listened (saliency)"), horizontal_spacing=0.08)
    fig.add_trace(go.Heatmap(z=np.asarray(picture), colorscale="Viridis", showscale=False,
                             hovertemplate="frame %{x} · band %{y}<extra></extra>"), 1, 1)
    fig.add_trace(go.Heatmap(z=np.asarray(saliency), colorscale="Hot", reversescale=True, zmin=0, zmax=1,
                             colorbar={"title": "saliency"}, hovertemplate="frame %{x} · band %{y} · %{z:.2f}<extra></extra>"), 1, 2)
    fig.update_xaxes(title_text="time (frames)")
    fig.update_yaxes(title_text="frequency band (low → high)", col=1)
    return _layout(fig, height=300)


def word_highlights(words: list[str], scores: list[float]) -> str:
    """Words as HTML spans coloured by their attribution (red: spoke for the class, blue: against; stronger colour,
    bigger share), with a legend. Every word is escaped: a sentence is the student's own text."""
    import html

    top = max((abs(s) for s in scores), default=0.0) or 1.0

    def span(text: str, score: float) -> str:
        rgb = "214,39,40" if score >= 0 else "31,119,180"
        return (f'<span title="{score:+.3f}" style="background:rgba({rgb},{abs(score) / top:.2f});padding:2px 4px;'
                f'margin:1px;border-radius:4px;line-height:2">{html.escape(text)}</span>')

    sentence = " ".join(span(w, float(s)) for w, s in zip(words, scores, strict=True))
    legend = (f'<div style="font-size:0.85em;margin-top:6px">{span("spoke for the class", top)} '
              f'{span("spoke against it", -top)} · paler: mattered less (hover a word for its share)</div>')
    return f'<div style="font-size:1.15em">{sentence}</div>{legend}'
