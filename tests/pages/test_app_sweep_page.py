"""AppTest: the Sweep page's form (from the engine's declarations and checks) and its view of a sweep folder."""
import copy
import json
import types
from pathlib import Path

import optuna
import pytest
from app_train_fixtures import DIGITS_SPEC, METRICS, write_run
from streamlit.testing.v1 import AppTest

from builder.store import runfolder
from builder.sweep.study import Sweep

PAGE = str(Path(__file__).resolve().parents[2] / "pages" / "sweep.py")
DATA = {"dataset": "digits", "options": {}, "validation_split": 0.2, "test_split": 0.2}
ME = "me-workspace-001"


@pytest.fixture
def folders(tmp_path, monkeypatch):
    monkeypatch.setenv("LAYERLAB_RUNS_DIR", str(tmp_path / "runs"))
    monkeypatch.setenv("LAYERLAB_SWEEPS_DIR", str(tmp_path / "sweeps"))
    monkeypatch.setenv("LAYERLAB_PREWARM", "0")
    (tmp_path / "runs").mkdir()
    return tmp_path


def page(training=None) -> AppTest:
    at = AppTest.from_file(PAGE, default_timeout=60)
    at.session_state["ws"] = ME
    at.session_state["spec"] = copy.deepcopy(DIGITS_SPEC)
    at.session_state["data"] = dict(DATA)
    at.session_state["augmentation"] = []
    at.session_state["training"] = dict(training or {})
    return at.run()


def test_the_form_offers_the_settings_the_model_has_and_checks_the_ranges(folders):
    at = page()
    assert not at.exception
    varied = {box.label for box in at.checkbox if box.key.startswith("sweep_vary_")}
    assert varied == {"vary the learning rate", "vary the batch size", "vary the hidden layer units"}  # no Dropout
    assert at.number_input(key="sweep_learning_rate_low").value == pytest.approx(0.0001)  # Adam's usual range
    assert not at.button(key="sweep_start").disabled and not at.warning
    at.number_input(key="sweep_learning_rate_low").set_value(0.5).run()
    assert at.button(key="sweep_start").disabled
    assert [w.value for w in at.warning] == [
        "sweep: the range of 'learning_rate' is upside down (low 0.5 is above high 0.03); swap them"]
    at.number_input(key="sweep_learning_rate_low").set_value(0.0001).run()
    at.number_input(key="sweep_trials").set_value(500).run()
    assert at.button(key="sweep_start").disabled
    assert "500 trials is more than a sweep may have here" in at.warning[0].value


def made_sweep(folders) -> Sweep:
    """A finished sweep of three trials over hand-written run folders (no training)."""
    experiment = {"format": "layerlab/experiment@1", "model": DIGITS_SPEC, "data": DATA, "augmentation": [],
                  "training": {}, "sweep": {"trials": 3, "space": {"learning_rate": {"low": 0.001, "high": 0.1}}}}
    sweep = Sweep.create(folders / "sweeps" / "s1", experiment, types.SimpleNamespace(root=folders / "runs"),
                         workspace=ME)
    study = sweep.study()
    for number, (rate, scale, state) in enumerate(((0.01, 1.0, "completed"), (0.05, 0.9, "completed"),
                                                   (0.09, 0.5, "pruned"))):
        rows = [{**row, "val_accuracy": row["val_accuracy"] * scale} for row in METRICS]
        folder = write_run(folders / "runs", f"trial-{number}", status=state, metrics=rows, workspace=ME)
        runfolder.write_status(folder, name=f"MLP on digits · {number + 1}")  # as the job manager names a run
        study.enqueue_trial({"learning_rate": rate})
        trial = study.ask()
        assert trial.suggest_float("learning_rate", 0.001, 0.1) == rate
        trial.set_user_attr("run", f"trial-{number}")
        for row in rows:
            trial.report(row["val_accuracy"], row["epoch"])
        if state == "completed":
            study.tell(trial, max(r["val_accuracy"] for r in rows))
        else:
            study.tell(trial, state=optuna.trial.TrialState.PRUNED)
    sweep._set(status="completed")
    return sweep


def test_the_view_shows_every_trial_the_plots_and_takes_the_best_settings_to_train(folders):
    sweep = made_sweep(folders)
    best = sweep.summary()["best"]
    at = page()
    assert not at.exception
    [table] = [frame.value for frame in at.dataframe]
    assert list(table["trial"]) == [0, 1, 2]
    assert list(table["run"]) == ["MLP on digits · 1", "MLP on digits · 2", "MLP on digits · 3"]  # names, not ids
    assert [s.split()[-1] for s in table["state"]] == ["completed", "completed", "pruned"]
    assert list(table["learning rate"]) == pytest.approx([0.01, 0.05, 0.09])  # the setting's words, not its key
    assert list(table["validation accuracy"][:2]) == pytest.approx([t.value for t in sweep.study().trials[:2]])
    assert ("**Sweep finished** · 3 of 3 trials done (2 completed, 1 pruned, 0 failed)"
            in [m.value for m in at.markdown])
    charts = {c.proto.id.split("-", 2)[-1] for c in at.get("plotly_chart")}  # the id ends with the widget key
    assert charts == {"sweep_curves", "sweep_plot_plot_parallel_coordinate", "sweep_plot_plot_slice",
                      "sweep_plot_plot_param_importances"}
    for chart in at.get("plotly_chart"):  # Optuna's plots name the settings and the score in words
        figure = json.loads(chart.proto.spec)
        axes = [v for k, v in figure["layout"].items() if k.startswith("xaxis")]
        shown = [a.get("title", {}).get("text") for a in axes] + [t for a in axes for t in a.get("ticktext", [])]
        if "parallel_coordinate" in chart.proto.id:
            assert figure["layout"]["xaxis"]["ticktext"] == ["validation accuracy", "learning rate"]
        if "plot_slice" in chart.proto.id:
            assert "learning rate" in shown
        assert "learning_rate" not in shown and "Objective Value" not in shown, shown
    assert at.success[0].value == (f"Best validation accuracy: {best['value']:.1%}, by trial 0 (MLP on "
                                   "digits · 1) with learning rate 0.01")
    at.button(key="sweep_use_best").click().run()
    assert at.session_state["training"]["learning_rate"] == pytest.approx(best["params"]["learning_rate"])
    assert any("The best settings are now on the Train page" in s.value for s in at.success)
