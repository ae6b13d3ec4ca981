"""My data on screen: the workspace's own classes of pictures (datasets.classes), filled from the webcam, the
drawing pad, files and the Try page, shown as thumbnails; classes of sounds, recorded with the microphone or
uploaded as WAV files, each with a player; and texts pasted class by class (one example a line). Each kind is
used like an upload.

The engine keeps the class folders and every rule (names, caps, header checks); this module finds the
workspace's folder, gathers pictures from widgets and draws. "Use this data" stores the folder as an upload
(`datacache.store_upload`), so the trainer, the registry and every template read it like any dataset, and
the workspace's id never enters an experiment.
"""
from __future__ import annotations

import json

import streamlit as st

from builder import limits
from builder.experiments import headless, templates
from datasets import audio, classes, text, uploads
from ui import datacache, drawpad, state

THUMBS = 16  # newest examples shown per class (the rest counted): a page with 500 snapshots stays quick
COLUMNS = 8
CLIPS = 6  # newest clips shown per class, each with a player
LABEL = "My data: "  # the start of the upload's name in "Your uploads"
KINDS = ("Pictures", "Sounds", "Texts")
PICTURE_TYPES = ["png", "jpg", "jpeg", "webp", "zip"]
SOUND_TYPES = ["wav", "wave", "zip"]


def folder() -> classes.ClassFolder:
    """This workspace's own pictures (its workspace folder is made by a first save when it has none yet)."""
    return classes.ClassFolder(_home())


def sound_folder() -> classes.SoundFolder:
    """This workspace's own sounds."""
    return classes.SoundFolder(_home())


def _home():
    if not state.workspace_saved():
        state.save()
    return state.workspaces().folder(state.workspace_id()) / classes.HOME


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
    kind = st.segmented_control("Kind of data", KINDS, default=KINDS[0], key="mydata_kind") or KINDS[0]
    _notice()
    if kind == "Texts":
        used = texts_section()
    else:
        used = classes_section(folder() if kind == "Pictures" else sound_folder())
    if used is None and is_mine(state.get_upload_id()):
        template_button(state.get_upload_id())
    return used


def classes_section(mine: classes.ClassFolder):
    """Classes of pictures or of sounds: make them, fill them, look at them, use them."""
    sounds = isinstance(mine, classes.SoundFolder)
    st.caption("Make a few classes (“yes”, “no”, “background noise”), fill each with 20–50 one-second clips from "
               "the microphone or WAV files, then use them like any dataset." if sounds else
               "Make a few classes (“thumbs up”, “thumbs down”, “nothing”), fill each with 20–50 pictures from "
               "the webcam, the drawing pad or files, then use them like any dataset.")
    class_form(mine)
    counts = mine.counts()
    if not counts:
        return None
    (add_sounds if sounds else add_examples)(mine, list(counts))
    for warning in mine.warnings():
        st.warning(warning, icon=":material/warning:")
    for cls in mine.classes():
        (clips if sounds else thumbnails)(mine, cls)
    return use_sounds(mine) if sounds else use_form(mine)


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
            _did(f"Class “{made}” added: now give it {mine.WHAT}.")
            state.put("mydata_class", made)
        except ValueError as e:
            _did(None, str(e))
        st.rerun()


def add_examples(mine: classes.ClassFolder, names: list[str]) -> None:
    """Pick a class, then add to it by webcam, drawing pad or files."""
    cls = class_picker(names, "pictures")
    camera, draw, files = st.tabs(["Webcam", "Draw", "Files"])
    with camera:
        webcam(cls)
    with draw:
        drawing(cls)
    with files:
        upload(mine, cls)


def class_picker(names: list[str], what: str) -> str:
    """The class to add to (the one just made, else the first while the chosen one is gone)."""
    state.keep_choice("mydata_class", names)
    return st.selectbox(f"Add {what} to", names, key="mydata_class")


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
    sounds = isinstance(mine, classes.SoundFolder)
    files = st.file_uploader(f"{'WAV clips' if sounds else 'Pictures'} (many at once), or a ZIP with one folder per "
                             "class", accept_multiple_files=True, type=SOUND_TYPES if sounds else PICTURE_TYPES,
                             key=state.widget_key("mydata_files"))
    if not files or not st.button("Add these files", key="mydata_add_files", icon=":material/upload:"):
        return
    zips = [f for f in files if f.name.lower().endswith(".zip")]
    singles = [(f.name, f.getvalue()) for f in files if f not in zips]
    kept, skipped = 0, []
    try:
        if singles:
            added = mine.add_files(cls, singles)
            kept, skipped = kept + added.total, skipped + added.skipped
        for z in zips:
            added = mine.add_zip(z.getvalue(), f"'{z.name}'")
            kept, skipped = kept + added.total, skipped + added.skipped
    except ValueError as e:
        _did(None, f"{kept} {mine.WHAT} were added, then: {e}" if kept else str(e))
    else:
        note = f" Skipped {len(skipped)}: {skipped[0]}" + (" …" if len(skipped) > 1 else "") if skipped else ""
        _did(f"{kept} {mine.WHAT} added.{note}")
    state.renew_widget("mydata_files")  # an empty uploader
    st.rerun()


