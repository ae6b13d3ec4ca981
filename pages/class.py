"""Class (the teacher's page): every workspace live, a leaderboard per dataset, stop any run, hand out an
assignment, download the class's results.

Shown in the navigation only to a session opened with `?teacher=<LAYERLAB_TEACHER_KEY>`; the engine's
run checks treat that session as the teacher (builder.workspace.TEACHER).
"""
from __future__ import annotations

import pandas as pd
import streamlit as st

from builder import workspace
from ui import jobs, live, state
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
    rows = [r for r in workspace.class_rows(state.workspaces(), runs) if r["workspace"] != state.workspace_id()]
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
        st.info("No student has opened the app yet. Share the app's address; each browser gets its own workspace.")
        return
    words = ["run now", "status", "epoch"]
    table[words] = table[words].fillna("—")
    st.dataframe(table.drop(columns=["workspace"]), hide_index=True, width="stretch", key="class_table",
                 column_config={"best test accuracy": st.column_config.ProgressColumn(min_value=0, max_value=1,
                                                                                        format="percent"),
                                "val accuracy now": st.column_config.NumberColumn(format="percent")})
    st.download_button("Class results (CSV)", table.to_csv(index=False), file_name="class-results.csv",
                       mime="text/csv", key="class_csv", icon=":material/download:")
    board = pd.DataFrame(workspace.leaderboard(runs))
    st.subheader("Leaderboard")
    if board.empty:
        st.caption("Finished runs with a test accuracy appear here, best first, per dataset.")
    else:
        names = {r["workspace"]: r["name"] for r in rows}
        board.insert(1, "student", [names.get(w, "—") for w in board.pop("workspace")])
        for dataset, part in board.groupby("dataset", sort=True):
            st.markdown(f"**{dataset}**")
            st.dataframe(part.drop(columns=["dataset"]).head(10), hide_index=True, width="stretch",
                         column_config={"test accuracy": st.column_config.NumberColumn(format="percent")})
    active = [r["run now"] for r in rows if r["run now"]]
    st.subheader("Runs training now")
    if not active:
        st.caption("Nobody is training right now.")
        return
    c1, c2, c3 = st.columns([3, 1, 1], vertical_alignment="bottom")
    pick = c1.selectbox("Run", active, key="class_pick")
    if c2.button("Stop it", key="class_stop", icon=":material/stop:"):
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
