"""Uploads: CSV/TSV tables, ZIPs of image folders, NPZ arrays — and every way they can be bad."""
import io
import os
import stat
import zipfile

import numpy as np
import pytest
from PIL import Image

from datasets import registry, uploads
from datasets.uploads import (
    Limits,
    UploadError,
    load_csv,
    load_image_zip,
    load_npz,
    missing_report,
    read_table,
    save_npz,
)


def named(data: bytes, name: str) -> io.BytesIO:
    """A file-like upload with a name, like Streamlit's UploadedFile."""
    f = io.BytesIO(data)
    f.name = name
    return f


# -- CSV / TSV ----------------------------------------------------------------

CSV = b"""height,colour,weight,species
1.0,red,10,cat
2.0,blue,20,dog
3.0,red,30,dog
4.0,green,40,cat
"""


def test_csv_numeric_and_one_hot_features_with_a_text_target(tmp_path):
    path = tmp_path / "pets.csv"
    path.write_bytes(CSV)
    for source in (path, str(path), named(CSV, "pets.csv")):
        ds = load_csv(source, target="species")
        assert ds.task == "classification" and ds.class_names == ["cat", "dog"]
        np.testing.assert_array_equal(ds.y, [0, 1, 1, 0])
        assert ds.feature_names == ["height", "weight", "colour=blue", "colour=green", "colour=red"]
        np.testing.assert_array_equal(ds.x[0], [1.0, 10.0, 0.0, 0.0, 1.0])
        np.testing.assert_array_equal(ds.x[3], [4.0, 40.0, 0.0, 1.0, 0.0])
        assert ds.x.dtype == np.float32 and ds.info.input_shape == (5,)


def test_csv_target_defaults_to_last_column_and_regression_is_guessed():
    ds = load_csv(named(b"a,b,price\n1,2,3.5\n2,3,4.25\n3,4,5.0\n", "prices.csv"))
    assert ds.task == "regression" and ds.class_names is None
    np.testing.assert_allclose(ds.y, [3.5, 4.25, 5.0])
    ds = load_csv(named(b"a,b\n1,0\n2,1\n3,1\n", "x.csv"))
    assert ds.task == "classification" and ds.class_names == ["0", "1"]


@pytest.mark.parametrize("sep", [b"\t", b";", b"|"])
def test_delimiters_are_sniffed(sep):
    text = CSV.replace(b",", sep)
    ds = load_csv(named(text, "pets.tsv" if sep == b"\t" else "pets.txt"), target="species")
    assert ds.x.shape == (4, 5)


def test_utf8_with_bom_is_fine_and_other_encodings_are_refused():
    ds = load_csv(named(b"\xef\xbb\xbf" + CSV, "bom.csv"), target="species")
    assert ds.feature_names[0] == "height"
    latin1 = "name,city,y\nJosé,Málaga,1\nAna,León,0\n".encode("latin-1")
    with pytest.raises(UploadError, match="'people.csv' is not UTF-8.*CSV UTF-8"):
        load_csv(named(latin1, "people.csv"))


@pytest.mark.parametrize("bad_row, fields", [(b"3.0,red,30,dog,extra", 5), (b"3.0,red", 2)])
def test_ragged_rows_are_refused_with_the_line_number(bad_row, fields):
    lines = CSV.splitlines()
    lines[3] = bad_row
    with pytest.raises(UploadError, match=f"line 4 has {fields} fields but the header has 4"):
        load_csv(named(b"\n".join(lines), "ragged.csv"))


MISSING = b"a,b,label\n1,,x\n2,4,y\n,6,x\n4,8,y\n5,10,\n"


def test_missing_values_are_reported():
    report = missing_report(read_table(named(MISSING, "m.csv")))
    assert dict(zip(report["column"], report["missing"], strict=True)) == {"a": 1, "b": 1, "label": 1}
    assert report["percent"].tolist() == [20.0, 20.0, 20.0]


def test_missing_policy_drop_rows():
    ds = load_csv(named(MISSING, "m.csv"), target="label", missing="drop_rows")
    np.testing.assert_array_equal(ds.x, [[2, 4], [4, 8]])
    assert any("1 rows with no 'label'" in n for n in ds.notes)
    assert any("dropped 2 rows with empty cells" in n for n in ds.notes)


def test_missing_policy_fill_mean():
    ds = load_csv(named(MISSING, "m.csv"), target="label", missing="fill_mean")
    # the row without a label is dropped first; then a's mean over (1, 2, 4) and b's over (4, 6, 8)
    np.testing.assert_allclose(ds.x, [[1, 6], [2, 4], [7 / 3, 6], [4, 8]], rtol=1e-6)
    assert ds.class_names == ["x", "y"]


