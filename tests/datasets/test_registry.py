"""The dataset registry: built-in, generated and Keras datasets (no downloads)."""
import numpy as np
import pytest

from datasets import keras_sets, registry
from datasets.base import DatasetError, DatasetUnavailable

KERAS_IDS = ("mnist", "fashion_mnist", "cifar10")
LOCAL_IDS = [i for i in registry.ids() if i not in KERAS_IDS]
GENERATED_IDS = ["moons", "circles", "spirals", "xor", "blobs", "shapes", "sine", "tokens", "sounds", "sentences"]
SMALL = {"n_samples": 60}


def test_registry_lists_every_required_id_with_student_facing_info():
    required = {"digits", "iris", "wine", "breast_cancer", "diabetes", "moons", "circles", "spirals", "xor", "blobs",
                "shapes", "sine", "tokens", *KERAS_IDS}
    infos = {i.id: i for i in registry.list_datasets()}
    assert required <= set(infos)
    for i in infos.values():
        assert i.task in registry.TASKS and i.kind in registry.KINDS
        assert i.description and "\n" not in i.description and i.title
        assert (i.classes is None) == (i.task == "regression")
    assert all(infos[i].offline for i in LOCAL_IDS)
    assert infos["diabetes"].task == "regression" and infos["sine"].task == "regression"
    assert set(infos["moons"].options) == {"n_samples", "noise", "seed"}
    assert set(infos["shapes"].options) == {"n_samples", "size", "noise", "seed"}


@pytest.mark.parametrize("dataset_id", LOCAL_IDS)
def test_every_local_dataset_matches_its_info(dataset_id):
    options = SMALL if dataset_id in GENERATED_IDS else {}
    ds = registry.load(dataset_id, **options)
    base = registry.info(dataset_id)
    assert ds.input_shape == base.input_shape
    assert len(ds) == (60 if options else base.size) == ds.info.size
    if dataset_id == "sentences":  # raw text: one str per example
        assert ds.x.dtype == object and all(isinstance(t, str) and t for t in ds.x[:, 0])
    else:
        expected_x = np.int32 if dataset_id == "tokens" else np.float32
        assert ds.x.dtype == expected_x and np.isfinite(ds.x).all()
    if base.task == "classification":
        assert ds.y.dtype == np.int32
        assert ds.class_names == base.classes
        assert set(np.unique(ds.y)) == set(range(len(base.classes)))  # every class present, codes 0..k-1
    else:
        assert ds.y.dtype == np.float32 and ds.class_names is None


@pytest.mark.parametrize("dataset_id", GENERATED_IDS)
def test_generated_datasets_are_deterministic_under_a_seed(dataset_id):
    a = registry.load(dataset_id, n_samples=60, seed=3)
    b = registry.load(dataset_id, n_samples=60, seed=3)
    c = registry.load(dataset_id, n_samples=60, seed=4)
    np.testing.assert_array_equal(a.x, b.x)
    np.testing.assert_array_equal(a.y, b.y)
    assert not np.array_equal(a.x, c.x)


def test_known_sizes_and_value_ranges_of_builtin_sets():
    digits = registry.load("digits")
    assert digits.x.shape == (1797, 8, 8, 1) and digits.x.min() == 0.0 and digits.x.max() == 1.0
    assert registry.load("iris").x.shape == (150, 4)
    assert registry.load("wine").x.shape == (178, 13)
    cancer = registry.load("breast_cancer")
    assert cancer.x.shape == (569, 30) and np.bincount(cancer.y).tolist() == [212, 357]
    diabetes = registry.load("diabetes")
    assert diabetes.x.shape == (442, 10) and diabetes.feature_names[:3] == ["age", "sex", "bmi"]
    assert 25 <= diabetes.y.min() and diabetes.y.max() <= 346


def test_xor_labels_follow_the_sign_rule_without_noise():
    ds = registry.load("xor", n_samples=400, noise=0.0, seed=1)
    np.testing.assert_array_equal(ds.y, (ds.x[:, 0] * ds.x[:, 1] > 0).astype(np.int32))