def thumbnails(mine: classes.ClassFolder, cls: str) -> None:
    """The class's newest pictures with a delete button each; rename and delete the class."""
    def picture(col, path):
        col.image(str(path), width="stretch")  # no server-side resize: the column sets the size
        return col

    class_box(mine, cls, THUMBS, COLUMNS, picture, "Delete this picture")


def class_box(mine: classes.ClassFolder, cls: str, newest: int, columns: int, draw, delete_help: str) -> None:
    """A class in a box: its head, its `newest` examples in `columns` (`draw(column, path)` shows one and returns
    where its delete button goes), and how many older ones are not shown."""
    examples = mine.examples(cls)
    with st.container(border=True):
        class_head(mine, cls, len(examples))
        shown = examples[::-1][:newest]
        for row in range(0, len(shown), columns):
            for col, path in zip(st.columns(columns), shown[row:row + columns], strict=False):
                if draw(col, path).button("✕", key=f"mydata_x_{cls}_{path.name}", help=delete_help):
                    _act(lambda p=path: mine.delete_example(cls, p.name), None)
        if len(examples) > newest:
            st.caption(f"… and {len(examples) - newest} older ones.")


def class_head(mine: classes.ClassFolder, cls: str, count: int) -> None:
    """The class's name and count, a field to rename it and a button to delete it."""
    head, rename, gone = st.columns([3, 2, 1], vertical_alignment="bottom")
    head.markdown(f"**{cls}** · {count} example{'s' if count != 1 else ''}")
    rename.text_input("Rename", value=cls, key=f"mydata_rename_{cls}", label_visibility="collapsed",
                      on_change=_rename, args=(mine, cls), help="Type a new name and press Enter")
    if gone.button("Delete", key=f"mydata_delete_{cls}", icon=":material/delete:",
                   help=f"Delete the class and its {mine.WHAT}"):
        _act(lambda: mine.delete_class(cls), f"Class “{cls}” deleted.")


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
    """Keep the pictures as one of the workspace's uploads, replacing its earlier copy of the same folder."""
    name = f"{LABEL}{mine.name} ({size} px, {'grey' if color == 'grayscale' else 'colour'})"
    raw = json.dumps([mine.name, mine.version(), state.workspace_id()]).encode()  # same pictures ⇒ same id
    return keep_upload(name, raw, "mydata", {"size": size, "color": color}, dataset)


def keep_upload(name: str, raw: bytes, kind: str, settings: dict, dataset) -> str:
    """Keep own data as one of the workspace's uploads named `name`, replacing its earlier copy."""
    ws = state.workspace_id()
    kept = [u for u in state.workspaces().load(ws).get("uploads", []) if u.get("name") != name]
    state.workspaces().save(ws, {"uploads": kept})
    return datacache.store_upload(raw, kind, settings, dataset, ws, name)


def template_button(upload_id: str) -> None:
    """Start from the template suggested for this data's kind, its head fitted to the class count."""
    data = datacache.get_upload(upload_id)
    if data is None:
        return
    chosen = headless.template_for(data.info, photos=True)
    if not st.button(f"Start from the template “{templates.TEMPLATES[chosen].title}” (suggested "
                     f"for {'photos' if chosen == headless.PHOTO_TEMPLATE else 'this data'})",
                     key="mydata_template", icon=":material/school:"):
        return
    state.load_experiment_dict(headless.fitted(chosen, datacache.UPLOAD_PREFIX + upload_id))
    state.set_upload_id(upload_id)
    state.put("data_notice", f"The template “{templates.TEMPLATES[chosen].title}” is loaded for your data: go to Train.")
    st.rerun()