def test_missing_policy_error_names_the_columns():
    with pytest.raises(UploadError, match="empty cells in 'a' \\(1\\), 'b' \\(1\\), 'label' \\(1\\)"):
        load_csv(named(MISSING, "m.csv"), missing="error")
    with pytest.raises(UploadError, match="policy must be one of"):
        load_csv(named(MISSING, "m.csv"), missing="guess")


def test_csv_other_mistakes_are_plain_words():
    with pytest.raises(UploadError, match="no column 'kind'; choose one of: height, colour, weight, species"):
        load_csv(named(CSV, "pets.csv"), target="kind")
    with pytest.raises(UploadError, match="larger than the upload limit"):
        load_csv(named(CSV, "pets.csv"), limits=Limits(max_upload_bytes=20))
    with pytest.raises(UploadError, match="is empty"):
        load_csv(named(b"  \n", "empty.csv"))
    with pytest.raises(UploadError, match="cannot read 'missing.csv'"):
        load_csv("/nonexistent/missing.csv")
    with pytest.raises(UploadError, match="text, so it cannot be a regression target"):
        load_csv(named(CSV, "pets.csv"), target="species", task="regression")


def test_text_columns_with_too_many_values_are_dropped_with_a_note():
    rows = b"id,x,y\n" + b"".join(b"row%d,%d,%d\n" % (i, i, i % 2) for i in range(60))
    ds = load_csv(named(rows, "ids.csv"))
    assert ds.feature_names == ["x"]
    assert any("ignored text column 'id'" in n for n in ds.notes)


# -- ZIP of image folders ------------------------------------------------------


def png(value, size=(6, 4), mode="L") -> bytes:
    buf = io.BytesIO()
    Image.new(mode, size, value).save(buf, "PNG")
    return buf.getvalue()


def make_zip(entries) -> bytes:
    """entries: (name or ZipInfo, bytes)"""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in entries:
            zf.writestr(name, data)
    return buf.getvalue()


GOOD = [("pets/cats/1.png", png(51)), ("pets/cats/2.png", png(102)), ("pets/dogs/1.png", png(255)),
        ("pets/dogs/broken.png", b"not really a png"), ("pets/readme.txt", b"hello"),
        ("__MACOSX/pets/cats/._1.png", b"junk"), ("pets/dogs/.DS_Store", b"junk")]


def test_image_zip_decodes_resizes_and_counts_corrupt_images():
    ds = load_image_zip(named(make_zip(GOOD), "pets.zip"), size=5)
    assert ds.class_names == ["cats", "dogs"] and ds.info.classes == ["cats", "dogs"]
    assert ds.x.shape == (3, 5, 5, 1) and ds.x.dtype == np.float32
    np.testing.assert_allclose(ds.x.reshape(3, -1).mean(1), [0.2, 0.4, 1.0], atol=1e-6)
    np.testing.assert_array_equal(ds.y, [0, 0, 1])
    assert ds.info.extra["corrupt"] == 1 and "skipped 1 corrupt images" in ds.notes
    assert ds.info.extra["skipped"] == 1  # the readme


def test_image_zip_rgb_and_rectangular_size():
    red = ("a/r.png", png((255, 0, 0), mode="RGB"))
    blue = ("b/b.jpg", _jpeg((0, 0, 255)))
    ds = load_image_zip(named(make_zip([red, blue]), "c.zip"), size=(3, 7), color="rgb")
    assert ds.x.shape == (2, 3, 7, 3)
    np.testing.assert_allclose(ds.x[0].mean((0, 1)), [1, 0, 0], atol=1e-6)
    np.testing.assert_allclose(ds.x[1].mean((0, 1)), [0, 0, 1], atol=0.02)


def _jpeg(color):
    buf = io.BytesIO()
    Image.new("RGB", (8, 8), color).save(buf, "JPEG", quality=95)
    return buf.getvalue()


def _symlink(name):
    info = zipfile.ZipInfo(name)
    info.external_attr = (stat.S_IFLNK | 0o777) << 16
    return info


