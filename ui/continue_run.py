""""Continue N more epochs" for one's own finished, stopped or interrupted run, and the restart note.

Shared by the Train and Runs pages: the run goes on in its own folder from its
checkpoint (the engine's JobManager.resume checks it in full and says why not).
"""
from __future__ import annotations

import streamlit as st

from builder.jobs.recovery import CONTINUABLE, RESUMED_NOTE
from builder.store import workspace
from builder.train import checkpoint
from ui import jobs, live, state

DEFAULT_MORE = 5


def controls(store, run_id: str | None, key: str) -> None:
    """The "More epochs" box and the Continue button, for the viewer's own run that may go on."""
    if not run_id:
        return
    folder = live.run_dir(store, run_id)
    if live.status_of(store, run_id).get("status") not in CONTINUABLE or not workspace.may_change(folder,
                                                                                                  state.viewer()):
        return
    has_checkpoint = checkpoint.path(folder).is_file()  # the engine reads it in full on the click
    more_box, button = st.columns([1, 2], vertical_alignment="bottom")
    more = more_box.number_input("More epochs", min_value=1, max_value=1000, value=DEFAULT_MORE, step=1,
                                 key=f"{key}_more_epochs")
    button.button(f"Continue {more} more epochs", icon=":material/fast_forward:", key=f"{key}_continue",
                  on_click=_continue, args=(run_id, int(more), key), disabled=not has_checkpoint, width="stretch",
                  help="Train this run further in its own folder: the curves go on from its last epoch"
                  if has_checkpoint else "This run has no checkpoint to go on from (it was trained before "
                  "checkpoints existed, or the server removes them when a run completes)")
    if error := state.take(f"{key}_continue_error"):
        st.error(error)


def _continue(run_id: str, more: int, key: str) -> None:
    try:
        jobs.continue_run(run_id, more)
    except Exception as e:  # noqa: BLE001 - shown in plain words, never a traceback
        state.put(f"{key}_continue_error", f"Could not continue the run: {jobs.error_text(e)}")
        return
    state.put("train_own_runs", [*state.peek("train_own_runs"), run_id])
    state.set_run_id(run_id)  # the Train page's live view follows it


def restart_note(store, run_id: str | None) -> None:
    """Say so when the server restarted under this run and it went on from its checkpoint."""
    if run_id and live.status_of(store, run_id).get("note") == RESUMED_NOTE:
        st.info("This run was resumed after a server restart: it went on from its last saved epoch.",
                icon=":material/restart_alt:")
