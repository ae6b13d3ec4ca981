"""Runs: history of runs with settings and final metrics, overlaid curves, downloads, delete."""
from __future__ import annotations

from pathlib import Path

import pandas as pd
import streamlit as st

from builder.experiments.experiment import dataset_title
from builder.exports import classic as exports
from builder.exports import tflite
from builder.store import runfolder, watch, workspace
from ui import charts, continue_run, jobs, live, state
from ui.navigation import require_app

require_app()  # a deep link on a fresh server: let app.py draw this page
state.init()
store = jobs.get_run_store()
st.title("Runs")

try:
    runs = live.list_runs(store)
except Exception as e:  # noqa: BLE001
    st.error(f"Could not read the runs folder: {jobs.error_text(e)}")
    st.stop()
if not runs:
    st.info("No runs yet. Train a model on the **Train** page; every run is kept here to compare and download.")
    st.stop()

FINAL_KEYS = ("test_accuracy", "test_r2", "test_mse", "test_reconstruction_error", "loss", "val_loss", "accuracy",
              "val_accuracy", "mae", "val_mae")  # the test score first: what a run is compared by
MISSING = "—"  # a number a run does not have (no test split, another task), never "None"


def run_names(runs) -> dict[str, str]:
    """Run id → the name people know it by; a name two runs share (two students' "MLP on digits · 1") gets
    its id added."""
    counts = pd.Series([r.name for r in runs]).value_counts()
    return {r.id: r.name if counts[r.name] == 1 else f"{r.name} ({r.id})" for r in runs}


@st.cache_resource(show_spinner=False, max_entries=8)
def history_table(stamp: tuple, viewer: str | None, _runs) -> pd.DataFrame:
    """store.compare() in words for people: run names, the test score first, status badges, epochs
    done/planned, settings, failure notes; the run id last.

    Built once per state of the runs folder (`stamp`) and shared by every session.
    """
    runs = _runs
    raw = store.compare([r.id for r in runs])
    infos, names = {r.id: r for r in runs}, run_names(runs)
    rows = []
    for rec in raw.to_dict("records"):
        info = infos[rec["run"]]
        planned = rec.get("epochs") if pd.notna(rec.get("epochs", None)) else info.epochs
        row = {"run": names[info.id]}
        for k in FINAL_KEYS:
            if isinstance(rec.get(k), (int, float)) and pd.notna(rec[k]):
                row[k.replace("_", " ")] = rec[k]
        row.update({"status": info.status, "dataset": dataset_title(info.dataset), "model": info.model,
                    "epochs": f"{info.epochs_done}/{int(planned) if planned else '?'}",
                    "optimizer": rec.get("optimizer", "adam"), "learning rate": rec.get("learning_rate", 0.001),
                    "batch": rec.get("batch_size", 32), "note": info.error if info.status == "failed" else None,
                    "id": info.id})
        rows.append(row)
    table = pd.DataFrame(rows)
    finals = [k.replace("_", " ") for k in FINAL_KEYS if k.replace("_", " ") in table.columns]
    rest = [c for c in table.columns if c not in ("run", *finals)]
    return table[["run", *finals, *rest]].dropna(axis="columns", how="all")


def styled(table: pd.DataFrame):
    """Status badges, numbers to 4 places (learning rates to 5 digits), a dash where a run has no value."""
    numbers = {c: "{:.5g}" if c == "learning rate" else "{:.4f}" for c in table.columns
               if c == "learning rate" or c.split(" ")[-1] in ("loss", "accuracy", "mae", "mse", "r2", "error")}
    return (table.style.map(live.status_color, subset=["status"]).format(na_rep=MISSING)
            .format(numbers, na_rep=MISSING))


stamp = watch.store_stamp(store.root)
table = history_table(stamp, store.workspace, runs)
st.dataframe(styled(table), hide_index=True, width="stretch", key="runs_table")

@st.cache_resource(show_spinner=False, max_entries=32)
def _overlay(stamp: tuple, viewer: str | None, chosen: tuple, metric: str, _tables: dict):
    return charts.overlay_curves(_tables, metric)


# -- compare curves -----------------------------------------------------------------
st.subheader("Compare")
ids, run_label = [r.id for r in runs], run_names(runs)
with_metrics = [i for i in ids if not live.metrics_of(store, i).empty]
chosen = st.multiselect("Runs to compare", with_metrics, default=with_metrics[:3], key="compare_runs",
                        format_func=run_label.get)
if chosen:
    tables = {run_label[i]: live.metrics_of(store, i) for i in chosen}  # the legend names each run
    names = list(dict.fromkeys(n for df in tables.values() for n in charts.metric_names(df)))
    metric = st.selectbox("Metric", names, key="compare_metric") if names else None
    if metric:
        st.plotly_chart(_overlay(stamp, store.workspace, tuple(chosen), metric, tables), width="stretch", key="compare_chart")

