"""Deep links on a fresh server.

Streamlit starts every server in its old "pages directory" mode when a folder
named `pages/` sits beside the main script, and leaves it only once `app.py`
has called `st.navigation`. Until then a link straight to `/train` runs
pages/train.py alone (no navigation, no sidebar, no page settings). app.py
marks each session it has run in; a page that finds itself run without that
mark, in that mode, switches the server to app.py's navigation for good and
reruns, so app.py draws the page the link named.
"""
from __future__ import annotations

import streamlit as st
from streamlit.runtime.pages_manager import PagesManager

from ui import state

_APP_RAN = "_layerlab_app_ran"


def mark_app() -> None:
    """Called by app.py before it runs a page."""
    state.put(_APP_RAN, True)


def require_app() -> None:
    """Called first by every page script."""
    if PagesManager.uses_pages_directory and not state.peek(_APP_RAN):
        PagesManager.uses_pages_directory = False  # what st.navigation itself sets on its first call
        st.rerun()
