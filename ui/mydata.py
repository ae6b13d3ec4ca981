"""My data on screen: the workspace's own classes of pictures (datasets.classes), filled from the webcam, the
drawing pad, files and the Try page, shown as thumbnails, and used like an upload.

The engine keeps the class folders and every rule (names, caps, header checks); this module finds the
workspace's folder, gathers pictures from widgets and draws. "Use this data" stores the folder as an upload
(`datacache.store_upload`), so the trainer, the registry and every template read it like any dataset, and
the workspace's id never enters an experiment.
"""
from __future__ import annotations

import json

import streamlit as st

from builder.experiments import experiment, templates
from datasets import classes
from ui import datacache, drawpad, state

THUMBS = 16  # newest examples shown per class (the rest counted): a page with 500 snapshots stays quick
COLUMNS = 8
TEMPLATE = "transfer-cnn"  # the suggested start for photos
LABEL = "My data: "  # the start of the upload's name in "Your uploads"


def folder() -> classes.ClassFolder:
    """This workspace's own dataset (its workspace folder is made by a first save when it has none yet)."""
    if not state.workspace_saved():
        state.save()
    return classes.ClassFolder(state.workspaces().folder(state.workspace_id()) / classes.HOME)


def add_picture(cls: str, raw: bytes | None = None, picture=None, what: str = "the picture",
                make: bool = False) -> str | None:
    """Keep a picture (bytes, or decoded pixels) in class `cls` (made first when `make`); None when kept, else
    the reason in words."""
    try:
        mine = folder()
        if make:
            cls = mine.class_for(cls)
        if raw is not None:
            mine.add_example(cls, raw, what)
        else:
            mine.add_picture(cls, picture)
    except ValueError as e:  # ClassError, PictureError, QuotaExceeded: plain words
        return str(e)
    return None


# -- the Data page's section ---------------------------------------------------------------
def section():
    """Draw My data; returns (upload id, Dataset) when the student chose to use it, else None."""
    mine = folder()
    st.caption("Make a few classes (“thumbs up”, “thumbs down”, “nothing”), fill each with 20–50 pictures from "
               "the webcam, the drawing pad or files, then use them like any dataset.")
    _notice()
    class_form(mine)
    counts = mine.counts()
    if not counts:
        return None
    add_examples(mine, list(counts))
    for warning in mine.warnings():
        st.warning(warning, icon=":material/warning:")
    for cls in mine.classes():
        thumbnails(mine, cls)
    used = use_form(mine)
    if used is None and is_mine(state.get_upload_id()):
        template_button(state.get_upload_id())
    return used


def is_mine(upload_id: str | None) -> bool:
    """Whether an upload of this workspace is a copy of its own data (made by "Use this data")."""
    return any(u["id"] == upload_id and u["name"].startswith(LABEL) for u in state.uploads())


def _notice() -> None:
    if message := state.take("mydata_notice"):
        st.success(message, icon=":material/check_circle:")
    if message := state.take("mydata_error"):
        st.error(message, icon=":material/block:")


def _did(message: str | None, error: str | None = None) -> None:
    """Say what happened on the redrawn page."""
    if error:
        state.put("mydata_error", error)
    elif message:
        state.put("mydata_notice", message)


def class_form(mine: classes.ClassFolder) -> None:
    c1, c2 = st.columns([3, 1], vertical_alignment="bottom")
    name = c1.text_input("New class", key="mydata_new_class", placeholder="e.g. thumbs up", max_chars=40)
    if c2.button("Add class", key="mydata_add_class", icon=":material/add:", width="stretch") and name:
        try:
            made = mine.add_class(name)
            _did(f"Class “{made}” added: now give it pictures.")
            state.put("mydata_class", made)
        except ValueError as e:
            _did(None, str(e))
        st.rerun()


def add_examples(mine: classes.ClassFolder, names: list[str]) -> None:
    """Pick a class, then add to it by webcam, drawing pad or files."""
    if state.peek("mydata_class") not in names:
        state.put("mydata_class", names[0])
    cls = st.selectbox("Add pictures to", names, key="mydata_class")
    camera, draw, files = st.tabs(["Webcam", "Draw", "Files"])
    with camera:
        webcam(cls)
    with draw:
        drawing(cls)
    with files:
        upload(mine, cls)


def webcam(cls: str) -> None:
    """Each snapshot goes straight into the class; the camera comes back for the next one."""
    shots = state.peek("mydata_shots")
    shot = st.camera_input(f"Take a snapshot for “{cls}” (each one is added at once)", key=f"mydata_camera_{shots}")
    if shot is None:
        return
    problem = add_picture(cls, shot.getvalue(), what="the snapshot")
    state.put("mydata_shots", shots + 1)  # a fresh camera: the next snapshot is a new one
    _did(f"Snapshot added to “{cls}”.", problem)
    st.rerun()


def drawing(cls: str) -> None:
    drawpad.show("mydata_pad", size=240)
    raw = drawpad.picture("mydata_pad")
    if st.button(f"Add the drawing to “{cls}”", key="mydata_add_drawing", disabled=raw is None,
                 icon=":material/draw:"):
        _did(f"Drawing added to “{cls}”.", add_picture(cls, raw, what="the drawing"))
        st.rerun()


