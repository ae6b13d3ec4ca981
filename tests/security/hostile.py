"""The hostile-input battery's cases, run in a child process: `python hostile.py GROUP OUT.json`.

Each case builds its own hostile file or spec (untimed), then hands it to the
engine exactly as the app or CLI would (timed). Per case the child records the
CPU seconds and the peak memory it added (the kernel's high-water mark is reset
before each case through /proc/self/clear_refs), and the plain message the
user would see, or the traceback if the engine let an exception escape.

Groups: "plain" never imports Keras (refusals that must happen before it
would be needed); "keras" imports it once, as the server does.
"""
from __future__ import annotations

import ast
import errno
import io
import json
import os
import resource
import signal
import struct
import sys
import time
import traceback
import zipfile
import zlib
from pathlib import Path

import numpy as np

INPUTS = Path(os.environ.get("HOSTILE_INPUTS", "inputs"))
RUNS = Path(os.environ.get("LAYERLAB_RUNS_DIR", "runs"))
MODEL = "layerlab/model@1"


class Accepted(AssertionError):
    """The engine took a hostile input it should have refused."""


def refusal(call, *args, **kwargs) -> str:
    """The plain message of the refusal `call` must give (our ValueError family, e.g. SpecError, UploadError)."""
    try:
        result = call(*args, **kwargs)
    except ValueError as e:
        return str(e)
    raise Accepted(f"accepted: {result!r:.200}")


def tiny_spec(name="tiny", units=10, inputs=(64,)):
    return {"format": MODEL, "name": name, "nodes": [
        {"id": "x", "type": "Input", "params": {"shape": list(inputs)}},
        {"id": "h", "type": "Dense", "params": {"units": units, "activation": "softmax"}, "inputs": ["x"]}]}


def experiment(spec=None, augmentation=(), dataset="digits"):
    return {"format": "layerlab/experiment@1", "model": spec or tiny_spec(), "data": {"dataset": dataset},
            "augmentation": list(augmentation), "training": {"epochs": 1, "batch_size": 64, "seed": 0}}


def deflated_zip(path: Path, entries: dict[str, bytes | tuple[int, bytes]]) -> Path:
    """A zip; an entry given as (size, head) is `head` then zeros up to `size`, streamed (never in memory)."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as zf:
        for name, content in entries.items():
            if isinstance(content, bytes):
                zf.writestr(name, content)
                continue
            size, head = content
            with zf.open(name, "w", force_zip64=True) as f:
                f.write(head)
                left, chunk = size - len(head), bytes(16 << 20)
                while left > 0:
                    f.write(chunk[:left])
                    left -= len(chunk)
    return path


def png(width: int, height: int, pixels: bytes | None = None) -> bytes:
    """A grayscale PNG; with no pixels, one that only *declares* its size (a decompression bomb's header)."""
    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    raw = pixels if pixels is not None else b"\0" * 64
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))


def small_png(value: int) -> bytes:
    return png(8, 8, b"".join(b"\0" + bytes([value]) * 8 for _ in range(8)))


# -- cases: name → (make inputs, untimed; check them, timed) ------------------------------------------------

def make_csv_columns():
    path = INPUTS / "wide.csv"
    n = 1_000_000
    path.write_text(",".join(f"c{i}" for i in range(n)) + "\n" + ",".join("1" for _ in range(n)) + "\n")
    return path


def check_csv_columns(path):
    from datasets import uploads
    return refusal(uploads.load_csv, path)


def make_csv_field():
    path = INPUTS / "longcell.csv"
    path.write_text("a,b\n" + "x" * 200_000 + ",1\n2,3\n")
    return path


def check_csv_field(path):
    from datasets import uploads
    message = refusal(uploads.read_table, path)
    assert "longer than" in message, message
    return message


def make_npz_bomb():
    from numpy.lib import format as npy

    head = io.BytesIO()
    npy.write_array_header_1_0(head, {"descr": "|u1", "fortran_order": False, "shape": (900, 1000, 1000)})
    y = io.BytesIO()
    np.save(y, np.zeros(900, np.int64))
    return deflated_zip(INPUTS / "bomb.npz", {"x.npy": (900 * 1000 * 1000 + len(head.getvalue()), head.getvalue()),
                                              "y.npy": y.getvalue()})


def check_npz_bomb(path):
    from datasets import uploads
    assert path.stat().st_size < 5_000_000  # ~4 MB at the fast compression level used here; 875 KB at level 6
    return refusal(uploads.load_npz, path)


def npy_bomb(descr: str, shape: tuple) -> tuple[int, bytes]:
    """An .npy entry of zeros declaring `shape`, as (size, head) for `deflated_zip`."""
    from numpy.lib import format as npy

    head = io.BytesIO()
    npy.write_array_header_1_0(head, {"descr": descr, "fortran_order": False, "shape": shape})
    return np.dtype(descr).itemsize * int(np.prod(shape)) + len(head.getvalue()), head.getvalue()


