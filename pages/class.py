"""Class (the teacher's page): every workspace live, each student's sweeps, a leaderboard per dataset, stop any
run, hand out an assignment, download the class's results.

Shown in the navigation only to the teacher's session (opened once with `?teacher=<LAYERLAB_TEACHER_KEY>`,
then kept by a cookie for the browser session); the engine's run checks treat that session as the teacher
(builder.store.workspace.TEACHER). It lists only workspaces that did something, never shows or exports an id.
"""
from __future__ import annotations

import time

import pandas as pd
import streamlit as st

from builder.store import workspace
from builder.sweep.space import objective_words
from ui import jobs, live, state, sweeps
from ui.navigation import require_app

require_app()  # a deep link on a fresh server: let app.py draw this page
state.init()
if not state.is_teacher():
    st.info("This page is for the teacher.")
    st.stop()
store = jobs.get_run_store()
st.title("Class")


@st.fragment(run_every=2.0)
def class_view() -> None:
    runs = live.list_runs(store)
    mine = workspace.owner_tag(state.workspace_id())  # the teacher's own workspace is not a student
    everyone = [r for r in workspace.class_rows(state.workspaces(), runs) if r["key"] != mine]
    hidden = state.workspaces().hidden()
    rows = [r for r in everyone if r["key"] not in hidden]
    for row in rows:  # the live validation metric of each run that trains now
        if row["run now"]:
            df = live.metrics_of(store, row["run now"])
            last = df.iloc[-1].to_dict() if not df.empty else {}
            row["val accuracy now"] = last.get("val_accuracy")
    table = pd.DataFrame(rows)
    c1, c2, c3 = st.columns(3)
    c1.metric("Students", len(rows))
    c2.metric("Training now", sum(1 for r in rows if r["status"] == "running"))
    c3.metric("Waiting", sum(1 for r in rows if r["status"] == "queued"))
    if table.empty:
        st.info("No student has done anything yet (a row appears once a workspace edits, trains or gives a name). "
                "Share the app's address; each browser gets its own workspace.")
    else:
        words = ["run now", "status", "epoch"]
        table[words] = table[words].fillna("—")
        best = {c: st.column_config.ProgressColumn(min_value=0, max_value=1, format="percent")
                for c in table.columns if c.startswith("best test accuracy")}
        st.dataframe(table.drop(columns=["key"]), hide_index=True, width="stretch", key="class_table",
                     column_config={**best, "val accuracy now": st.column_config.NumberColumn(format="percent")})
        st.download_button("Class results (CSV)", table[workspace.export_columns(rows)].to_csv(index=False),
                           file_name="class-results.csv", mime="text/csv", key="class_csv",
                           icon=":material/download:", help="Names and results only: no workspace links.")
    sweeps_table({r["key"]: r["name"] for r in rows})
    hide_rows(everyone, hidden)
    leaderboard(runs, everyone)
    shared_runs(runs, everyone)
    running_now([r["run now"] for r in rows if r["run now"]])


def sweeps_table(names: dict[str, str]) -> None:
    """The sweeps of the students in the table (`names`: owner tag → name): how far each is and its best score."""
    found = [r for r in sweeps.of_class() if r["key"] in names]
    if not found:
        return
    st.subheader("Sweeps")
    table = pd.DataFrame([{
        "student": names[r["key"]], "model": r["model"],
        "started": time.strftime("%H:%M", time.localtime(r["created"])) if r["created"] else "—",
        "state": r["state"], "trials done": f"{r['done']} of {r['trials']}", "best score": sweeps.score_text(r["best"], r["objective"]),
        "scored by": objective_words(r["objective"]) + (" (higher is better)" if r["direction"] == "maximize"
                                                         else " (lower is better)"),
    } for r in found])
    st.dataframe(table, hide_index=True, width="stretch", key="class_sweeps")


def hide_rows(everyone: list[dict], hidden: set[str]) -> None:
    """The teacher hides rows that are no student (a test browser, an old workspace); they come back here."""
    names = {r["key"]: r["name"] for r in everyone}

    def keep_choice() -> None:  # rows of workspaces not listed now stay hidden
        state.workspaces().set_hidden(set(state.peek("class_hidden")) | (hidden - set(names)))

    st.multiselect("Hidden rows", list(names), default=[k for k in names if k in hidden], format_func=names.get,
                   key="class_hidden", placeholder="Hide a row…", on_change=keep_choice,
                   help="Hidden rows leave the table, the counts and the CSV; remove one here to show it again.")


def leaderboard(runs: list, everyone: list[dict]) -> None:
    board = pd.DataFrame(workspace.leaderboard(runs))
    st.subheader("Leaderboard")
    if board.empty:
        st.caption("Finished runs with a test accuracy appear here, best first, per dataset.")
        return
    names = {r["key"]: r["name"] for r in everyone}
    board.insert(1, "student", [names.get(k, "—") for k in board.pop("key")])
    for dataset, part in board.groupby("dataset", sort=True):
        st.markdown(f"**{dataset}**")
        st.dataframe(part.drop(columns=["dataset"]).head(10), hide_index=True, width="stretch",
                     column_config={"test accuracy": st.column_config.NumberColumn(format="percent")})


def shared_runs(runs: list, everyone: list[dict]) -> None:
    """Runs the students shared, each with a link to its Try page (for the projector: draw, and the class
    watches the answer)."""
    finished = [r for r in runs if r.shared and r.status == "completed"]
    if not finished:
        return
    st.subheader("Shared runs")
    names = {r["key"]: r["name"] for r in everyone}
    table = pd.DataFrame([{"student": names.get(r.owner, "—"), "run": r.id, "model": r.model, "dataset": r.dataset,
                           "try it": f"/try?run={r.id}"} for r in finished])
    st.dataframe(table, hide_index=True, width="stretch", key="class_shared",
                 column_config={"try it": st.column_config.LinkColumn(display_text="Try it ↗",
                                                                      help="Opens the run's Try page in a new tab")})


def running_now(active: list[str]) -> None:
    st.subheader("Runs training now")
    if not active:
        st.caption("Nobody is training right now.")
        return
    c1, c2, c3 = st.columns([3, 1, 1], vertical_alignment="bottom")
    pick = c1.selectbox("Run", active, key="class_pick")
    if c2.button("Stop it", key="class_stop", icon=":material/stop:",
                 help="The student's Train page says the teacher stopped it."):
        try:
            jobs.stop(pick)
            st.toast(f"Asked {pick} to stop.")
        except Exception as e:  # noqa: BLE001
            st.error(f"Could not stop the run: {jobs.error_text(e)}")
    if c3.button("Open its results", key="class_open"):
        state.set_run_id(pick)
        st.switch_page("pages/explain.py")


def assignment() -> None:
    st.subheader("Assignment")
    st.caption("Hand out your current model, data and training settings: every student gets a button on the "
               "Build page that loads it in one click (their own work stays one Undo away).")
    if st.button("Hand out my current experiment", key="hand_out", icon=":material/assignment:"):
        state.workspaces().save_assignment(state.experiment_dict())
        st.success("Handed out. Students see “Load the teacher's assignment” on the Build page.")


class_view()
assignment()