def upload(mine: classes.ClassFolder, cls: str) -> None:
    files = st.file_uploader("Pictures (many at once), or a ZIP with one folder per class", accept_multiple_files=True,
                             type=["png", "jpg", "jpeg", "webp", "zip"], key=f"mydata_files_{state.peek('mydata_uploads')}")
    if not files or not st.button("Add these files", key="mydata_add_files", icon=":material/upload:"):
        return
    zips = [f for f in files if f.name.lower().endswith(".zip")]
    pictures = [(f.name, f.getvalue()) for f in files if f not in zips]
    kept, skipped = 0, []
    try:
        if pictures:
            added = mine.add_files(cls, pictures)
            kept, skipped = kept + added.total, skipped + added.skipped
        for z in zips:
            added = mine.add_zip(z.getvalue(), f"'{z.name}'")
            kept, skipped = kept + added.total, skipped + added.skipped
    except ValueError as e:
        _did(None, f"{kept} pictures were added, then: {e}" if kept else str(e))
    else:
        note = f" Skipped {len(skipped)}: {skipped[0]}" + (" …" if len(skipped) > 1 else "") if skipped else ""
        _did(f"{kept} pictures added.{note}")
    state.put("mydata_uploads", state.peek("mydata_uploads") + 1)  # an empty uploader
    st.rerun()


def thumbnails(mine: classes.ClassFolder, cls: str) -> None:
    """The class's newest pictures with a delete button each; rename and delete the class."""
    examples = mine.examples(cls)
    with st.container(border=True):
        head, rename, gone = st.columns([3, 2, 1], vertical_alignment="bottom")
        head.markdown(f"**{cls}** · {len(examples)} example{'s' if len(examples) != 1 else ''}")
        rename.text_input("Rename", value=cls, key=f"mydata_rename_{cls}", label_visibility="collapsed",
                          on_change=_rename, args=(mine, cls), help="Type a new name and press Enter")
        if gone.button("Delete", key=f"mydata_delete_{cls}", icon=":material/delete:", help="Delete the class and its pictures"):
            _act(lambda: mine.delete_class(cls), f"Class “{cls}” deleted.")
        shown = examples[::-1][:THUMBS]
        for row in range(0, len(shown), COLUMNS):
            for col, path in zip(st.columns(COLUMNS), shown[row:row + COLUMNS], strict=False):
                col.image(str(path), width="stretch")  # no server-side resize: the column sets the size
                if col.button("✕", key=f"mydata_x_{cls}_{path.name}", help="Delete this picture"):
                    _act(lambda p=path: mine.delete_example(cls, p.name), None)
        if len(examples) > THUMBS:
            st.caption(f"… and {len(examples) - THUMBS} older ones.")


def _rename(mine: classes.ClassFolder, cls: str) -> None:
    """The rename field's callback: a refused name puts the old one back (and says why)."""
    key = f"mydata_rename_{cls}"
    try:
        new = mine.rename_class(cls, state.peek(key))
        _did(f"“{cls}” is now “{new}”.")
    except ValueError as e:
        state.put(key, cls)
        _did(None, str(e))


def _act(change, message: str | None) -> None:
    try:
        change()
        _did(message)
    except ValueError as e:
        _did(None, str(e))
    st.rerun()


def use_form(mine: classes.ClassFolder):
    """Size and colour, then "Use this data": the folder stored as an upload; returns (upload id, Dataset)."""
    c1, c2, c3 = st.columns([1, 1, 2], vertical_alignment="bottom")
    size = int(c1.number_input("Picture size (pixels)", 8, 256, 28, step=4, key="mydata_size",
                               help="Every picture is resized to this width and height. The transfer-learning "
                                    "template takes 28 × 28 grey pictures."))
    color = c2.selectbox("Colour", ["grayscale", "rgb"], key="mydata_color")
    if not c3.button("Use this data", type="primary", key="mydata_use", icon=":material/check:"):
        return None
    try:
        dataset = mine.to_dataset(size, color)
        return store(mine, dataset, size, color), dataset
    except ValueError as e:  # too few classes, a workspace or disk budget: nothing changed
        st.error(f"Could not use your data: {e}", icon=":material/block:")
        return None


def store(mine: classes.ClassFolder, dataset, size: int, color: str) -> str:
    """Keep the dataset as one of the workspace's uploads, replacing its earlier copy of the same folder."""
    name = f"{LABEL}{mine.name} ({size} px, {'grey' if color == 'grayscale' else 'colour'})"
    ws = state.workspace_id()
    kept = [u for u in state.workspaces().load(ws).get("uploads", []) if u.get("name") != name]
    state.workspaces().save(ws, {"uploads": kept})
    raw = json.dumps([mine.name, mine.version(), state.workspace_id()]).encode()  # same pictures ⇒ same id
    return datacache.store_upload(raw, "mydata", {"size": size, "color": color}, dataset, ws, name)


def template_button(upload_id: str) -> None:
    """Start from the transfer-learning template on this data, its head fitted to the class count."""
    if not st.button(f"Start from the template “{templates.TEMPLATES[TEMPLATE].title}” (suggested for photos)",
                     key="mydata_template", icon=":material/school:"):
        return
    exp = templates.experiment(TEMPLATE, dataset=datacache.UPLOAD_PREFIX + upload_id)
    for problem in experiment.check(exp):
        if problem.fix:
            exp = experiment.apply_fix(exp, problem.fix)
    state.load_experiment_dict(exp)
    state.set_upload_id(upload_id)
    state.put("data_notice", "The transfer-learning template is loaded for your data: go to Train.")
    st.rerun()
