"""Cookies the app sets in the browser: Streamlit reads them (`st.context.cookies`, on the session's first
request) but cannot set them, so a tiny components-v2 script does, only when the value changes."""
from __future__ import annotations

import streamlit as st

SET_COOKIES = """
export default function ({ data }) {
  for (const { name, value, maxAge } of data.cookies) {
    const wanted = `${name}=${encodeURIComponent(value)}`;
    if (document.cookie.split("; ").includes(wanted)) continue;
    document.cookie = `${wanted}; path=/; SameSite=Strict${maxAge ? `; max-age=${maxAge}` : ""}`;
  }
}
"""


@st.cache_resource(show_spinner=False)
def _component():
    return st.components.v2.component("layerlab_cookies", js=SET_COOKIES)


def remember(cookies: dict[str, tuple[str, int | None]]) -> None:
    """Set each cookie `name: (value, max_age_s or None for this browser session)` unless it already holds
    the value; draws nothing visible."""
    held = st.context.cookies  # parsed from the request's headers on each ask: once here
    wanted = [{"name": n, "value": v, "maxAge": age} for n, (v, age) in cookies.items() if held.get(n) != v]
    if wanted:
        _component()(key="layerlab_cookies", data={"cookies": wanted})