def make_npz_served_entries():
    """What numpy serves beyond `*.npy`: a plain 'x' entry (preferred over x.npy), a plain 'masks' entry,
    and a complex128 'x' whose float32 size fits the budget but whose real size is 4 times that."""
    small = io.BytesIO()
    np.save(small, np.zeros((900, 2), np.float32))
    y = io.BytesIO()
    np.save(y, np.zeros(900, np.int64))
    ok = {"x.npy": small.getvalue(), "y.npy": y.getvalue()}
    return [deflated_zip(INPUTS / "raw-x.npz", {**ok, "x": npy_bomb("|u1", (900, 1000, 1000))}),
            deflated_zip(INPUTS / "raw-masks.npz", {**ok, "masks": npy_bomb("|b1", (900, 1000, 1000))}),
            deflated_zip(INPUTS / "complex.npz", {"x.npy": npy_bomb("<c16", (900, 60_000)), "y.npy": y.getvalue()})]


def check_npz_served_entries(paths):
    from datasets import uploads
    assert all(p.stat().st_size < 5_000_000 for p in paths)
    return "; ".join(refusal(uploads.load_npz, p) for p in paths)


def make_zip_big_entry():
    return deflated_zip(INPUTS / "big-entry.zip", {"cats/big.png": (950 * 1024 * 1024, small_png(1)),
                                                   "dogs/a.png": small_png(2)})


def check_zip_big_entry(path):
    from datasets import uploads
    return refusal(uploads.load_image_zip, path)


def make_many_pngs():
    return deflated_zip(INPUTS / "pngs.zip", {f"{c}/{i}.png": small_png(i) for c in ("a", "b") for i in range(80)})


def check_many_pngs(path):
    from datasets import uploads
    return refusal(uploads.load_image_zip, path, size=1024, color="rgb")


def make_pixel_bomb():
    return deflated_zip(INPUTS / "pixels.zip", {"a/bomb.png": png(100_000, 100_000), "a/ok.png": small_png(1),
                                                "b/ok.png": small_png(2)})


def check_pixel_bomb(path):
    from datasets import uploads
    ds = uploads.load_image_zip(path, size=8)
    assert len(ds.x) == 2 and ds.info.extra["too_large"] == 1, (len(ds.x), ds.info.extra)
    return f"the bomb was skipped: {'; '.join(ds.notes)}"


def make_pixel_flood():
    """300 PNGs each exactly at the per-image pixel budget (4096 x 4096): ~180 KB, minutes of decoding."""
    side = 4096
    at_budget = png(side, side, bytes((side + 1) * side))  # every row: filter byte 0, then black pixels
    return deflated_zip(INPUTS / "flood.zip", {f"{c}/{i}.png": at_budget for c in ("a", "b") for i in range(150)})


def check_pixel_flood(path):
    from datasets import uploads
    assert path.stat().st_size < 6_000_000
    return refusal(uploads.load_image_zip, path, size=8)


def check_try_pixel_bomb(_):
    """The Try page's upload: a PNG header declaring 10^10 pixels is refused before any pixel is decoded."""
    from builder.limits import get
    from datasets.pictures import read_picture
    message = refusal(read_picture, png(100_000, 100_000), get("max_image_pixels"), "bomb.png")
    assert "more pixels than the 16,777,216 this server decodes" in message, message
    assert "LAYERLAB_MAX_IMAGE_PIXELS" in message, message
    return message


def make_chain():
    nodes = [{"id": "n0", "type": "Input", "params": {"shape": [8]}}]
    nodes += [{"id": f"n{i}", "type": "Dense", "params": {"units": 8}, "inputs": [f"n{i - 1}"]} for i in range(1, 50_000)]
    path = INPUTS / "chain.json"
    path.write_text(json.dumps({"format": MODEL, "nodes": nodes}))
    return path


def check_chain(path):
    from builder.graph import validate
    from builder.model import spec
    report = validate.check(spec.parse_json(spec.read_text(path), "model spec"))
    assert not report.ok and "LAYERLAB_MAX_NODES" in report.lines()[0]
    return report.lines()[0]


def make_odd_spec_files():
    deep, big = INPUTS / "deep.json", INPUTS / "big.json"
    deep.write_text("[" * 100_000 + "]" * 100_000)
    big.write_text(json.dumps({**tiny_spec(), "description": "x" * (9 << 20)}))
    return deep, big


def check_odd_spec_files(paths):
    from builder.experiments import experiment
    from builder.model import spec
    return "; ".join([refusal(spec.load, paths[0]), refusal(experiment.load, paths[0]), refusal(spec.load, paths[1])])


def check_newline_id(_):
    from builder.graph import validate
    from builder.model.spec import ModelSpec
    data = tiny_spec()
    data["nodes"][0]["id"] = "x\n"
    data["nodes"][1]["inputs"] = ["x\n"]
    report = validate.check(data)
    assert not report.ok
    refusal(ModelSpec.from_dict, data)
    return report.lines()[0]


def make_outside_npz():
    np.savez(INPUTS / "outside.npz", x=np.ones((4, 2), np.float32), y=np.arange(4))
    uploads = Path(os.environ["LAYERLAB_UPLOADS_DIR"])
    return "upload:" + os.path.relpath(INPUTS / "outside", uploads)


def check_upload_path(dataset_id):
    from builder.experiments.experiment import Experiment
    from datasets import registry, stored
    from ui import datacache

    assert ".." in dataset_id
    message = refusal(Experiment.from_dict, experiment(dataset=dataset_id))
    refusal(stored.path_of, dataset_id)
    refusal(registry.load, dataset_id)
    refusal(datacache.get_upload, dataset_id[len("upload:"):])
    refusal(datacache.current, {"dataset": dataset_id}, None)
    return message