@pytest.mark.parametrize("entry, why", [
    ("../evil.png", "outside the archive"),
    ("cats/../../evil.png", "outside the archive"),
    ("/tmp/evil.png", "absolute path"),
    ("C:/evil.png", "absolute path"),
    ("C:\\evil.png", "absolute path"),
    (_symlink("cats/link.png"), "symbolic link"),
])
def test_malicious_zip_entries_are_refused_and_nothing_is_written(tmp_path, monkeypatch, entry, why):
    target = tmp_path / "target"
    target.mkdir()
    monkeypatch.chdir(target)
    archive = tmp_path / "evil.zip"
    data = b"/etc/passwd" if isinstance(entry, zipfile.ZipInfo) else png(0)
    archive.write_bytes(make_zip([("cats/1.png", png(0)), ("dogs/1.png", png(9)), (entry, data)]))
    before = sorted(p for p in tmp_path.parent.rglob("*") if "evil" in p.name or p.is_relative_to(tmp_path))
    with pytest.raises(UploadError, match=why):
        load_image_zip(archive)
    after = sorted(p for p in tmp_path.parent.rglob("*") if "evil" in p.name or p.is_relative_to(tmp_path))
    assert after == before and list(target.iterdir()) == []
    assert not os.path.exists("/tmp/evil.png") and not os.path.exists("C:/evil.png")


def test_zip_bomb_is_refused_by_the_uncompressed_limit():
    bomb = make_zip([("a/1.png", png(0)), ("b/zeros.png", bytes(8_000_000))])
    assert len(bomb) < 100_000  # tiny upload, 8 MB unpacked
    with pytest.raises(UploadError, match="unpacks to more than 1,000,000 bytes"):
        load_image_zip(named(bomb, "bomb.zip"), limits=Limits(max_uncompressed_bytes=1_000_000))


def test_too_many_files_and_too_big_upload_are_refused():
    many = make_zip([(f"c{i % 2}/{i}.png", png(i)) for i in range(6)])
    with pytest.raises(UploadError, match="holds 6 files; the limit is 5"):
        load_image_zip(named(many, "many.zip"), limits=Limits(max_files=5))
    with pytest.raises(UploadError, match="larger than the upload limit"):
        load_image_zip(named(many, "many.zip"), limits=Limits(max_upload_bytes=100))


def test_decoded_size_is_checked_before_decoding():
    entries = [("a/1.png", png(0)), ("b/1.png", png(9))]
    with pytest.raises(UploadError, match="2 images at 64×64 would take .* choose a smaller image size"):
        load_image_zip(named(make_zip(entries), "s.zip"), size=64, limits=Limits(max_decoded_bytes=10_000))
    with pytest.raises(UploadError, match="image size must be between 1 and 1024"):
        load_image_zip(named(make_zip(entries), "s.zip"), size=(0, 8))


def test_oversized_images_are_skipped_and_counted():
    entries = [("a/small.png", png(0, (4, 4))), ("b/small.png", png(9, (4, 4))), ("b/huge.png", png(9, (40, 40)))]
    ds = load_image_zip(named(make_zip(entries), "s.zip"), size=4, limits=Limits(max_image_pixels=100))
    assert len(ds) == 2 and ds.info.extra["too_large"] == 1


def test_archive_pixels_are_counted_from_headers_before_any_image_is_decoded(monkeypatch):
    def boom(*args, **kwargs):
        raise AssertionError("an image was decoded before the archive's pixels were checked")

    entries = [("a/1.png", png(0, (10, 10))), ("b/1.png", png(9, (10, 10))), ("b/2.png", png(9, (10, 10))),
               ("b/huge.png", png(9, (40, 40)))]  # over one image's budget: skipped, so not counted
    monkeypatch.setattr(Image.Image, "load", boom)
    with pytest.raises(UploadError, match="300 pixels together, over the limit of 299 .*LAYERLAB_MAX_ARCHIVE_PIXELS"):
        load_image_zip(named(make_zip(entries), "s.zip"), size=4,
                       limits=Limits(max_image_pixels=100, max_archive_pixels=299))


def test_decoding_stops_once_it_has_cost_its_time_budget(monkeypatch):
    clock = iter(range(0, 1000, 2))  # every read of this thread's CPU clock: 2 s later
    monkeypatch.setattr(uploads.time, "thread_time", lambda: next(clock))
    entries = [(f"c{i % 2}/{i}.png", png(i)) for i in range(6)]
    with pytest.raises(UploadError, match="more than 3 s of server time .*LAYERLAB_MAX_DECODE_SECONDS"):
        load_image_zip(named(make_zip(entries), "s.zip"), size=4, limits=Limits(max_decode_seconds=3))
    clock = iter(range(0, 1000, 2))
    assert len(load_image_zip(named(make_zip(entries), "s.zip"), size=4, limits=Limits(max_decode_seconds=12))) == 6