def test_blobs_points_sit_nearest_their_own_centre_when_tight():
    ds = registry.load("blobs", n_samples=300, noise=0.3, seed=0)
    centres = np.stack([ds.x[ds.y == k].mean(0) for k in range(3)])
    nearest = np.argmin(((ds.x[:, None, :] - centres[None]) ** 2).sum(-1), axis=1)
    assert (nearest == ds.y).mean() == 1.0


def test_circles_and_spirals_have_their_geometry():
    c = registry.load("circles", n_samples=400, noise=0.0)
    radius = np.linalg.norm(c.x, axis=1)
    np.testing.assert_allclose(radius[c.y == 0], 1.0, atol=1e-5)  # outer ring
    np.testing.assert_allclose(radius[c.y == 1], 0.5, atol=1e-5)  # inner ring
    s = registry.load("spirals", n_samples=400, noise=0.0)
    assert np.bincount(s.y).tolist() == [200, 200]
    # the two arms are point reflections of each other: same radius distribution
    assert abs(np.linalg.norm(s.x[s.y == 0], axis=1).mean() - np.linalg.norm(s.x[s.y == 1], axis=1).mean()) < 0.5


def test_shape_masks_lie_exactly_on_the_drawn_shapes():
    ds = registry.load("shapes", n_samples=90, noise=0.0, seed=5)
    assert ds.masks.shape == (90, 28, 28) and ds.masks.dtype == bool
    for image, mask in zip(ds.x[..., 0], ds.masks, strict=True):
        # without noise an image has two values: the shape's (bright) and the background's
        assert mask.sum() > 20
        assert np.ptp(image[mask]) == 0 and np.ptp(image[~mask]) == 0
        assert image[mask].mean() > image[~mask].mean() + 0.35
        # nothing touches the border: the whole shape is in the picture
        assert not (mask[0].any() or mask[-1].any() or mask[:, 0].any() or mask[:, -1].any())


def test_shape_classes_have_their_geometry():
    ds = registry.load("shapes", n_samples=150, seed=2)
    fill = []
    for mask in ds.masks:
        rows, cols = np.where(mask)
        fill.append(mask.sum() / ((np.ptp(rows) + 1) * (np.ptp(cols) + 1)))
    fill = np.array(fill)
    by_class = {name: fill[ds.y == k].mean() for k, name in enumerate(ds.class_names)}
    assert by_class["square"] > 0.95  # fills its bounding box
    assert 0.7 < by_class["circle"] < 0.85  # π/4 ≈ 0.785
    assert 0.4 < by_class["triangle"] < 0.6  # 1/2


def test_noisy_shapes_still_brighter_inside_masks_and_size_option():
    ds = registry.load("shapes", n_samples=60, size=40, noise=0.2, seed=0)
    assert ds.x.shape == (60, 40, 40, 1) and ds.masks.shape == (60, 40, 40)
    assert ds.x.min() >= 0.0 and ds.x.max() <= 1.0
    inside = np.array([img[m].mean() for img, m in zip(ds.x[..., 0], ds.masks, strict=True)])
    outside = np.array([img[~m].mean() for img, m in zip(ds.x[..., 0], ds.masks, strict=True)])
    assert (inside > outside + 0.2).all()


def test_sine_target_is_the_next_value_of_the_wave():
    ds = registry.load("sine", n_samples=50, steps=16, noise=0.0, seed=0)
    assert ds.x.shape == (50, 16, 1)
    seq = ds.x[..., 0].astype(np.float64)
    # a clean sine obeys s[t+1] = 2 cos(w) s[t] - s[t-1]; fit 2 cos(w) per sequence and extrapolate
    for s, target in zip(seq, ds.y, strict=True):
        a = np.linalg.lstsq(s[1:-1, None], s[2:] + s[:-2], rcond=None)[0][0]
        assert abs(a * s[-1] - s[-2] - target) < 1e-3


