"""Layerlab: pick data, build a network on a canvas, train it and watch it learn.

Run with `streamlit run app.py`. This file only sets up the page, the
navigation and the shared sidebar; each screen is a thin script in pages/.
"""
from __future__ import annotations

from pathlib import Path

import streamlit as st

from builder.experiments.experiment import dataset_title
from ui import collector, feedback, jobs, live, navigation, state
from ui.cookies import remember as remember_cookies

st.set_page_config(page_title="Layerlab", page_icon="🧱", layout="wide", initial_sidebar_state="expanded")
state.init()
# A little more room for the canvas than Streamlit's default page margins.
st.html("<style>.block-container{padding-left:1.5rem;padding-right:1.5rem;padding-top:4.5rem;max-width:100%}</style>")

HERE = Path(__file__).parent
PAGES = [  # (file, title, icon)
    ("pages/data.py", "Data", ":material/dataset:"),
    ("pages/build.py", "Build", ":material/account_tree:"),
    ("pages/train.py", "Train", ":material/model_training:"),
    ("pages/sweep.py", "Sweep", ":material/tune:"),
    ("pages/explain.py", "Explain", ":material/visibility:"),
    ("pages/try.py", "Try", ":material/touch_app:"),
    ("pages/runs.py", "Runs", ":material/history:"),
]
TEACHER_PAGES = [("pages/class.py", "Class", ":material/groups:")]


@st.cache_resource(show_spinner="Starting Keras for the model checks (only on the server's first visit)…")
def warm_up() -> bool:
    """Shape inference uses Keras; importing it takes seconds, once per server (then ui.collector keeps
    the garbage collection Streamlit runs after every rerun from walking all of it)."""
    try:
        import keras  # noqa: F401
        import pandas  # noqa: F401
        import plotly.graph_objects  # noqa: F401
    except Exception:  # noqa: BLE001 - analyze() reports what is missing
        return False
    return True


def sidebar() -> None:
    warm_up()
    collector.keep_cheap()
    spec = state.get_spec()
    data = state.get_data()
    experiment = state.experiment_dict()
    fb = feedback.review(experiment)
    state.put(feedback.SIDEBAR_SUMMARY, feedback.model_summary(experiment))
    with st.sidebar:
        st.markdown("### :material/deployed_code: Layerlab")
        st.caption("Pick data → build a network → train it and watch it learn.")
        shown = dataset_title(str(data.get("dataset") or "—")).replace("`", "'")  # an upload by its file's name
        st.markdown(f"**Data:** `{shown}`")
        st.markdown(f"**Model:** `{spec.get('name', 'model')}`")
        if fb.ok:
            st.success("Ready to train", icon=":material/check_circle:")
        else:
            st.error(f"{len(fb.problems)} problem(s) before training — see Build or Train", icon=":material/error:")
        run_id = state.get_run_id()
        if run_id:
            name = live.status_of(jobs.get_run_store(), run_id).get("name")  # the name the student knows it by
            st.caption(f"Current run: **{name}**" if name else f"Current run: `{run_id}`")
        st.caption(f":material/memory: {jobs.device_line()}")


def workspace_box(redirecting: bool) -> None:
    """The student's link (shown open on a first visit) and display name; the browser remembers the workspace
    (a cookie) once it holds something, and the teacher's sign-in for this browser session."""
    ws = state.workspace_id()
    if st.query_params.get("ws") != ws:  # page links drop the query: keep the link reloadable on every page
        st.query_params["ws"] = ws
    notice, error = (None, None) if redirecting else state.notices()  # said on the page the student sees
    if notice:
        st.info(notice, icon=":material/sync:")
    show_link = state.peek("ws_new") if redirecting else state.take("ws_new")  # open on the page the student sees
    with st.sidebar, st.expander(":material/bookmark: Your workspace", expanded=show_link):
        if error:
            st.error(error, icon=":material/block:")
        st.caption("This browser comes back to your work by itself. Your link — bookmark it for another computer:")
        base = (st.context.url or "").split("?")[0]
        st.code(f"{base}?ws={ws}", language=None)
        name = st.text_input("Your name (shown to the teacher)", value=state.get_name(), key="ws_name", max_chars=60)
        if name != state.get_name():
            state.set_name(name)
        st.button("Start a new workspace", key="ws_leave", on_click=state.start_new_workspace,
                  icon=":material/add_circle:", help="On a shared computer: an empty workspace for the next person. "
                  "This one stays saved; its link above still opens it.")
    with st.sidebar:  # outside the expander: a folded one need not run its scripts
        remember_cookies(state.browser_cookies())


def class_code_gate() -> None:
    """With LAYERLAB_CLASS_CODE set, a workspace must give the code once before anything else."""
    if state.is_admitted():
        return
    st.title("Layerlab")
    code = st.text_input("Class code", type="password", key="class_code",
                         help="Your teacher gives you this code; you type it once, your workspace remembers it.")
    if code:
        if state.admit(code):
            st.rerun()
        st.error("That is not this class's code. Check it with your teacher.", icon=":material/lock:")
    st.stop()


if "teacher" in st.query_params:  # the key leaves the address at once (a projector shows it); a cookie stays
    state.admit_teacher(st.query_params["teacher"])
    del st.query_params["teacher"]
# Any first view starts the job manager (its worker imports Keras meanwhile): a restarted server goes on
# with the runs it was training then, whichever page is opened first.
jobs.prewarm()
class_code_gate()
chosen = PAGES + (TEACHER_PAGES if state.is_teacher() else [])
pages = {title: st.Page(str(HERE / path), title=title, icon=icon, url_path=title.lower()) for path, title, icon in chosen}
# The root address opens Build at its own address, so a link to /build works like every other page's.
home = st.Page(lambda: st.switch_page(pages["Build"]), title="Layerlab", default=True, visibility="hidden",
               url_path="start")
nav = st.navigation([home, *pages.values()], position="top")
navigation.mark_app()
workspace_box(redirecting=nav.url_path == home.url_path)  # first in the sidebar: a first visit sees its link
sidebar()
nav.run()