def test_image_zip_structure_mistakes():
    with pytest.raises(UploadError, match="not a ZIP archive"):
        load_image_zip(named(b"PK nope", "x.zip"))
    with pytest.raises(UploadError, match="at least two folders"):
        load_image_zip(named(make_zip([("only/1.png", png(0)), ("loose.png", png(1))]), "one.zip"))
    with pytest.raises(UploadError, match="no images that could be read"):
        load_image_zip(named(make_zip([("a/1.png", b"bad"), ("b/1.png", b"bad")]), "bad.zip"))
    with pytest.raises(UploadError, match="color must be"):
        load_image_zip(named(make_zip(GOOD), "pets.zip"), color="sepia")


# -- NPZ ------------------------------------------------------------------------


def npz(**arrays) -> io.BytesIO:
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    return named(buf.getvalue(), "arrays.npz")


def test_npz_images_and_labels():
    x = np.arange(4 * 3 * 2, dtype=np.uint8).reshape(4, 3, 2)
    ds = load_npz(npz(x=x, y=np.array([0, 1, 1, 0]), class_names=np.array(["no", "yes"])))
    assert ds.x.shape == (4, 3, 2, 1) and ds.x.dtype == np.float32
    np.testing.assert_allclose(ds.x[..., 0], x / 255.0)
    assert ds.task == "classification" and ds.class_names == ["no", "yes"] and ds.info.kind == "image"


def test_npz_regression_and_label_encoding():
    ds = load_npz(npz(x=np.ones((3, 2)), y=np.array([0.5, 1.5, 2.5])))
    assert ds.task == "regression" and ds.y.dtype == np.float32
    ds = load_npz(npz(x=np.ones((3, 2)), y=np.array([[7], [3], [7]])))
    np.testing.assert_array_equal(ds.y, [1, 0, 1])
    assert ds.class_names == ["3", "7"]


def test_npz_with_objects_is_refused_without_unpickling(monkeypatch):
    import pickle

    def boom(*args, **kwargs):
        raise AssertionError("must never unpickle an upload")

    monkeypatch.setattr(pickle, "loads", boom)
    monkeypatch.setattr(pickle, "load", boom)
    bad = npz(x=np.array([{"a": 1}, {"b": 2}], dtype=object), y=np.array([0, 1]))
    with pytest.raises(UploadError, match="Python objects, which are not allowed"):
        load_npz(bad)


def test_npz_mistakes():
    with pytest.raises(UploadError, match="needs arrays named 'x' and 'y'; it has: data"):
        load_npz(npz(data=np.ones(3)))
    with pytest.raises(UploadError, match="as many rows as 'y'"):
        load_npz(npz(x=np.ones((3, 2)), y=np.ones(4)))
    with pytest.raises(UploadError, match="must hold numbers"):
        load_npz(npz(x=np.array([["a", "b"], ["c", "d"]]), y=np.ones(2)))
    with pytest.raises(UploadError, match="not a ZIP archive"):
        load_npz(named(b"plain text", "x.npz"))
    with pytest.raises(UploadError, match="unpacks to more than"):
        load_npz(npz(x=np.zeros((1000, 100)), y=np.zeros(1000)), limits=Limits(max_uncompressed_bytes=10_000))


