"""Splits without leakage, normalization fitted on train only, label encoding, summary tables, feeds."""
import numpy as np
import pytest

from datasets import registry
from datasets.base import DatasetError
from datasets.splits import (
    Normalizer,
    class_balance,
    encode_labels,
    feature_stats,
    overview,
    prepare,
    split,
    target_stats,
)


@pytest.fixture(scope="module")
def iris():
    return registry.load("iris")


def test_split_indices_are_disjoint_cover_everything_and_are_stratified(iris):
    s = split(iris, validation_split=0.2, test_split=0.2, seed=0)
    parts = [set(s.idx_train), set(s.idx_val), set(s.idx_test)]
    assert not (parts[0] & parts[1] or parts[0] & parts[2] or parts[1] & parts[2])
    assert set().union(*parts) == set(range(150))
    assert (len(s.idx_train), len(s.idx_val), len(s.idx_test)) == (90, 30, 30)
    np.testing.assert_array_equal(s.x_test, iris.x[s.idx_test])
    np.testing.assert_array_equal(s.y_val, iris.y[s.idx_val])
    # stratified: every split keeps iris' 1/3 : 1/3 : 1/3 balance exactly
    for y in (s.y_train, s.y_val, s.y_test):
        counts = np.bincount(y, minlength=3)
        assert counts.min() == counts.max()


def test_split_is_seeded(iris):
    a, b, c = split(iris, seed=1), split(iris, seed=1), split(iris, seed=2)
    np.testing.assert_array_equal(a.idx_test, b.idx_test)
    assert not np.array_equal(a.idx_test, c.idx_test)


def test_regression_split_is_not_stratified_and_zero_validation_is_allowed():
    ds = registry.load("diabetes")
    s = split(ds, validation_split=0.0, test_split=0.25, seed=0)
    assert len(s.x_val) == 0 and len(s.x_train) + len(s.x_test) == 442


def test_bad_fractions_are_plain_errors(iris):
    with pytest.raises(DatasetError, match="test_split must be a fraction"):
        split(iris, test_split=1.5)
    with pytest.raises(DatasetError, match="too little for training"):
        split(iris, validation_split=0.5, test_split=0.45)


def test_tiny_classes_fall_back_to_a_random_split_with_a_note():
    ds = registry.load("moons", n_samples=40)
    ds.y[0] = 2  # a class with a single member cannot be stratified
    ds.class_names = ["0", "1", "2"]
    s = split(ds, 0.2, 0.2, seed=0)
    assert s.notes and len(s.idx_train) + len(s.idx_val) + len(s.idx_test) == 40


def test_normalizer_statistics_come_from_the_training_split_only(iris):
    from sklearn.preprocessing import StandardScaler

    s = prepare(iris, 0.2, 0.2, seed=0)  # tables are standardized by default
    raw_train = iris.x[s.idx_train].astype(np.float64)
    np.testing.assert_allclose(s.normalizer.shift, raw_train.mean(0), rtol=1e-5)
    np.testing.assert_allclose(s.normalizer.scale, raw_train.std(0), rtol=1e-5)
    reference = StandardScaler().fit(raw_train)
    np.testing.assert_allclose(s.x_test, reference.transform(iris.x[s.idx_test]), atol=1e-5)
    np.testing.assert_allclose(s.x_train.mean(0), 0, atol=1e-5)
    assert np.abs(s.x_test.mean(0)).max() > 1e-3  # test data was not used to centre anything
    # statistics over the whole set differ from the train split's: the split matters
    assert not np.allclose(s.normalizer.shift, iris.x.mean(0), rtol=1e-4)


def test_minmax_and_round_trip_and_constant_columns():
    x = np.array([[0, 5, 1], [2, 5, 3], [4, 5, 5]], np.float32)
    n = Normalizer("minmax").fit(x)
    np.testing.assert_allclose(n.transform(x), [[0, 0, 0], [0.5, 0, 0.5], [1, 0, 1]])
    again = Normalizer.from_dict(n.to_dict())
    np.testing.assert_allclose(again.transform(x), n.transform(x))
    np.testing.assert_allclose(again.inverse(again.transform(x)), x)
    with pytest.raises(DatasetError, match="normalization must be one of"):
        Normalizer("zscore")
    with pytest.raises(DatasetError, match="not been fitted"):
        Normalizer().transform(x)


def test_images_and_tokens_are_not_normalized_by_default():
    digits = registry.load("digits")
    s = prepare(digits, seed=0)
    assert s.normalizer.mode == "none"
    np.testing.assert_array_equal(s.x_train, digits.x[s.idx_train])
    tokens = registry.load("tokens", n_samples=100)
    assert prepare(tokens).x_train.dtype == np.int32
    with pytest.raises(DatasetError, match="token ids"):
        prepare(tokens, normalize="standard")


def test_masks_follow_their_images_through_the_split():
    shapes = registry.load("shapes", n_samples=90, noise=0.0)
    s = prepare(shapes, 0.2, 0.2, seed=3)
    for x, m, idx in ((s.x_train, s.masks_train, s.idx_train), (s.x_val, s.masks_val, s.idx_val),
                      (s.x_test, s.masks_test, s.idx_test)):
        assert len(m) == len(x)
        np.testing.assert_array_equal(m, shapes.masks[idx])
        for image, mask in zip(x[..., 0], m, strict=True):
            assert image[mask].min() > image[~mask].max()  # still the bright shape's pixels


