"""Deep links on a fresh server.

Streamlit starts every server in its old "pages directory" mode when a folder
named `pages/` sits beside the main script, and leaves it only once `app.py`
has called `st.navigation`. Until then a link straight to `/train` runs
pages/train.py alone (no navigation, no sidebar, no page settings). Each page
calls `require_app()` first: in that mode it switches the server to app.py's
navigation for good and reruns, so app.py draws the page the link named.
"""
from __future__ import annotations

import streamlit as st
from streamlit.runtime.pages_manager import PagesManager


def require_app() -> None:
    if PagesManager.uses_pages_directory:
        PagesManager.uses_pages_directory = False  # what st.navigation itself sets on its first call
        st.rerun()