def test_token_labels_say_whether_7_comes_before_3():
    ds = registry.load("tokens", n_samples=300, length=12, seed=0)
    assert ds.x.shape == (300, 12) and ds.x.dtype == np.int32
    assert ds.x.min() >= 1 and ds.x.max() < registry.info("tokens").extra["vocab_size"]
    for seq, label in zip(ds.x, ds.y, strict=True):
        assert (seq == 7).sum() == 1 and (seq == 3).sum() == 1
        assert label == int(np.argmax(seq == 7) < np.argmax(seq == 3))
    assert 0.4 < ds.y.mean() < 0.6


def test_bad_ids_and_options_are_refused_in_plain_words():
    with pytest.raises(DatasetError, match="unknown dataset 'nope'.*digits"):
        registry.load("nope")
    with pytest.raises(DatasetError, match="n_samples"):
        registry.load("moons", n_samples=-5)
    with pytest.raises(DatasetError, match="unknown parameter 'colour'"):
        registry.load("shapes", colour="red")
    with pytest.raises(DatasetError, match="unknown dataset"):
        registry.info("nope")


# -- Keras datasets: never downloaded in tests --------------------------------


@pytest.fixture
def empty_keras_home(tmp_path, monkeypatch):
    monkeypatch.setenv("KERAS_HOME", str(tmp_path))
    monkeypatch.setattr(keras_sets, "cache_dirs", lambda: [str(tmp_path / "datasets")])
    return tmp_path


def test_cache_dir_follows_keras_home(tmp_path, monkeypatch):
    monkeypatch.setenv("KERAS_HOME", str(tmp_path))
    assert keras_sets.cache_dirs()[0] == str(tmp_path / "datasets")


def test_keras_datasets_offline_say_what_to_do(empty_keras_home):
    for set_id in KERAS_IDS:
        assert registry.info(set_id).offline is False
    with pytest.raises(DatasetUnavailable) as err:
        registry.load("mnist", allow_download=False)
    assert str(err.value) == ("MNIST is not available offline — place mnist.npz in ~/.keras/datasets "
                              "or connect to the internet")
    assert isinstance(err.value, ValueError)
    with pytest.raises(DatasetUnavailable, match="CIFAR-10 is not available offline"):
        registry.load("cifar10", allow_download=False)
    assert list(empty_keras_home.iterdir()) == []  # nothing was created, let alone downloaded


def test_failed_download_becomes_a_plain_message(empty_keras_home, monkeypatch):
    keras = pytest.importorskip("keras")

    def no_network():
        raise OSError("Name or service not known")

    monkeypatch.setattr(keras.datasets.fashion_mnist, "load_data", no_network)
    with pytest.raises(DatasetUnavailable, match="Fashion-MNIST is not available offline.*Name or service"):
        registry.load("fashion_mnist", allow_download=True)


def test_cached_keras_dataset_loads_through_the_keras_loader(empty_keras_home, monkeypatch):
    keras = pytest.importorskip("keras")
    (empty_keras_home / "datasets").mkdir()
    (empty_keras_home / "datasets" / "mnist.npz").write_bytes(b"stand-in")
    rng = np.random.default_rng(0)
    x_train, x_test = rng.integers(0, 256, (30, 28, 28), dtype=np.uint8), rng.integers(0, 256, (10, 28, 28), dtype=np.uint8)
    y_train, y_test = np.arange(30, dtype=np.uint8) % 10, np.arange(10, dtype=np.uint8)
    monkeypatch.setattr(keras.datasets.mnist, "load_data", lambda: ((x_train, y_train), (x_test, y_test)))
    assert registry.info("mnist").offline is True
    ds = registry.load("mnist", allow_download=False)
    assert ds.x.shape == (40, 28, 28, 1) and ds.x.dtype == np.float32
    np.testing.assert_allclose(ds.x[0, ..., 0], x_train[0] / 255.0, rtol=1e-6)
    np.testing.assert_array_equal(ds.y, np.concatenate([y_train, y_test]).astype(np.int32))
    sub = registry.load("mnist", allow_download=False, n_samples=12, seed=1)
    assert len(sub) == 12 and sub.info.size == 12
