"""ui/charts.py: the figures carry exactly the numbers they were given."""
import numpy as np
import pandas as pd
import pytest

from ui import charts


@pytest.fixture
def metrics():
    return pd.DataFrame({
        "epoch": [1, 2, 3],
        "loss": [1.0, 0.6, 0.4], "val_loss": [1.1, 0.8, 0.7],
        "accuracy": [0.5, 0.7, 0.8], "val_accuracy": [0.45, 0.6, 0.65],
        "time_s": [0.3, 0.3, 0.3],
    })


def test_metric_names_put_loss_first_and_skip_bookkeeping(metrics):
    df = metrics[["epoch", "accuracy", "val_accuracy", "loss", "val_loss", "time_s"]]
    assert charts.metric_names(df) == ["loss", "accuracy"]


def test_training_curves_traces_equal_the_metrics(metrics):
    fig = charts.training_curves(metrics)
    by_col = {t.meta: t for t in fig.data}
    assert set(by_col) == {"loss", "val_loss", "accuracy", "val_accuracy"}
    for col, trace in by_col.items():
        assert list(trace.x) == [1, 2, 3]
        assert list(trace.y) == metrics[col].tolist()
    # loss panel on the first x-axis, accuracy on the second
    assert by_col["loss"].xaxis == "x" and by_col["accuracy"].xaxis == "x2"
    assert [a.text for a in fig.layout.annotations] == ["loss", "accuracy"]


def test_the_switch_to_fine_tuning_is_a_line_between_the_phases_on_every_panel(metrics):
    fig = charts.training_curves(metrics, fine_tune_from=3)  # epochs 1-2 the head, 3 on the whole model
    lines = [s for s in fig.layout.shapes if s.type == "line"]
    assert [(s.x0, s.x1, s.xref) for s in lines] == [(2.5, 2.5, "x"), (2.5, 2.5, "x2")]
    assert [a.text for a in fig.layout.annotations].count("fine-tuning") == 2
    assert not charts.training_curves(metrics).layout.shapes  # no fine-tuning: no line
    assert not charts.training_curves(metrics, fine_tune_from="3").layout.shapes  # a damaged status: no line


def test_training_curves_without_validation_draw_train_only():
    df = pd.DataFrame({"epoch": [1, 2], "loss": [0.9, 0.5]})
    fig = charts.training_curves(df)
    assert [t.name for t in fig.data] == ["train"]
    assert list(fig.data[0].y) == [0.9, 0.5]


def test_overlay_curves_one_line_per_run_and_split(metrics):
    other = metrics.assign(loss=[2.0, 1.0, 0.5])
    fig = charts.overlay_curves({"run-a": metrics, "run-b": other}, "loss")
    names = [t.name for t in fig.data]
    assert names == ["run-a", "run-a (val)", "run-b", "run-b (val)"]
    assert list(fig.data[2].y) == [2.0, 1.0, 0.5]


def test_confusion_heatmap_z_is_the_matrix():
    cm = np.array([[5, 1, 0], [2, 7, 1], [0, 0, 9]])
    fig = charts.confusion_heatmap(cm, ["cat", "dog", "fish"])
    heat = fig.data[0]
    assert np.array_equal(np.array(heat.z), cm)
    assert list(heat.x) == ["cat", "dog", "fish"] and list(heat.y) == ["cat", "dog", "fish"]
    assert heat.texttemplate == "%{z}"  # every cell annotated with its count


def test_roc_figure_keeps_points_and_reports_auc():
    curves = {"1": {"fpr": [0, 0.2, 1], "tpr": [0, 0.9, 1], "auc": 0.85}}
    fig = charts.roc_figure(curves)
    assert list(fig.data[0].x) == [0, 0.2, 1] and list(fig.data[0].y) == [0, 0.9, 1]
    assert "0.850" in fig.data[0].name
    assert fig.data[-1].name == "chance"


def test_regression_scatter_points_and_diagonal():
    fig = charts.regression_scatter([1.0, 2.0, 3.0], [1.5, 2.0, 2.5])
    assert list(fig.data[0].x) == [1.0, 2.0, 3.0] and list(fig.data[0].y) == [1.5, 2.0, 2.5]
    assert list(fig.data[1].x) == [1.0, 3.0] == list(fig.data[1].y)


def test_boundary_figure_argmax_classes_and_points():
    ax = np.linspace(-1, 1, 4)
    xx, yy = np.meshgrid(ax, ax)
    probs = np.stack([(xx < 0).astype(float), (xx >= 0).astype(float)], axis=-1)
    pts = np.array([[-0.5, 0.0], [0.5, 0.1], [0.7, -0.3]])
    fig = charts.boundary_figure(xx, yy, probs, pts, [0, 1, 1], ["left", "right"])
    contour = fig.data[0]
    assert np.array_equal(np.array(contour.z), (xx >= 0).astype(int))
    assert list(contour.x) == ax.tolist()
    right = [t for t in fig.data if t.name == "right"][0]
    assert list(right.x) == [0.5, 0.7] and list(right.y) == [0.1, -0.3]


def test_boundary_figure_single_sigmoid_shows_probability():
    probs = np.full((3, 3, 1), 0.25)
    fig = charts.boundary_figure(np.arange(3), np.arange(3), probs)
    assert np.allclose(np.array(fig.data[0].z), 0.25)


def test_to_rgb_scales_gray_floats_to_uint8():
    img = np.array([[0.0, 0.5], [1.0, 0.25]])[..., None]
    rgb = charts.to_rgb(img)
    assert rgb.shape == (2, 2, 3) and rgb.dtype == np.uint8
    assert rgb[1, 0].tolist() == [255, 255, 255] and rgb[0, 0].tolist() == [0, 0, 0]


def test_image_grid_one_image_trace_per_input():
    imgs = [np.full((4, 4), i, dtype=float) for i in range(5)]
    imgs[0][0, 0] = 1.0
    fig = charts.image_grid(imgs, titles=[f"t{i}" for i in range(5)], cols=3)
    assert len(fig.data) == 5
    assert [a.text for a in fig.layout.annotations][:5] == ["t0", "t1", "t2", "t3", "t4"]
    assert np.array(fig.data[0].z).shape == (4, 4, 3)


def test_feature_maps_one_heatmap_per_channel():
    acts = np.arange(2 * 3 * 5, dtype=float).reshape(1, 2, 3, 5)
    fig = charts.feature_maps(acts, cols=4)
    assert len(fig.data) == 5
    assert np.array_equal(np.array(fig.data[4].z), acts[0, ..., 4])


def test_attribution_bars_sign_colours():
    fig = charts.attribution_bars([0.5, -0.2], ["age", "income"])
    bar = fig.data[0]
    assert list(bar.x) == ["age", "income"] and list(bar.y) == [0.5, -0.2]
    assert list(bar.marker.color) == ["#d62728", "#1f77b4"]


def test_metric_names_skip_time_and_learning_rate_columns():
    df = pd.DataFrame({"epoch": [1], "loss": [0.5], "elapsed_s": [3.0], "learning_rate": [0.001], "partial": [False]})
    assert charts.metric_names(df) == ["loss"]


def test_enlarge_is_nearest_neighbour():
    a = np.arange(4, dtype=np.uint8).reshape(2, 2)
    big = charts.enlarge(a, 8)
    assert big.shape == (8, 8) and (big[:4, :4] == 0).all() and (big[4:, 4:] == 3).all()