def test_encode_labels():
    codes, names = encode_labels(["dog", "cat", "dog", "bird"])
    assert names == ["bird", "cat", "dog"] and codes.tolist() == [2, 1, 2, 0] and codes.dtype == np.int32
    codes, names = encode_labels(np.array([10, 3, 10]))
    assert names == ["3", "10"] and codes.tolist() == [1, 0, 1]


def test_summary_tables(iris):
    s = split(iris, 0.2, 0.2, seed=0)
    table = class_balance(s)
    assert table.columns.tolist() == ["class", "train", "validation", "test", "total", "percent"]
    assert table["train"].tolist() == [30, 30, 30] and table["total"].tolist() == [50, 50, 50]
    stats = feature_stats(iris)
    assert stats["feature"].tolist() == iris.feature_names
    np.testing.assert_allclose(stats["mean"], iris.x.mean(0), rtol=1e-5)
    np.testing.assert_allclose(stats["max"], iris.x.max(0))
    assert feature_stats(registry.load("digits"))["feature"].tolist() == ["gray"]
    diabetes = registry.load("diabetes")
    t = target_stats(split(diabetes, 0.2, 0.2, 0))
    assert t["split"].tolist() == ["train", "validation", "test"] and t["count"].sum() == 442
    with pytest.raises(DatasetError, match="regression dataset"):
        class_balance(diabetes)
    facts = dict(overview(registry.load("shapes", n_samples=30)).values.tolist())
    assert facts["input shape"] == "28 × 28 × 1" and facts["object masks"] == "yes" and facts["examples"] == "30"


# -- feeding model.fit -------------------------------------------------------------


def test_array_feed_visits_every_example_once_per_epoch_without_copying_the_set():
    pytest.importorskip("keras")
    from datasets.feed import ArrayFeed, arrays, feeds

    s = split(registry.load("digits"), 0.1, 0.1, seed=0)
    train, val, test = feeds(s, batch_size=64, seed=0)
    assert train.x is s.x_train and val[0] is s.x_val and test[0] is s.x_test  # references, not copies
    assert arrays(s)["x_train"] is s.x_train

    def epoch(feed):
        xs, ys = zip(*(feed[i] for i in range(len(feed))), strict=True)
        return np.concatenate(xs), np.concatenate(ys)

    x1, y1 = epoch(train)
    assert len(train) == int(np.ceil(len(s.x_train) / 64)) and len(x1) == len(s.x_train)
    # same multiset of examples: sort by content
    key = lambda x: np.lexsort(x.reshape(len(x), -1).T)  # noqa: E731
    np.testing.assert_array_equal(x1[key(x1)], s.x_train[key(s.x_train)])
    first_batch = train[0][1].copy()
    train.on_epoch_end()
    assert not np.array_equal(first_batch, train[0][1])  # reshuffled
    again = ArrayFeed(s.x_train, s.y_train, 64, seed=0)
    np.testing.assert_array_equal(again[0][1], first_batch)  # seeded
    with pytest.raises(IndexError):
        train[len(train)]


def test_array_feed_augments_training_batches_only():
    pytest.importorskip("keras")
    from datasets.feed import feeds

    s = split(registry.load("shapes", n_samples=60), 0.2, 0.2, seed=0)
    train, val, _ = feeds(s, batch_size=8, seed=0, augmentation=[{"type": "GaussianNoise", "params": {"stddev": 0.5}}])
    plain, _ = feeds(s, batch_size=8, seed=0)[0][0]
    noisy, _ = train[0]
    assert noisy.shape == plain.shape and 0.3 < np.std(noisy - plain) < 0.7
    assert val[0] is s.x_val


@pytest.mark.parametrize("n", [7, 33, 60, 1797])
@pytest.mark.parametrize("validation,test", [(0.2, 0.2), (0.0, 0.3), (0.15, 0.0), (0.1, 0.5), (0.0, 0.0)])
def test_split_sizes_count_what_the_splitter_makes_without_the_data(n, validation, test):
    from datasets.splits import split_indices, split_sizes

    made = split_indices(np.arange(n) % 3, validation, test, seed=0, stratify=False)[:3]
    assert split_sizes(n, validation, test) == tuple(len(part) for part in made)
    with pytest.raises(ValueError, match="below 0.9"):
        split_sizes(n, 0.5, 0.45)


def test_small_classes_are_named_with_their_counts():
    from datasets.base import Dataset
    from datasets.registry import DatasetInfo
    from datasets.splits import small_classes

    y = np.array([0] * 40 + [1] * 12 + [2] * 1)
    info = DatasetInfo("upload:pics", "pics", "classification", (4,), ["cat", "dog", "owl"], len(y), "")
    found = small_classes(Dataset(np.zeros((len(y), 4), "float32"), y, info, ["cat", "dog", "owl"]))
    assert found == [
        "Class 'dog' has only 12 examples; give it at least 30 (more is better), or the model will rarely learn it.",
        "Class 'owl' has only 1 example; give it at least 30 (more is better), or the model will rarely learn it."]
    assert small_classes(registry.load("iris")) == []  # 50 of each
