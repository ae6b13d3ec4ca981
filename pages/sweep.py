"""Sweep: try many settings at once (Optuna), watch every trial live, take the best settings to Train.

The form is generated from the engine's declarations (builder.sweep.space: which settings can vary, their
default ranges; builder.experiments.experiment.HYPERPARAMS: their words); the engine checks it and runs it. The live view
polls the sweep's study and its trials' run folders.
"""
from __future__ import annotations

import plotly.graph_objects as go
import streamlit as st

from builder import limits
from builder.experiments.experiment import HYPERPARAMS, problem_text
from builder.sweep import space
from ui import jobs, state, sweeps
from ui.navigation import require_app
from ui.train_form import show_changes

POLL_SECONDS = 1.0
LABELS = {"learning_rate": "learning rate", "batch_size": "batch size", "units": "hidden layer units",
          "dropout": "dropout rate"}
STATE_ICONS = {"running": "▶", "completed": "✓", "pruned": "✂", "failed": "✗"}  # in every font (no emoji: tofu)

require_app()
state.init()
st.header("Sweep: let Optuna try settings for you")
st.caption("A sweep trains the model many times with different settings and keeps the best. Trials that "
           "clearly fall behind are stopped early (pruned), so more settings get tried in the same time.")


def _range_inputs(name: str, dim: dict) -> dict:
    """Low and high boxes for one setting's range (log scale kept)."""
    step = HYPERPARAMS[name].step if name in HYPERPARAMS else (1 if name == "units" else 0.05)
    fmt = "%.5f" if name == "learning_rate" else None
    cast = int if name == "units" else float
    with st.container(horizontal=True, gap="small"):
        low = st.number_input("from", value=cast(dim["low"]), step=cast(step or 1), format=fmt,
                              key=f"sweep_{name}_low", width=170)
        high = st.number_input("to", value=cast(dim["high"]), step=cast(step or 1), format=fmt,
                               key=f"sweep_{name}_high", width=170)
    return {**dim, "low": low, "high": high}


def sweep_form(experiment: dict) -> dict:
    """The `sweep` key the student chooses: which settings vary, their ranges, trials; defaults from the engine."""
    defaults = space.default_space(experiment)
    chosen = {}
    for name, dim in defaults.items():
        help_text = " ".join(filter(None, (HYPERPARAMS[name].help if name in HYPERPARAMS else "", space.HELP[name])))
        if not st.checkbox(f"vary the {LABELS[name]}", value=True, help=help_text, key=f"sweep_vary_{name}"):
            continue
        if "choices" in dim:
            values = st.multiselect("try", dim["choices"] + [8, 256], default=dim["choices"],
                                    key=f"sweep_{name}_choices", width=360)
            chosen[name] = {"choices": sorted(values)}
        else:
            chosen[name] = _range_inputs(name, dim)
    with st.container(horizontal=True, gap="small"):
        trials = st.number_input("trials", min_value=1, value=space.DEFAULT_TRIALS, step=1, key="sweep_trials",
                                 help=f"How many settings to try (at most {limits.get('max_sweep_trials')}).",
                                 width=170)
        parallel = st.number_input("at once", min_value=1, value=limits.get("max_sweep_parallel"), step=1,
                                   key="sweep_parallel", width=170, help="Trials queued or training at the same "
                                   f"time (at most {limits.get('max_sweep_parallel')}).")
    pruning = st.checkbox("stop hopeless trials early (pruning)", value=True, key="sweep_pruning")
    return {"trials": int(trials), "parallel": int(parallel), "pruning": pruning, "space": chosen}


def _start(experiment: dict) -> None:
    try:
        state.put("sweep_id", sweeps.start(experiment))
        state.take("sweep_error")
    except Exception as e:  # noqa: BLE001 - plain words, never a traceback
        state.put("sweep_error", f"Could not start the sweep: {jobs.error_text(e)}")


def use_best(params: dict) -> None:
    """The best trial's values into this workspace's Train settings (and model, for units and dropout)."""
    best = space.trial_experiment(state.experiment_dict(), params)
    state.set_training(best["training"])
    show_changes({k: best["training"][k] for k in ("learning_rate", "batch_size") if k in params})  # Train's boxes
    state.set_spec(best["model"])
    state.put("sweep_notice", "The best settings are now on the Train page: " + params_text(params))


def params_text(params: dict) -> str:
    """"learning rate 0.0123, batch size 32": a trial's values in words."""
    return ", ".join(f"{LABELS[k]} {v:.4g}" if isinstance(v, float) else f"{LABELS[k]} {v}" for k, v in params.items())


SWEEP_WORDS = {"running": "Sweep running", "completed": "Sweep finished", "stopped": "Sweep stopped",
               "failed": "Sweep failed"}


def progress_line(status: str | None, summary: dict, planned: int) -> str:
    """"**Sweep running** · 3 of 12 trials done (2 completed, 1 pruned, 0 failed) · 2 training"."""
    done = summary["completed"] + summary["pruned"] + summary["failed"]
    training = summary["trials"] - done
    return (f"**{SWEEP_WORDS.get(status, 'Sweep')}** · {done} of {planned} trials done ({summary['completed']} "
            f"completed, {summary['pruned']} pruned, {summary['failed']} failed)"
            + (f" · {training} training" if training else ""))


