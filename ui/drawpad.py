"""A drawing pad: black ink on white paper, drawn with the mouse, a finger or a pen (Streamlit components v2).

The browser sends the picture as a PNG `data:` URL when a stroke ends (state
"png"; None after "Clear"); `picture(key)` gives its bytes. The strokes stay
on the pad across reruns: the pad keeps its <canvas> on the element Streamlit
mounts it in, as ui/canvas.py keeps its React root.
"""
from __future__ import annotations

import base64

import streamlit as st

from ui import state

JS = """
const pads = new WeakMap();
export default function ({ parentElement, data, setStateValue }) {
  let pad = pads.get(parentElement);
  if (!pad) {
    const box = document.createElement("div");
    box.style.cssText = "display:flex;flex-direction:column;gap:6px;align-items:flex-start";
    const canvas = document.createElement("canvas");
    canvas.width = canvas.height = data.size;
    canvas.setAttribute("aria-label", "drawing pad");
    canvas.style.cssText = "border:2px solid #9aa5b1;border-radius:8px;touch-action:none;cursor:crosshair;background:#fff";
    const clear = document.createElement("button");
    clear.textContent = "Clear";
    clear.style.cssText = "padding:4px 14px;border:1px solid #9aa5b1;border-radius:6px;background:#fff;cursor:pointer";
    box.append(canvas, clear);
    parentElement.appendChild(box);
    const ctx = canvas.getContext("2d");
    const blank = () => { ctx.fillStyle = "#fff"; ctx.fillRect(0, 0, canvas.width, canvas.height); };
    blank();
    let last = null;
    const at = (e) => { const r = canvas.getBoundingClientRect();
      return [(e.clientX - r.left) * canvas.width / r.width, (e.clientY - r.top) * canvas.height / r.height]; };
    const line = (a, b) => { ctx.strokeStyle = "#000"; ctx.lineWidth = pad.stroke; ctx.lineCap = ctx.lineJoin = "round";
      ctx.beginPath(); ctx.moveTo(a[0], a[1]); ctx.lineTo(b[0], b[1]); ctx.stroke(); };
    canvas.addEventListener("pointerdown", (e) => { canvas.setPointerCapture(e.pointerId); last = at(e); line(last, last); });
    canvas.addEventListener("pointermove", (e) => { if (!last) return; const p = at(e); line(last, p); last = p; });
    const end = () => { if (!last) return; last = null; setStateValue("png", canvas.toDataURL("image/png")); };
    canvas.addEventListener("pointerup", end);
    canvas.addEventListener("pointercancel", end);
    clear.addEventListener("click", () => { blank(); setStateValue("png", null); });
    pad = { stroke: data.stroke };
    pads.set(parentElement, pad);
  }
  pad.stroke = data.stroke;
}
"""


@st.cache_resource(show_spinner=False)
def _component():
    return st.components.v2.component("layerlab_drawpad", js=JS, isolate_styles=False)


def show(key: str, size: int = 280, stroke: int = 36) -> None:
    """Draw the pad (`size` px square, ink `stroke` px wide: a fat marker, as thick as small datasets' strokes)."""
    _component()(key=key, data={"size": size, "stroke": stroke}, default={"png": None},
                 on_png_change=lambda: None, height=size + 44)


def picture(key: str) -> bytes | None:
    """The PNG the student drew on pad `key`, or None while it is blank."""
    result = state.peek(key)
    url = result.get("png") if isinstance(result, dict) else getattr(result, "png", None)
    if not isinstance(url, str) or ";base64," not in url:
        return None
    return base64.b64decode(url.split(";base64,", 1)[1])