def npz_entries(**entries: bytes) -> io.BytesIO:
    """An NPZ written by hand: entry name → its bytes (numpy's own writer never names entries this way)."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for entry, data in entries.items():
            zf.writestr(entry, data)
    return named(buf.getvalue(), "arrays.npz")


def npy(array) -> bytes:
    buf = io.BytesIO()
    np.save(buf, array)
    return buf.getvalue()


@pytest.fixture
def no_loading(monkeypatch):
    """Refusals must come from the headers: loading any array fails the test."""
    def boom(*args, **kwargs):
        raise AssertionError("an array was loaded before its header was checked")

    monkeypatch.setattr(np.lib.format, "read_array", boom)


def test_npz_raw_entries_are_checked_like_npy_entries(no_loading):
    y = npy(np.zeros(3, np.int64))
    # numpy serves key 'x' from a plain 'x' entry too, and prefers it over 'x.npy'
    with pytest.raises(UploadError, match="two arrays named 'x'"):
        load_npz(npz_entries(**{"x.npy": npy(np.ones((3, 2))), "x": npy(np.ones((3, 2))), "y.npy": y}))
    with pytest.raises(UploadError, match="entry 'x' is not a numpy array"):
        load_npz(npz_entries(x=b"just some bytes", **{"y.npy": y}))
    big_masks = {"x.npy": npy(np.ones((3, 2))), "y.npy": y, "masks": npy(np.zeros((3, 300, 300), bool))}
    with pytest.raises(UploadError, match="LAYERLAB_MAX_DATASET_MB"):
        load_npz(npz_entries(**big_masks), limits=Limits(max_decoded_bytes=100_000))


def test_npz_repeated_entry_name_is_refused(no_loading):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf, pytest.warns(UserWarning, match="Duplicate name"):
        for entry, data in (("x.npy", npy(np.ones((3, 2)))), ("y.npy", npy(np.zeros(3))), ("x.npy", npy(np.ones(9)))):
            zf.writestr(entry, data)
    with pytest.raises(UploadError, match="two arrays named 'x'"):
        load_npz(named(buf.getvalue(), "arrays.npz"))


@pytest.mark.parametrize(("arrays", "words"), [
    ({"x": np.ones((3, 2), np.complex128), "y": np.zeros(3)}, "array 'x.npy' holds complex numbers"),
    ({"x": np.ones((3, 2)), "y": np.array(["a", "b", "c"])}, "array 'y.npy' holds text"),
    ({"x": np.ones((3, 2)), "y": np.zeros(3), "masks": np.zeros((3, 2), "datetime64[s]")}, "holds dates"),
    ({"x": np.zeros(3, [("a", "f4")]), "y": np.zeros(3)}, "'x' must hold numbers"),
])
def test_npz_refuses_what_is_not_real_numbers_from_the_header(no_loading, arrays, words):
    with pytest.raises(UploadError, match=words):
        load_npz(npz(**arrays))


def test_save_npz_round_trips_a_dataset_with_masks(tmp_path):
    shapes = registry.load("shapes", n_samples=12, seed=0)
    save_npz(shapes, tmp_path / "shapes.npz")
    back = load_npz(tmp_path / "shapes.npz")
    np.testing.assert_array_equal(back.x, shapes.x)
    np.testing.assert_array_equal(back.y, shapes.y)
    np.testing.assert_array_equal(back.masks, shapes.masks)
    assert back.class_names == shapes.class_names and back.task == "classification"
    assert [p.name for p in tmp_path.iterdir()] == ["shapes.npz"]  # no temporary file left behind


def test_an_uploaded_table_keeps_its_column_and_file_names_in_the_store(tmp_path, monkeypatch):
    """Explain's bars and run names read an upload back from the store: by its columns and its file's name."""
    from datasets import stored

    monkeypatch.setenv("LAYERLAB_UPLOADS_DIR", str(tmp_path))
    path = tmp_path / "harvest.csv"
    path.write_text("rain mm,sun hours,crop\n10,5,good\n2,9,poor\n11,4,good\n3,8,poor\n")
    table = load_csv(str(path), target="crop")
    upload_id = stored.store(table, "k1", title="harvest.csv")
    back = registry.load(upload_id)
    assert back.feature_names == ["rain mm", "sun hours"] and back.class_names == ["good", "poor"]
    assert registry.info(upload_id).title == "harvest.csv"
    stored.store(table, "k2")  # kept before uploads had names
    assert registry.info("upload:k2").title == "your upload (k2)"


def test_a_first_line_of_numbers_is_data_not_column_names(tmp_path):
    path = tmp_path / "nohead.csv"
    path.write_text("5.1,3.5,0\n4.9,3.0,0\n6.2,2.9,1\n5.9,3.0,1\n")
    df = read_table(str(path))
    assert list(df.columns) == ["column 1", "column 2", "column 3"]
    assert len(df) == 4 and df.iloc[0].tolist() == [5.1, 3.5, 0]  # the first row is kept as data
    assert "holds numbers, not column names" in df.attrs["note"]
    ds = load_csv(str(path), "column 3")
    assert len(ds) == 4 and ds.x.shape == (4, 2)


def test_a_title_line_above_the_header_is_skipped_with_a_notice(tmp_path):
    path = tmp_path / "titled.csv"
    path.write_text("Flower measurements, 2024\nlength;width;kind\n".replace(";", ",") + "1,2,a\n3,4,b\n")
    df = read_table(str(path))
    assert list(df.columns) == ["length", "width", "kind"] and len(df) == 2
    assert "read as a title and skipped" in df.attrs["note"]


def test_a_header_row_reads_as_before_without_a_notice(tmp_path):
    path = tmp_path / "plain.csv"
    path.write_text("a,b,y\n1,2,0\n3,4,1\n")
    df = read_table(str(path))
    assert list(df.columns) == ["a", "b", "y"] and df.attrs["note"] is None