def make_bad_runs():
    def run(name, status, exp=None):
        folder = RUNS / name
        folder.mkdir(parents=True)
        (folder / "experiment.json").write_text(json.dumps(experiment() if exp is None else exp))
        (folder / "status.json").write_text(json.dumps(status))
    run("good", {"status": "completed", "created": 1.0, "name": "good"})
    run("list", [1, 2, 3])
    run("yesterday", {"status": "running", "created": "yesterday"})
    run("pid", {"status": "running", "pid": "not a number"})
    run("experiment", {"status": "completed"}, exp=["not", "an", "experiment"])
    return RUNS


def check_bad_runs(root):
    from builder.jobs import local as jobs
    from builder.store.runstore import RunStore, RunUnreadable

    store = RunStore(root)
    assert [r.id for r in store.list()] == ["good"]
    unreadable = dict(store.unreadable())
    assert set(unreadable) == {"list", "yesterday", "pid", "experiment"}, unreadable
    refusal(store.get, "yesterday")
    assert issubclass(RunUnreadable, ValueError)
    manager = jobs.JobManager(root, warm=False, lazy=True)  # marks interrupted runs at start: must not break
    manager.shutdown()
    return "; ".join(f"{k}: {v}" for k, v in sorted(unreadable.items()))


def make_keras_config_gib():
    return deflated_zip(INPUTS / "huge-config.keras", {"metadata.json": b"{}", "config.json": (1 << 30, b"{")})


def check_keras_config_gib(path):
    from builder.graph import importer
    assert path.stat().st_size < 8_000_000
    return refusal(importer.from_keras_file, path)


def make_zip_slip():
    out = {}
    for name, entry in (("slip", "../../evil.png"), ("absolute", "/tmp/evil.png")):
        out[name] = deflated_zip(INPUTS / f"{name}.zip", {entry: small_png(1), "b/x.png": small_png(2)})
    link = zipfile.ZipInfo("a/link.png")
    link.external_attr = 0o120777 << 16
    out["symlink"] = INPUTS / "symlink.zip"
    with zipfile.ZipFile(out["symlink"], "w") as zf:
        zf.writestr(link, "/etc/passwd")
        zf.writestr("b/x.png", small_png(2))
    return out


def check_zip_slip(paths):
    from datasets import uploads
    return "; ".join(refusal(uploads.load_image_zip, p) for p in paths.values())


def make_zip_bomb():
    return deflated_zip(INPUTS / "zipbomb.zip", {f"{c}/{i}.png": (40 * 1024 * 1024, small_png(1))
                                                for c in ("a", "b") for i in range(2)})


def check_zip_bomb(path):
    from datasets import uploads
    os.environ["LAYERLAB_MAX_UNPACKED_MB"] = "100"  # a budget is a setting read when it is checked
    try:
        return refusal(uploads.load_image_zip, path)
    finally:
        del os.environ["LAYERLAB_MAX_UNPACKED_MB"]


def make_pickle_npz():
    x = np.empty(2, object)
    x[:] = [{"a": 1}, print]
    buf = io.BytesIO()
    np.lib.format.write_array(buf, x, allow_pickle=True)
    return deflated_zip(INPUTS / "pickle.npz", {"x.npy": buf.getvalue(), "y.npy": b""})


def check_pickle_npz(path):
    from datasets import uploads
    message = refusal(uploads.load_npz, path)
    assert "Python objects" in message, message
    return message


def make_lambda_keras():
    config = {"class_name": "Sequential", "config": {"name": "m", "layers": [
        {"module": "keras.layers", "class_name": "Lambda", "config": {"name": "evil", "function": "os.system"}}]}}
    return deflated_zip(INPUTS / "lambda.keras", {"config.json": json.dumps(config).encode()})


def check_lambda_keras(path):
    from builder.graph import importer
    return refusal(importer.from_keras_file, path)


def check_run_id_traversal(_):
    from builder.store.runstore import RunNotFound, RunStore
    RUNS.mkdir(parents=True, exist_ok=True)
    store = RunStore(RUNS)
    for bad in ("../" + INPUTS.name, "..", "/etc", "a/b"):
        try:
            store.path(bad)
        except RunNotFound as e:
            message = str(e)
        else:
            raise Accepted(bad)
    return message


def check_status_write_disk_full(_):
    from builder.store import runfolder
    run_dir = RUNS / "full"
    run_dir.mkdir(parents=True)
    runfolder.write_status(run_dir, status="running", created=1.0)
    real = runfolder.atomic_write_text

    def disk_full(path, text):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    runfolder.atomic_write_text = disk_full
    try:
        runfolder.write_status(run_dir, status="failed", error="disk full")
    finally:
        runfolder.atomic_write_text = real
    status = runfolder.read_status(run_dir)
    assert status["status"] == "failed" and sorted(p.name for p in run_dir.iterdir()) == ["status.json"], status
    return "status.json rewritten in place as failed"


# -- keras group ---------------------------------------------------------------------------------

def big_dense_spec():
    return {"format": MODEL, "nodes": [
        {"id": "x", "type": "Input", "params": {"shape": [6000]}},
        {"id": "big", "type": "Dense", "params": {"units": 65536}, "inputs": ["x"]}]}


def check_big_dense(_):
    from builder.graph import validate
    from builder.graph.build import build_model
    report = validate.check(big_dense_spec())
    assert not report.ok and "LAYERLAB_MAX_PARAMS" in report.lines()[0] and "'big' (Dense)" in report.lines()[0]
    refusal(build_model, big_dense_spec())
    return report.lines()[0]