def curves_figure(curves: dict[int, list[float]], best: int | None, score: str) -> go.Figure:
    """Every trial's curve faded; the best one drawn strong."""
    fig = go.Figure()
    for number, values in curves.items():
        strong = number == best
        fig.add_trace(go.Scatter(x=list(range(1, len(values) + 1)), y=values, mode="lines",
                                 name=f"trial {number}" + (" (best)" if strong else ""),
                                 line={"width": 3 if strong else 1.5, "color": "#1d4ed8" if strong else "#94a3b8"},
                                 opacity=1.0 if strong else 0.45))
    fig.update_layout(height=320, margin={"l": 10, "r": 10, "t": 30, "b": 10}, xaxis_title="epoch",
                      yaxis_title=score, title="every trial (best in blue)", showlegend=False)
    return fig


def in_words(fig: go.Figure) -> go.Figure:
    """Optuna's figure with the settings' words ("learning rate") where it shows their keys ("learning_rate")."""
    def words(name):
        return LABELS.get(name, name)

    for trace in fig.data:
        if trace.type == "bar":  # the importances: one bar per setting
            trace.y = [words(name) for name in trace.y]
    for axis in fig.select_xaxes():  # the slices' titles; the parallel coordinates' axes are its x ticks
        axis.update(title_text=words(axis.title.text), ticktext=[words(t) for t in axis.ticktext or ()] or None)
    return fig


def optuna_plots(study, score: str) -> None:
    import optuna.visualization as vis

    completed = [t for t in study.trials if t.state.name == "COMPLETE"]
    if len(completed) < 2:
        st.caption("The parameter plots appear once two trials have completed.")
        return
    tabs = st.tabs(["parallel coordinates", "slice", "importance"])
    for tab, plot in zip(tabs, (vis.plot_parallel_coordinate, vis.plot_slice, vis.plot_param_importances),
                         strict=True):
        with tab:
            try:
                st.plotly_chart(in_words(plot(study, target_name=score)), key=f"sweep_plot_{plot.__name__}")
            except Exception as e:  # noqa: BLE001 - e.g. importance needs values that differ
                st.caption(f"Not drawn yet: {e}")


@st.fragment(run_every=POLL_SECONDS)
def live_view(sweep_id: str) -> None:
    sweep = sweeps.open_sweep(sweep_id)
    if sweep is None:
        st.info("This sweep is not yours, or it is gone.")
        return
    study = sweep.study()
    summary = sweep.summary(study)
    manifest = sweep.manifest
    running = manifest.get("status") == "running"
    score = space.objective_words(sweep.settings["objective"])
    with st.container(horizontal=True, gap="small"):
        st.markdown(progress_line(manifest.get("status"), summary, sweep.settings["trials"]))
        if running:
            st.button("Stop sweep", icon=":material/stop:", on_click=sweep.stop, key="sweep_stop")
    if manifest.get("error"):
        st.error(manifest["error"])
    rows = sweep.trial_rows(study)
    best = summary["best"]
    best_row = next((r for r in rows if best and r["run_dir"] == best["run"]), None)
    if best_row:
        st.success(f"Best {score}{' so far' if running else ''}: {sweeps.score_text(best['value'], sweep.settings['objective'])}, by trial "
                   f"{best_row['number']} ({best_row['name'] or best_row['run']}) with {params_text(best['params'])}")
        st.button("Use the best settings", icon=":material/check:", on_click=use_best, args=(best["params"],),
                  key="sweep_use_best", type="primary")
    st.plotly_chart(curves_figure(sweep.curves(study), best_row and best_row["number"], score), key="sweep_curves")
    optuna_plots(study, score)
    st.dataframe([{"trial": r["number"], "run": r["name"] or "—", "state": f"{STATE_ICONS.get(r['state'], '')} {r['state']}",
                   score: r["value"], **{LABELS[k]: v for k, v in r["params"].items()}, "note": r["error"] or ""}
                  for r in rows], hide_index=True, key="sweep_table",
                 column_config={score: st.column_config.NumberColumn(
                     format="percent" if sweep.settings["objective"].endswith("accuracy") else "%.4f"),
                     LABELS["learning_rate"]: st.column_config.NumberColumn(format="%.5f")})
    if not running:
        st.caption("The sweep has ended.")


experiment = state.experiment_dict()
with st.container(border=True):
    chosen = sweep_form(experiment)
candidate = {**experiment, "sweep": chosen}
found = space.problems(candidate)
for problem in found:
    st.warning(problem_text(problem))
# Checked in the script, not as an on_click: a callback would get the form as the last finished run drew it,
# so "4 trials" typed just before the click would start the 12 shown before.
if st.button("Start sweep", icon=":material/play_arrow:", type="primary", disabled=bool(found), key="sweep_start"):
    _start(candidate)
for key, show in (("sweep_error", st.error), ("sweep_notice", st.success)):
    if state.peek(key):
        show(state.take(key))
mine = sweeps.mine()
current = state.peek("sweep_id") or (mine[0]["id"] if mine else None)
if current:
    live_view(current)