# -- sounds -------------------------------------------------------------------------------------
def add_sounds(mine: classes.SoundFolder, names: list[str]) -> None:
    """Pick a class, then add to it by recording or files."""
    cls = class_picker(names, "sounds")
    record, files = st.tabs(["Record", "Files"])
    with record:
        recorder(mine, cls)
    with files:
        upload(mine, cls)


def recorder(mine: classes.SoundFolder, cls: str) -> None:
    """Each recording goes straight into the class (its loudest second); the recorder comes back for the next."""
    clip = st.audio_input(f"Record a clip for “{cls}” (each one is added at once; its loudest second is kept)",
                          key=state.widget_key("mydata_mic"), sample_rate=audio.RATE)
    if clip is None:
        return
    try:
        mine.add_example(cls, clip.getvalue(), "the recording")
        _did(f"Clip added to “{cls}”.")
    except ValueError as e:  # ClassError, UploadError: not WAV, too long, a count
        _did(None, str(e))
    state.renew_widget("mydata_mic")
    st.rerun()


def clips(mine: classes.SoundFolder, cls: str) -> None:
    """The class's newest clips, each with a player and a delete button."""
    def player(col, path):
        play, gone = col.columns([5, 1], vertical_alignment="center")
        play.audio(path.read_bytes(), format="audio/wav")
        return gone

    class_box(mine, cls, CLIPS, 3, player, "Delete this clip")


def use_sounds(mine: classes.SoundFolder):
    """"Use this data": the clips stored as an upload; returns (upload id, Dataset)."""
    if not st.button("Use this data", type="primary", key="mydata_use", icon=":material/check:"):
        return None
    try:
        dataset = mine.to_dataset()
        raw = json.dumps([mine.name, mine.version(), state.workspace_id()]).encode()  # same clips ⇒ same id
        return keep_upload(f"{LABEL}{mine.name} (sounds)", raw, "mysounds", {}, dataset), dataset
    except ValueError as e:
        st.error(f"Could not use your data: {e}", icon=":material/block:")
        return None


# -- texts --------------------------------------------------------------------------------------
def texts_section():
    """A text area per class, one example a line; returns (upload id, Dataset) when used."""
    st.caption("Name a few classes and paste examples into each, one per line (a sentence, a review, a message); "
               "then use them like any dataset. A CSV with a text column works too: upload it as a text table.")
    kept = state.get_pasted_texts() or [("", ""), ("", "")]
    count = int(st.number_input("Classes", 2, limits.get("max_mydata_classes"), max(2, len(kept)),
                                key="mytext_count"))
    kept = (kept + [("", "")] * count)[:count]
    pasted, cap = [], uploads.Limits().max_csv_bytes  # all the text areas together: a CSV's budget
    for row in range(0, count, 3):
        for col, k in zip(st.columns(3), range(row, min(row + 3, count)), strict=False):
            name = col.text_input(f"Class {k + 1}", value=kept[k][0], key=f"mytext_name_{k}", max_chars=40,
                                  placeholder="e.g. happy")
            lines = col.text_area("Examples, one per line", value=kept[k][1], key=f"mytext_lines_{k}", height=180,
                                  max_chars=cap // count)
            col.caption(f"{sum(1 for line in lines.splitlines() if line.strip())} examples")
            pasted.append((name.strip(), lines))
    if pasted != kept:
        state.set_pasted_texts(pasted)
    return use_texts(pasted)


def use_texts(pasted: list[tuple[str, str]]):
    names = [n for n, _ in pasted]
    counts = {n: sum(1 for line in lines.splitlines() if line.strip()) for n, lines in pasted}
    for warning in classes.count_warnings(counts):
        st.warning(warning, icon=":material/warning:")
    problem = ("Give every class a name." if not all(names) else
               "Two classes have the same name; give each its own." if len({n.casefold() for n in names}) < len(names)
               else None)
    if problem:
        st.info(problem, icon=":material/info:")
    if not st.button("Use this data", type="primary", key="mydata_use", icon=":material/check:", disabled=bool(problem)):
        return None
    try:
        dataset = text.load_text_lines(dict(pasted), "my texts")
        raw = json.dumps(pasted).encode()  # the same texts ⇒ the same id
        return keep_upload(f"{LABEL}texts", raw, "mytexts", {}, dataset), dataset
    except ValueError as e:  # a line over the row budget, a memory budget: nothing stored
        st.error(f"Could not use your texts: {e}", icon=":material/block:")
        return None