def check_big_embedding(_):
    from builder.graph import validate
    spec = {"format": MODEL, "nodes": [
        {"id": "tokens", "type": "Input", "params": {"shape": [10], "dtype": "int32"}},
        {"id": "emb", "type": "Embedding", "params": {"input_dim": 1_000_000, "output_dim": 4096}, "inputs": ["tokens"]}]}
    report = validate.check(spec)
    assert not report.ok
    return report.lines()[0]


def check_big_activations(_):
    from builder.graph import validate
    spec = {"format": MODEL, "nodes": [
        {"id": "img", "type": "Input", "params": {"shape": [2048, 2048, 3]}},
        {"id": "conv", "type": "Conv2D", "params": {"filters": 64, "kernel_size": 3, "padding": "same"},
         "inputs": ["img"]}]}
    report = validate.check(spec)
    assert not report.ok and "LAYERLAB_MAX_ACTIVATIONS" in report.lines()[0], report.lines()
    return report.lines()[0]


def classifier(shape, *middle: dict) -> dict:
    """A model spec: Input `shape` → the `middle` nodes, each fed by the one before → Dense(10, softmax)."""
    nodes = [{"id": "in", "type": "Input", "params": {"shape": list(shape)}}]
    for node in (*middle, {"id": "out", "type": "Dense", "params": {"units": 10, "activation": "softmax"}}):
        nodes.append({"inputs": [nodes[-1]["id"]], **node})
    return {"format": MODEL, "nodes": nodes}


def compute_refusal(model: dict, batch_size: int, budget: str, layer: str):
    """A check: the experiment check refuses `model` at `batch_size` by `budget` (its setting), naming `layer`."""
    def check(_):
        from builder.experiments.experiment import validate
        exp = experiment(model)
        exp["training"]["batch_size"] = batch_size
        lines = [line for line in validate(exp) if budget in line]
        if not lines:
            raise Accepted(f"no {budget} refusal: {validate(exp)}")
        assert layer in lines[0], lines[0]
        return lines[0]
    return check


BIG_KERNEL = classifier((2048, 2048, 1), {"id": "conv", "type": "Conv2D",
                                          "params": {"filters": 2, "kernel_size": 31, "padding": "same"}},
                        {"id": "pool", "type": "GlobalMaxPooling2D"})
BIG_EXAMPLES = classifier((2048, 2048, 1), {"id": "flat", "type": "Flatten"})
LONG_ATTENTION = classifier((20_000, 4), {"id": "att", "type": "MultiHeadAttention",
                                          "params": {"num_heads": 64, "key_dim": 2}, "inputs": ["in", "in"]},
                            {"id": "pool", "type": "GlobalAveragePooling1D"})


def check_chain_at_cap(_):
    from builder.graph import validate
    nodes = [{"id": "n0", "type": "Input", "params": {"shape": [8]}}]
    nodes += [{"id": f"n{i}", "type": "Dense", "params": {"units": 8 + i}, "inputs": [f"n{i - 1}"]}
              for i in range(1, 2000)]  # every layer different: no cache hit, 2,000 Keras shape inferences
    report = validate.check({"format": MODEL, "nodes": nodes})
    assert len(report.shapes) == 2000 and "LAYERLAB_MAX_PARAMS" in report.lines()[0], report.lines()[:3]
    return report.lines()[0]


def make_keras_declares_dense():
    import keras
    model = keras.Sequential([keras.Input((6,)), keras.layers.Dense(4, name="big")])
    path = INPUTS / "declares.keras"
    model.save(path)
    with zipfile.ZipFile(path) as zf:
        files = {i.filename: zf.read(i) for i in zf.infolist()}
    config = files["config.json"].decode().replace('"units": 4', '"units": 65536').replace("6]", "6000]")
    files["config.json"] = config.encode()
    files.pop("model.weights.h5")
    return deflated_zip(path, files)


def check_keras_declares_dense(path):
    from builder.graph import importer
    assert path.stat().st_size < 4_000
    message = refusal(importer.from_keras_file, path)
    assert "LAYERLAB_MAX_PARAMS" in message, message
    return message


def dense_chain_keras(layers: int) -> Path:
    """A Sequential of `layers` Dense 8 layers as a .keras file of a few KB (its config.json deflates well)."""
    import keras
    model = keras.Sequential([keras.Input((8,)), keras.layers.Dense(8, name="d")])
    path = INPUTS / f"dense-{layers}.keras"
    model.save(path)
    with zipfile.ZipFile(path) as zf:
        config = json.loads(zf.read("config.json"))
    config["config"]["layers"][1:] = [{"module": "keras.layers", "class_name": "Dense", "config": {"name": f"d{i}",
                                                                                                  "units": 8}}
                                      for i in range(layers)]
    return deflated_zip(path, {"metadata.json": b"{}", "config.json": json.dumps(config).encode()})


def check_keras_dense_3000(path):
    from builder.graph import importer
    assert path.stat().st_size < 12_000, path.stat().st_size
    message = refusal(importer.from_keras_file, path)
    assert "the model has 3,000 layers" in message and "LAYERLAB_MAX_NODES" in message, message
    return message