# -- download / delete ------------------------------------------------------------------
st.subheader("Share, download or delete a run")
current = state.get_run_id()
run_id = st.selectbox("Run", ids, index=ids.index(current) if current in ids else 0, key="manage_run",
                      format_func=run_label.get)
folder = live.run_dir(store, run_id)
status = live.status_of(store, run_id)
active = status.get("status") in live.ACTIVE
info = next(r for r in runs if r.id == run_id)
mine = workspace.may_change(folder, store.workspace)


def _share(shared: bool) -> None:
    try:
        workspace.set_shared(folder, store.workspace, shared)
    except Exception as e:  # noqa: BLE001 - NotYourRun, a failed write: in plain words
        state.put("export_note", ("error", f"Could not change sharing: {jobs.error_text(e)}"))


if mine:
    st.toggle("Share with the class", value=info.shared, key=f"share_{run_id}",
              on_change=lambda: _share(state.peek(f"share_{run_id}")),
              help="Shared runs appear on everyone's Runs and Explain pages, read-only. Only you can stop or delete it.")
else:
    st.caption(":material/group: Shared by another student — you can look at it and download it, not change it.")
continue_run.controls(store, run_id, key="runs")  # own finished/stopped/interrupted runs only


def _zip() -> bytes:
    return store.zip_run(run_id)


def _generate(folder: Path) -> tuple[str, str]:
    try:
        made = exports.export_all(folder)
    except Exception as e:  # noqa: BLE001
        return "error", f"Could not export the run: {jobs.error_text(e)}"
    missing = [rel.split("/")[-1] for rel, path in made.items() if path is None]
    if missing:
        return "ok", f"Wrote the code and the exports; not made here: {', '.join(missing)} (see the table for why)."
    return "ok", "Wrote the code, the TensorFlow Lite files and their size/accuracy table."


MIME = {".py": "text/x-python", ".json": "application/json"}
listed = exports.artifacts(folder)
st.download_button("Whole run (.zip)", data=_zip, file_name=f"{run_id}.zip", mime="application/zip",
                   disabled=active, key="dl_zip", icon=":material/folder_zip:")
for artifact in listed:
    left, right = st.columns([1, 3], vertical_alignment="center")
    path = folder / artifact.path
    if artifact.exists:
        # The file is read when the button is pressed, not on every rerun.
        left.download_button(artifact.title, data=path.read_bytes, file_name=artifact.title,
                             mime=MIME.get(path.suffix, "application/octet-stream"), key=f"dl_{artifact.title}")
    else:
        left.button(artifact.title, disabled=True, key=f"missing_{artifact.title}",
                    help="Not in this run yet: generate the exports below.")
    right.caption(artifact.how)
sizes = tflite.table(folder)
if sizes:
    st.caption("TensorFlow Lite: each file's size and its test score, measured with the TFLite interpreter on the "
               "raw test data, beside the Keras model's.")
    table = pd.DataFrame(sizes)
    table["size_kb"] = table["size_bytes"] / 1000
    st.dataframe(table, hide_index=True, key="tflite_table",
                 column_order=("variant", "file", "size_kb", "metric", "value"),
                 column_config={"size_kb": st.column_config.NumberColumn("size", format="%.0f kB"),
                                "value": st.column_config.NumberColumn("test score", format="%.4f")})
missing = [a for a in listed if not a.exists and a.path.startswith(("code/", "deploy/model"))]
if missing and mine and (folder / runfolder.MODEL).exists():
    if st.button("Generate code and TFLite exports", key="generate_exports",
                 help="Writes code/model.py, code/train.py and (TensorFlow backend) the TensorFlow Lite files."):
        with st.spinner("Writing the code and converting the model to TensorFlow Lite (three sizes)…"):
            state.put("export_note", _generate(folder))
        st.rerun()
note = state.take("export_note")
if note:
    (st.success if note[0] == "ok" else st.error)(note[1])

with st.expander("Delete this run"):
    if not mine:
        st.caption("Only the student who made this run can delete it.")
    if active:
        st.warning("This run is still training. Stop it on the Train page before deleting it.")
    sure = st.checkbox(f"Yes, delete run {run_id} and all its files", key="confirm_delete", disabled=active or not mine)
    if st.button("Delete", type="primary", disabled=active or not sure or not mine, key="delete_run"):
        try:
            store.delete(run_id)
        except Exception as e:  # noqa: BLE001
            st.error(f"Could not delete the run: {jobs.error_text(e)}")
        else:
            if state.get_run_id() == run_id:
                state.set_run_id(None)
            state.take("confirm_delete")
            st.rerun()
