"""Train: hyperparameters, Train/Stop, and the live view of the run (curves, progress, saliency).

Two fragments: the settings (a form edit reruns only the form and its check) and
the live view (polls the run folder while the run is active, twice a second, less
often when a whole class trains: `live.poll_seconds`; a poll that finds nothing
new re-sends cached elements, reading no file).
"""
from __future__ import annotations

import streamlit as st

from builder import limits
from builder.experiments.experiment import shown_settings, verdict
from datasets import registry
from ui import collector, continue_run, feedback, jobs, live, problems, state
from ui.navigation import require_app
from ui.train_form import hyperparameter_form

require_app()  # a deep link on a fresh server: let app.py draw this page
state.init()
store = jobs.get_run_store()


def _dataset_info(dataset_id: str):
    try:
        return registry.info(dataset_id)
    except Exception:  # noqa: BLE001 - uploads and unknown ids: validate() names the problem
        return None


def _start(shown) -> None:
    try:
        run_id = jobs.submit(shown)  # the verdict shown, stamped: submit and the runner trust it
    except Exception as e:  # noqa: BLE001 - shown to the user in plain words, never a traceback
        state.put("train_error", f"Could not start training: {jobs.error_text(e)}")
        return
    state.take("train_error")
    state.put("train_own_runs", [*state.peek("train_own_runs"), run_id])
    state.put("train_started", True)
    state.set_run_id(run_id)
    pruned = live.status_of(store, run_id).get("pruned") or []
    if pruned:
        state.put("train_notice", f"A workspace keeps its {limits.get('max_stored_runs')} newest runs: to "
                                  "make room, your oldest unshared runs were removed: " + ", ".join(pruned))


def _stop(run_id: str) -> None:
    try:
        jobs.stop(run_id)
    except Exception as e:  # noqa: BLE001
        state.put("train_error", f"Could not stop the run: {jobs.error_text(e)}")


def watched_run() -> str | None:
    """The run this session watches: its own, else its workspace's newest one training (a reload, a
    second tab, the bookmarked link). Never another student's."""
    run_id = state.get_run_id()
    if run_id and not live.status_of(store, run_id) and run_id not in state.peek("train_own_runs"):
        run_id = None
    if run_id is None:
        run_id = live.latest_running(store, owner=state.workspace_id())
        if run_id:
            state.set_run_id(run_id)
    return run_id


def is_active(run_id: str | None) -> bool:
    if not run_id:
        return False
    status = live.status_of(store, run_id).get("status")
    # A run just submitted may not have written status.json yet: it is queued.
    return status in live.ACTIVE or (status is None and run_id in state.peek("train_own_runs"))


@st.fragment
def settings_panel(info) -> None:
    data = state.get_data()
    spec = state.get_spec()
    st.caption(f"Model **{spec.get('name', 'model')}** on dataset **{data.get('dataset', '?')}** "
               f"({getattr(info, 'title', 'uploaded data')})")
    run_id = state.get_run_id()
    active = is_active(run_id)
    own = run_id in state.peek("train_own_runs")
    # The buttons sit above the long form so they stay in view on a laptop screen.
    b1, b2 = st.columns(2)
    actions = st.container()
    training = hyperparameter_form(state.get_training(), default_task=getattr(info, "task", None),
                                   shown=shown_settings(state.experiment_dict()))
    state.set_training(training)
    experiment = state.experiment_dict()
    found = feedback.verdict(experiment)
    shown = state.peek(feedback.SIDEBAR_SUMMARY)  # None: no sidebar (the page alone, in tests)
    if shown is not None and feedback.model_summary(experiment) != shown:
        st.rerun(scope="app")  # a fix or an edit changed the verdict: the sidebar's problem count follows
    with actions:
        problems.show(found, key="train")
        if state.peek("train_error"):
            st.error(state.peek("train_error"))
        if notice := state.take("train_notice"):
            st.info(notice, icon=":material/delete_sweep:")
    # A run this session started blocks a second click on Train; a run adopted after a reload (or someone
    # else's, on a shared server) does not: the job queue bounds how many train at once.
    b1.button("Train", type="primary", icon=":material/play_arrow:", disabled=bool(found) or (active and own),
              width="stretch", on_click=_start, args=(verdict(experiment, found),), key="train_button",
              help="Start a run with these settings" if not found else "Fix the problems above first")
    b2.button("Stop", icon=":material/stop:", disabled=not active, width="stretch", on_click=_stop, args=(run_id,),
              key="stop_button", help="Stop after the current batch; the model so far is kept")
    if state.take("train_started"):
        st.rerun()  # the whole page: the live view starts polling the new run at once
    newest = live.latest_running(store, ("running",), owner=state.workspace_id())
    if newest and newest != run_id:
        st.button("Watch the run that is training now", on_click=state.set_run_id, args=(newest,), key="watch_latest")


def live_view(run_id: str | None, active: bool) -> None:
    if not run_id:
        st.markdown("#### Live view")
        st.caption("Press **Train**: the loss and accuracy curves appear here, epoch by epoch.")
        live.empty_curves(key="live_curves_none")
        return
    own = run_id in state.peek("train_own_runs")

    points = live.run_is_points(store, run_id)

    @st.fragment(run_every=live.poll_seconds(points, jobs.active_runs()) if active else None)
    def poll():
        collector.keep_cheap()
        if active and not own:
            st.caption("Showing your run that is training now (started before a reload or in another tab).")
        state_now = live.live_panel(store, run_id, jobs.queue_position, jobs.others_training)
        if active and state_now is not None and state_now not in live.ACTIVE:
            st.rerun()  # the run ended: redraw the page so Train is enabled and polling stops

    poll()


st.title("Train")
st.info(jobs.device_line(), icon=":material/memory:")
run_id = watched_run()
settings, view = st.columns([2, 3], gap="large")
with settings:
    settings_panel(_dataset_info(state.get_data().get("dataset", "")))
with view:
    continue_run.restart_note(store, run_id)
    live_view(run_id, is_active(run_id))
    continue_run.controls(store, run_id, key="train")