def check_keras_dense_500(path):
    from builder.graph import importer
    assert path.stat().st_size < 3_000, path.stat().st_size
    spec = importer.from_keras_file(path)
    assert len(spec.nodes) == 501 and spec.nodes[-1].id == "d499", spec.nodes[-1]
    return f"imported: {len(spec.nodes)} nodes"


PAYLOAD = "__import__('pathlib').Path('PWNED').touch()"


def make_quoted_run():
    name = f'x"""+{PAYLOAD}+"""\n{PAYLOAD}\u2028{PAYLOAD}'
    folder = RUNS / name
    folder.mkdir(parents=True)
    augmentation = [{"type": "RandomZoom", "params": {"height_factor": 0.1, "width_factor": None}}]
    spec = tiny_spec(name=f'"""{PAYLOAD}', inputs=(8, 8, 1))
    spec["nodes"].insert(1, {"id": "flat", "type": "Flatten", "inputs": ["x"]})
    spec["nodes"][2]["inputs"] = ["flat"]
    spec["description"] = f"line\r{PAYLOAD}\x0b{PAYLOAD}"
    (folder / "experiment.json").write_text(json.dumps(experiment(spec, augmentation)))
    return folder


def check_quoted_run(folder):
    from builder.exports import classic as exports
    model_py, train_py = exports.write_scripts(folder)[:2]
    for script in (model_py, train_py):
        tree = ast.parse(script.read_text())
        calls = {getattr(n.func, "id", getattr(n.func, "attr", "")) for n in ast.walk(tree) if isinstance(n, ast.Call)}
        assert "__import__" not in calls and "touch" not in calls, script
    zoom = next(n for n in ast.walk(ast.parse(train_py.read_text()))
                if isinstance(n, ast.Call) and getattr(n.func, "attr", "") == "RandomZoom")
    width = next(k.value for k in zoom.keywords if k.arg == "width_factor")
    assert isinstance(width, ast.Constant) and width.value is None, ast.dump(width)
    return "exported: the name only in comments, null written as None"


MARKUP_NAME = "line one\n\n<img src=x onerror=alert(1)>\r\n# heading *bold* [link](javascript:alert(1)) & more"


def check_markup_run_name(_):
    """A run name in the notebook's title cell is plain text: one heading line, no HTML, no Markdown."""
    import nbformat
    from markdown_it import MarkdownIt

    from builder.experiments.experiment import coerce
    from builder.exports import notebook
    exp = coerce({**experiment(), "name": MARKUP_NAME})
    title = nbformat.reads(notebook.build(exp, [], data_file=False), as_version=4).cells[0].source.split("\n")[0]
    page = MarkdownIt("commonmark").render(title)
    shown = " ".join(MARKUP_NAME.split())
    expected = f"<h1>{shown.replace('&', '&amp;').replace('<', '&lt;').replace('>', '&gt;')}</h1>\n"
    assert page == expected, page
    return "notebook title: the name shown as text, one line"


def check_disk_full_training(_):
    from builder.train import runner
    run_dir = RUNS / "disk-full"
    exp = experiment(tiny_spec(units=10, inputs=(64,)))
    exp["model"]["nodes"].insert(1, {"id": "wide", "type": "Dense", "params": {"units": 256}, "inputs": ["x"]})
    exp["model"]["nodes"][2]["inputs"] = ["wide"]
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past the limit fails (EFBIG) like a full disk
    soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
    resource.setrlimit(resource.RLIMIT_FSIZE, (48 * 1024, hard))
    try:
        state = runner.run(exp, run_dir)
    finally:
        resource.setrlimit(resource.RLIMIT_FSIZE, (soft, hard))
    status = json.loads((run_dir / "status.json").read_text())
    temp = [p.name for p in run_dir.rglob("*") if p.name.startswith(".") or ".tmp" in p.name]
    assert state == "failed" and status["status"] == "failed" and "could not write" in status["error"], status
    assert not temp, temp
    return status["error"]


def check_run_disk_budget(_):
    """A run whose files (here its saved model: 200k weights and Adam's two copies, ~2.4 MB) would pass the
    per-run disk budget stops as failed with the reason, and writes no model."""
    from builder.train import runner
    run_dir = RUNS / "disk-budget"
    exp = experiment(tiny_spec(units=10, inputs=(64,)))
    exp["model"]["nodes"].insert(1, {"id": "wide", "type": "Dense", "params": {"units": 3000}, "inputs": ["x"]})
    exp["model"]["nodes"][2]["inputs"] = ["wide"]
    os.environ["LAYERLAB_MAX_RUN_MB"] = "1"
    try:
        state = runner.run(exp, run_dir)
    finally:
        del os.environ["LAYERLAB_MAX_RUN_MB"]
    status = json.loads((run_dir / "status.json").read_text())
    assert state == "failed" and "LAYERLAB_MAX_RUN_MB" in status["error"], status
    assert not (run_dir / "model.keras").exists() and (run_dir / "metrics.jsonl").exists()
    return status["error"]


def wav_claiming(seconds: int, rate: int = 16_000) -> bytes:
    """A 44-byte WAV header whose data chunk declares `seconds` of 16-bit mono sound, with no sound after it."""
    declared = seconds * rate * 2
    return (b"RIFF" + struct.pack("<I", 36 + declared) + b"WAVEfmt " + struct.pack("<IHHIIHH", 16, 1, 1, rate,
            rate * 2, 2, 16) + b"data" + struct.pack("<I", declared))


