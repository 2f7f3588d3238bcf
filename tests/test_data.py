"""Tests for ganzoo.data: built-in datasets, IDX reading, mixtures and TFDS."""

from __future__ import annotations

import gzip
import struct
from pathlib import Path

import numpy as np
import pytest

from ganzoo import data
from ganzoo.data import idx, mixtures

SYSTEM_FASHION = Path("/usr/share/datasets/fashion-mnist")


@pytest.fixture(autouse=True)
def _isolated_env(monkeypatch):
    # A developer's own GANZOO_DATA must not leak into the assertions.
    monkeypatch.delenv(idx.ENV_DIR, raising=False)
    monkeypatch.delenv(idx.ENV_ONLY, raising=False)


def idx_bytes(array: np.ndarray, code: int = 0x08, dtype: str = ">u1") -> bytes:
    """Encodes an array in IDX format (independent of the reader under test)."""
    header = struct.pack(">BBBB", 0, 0, code, array.ndim)
    header += struct.pack(f">{array.ndim}I", *array.shape)
    return header + array.astype(dtype).tobytes()


def write_fashion(folder: Path, n_train: int = 5, n_test: int = 3) -> dict[str, np.ndarray]:
    """Writes a tiny Fashion-MNIST: train files gzipped, test files plain."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(7)
    arrays = {}
    for split, n in (("train", n_train), ("test", n_test)):
        images = rng.integers(0, 256, size=(n, 28, 28), dtype=np.uint8)
        images[0, 0, 0], images[0, 0, 1] = 0, 255  # Pin both ends of the range.
        labels = (np.arange(n) % 10).astype(np.uint8)
        image_stem, label_stem = idx.FASHION_MNIST_FILES[split]
        for stem, array in ((image_stem, images), (label_stem, labels)):
            raw = idx_bytes(array)
            if split == "train":
                (folder / f"{stem}.gz").write_bytes(gzip.compress(raw))
            else:
                (folder / stem).write_bytes(raw)
        arrays[split] = images
        arrays[f"{split}_labels"] = labels
    return arrays


@pytest.fixture
def tiny_fashion(tmp_path, monkeypatch):
    arrays = write_fashion(tmp_path)
    monkeypatch.setenv(idx.ENV_DIR, str(tmp_path))
    monkeypatch.setenv(idx.ENV_ONLY, "1")
    return arrays


def test_available_and_info():
    assert data.available() == ["digits", "digits_x2", "fashion_mnist", "fashion_mnist_32", "fashion_mnist_edges",
                                "fashion_mnist_x4", "grid25", "ring8"]
    assert data.info("digits").shape == (8, 8, 1)
    assert data.info("fashion_mnist").num_examples == {"train": 60_000, "test": 10_000}
    ring = data.info("ring8")
    assert (ring.kind, ring.shape, ring.num_classes) == ("points", (2,), 8)
    assert data.info("grid25").num_examples["train"] == 100_000


def test_digits_arrays_range_labels_and_splits():
    x, y = data.load_arrays("digits", "train", with_labels=True)
    assert x.shape == (1500, 8, 8, 1) and x.dtype == np.float32
    assert y.shape == (1500,) and y.dtype == np.int32
    assert x.min() == -1.0 and x.max() == 1.0
    assert set(np.unique(y)) == set(range(10))
    x_test, _ = data.load_arrays("digits", "test")
    x_all, _ = data.load_arrays("digits", "all")
    assert len(x_test) == 297 and len(x_all) == 1797
    # Equal multisets prove train and test partition "all": nothing shared or lost.
    rows = lambda a: sorted(map(bytes, a.reshape(len(a), -1)))
    assert rows(np.concatenate([x, x_test])) == rows(x_all)


def test_digits_pipeline_batches_and_seeded_shuffle():
    ds = data.load("digits", batch_size=64, with_labels=True, seed=3)
    batches = list(ds.as_numpy_iterator())
    assert len(batches) == 1500 // 64
    xb, yb = batches[0]
    assert xb.shape == (64, 8, 8, 1) and xb.dtype == np.float32 and yb.dtype == np.int32
    again = next(data.load("digits", batch_size=64, seed=3).as_numpy_iterator())
    other = next(data.load("digits", batch_size=64, seed=4).as_numpy_iterator())
    np.testing.assert_array_equal(xb, again)
    assert not np.array_equal(xb, other)
    ordered = next(data.load("digits", batch_size=8, shuffle=False).as_numpy_iterator())
    np.testing.assert_array_equal(ordered, data.load_arrays("digits", limit=8)[0])


def test_fashion_mnist_from_written_idx_files(tiny_fashion):
    x, y = data.load_arrays("fashion_mnist", "train", with_labels=True)
    assert x.shape == (5, 28, 28, 1) and x.dtype == np.float32
    np.testing.assert_allclose(x[..., 0], tiny_fashion["train"] / 127.5 - 1.0, atol=1e-6)
    assert x[0, 0, 0, 0] == -1.0 and x[0, 0, 1, 0] == 1.0
    np.testing.assert_array_equal(y, tiny_fashion["train_labels"])
    x_test, y_test = data.load_arrays("fashion_mnist", "test", with_labels=True)
    assert x_test.shape == (3, 28, 28, 1) and list(y_test) == [0, 1, 2]
    xb, yb = next(iter(data.load("fashion_mnist", split="test", batch_size=2, with_labels=True)))
    assert tuple(xb.shape) == (2, 28, 28, 1) and tuple(yb.shape) == (2,)
    # fashion_mnist_32: the same images and labels with 2 background pixels (-1) on every side
    padded, labels = data.load_arrays("fashion_mnist_32", "train", with_labels=True)
    assert padded.shape == (5, 32, 32, 1) and np.all(padded[:, :2] == -1.0) and np.all(padded[:, :, -2:] == -1.0)
    np.testing.assert_array_equal(padded[:, 2:-2, 2:-2], x)
    np.testing.assert_array_equal(labels, y)


def test_fashion_mnist_found_in_subfolder(tmp_path, monkeypatch):
    write_fashion(tmp_path / "fashion-mnist", n_train=4)
    monkeypatch.setenv(idx.ENV_DIR, str(tmp_path))
    monkeypatch.setenv(idx.ENV_ONLY, "1")
    assert data.load_arrays("fashion_mnist", limit=3)[0].shape == (3, 28, 28, 1)


def test_fashion_mnist_absent_files_error_is_one_line(tmp_path, monkeypatch):
    monkeypatch.setenv(idx.ENV_DIR, str(tmp_path))
    monkeypatch.setenv(idx.ENV_ONLY, "1")
    assert idx.search_dirs() == [tmp_path, tmp_path / "fashion-mnist"]
    with pytest.raises(data.DatasetError) as caught:
        data.load("fashion_mnist")
    message = str(caught.value)
    assert "\n" not in message
    assert "dataset-fashion-mnist" in message and "GANZOO_DATA" in message
    assert str(tmp_path) in message


def test_search_dirs_include_system_paths_without_switch(tmp_path, monkeypatch):
    monkeypatch.setenv(idx.ENV_DIR, str(tmp_path))
    assert idx.search_dirs()[2:] == [Path(d).expanduser() for d in idx.SYSTEM_DIRS]
    assert idx.find_fashion_mnist(dirs=[tmp_path]) is None


@pytest.mark.parametrize("compress", [False, True])
def test_truncated_idx_file_raises(tmp_path, compress):
    raw = idx_bytes(np.zeros((4, 28, 28), np.uint8))
    path = tmp_path / "cut"
    path.write_bytes((gzip.compress(raw) if compress else raw)[:-10])
    with pytest.raises(data.DatasetError, match="truncated"):
        idx.read_idx(path)


def test_truncated_fashion_file_raises_through_load(tiny_fashion, tmp_path):
    (tmp_path / "t10k-images-idx3-ubyte").write_bytes(idx_bytes(tiny_fashion["test"])[:100])
    with pytest.raises(data.DatasetError, match="truncated"):
        data.load("fashion_mnist", split="test", batch_size=1)


def test_idx_header_parsing_and_bad_magic():
    values = np.arange(-6, 6, dtype=np.int32).reshape(2, 3, 2)
    parsed = idx.parse_idx(idx_bytes(values, code=0x0C, dtype=">i4"))
    assert parsed.shape == (2, 3, 2) and parsed.dtype == np.int32
    np.testing.assert_array_equal(parsed, values)
    with pytest.raises(data.DatasetError, match="not an IDX file"):
        idx.parse_idx(b"\x1f\x00\x08\x01\x00\x00\x00\x00")
    with pytest.raises(data.DatasetError, match="trailing"):
        idx.parse_idx(idx_bytes(np.zeros(3, np.uint8)) + b"\x00")


@pytest.mark.skipif(
    idx.find_fashion_mnist(dirs=[SYSTEM_FASHION]) is None,
    reason=f"real Fashion-MNIST is not installed in {SYSTEM_FASHION} "
    "(apt-get install dataset-fashion-mnist)",
)
def test_real_fashion_mnist_counts(monkeypatch):
    monkeypatch.setenv(idx.ENV_DIR, str(SYSTEM_FASHION))
    monkeypatch.setenv(idx.ENV_ONLY, "1")
    x, y = data.load_arrays("fashion_mnist", "train", with_labels=True)
    x_test, y_test = data.load_arrays("fashion_mnist", "test", with_labels=True)
    assert x.shape == (60_000, 28, 28, 1) and x_test.shape == (10_000, 28, 28, 1)
    assert np.bincount(y).tolist() == [6000] * 10 and np.bincount(y_test).tolist() == [1000] * 10
    assert x.min() == -1.0 and x.max() == 1.0


@pytest.mark.parametrize("name", ["ring8", "grid25"])
def test_mixture_points_near_modes(name):
    centers, std = data.mode_centers(name), data.mode_std(name)
    x, y = data.load_arrays(name, with_labels=True)
    assert x.shape == (100_000, 2) and x.dtype == np.float32
    # Per coordinate, as sigma is per axis; the default seed makes this deterministic.
    assert np.all(np.abs(x - centers[y]) < 5 * std)
    distances = np.linalg.norm(x[:, None, :] - centers[None, :, :], axis=-1)
    np.testing.assert_array_equal(distances.argmin(axis=1), y)
    assert np.bincount(y).tolist() == [len(x) // len(centers)] * len(centers)
    same = data.load_arrays(name, seed=5)[0]
    np.testing.assert_array_equal(same, data.load_arrays(name, seed=5)[0])
    assert not np.array_equal(x, data.load_arrays(name, seed=6)[0])
    assert len(data.load_arrays(name, "test")[0]) == 10_000


def test_mixture_geometry():
    ring = data.mode_centers("ring8")
    np.testing.assert_allclose(np.linalg.norm(ring, axis=1), 1.0, atol=1e-6)
    assert data.mode_std("ring8") == 0.01 and data.mode_std("grid25") == 0.05
    assert sorted(set(data.mode_centers("grid25").ravel().tolist())) == [-4.0, -2.0, 0.0, 2.0, 4.0]
    with pytest.raises(data.DatasetError, match="not a Gaussian mixture"):
        data.mode_centers("digits")


def test_mixture_small_limit_covers_every_mode():
    xb, yb = next(iter(data.load("grid25", batch_size=25, limit=25, with_labels=True)))
    assert sorted(np.asarray(yb).tolist()) == list(range(25)) and tuple(xb.shape) == (25, 2)


def test_tfds_mnist_with_mock_data():
    tfds = pytest.importorskip("tensorflow_datasets")
    with tfds.testing.mock_data(num_examples=10):
        batches = list(data.load("tfds:mnist", batch_size=4, with_labels=True).as_numpy_iterator())
        x, _ = data.load_arrays("tfds:mnist", split="test", limit=3)
        described = data.info("tfds:mnist")
    assert len(batches) == 2
    for xb, yb in batches:
        assert xb.shape == (4, 28, 28, 1) and xb.dtype == np.float32
        assert xb.min() >= -1.0 and xb.max() <= 1.0 and xb.max() > xb.min()
        assert yb.dtype == np.int32 and np.all((0 <= yb) & (yb < 10))
    assert x.shape == (3, 28, 28, 1) and x.dtype == np.float32
    assert (described.shape, described.num_classes, described.kind) == ((28, 28, 1), 10, "image")


def test_tfds_label_free_dataset_rejects_with_labels():
    tfds = pytest.importorskip("tensorflow_datasets")
    with tfds.testing.mock_data(num_examples=2):
        assert data.info("tfds:celeb_a").num_classes is None
        with pytest.raises(data.DatasetError, match="has no labels"):
            data.load("tfds:celeb_a", with_labels=True)


def test_unknown_names_suggest_closest():
    with pytest.raises(data.DatasetError, match="did you mean 'fashion_mnist'") as caught:
        data.load("fashion-mnist")
    assert "digits" in str(caught.value) and "\n" not in str(caught.value)
    with pytest.raises(data.DatasetError, match="did you mean 'ring8'"):
        data.info("ring9")
    with pytest.raises(data.DatasetError, match="'mnistt'.*did you mean 'tfds:mnist'"):
        data.load("tfds:mnistt")


def test_bad_split_and_arguments():
    with pytest.raises(data.DatasetError, match="no split 'validation'"):
        data.load("digits", split="validation")
    with pytest.raises(data.DatasetError, match="batch_size=0"):
        data.load("digits", batch_size=0)
    with pytest.raises(data.DatasetError, match="fewer than batch_size=64"):
        data.load("digits", limit=10)
    assert len(list(data.load("digits", limit=10, drop_remainder=False))) == 1


def test_dataset_feeds_keras_fit():
    keras = pytest.importorskip("keras")
    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(8, activation="softmax")])
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    ds = data.load("ring8", batch_size=32, limit=128, with_labels=True)
    history = model.fit(ds, epochs=1, verbose=0, shuffle=False)
    assert np.isfinite(history.history["loss"][0])


def test_epoch_stream_resumes_at_any_batch_with_the_same_order():
    stream, per_epoch = data.epoch_stream("digits", batch_size=100, seed=3, with_labels=True)
    labels = [y for _, y in stream.take(2 * per_epoch + 2).as_numpy_iterator()]
    assert per_epoch == len(data.load_arrays("digits")[0]) // 100
    later, _ = data.epoch_stream("digits", batch_size=100, seed=3, with_labels=True,
                                 start_batch=per_epoch + 1)
    for expected, (_, got) in zip(labels[per_epoch + 1:], later.take(per_epoch + 1).as_numpy_iterator()):
        np.testing.assert_array_equal(got, expected)
    # Each data epoch is a new permutation, without repeats inside it.
    first = np.concatenate([x.reshape(len(x), -1) for x, _ in stream.take(per_epoch).as_numpy_iterator()])
    assert len(np.unique(first, axis=0)) > 0.95 * len(first)
    assert not np.array_equal(labels[0], labels[per_epoch])
    other, _ = data.epoch_stream("digits", batch_size=100, seed=4, with_labels=True)
    assert not np.array_equal(next(iter(other.as_numpy_iterator()))[1], labels[0])
    with pytest.raises(data.DatasetError, match="start_batch"):
        data.epoch_stream("digits", start_batch=-1)


def test_epoch_stream_of_tfds_counts_its_batches():
    tfds = pytest.importorskip("tensorflow_datasets")
    with tfds.testing.mock_data(num_examples=10):
        stream, per_epoch = data.epoch_stream("tfds:mnist", batch_size=4, with_labels=True)
        assert per_epoch == 2
        assert len(list(stream.take(5).as_numpy_iterator())) == 5  # repeats past one epoch