def make_wav_hours():
    path = INPUTS / "hours.zip"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("yes/long.wav", wav_claiming(10 * 3600))
        zf.writestr("no/long.wav", wav_claiming(10 * 3600))
    return path


def check_wav_hours(path):
    from datasets import audio
    message = refusal(audio.load_wav_zip, path)
    assert "36,000 s" in message and "LAYERLAB_MAX_CLIP_SECONDS" in message, message
    return message


def make_mp3_named_wav():
    path = INPUTS / "sounds.zip"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("yes/1.wav", b"ID3\x04\x00" + bytes(5_000))
        zf.writestr("no/1.wav", b"ID3\x04\x00" + bytes(5_000))
    return path


def check_mp3_named_wav(path):
    from datasets import audio
    message = refusal(audio.load_wav_zip, path)
    assert "is an MP3, not a WAV file" in message, message
    return message


def make_text_row(size_mb: int):
    def make():
        path = INPUTS / f"row{size_mb}.csv"
        with open(path, "w") as f:
            f.write("text,label\nhello there,a\nbye now,b\n")
            f.write("word " * (size_mb * 2**20 // 5) + ",a\n")
        return path
    return make


def text_row_refused(because: str):
    """The check of a text CSV with one huge row: refused, the message naming `because`."""
    def check(path):
        from datasets import text
        message = refusal(text.load_text_csv, path)
        assert because in message, message
        return message
    return check


def make_huge_vocabulary():
    path = INPUTS / "vocabulary.csv"
    rng = np.random.default_rng(0)
    words = rng.integers(0, 10**9, (100_000, 10))
    with open(path, "w") as f:
        f.write("text,label\n")
        f.writelines(" ".join(f"w{w}" for w in row) + f",{'ab'[i % 2]}\n" for i, row in enumerate(words))
    return path


def check_huge_vocabulary(path):
    """About a million different words load (the file is within its budgets), and the vocabulary a model
    may keep is capped: the note says so and the data's vocabulary is the budget (+ padding and unknown)."""
    from builder import limits
    from datasets import text
    data = text.load_text_csv(path)
    cap = limits.get("max_vocabulary")
    assert data.info.extra["vocabulary"] == cap + 2 and len(data) == 100_000, data.info.extra
    return data.notes[-1]


def check_vocabulary_spec(_):
    from builder.graph import validate
    spec = {"format": MODEL, "name": "words", "nodes": [
        {"id": "text", "type": "Input", "params": {"shape": [1], "dtype": "string"}},
        {"id": "words", "type": "TextVectorization", "inputs": ["text"]},
        {"id": "vectors", "type": "Embedding", "params": {"input_dim": 1000, "output_dim": 4}, "inputs": ["words"]}]}
    report = validate.check(spec)
    [message] = report.problems_for("words")
    assert "LAYERLAB_MAX_VOCABULARY" in message, message
    return message


def jpeg(colour: int) -> bytes:
    from PIL import Image
    buffer = io.BytesIO()
    Image.new("RGB", (32, 24), (colour, colour, colour)).save(buffer, "JPEG")
    return buffer.getvalue()


def check_webcam_flood_class(_):
    """A webcam left clicking into one class: the class cap (500) keeps the first 500, then refuses each."""
    from datasets.classes import ClassFolder
    return flood_class(ClassFolder(INPUTS / "flood-ws" / "mydata"), "thumbs up", jpeg(200))


def flood_class(mine, cls: str, example: bytes) -> str:
    """Add `example` to a new class `cls` up to the class cap: then one more, and a batch, are refused."""
    from builder.limits import get
    mine.add_class(cls)
    cap = get("max_class_examples")
    for _ in range(cap):
        mine.add_example(cls, example)
    message = refusal(mine.add_example, cls, example)
    many = refusal(mine.add_files, cls, [("1", example)] * 3)
    assert mine.counts() == {cls: cap} and "LAYERLAB_MAX_CLASS_EXAMPLES" in message and many == message, message
    return message


def make_full_workspace(name: str = "full-ws"):
    """A workspace one example short of its cap (2,000), spread over classes of two own datasets."""
    def make():
        from builder.limits import get
        mydata, shot = INPUTS / name / "mydata", jpeg(90)
        for i in range(get("max_mydata_examples") - 1):
            folder = mydata / f"set{i % 2}" / f"class{i % 8}"
            folder.mkdir(parents=True, exist_ok=True)
            (folder / f"{i + 1}.png").write_bytes(shot)
        return mydata
    return make


def check_full_workspace(mydata):
    from datasets.classes import ClassFolder
    mine = ClassFolder(mydata, "set0")
    mine.add_example("class0", jpeg(10))  # the last one that fits
    message = refusal(mine.add_example, "class2", jpeg(10))
    assert "LAYERLAB_MAX_MYDATA_EXAMPLES" in message, message
    message_zip = refusal(ClassFolder(mydata, "set1").add_zip, _zip({"new/1.png": small_png(1)}), "more.zip")
    assert "LAYERLAB_MAX_MYDATA_EXAMPLES" in message_zip and not (mydata / "set1" / "new").exists(), message_zip
    return message


def recording(seconds: float, rate: int = 16_000) -> bytes:
    """A real WAV recording of a tone (16-bit mono)."""
    from datasets import audio
    buffer = io.BytesIO()
    t = np.arange(int(seconds * rate)) / rate
    audio.write_wav(buffer, 0.5 * np.sin(2 * np.pi * 440 * t), rate)
    return buffer.getvalue()


def check_recordings_not_wav_or_too_long(_):
    """What a browser might send as a recording: WebM or MP3 bytes, a header declaring 10 hours, 31 s of real
    sound: each refused in plain words from its first bytes or header; nothing kept."""
    from datasets.classes import SoundFolder
    mine = SoundFolder(INPUTS / "mic-ws" / "mydata")
    mine.add_class("yes")
    webm = refusal(mine.add_example, "yes", b"\x1aE\xdf\xa3" + bytes(4_000), "the recording")
    mp3 = refusal(mine.add_example, "yes", b"ID3\x04\x00" + bytes(4_000), "the recording")
    hours = refusal(mine.add_example, "yes", wav_claiming(10 * 3600), "the recording")
    long = refusal(mine.add_example, "yes", recording(31), "the recording")
    assert "is a WebM, not a WAV file" in webm and "is an MP3, not a WAV file" in mp3, (webm, mp3)
    assert "36,000 s" in hours and "LAYERLAB_MAX_CLIP_SECONDS" in long, (hours, long)
    assert mine.counts() == {"yes": 0} and not list((mine.root / "yes").iterdir())
    return f"{webm}; {long}"


def check_microphone_flood_class(_):
    """A microphone left recording into one class: the class cap (500) keeps the first 500, then refuses each."""
    from datasets.classes import SoundFolder
    return flood_class(SoundFolder(INPUTS / "mic-flood-ws" / "mydata"), "yes", recording(1.5))


def check_full_workspace_sounds(mydata):
    """Sounds count towards the same workspace cap as pictures: one fits, the next clip and a ZIP are refused."""
    from datasets.classes import SoundFolder
    mine = SoundFolder(mydata)
    mine.add_class("yes")
    mine.add_example("yes", recording(1))
    message = refusal(mine.add_example, "yes", recording(1))
    message_zip = refusal(mine.add_zip, _zip({"no/1.wav": recording(1)}), "more.zip")
    assert "LAYERLAB_MAX_MYDATA_EXAMPLES" in message and "LAYERLAB_MAX_MYDATA_EXAMPLES" in message_zip, message_zip
    assert mine.counts() == {"yes": 1}
    return message


def check_pasted_long_line(_):
    """A 5 MB line pasted into a class's text area: refused by the row budget before the texts are parsed."""
    from datasets import text
    message = refusal(text.load_text_lines, {"a": "hello\n" + "word " * (2**20), "b": "bye"})
    assert "LAYERLAB_MAX_TEXT_CHARS" in message and "'my texts/a'" in message, message
    return message


def _zip(entries: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zf:
        for name, content in entries.items():
            zf.writestr(name, content)
    return buffer.getvalue()


def check_mydata_bombs(_):
    """A snapshot and a ZIP entry whose PNG header declares 10^10 pixels: refused / skipped before decoding."""
    from datasets.classes import ClassFolder
    mine = ClassFolder(INPUTS / "bomb-ws" / "mydata")
    mine.add_class("a")
    message = refusal(mine.add_example, "a", png(100_000, 100_000), "the snapshot")
    assert "LAYERLAB_MAX_IMAGE_PIXELS" in message, message
    added = mine.add_zip(_zip({"a/bomb.png": png(100_000, 100_000), "a/ok.png": small_png(3)}), "pets.zip")
    assert mine.counts() == {"a": 1} and len(added.skipped) == 1, (mine.counts(), added.skipped)
    return f"{message}; in a ZIP: {added.skipped[0]}"


GROUPS = {
    "plain": {
        "wav: headers declaring 10 hours of sound": (make_wav_hours, check_wav_hours),
        "wav: an MP3 named .wav": (make_mp3_named_wav, check_mp3_named_wav),
        "text csv: one 100 MB row": (make_text_row(100), text_row_refused("upload limit")),
        "text csv: one 5 MB row (under the file limit)": (make_text_row(5), text_row_refused("LAYERLAB_MAX_TEXT_CHARS")),
        "text csv: a million different words": (make_huge_vocabulary, check_huge_vocabulary),
        "csv with 1,000,000 columns": (make_csv_columns, check_csv_columns),
        "csv with a 200,000-character field": (make_csv_field, check_csv_field),
        "npz: ~1-4 MB holding 900x1000x1000 uint8": (make_npz_bomb, check_npz_bomb),
        "npz: plain 'x' beside x.npy, plain 'masks', complex128 'x'": (make_npz_served_entries,
                                                                      check_npz_served_entries),
        "zip: one 950 MB image entry": (make_zip_big_entry, check_zip_big_entry),
        "zip: 160 tiny PNGs resized to 1024x1024": (make_many_pngs, check_many_pngs),
        "zip: PNG header declaring 100,000 x 100,000": (make_pixel_bomb, check_pixel_bomb),
        "zip: 300 PNGs each at the pixel budget (4096 x 4096)": (make_pixel_flood, check_pixel_flood),
        "try: picture upload with a PNG header declaring 100,000 x 100,000": (lambda: None, check_try_pixel_bomb),
        "spec: 50,000-node chain (file)": (make_chain, check_chain),
        "spec: node id 'x\\n'": (lambda: None, check_newline_id),
        "spec files: nested 100,000 deep; 9 MB": (make_odd_spec_files, check_odd_spec_files),
        "experiment: dataset upload:../<path>": (make_outside_npz, check_upload_path),
        "run folders: status list, created 'yesterday', bad pid, bad experiment": (make_bad_runs, check_bad_runs),
        ".keras: 1 GiB config.json": (make_keras_config_gib, check_keras_config_gib),
        "guard: zip slip, absolute path, symlink": (make_zip_slip, check_zip_slip),
        "guard: zip bomb over the unpacked total": (make_zip_bomb, check_zip_bomb),
        "guard: npz with pickled objects": (make_pickle_npz, check_pickle_npz),
        "guard: .keras with a Lambda layer": (make_lambda_keras, check_lambda_keras),
        "guard: run ids outside the runs folder": (lambda: None, check_run_id_traversal),
        "disk full while writing status.json": (lambda: None, check_status_write_disk_full),
        "my data: webcam flood of 501 snapshots into one class": (lambda: None, check_webcam_flood_class),
        "my data: a workspace at its example cap (files, ZIP)": (make_full_workspace(), check_full_workspace),
        "my data: recordings that are WebM, MP3, 10 hours, 31 s": (lambda: None, check_recordings_not_wav_or_too_long),
        "my data: microphone flood of 501 clips into one class": (lambda: None, check_microphone_flood_class),
        "my data: clips into a workspace at its example cap": (make_full_workspace("full-ws-sounds"),
                                                               check_full_workspace_sounds),
        "my data: a 5 MB line pasted into a class of texts": (lambda: None, check_pasted_long_line),
        "my data: snapshot and ZIP entry declaring 100,000 x 100,000": (lambda: None, check_mydata_bombs),
    },
    "keras": {
        "spec: TextVectorization keeping every word": (lambda: None, check_vocabulary_spec),
        "spec: Input [6000] -> Dense 65536": (lambda: None, check_big_dense),
        "spec: Embedding 10^6 x 4096": (lambda: None, check_big_embedding),
        "spec: 2048x2048x3 image -> Conv2D 64 (activations)": (lambda: None, check_big_activations),
        "spec: 2,000-node chain at the cap, every layer different": (lambda: None, check_chain_at_cap),
        "experiment: Conv2D 31x31 over a 2048x2048 picture (FLOPs)": (
            lambda: None, compute_refusal(BIG_KERNEL, 64, "LAYERLAB_MAX_STEP_FLOPS", "'conv' (Conv2D)")),
        "experiment: batch 65,536 x 4.2 M numbers per example (memory)": (
            lambda: None, compute_refusal(BIG_EXAMPLES, 65_536, "LAYERLAB_MAX_STEP_MEMORY_MB", "'flat' (Flatten)")),
        "experiment: attention, 64 heads over 20,000 steps (scores)": (
            lambda: None, compute_refusal(LONG_ATTENTION, 1, "LAYERLAB_MAX_STEP_MEMORY_MB", "'att' (MultiHeadAttention)")),
        ".keras: 1.5 KB declaring Dense 6000 -> 65536": (make_keras_declares_dense, check_keras_declares_dense),
        ".keras: 9 KB holding 3,000 Dense layers": (lambda: dense_chain_keras(3000), check_keras_dense_3000),
        ".keras: 2 KB holding 500 Dense layers (imports, linear time)": (lambda: dense_chain_keras(500),
                                                                         check_keras_dense_500),
        "run folder named with triple quotes + augmentation null": (make_quoted_run, check_quoted_run),
        "run name with line breaks, <img onerror> and Markdown: notebook title": (lambda: None, check_markup_run_name),
        "disk full during training": (lambda: None, check_disk_full_training),
        "a run writing past its own disk budget": (lambda: None, check_run_disk_budget),
    },
}


# -- measuring -----------------------------------------------------------------------------------

def _status_kb(key: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1])
    raise KeyError(key)


def measure(check, made) -> dict:
    Path("/proc/self/clear_refs").write_text("5")  # reset the peak (VmHWM / ru_maxrss) to the current size
    start_rss = _status_kb("VmRSS")
    usage = resource.getrusage(resource.RUSAGE_SELF)
    wall = time.perf_counter()
    out = {"message": None, "error": None}
    try:
        out["message"] = check(made)
    except BaseException:  # noqa: BLE001 - the test reports what escaped
        out["error"] = traceback.format_exc()
    after = resource.getrusage(resource.RUSAGE_SELF)
    out["cpu_s"] = round(after.ru_utime + after.ru_stime - usage.ru_utime - usage.ru_stime, 3)
    out["wall_s"] = round(time.perf_counter() - wall, 3)
    out["peak_mb"] = round(max(0, _status_kb("VmHWM") - start_rss) / 1024, 1)
    return out


def main(group: str, out_path: str) -> None:
    INPUTS.mkdir(parents=True, exist_ok=True)
    if group == "keras":
        import keras  # noqa: F401 - the server has it loaded already; its import is not a case's cost

        from builder.graph import validate
        validate.check(tiny_spec())  # and has checked a spec before
    results = {}
    for name, (make, check) in GROUPS[group].items():
        try:
            made = make()
        except BaseException:  # noqa: BLE001
            results[name] = {"error": "making the input failed:\n" + traceback.format_exc()}
            continue
        results[name] = measure(check, made)
    Path(out_path).write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
