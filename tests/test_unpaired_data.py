"""Class filters (``NAME[label=K]``) and unpaired datasets (``A|B``, ``unpaired:PATH``, ``tfds:cycle_gan/...``).

The data code is backend-neutral: these run on torch only.
"""

from __future__ import annotations

import keras
import numpy as np
import pytest
from PIL import Image

from ganzoo import data
from ganzoo.data import idx, streams, unpaired
from ganzoo.data.unpaired import Domain
from test_data import write_fashion

BACKEND = keras.backend.backend()
ONE_BACKEND = pytest.mark.skipif(BACKEND != "torch", reason="backend-neutral path: run on torch")
pytestmark = ONE_BACKEND
DIGITS_01 = "digits[label=0]|digits[label=1]"


def _error(name, **kwargs):
    """The one-line message of the DatasetError that ``load_arrays(name, **kwargs)`` raises."""
    with pytest.raises(data.DatasetError) as caught:
        data.load_arrays(name, **kwargs)
    message = str(caught.value)
    assert "\n" not in message and "Traceback" not in message
    return message


def _png(path, pixels):
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.asarray(pixels, np.uint8)).save(path)


@pytest.fixture
def tiny_fashion(tmp_path, monkeypatch):
    """A written Fashion-MNIST: train labels 0..9 twice, test labels 0, 1, 2."""
    arrays = write_fashion(tmp_path / "fashion", n_train=20, n_test=3)
    monkeypatch.setenv(idx.ENV_DIR, str(tmp_path / "fashion"))
    monkeypatch.setenv(idx.ENV_ONLY, "1")
    return arrays


@pytest.fixture
def cyclegan_folder(tmp_path):
    """``unpaired:PATH`` in CycleGAN's layout: trainA 3 images, trainB 5, testA 2, testB 1 (sizes vary)."""
    rng = np.random.default_rng(0)
    for split, count, shape in (("trainA", 3, (10, 12, 3)), ("trainB", 5, (8, 8)), ("testA", 2, (9, 9, 3)),
                                ("testB", 1, (8, 16))):
        for i in range(count):
            _png(tmp_path / "cg" / split / f"{i}.png", rng.integers(0, 256, shape))
    return tmp_path / "cg"


def test_class_filter_is_a_label_free_image_dataset_of_one_class():
    x, y = data.load_arrays("digits", "test", with_labels=True)
    described = data.info("digits[ label = 3 ]")
    assert (described.kind, described.shape, described.num_classes) == ("image", (8, 8, 1), None)
    assert described.num_examples["test"] == np.count_nonzero(y == 3)
    assert described.num_examples["train"] == np.count_nonzero(data.load_arrays("digits", with_labels=True)[1] == 3)
    threes, labels = data.load_arrays("digits[label=3]", "test")
    np.testing.assert_array_equal(threes, x[y == 3])  # every image of that label, in split order
    assert labels is None and len(data.load_arrays("digits[label=3]", "test", limit=5)[0]) == 5
    assert "has no labels" in _error("digits[label=3]", with_labels=True)
    batch = next(iter(data.load("digits[label=3]", split="test", batch_size=8)))
    assert tuple(batch.shape) == (8, 8, 8, 1)
    stream, per_epoch = data.epoch_stream("digits[label=3]", batch_size=50)
    assert per_epoch == described.num_examples["train"] // 50 and next(iter(stream)).shape == (50, 8, 8, 1)


def test_fashion_class_names_and_a_class_missing_from_a_split(tiny_fashion):
    for spelling in ("sneaker", "Sneaker", "7"):
        described = data.info(f"fashion_mnist[label={spelling}]")
        assert described.num_examples == {"train": 2, "test": 0}
    for spelling in ("ankle_boot", "Ankle boot", "ANKLE-BOOT"):
        assert unpaired.domains(f"digits[label=0]|fashion_mnist[label={spelling}]")[1] == Domain(
            "fashion_mnist[label=9]", "fashion_mnist", 9)
    np.testing.assert_allclose(data.load_arrays("fashion_mnist[label=t-shirt]")[0][..., 0],
                               tiny_fashion["train"][[0, 10]] / 127.5 - 1.0, atol=1e-6)
    message = _error("fashion_mnist[label=7]", split="test")
    assert "matches no image in split 'test'" in message and "another split" in message
    message = _error("fashion_mnist[label=7]|fashion_mnist[label=sneaker]")
    assert "A and B are the same image set" in message and "name two different sets" in message


@pytest.mark.parametrize("name, words", [
    ("fashion_mnist[7]", ["malformed class filter", "NAME[label=K]"]),
    ("fashion_mnist[label=]", ["malformed class filter", "NAME[label=K]"]),
    ("digits[label=3", ["malformed class filter"]),
    ("digits[label=1][label=2]", ["more than one class filter"]),
    ("digits[label=10]", ["label 10", "0 to 9"]),
    ("fashion_mnist[label=boots]", ["'boots'", "'Ankle boot'", "'Sneaker'"]),
    ("ring8[label=1]", ["holds points", "filter a labelled image dataset"]),
    ("fashion_mnist_edges[label=1]", ["holds pairs"]),
    ("tfds:celeb_a[label=1]", ["has no labels", "drop [label=...]"]),
])
def test_class_filter_errors_say_what_and_how_to_fix(name, words):
    if name.startswith("tfds:"):
        tfds = pytest.importorskip("tensorflow_datasets")
        with tfds.testing.mock_data(num_examples=2):
            message = _error(name)
    else:
        message = _error(name)
    assert all(word in message for word in words), message


def test_class_filter_of_a_folder_reads_its_class_folder(tmp_path):
    for cls, count in (("cats", 2), ("dogs", 3)):
        for i in range(count):
            _png(tmp_path / "pets" / cls / f"{i}.png", np.full((6, 6, 3), 40 * i + (100 if cls == "dogs" else 0)))
    name = f"folder:{tmp_path / 'pets'}"
    assert data.info(f"{name}[label=cats]").num_examples == {"train": 2}
    dogs = data.load_arrays(f"{name}[label=1]", image_size=[4, 4], channels=1)[0]
    np.testing.assert_allclose(dogs[:, 0, 0, 0], (100 + 40 * np.arange(3)) / 127.5 - 1, atol=1e-6)
    message = _error(f"{name}[label=birds]")
    assert "'birds'" in message and "'cats', 'dogs'" in message
    joined = data.info(f"{name}[label=cats]|{name}[label=dogs]", image_size=[4, 4])
    assert (joined.kind, joined.shape, joined.num_examples) == ("unpaired", (4, 4, 3), {"train": 3})
    assert unpaired.domains(f"{name}[label=cats]|{name}[label=dogs]")[1].label == 1


def test_joined_unpaired_dataset_equalises_by_cycling_and_keeps_native_lengths_for_metrics():
    zeros, ones = (data.load_arrays(f"digits[label={k}]", "test")[0] for k in (0, 1))
    train_labels = data.load_arrays("digits", with_labels=True)[1]
    described = data.info(" digits[label=0] | digits[label=1] ")
    assert described == data.DatasetInfo(" digits[label=0] | digits[label=1] ", (8, 8, 1), None, {
        "train": max(np.count_nonzero(train_labels == 0), np.count_nonzero(train_labels == 1)),
        "test": max(len(zeros), len(ones))}, "unpaired", input_shape=(8, 8, 1))
    a, b = data.load_arrays(DIGITS_01, "test")
    assert len(a) == len(b) == max(len(zeros), len(ones)) and len(zeros) != len(ones)
    short, long_ = (ones, b) if len(ones) < len(zeros) else (zeros, a)
    np.testing.assert_array_equal(long_, short[np.arange(len(long_)) % len(short)])  # the shorter domain cycles
    np.testing.assert_array_equal(a if long_ is b else b, zeros if long_ is b else ones)
    a, b = data.load_arrays(DIGITS_01, "test", limit=4)
    np.testing.assert_array_equal(a, zeros[:4])
    native = unpaired.domain_arrays(DIGITS_01)  # split "test" by default
    assert [len(x) for x in native] == [len(zeros), len(ones)]
    assert unpaired.domains(DIGITS_01) == (Domain("digits[label=0]", "digits", 0),
                                           Domain("digits[label=1]", "digits", 1))
    assert "yields (a, b) batches" in _error(DIGITS_01, with_labels=True)


@pytest.mark.parametrize("name, options, words", [
    ("digits[label=0]|digits[label=00]", {}, ["A and B are the same image set", "name two different sets"]),
    ("digits|digits", {}, ["same image set"]),
    ("digits|ring8", {}, ["side B", "holds points", "must be image datasets"]),
    ("fashion_mnist_edges|digits", {}, ["side A", "holds pairs"]),
    ("digits|digits[label=1]|digits[label=2]", {}, ["2 '|' separators", "exactly two"]),
    ("digits[label=1]|", {}, ["no dataset after '|'"]),
    (DIGITS_01, {"direction": "b_to_a"}, ["direction does not apply to the unpaired dataset", "remove it"]),
    (DIGITS_01, {"scale": 2}, ["scale does not apply"]),
    (DIGITS_01, {"image_size": [8, 8]}, ["image_size applies to images read from files", "remove it"]),
    (DIGITS_01, {"split": "all"}, ["no split 'all'", "'train', 'test'"]),
    ("unpaired:/nonexistent/cg", {}, ["does not exist", "trainA/ and trainB/"]),
])
def test_unpaired_errors_say_what_and_how_to_fix(name, options, words):
    message = _error(name, **options)
    assert all(word in message for word in words), message


def test_unpaired_folder_in_cyclegan_layout(cyclegan_folder, tmp_path):
    name = f"unpaired:{cyclegan_folder}"
    options = {"image_size": [8, 8], "channels": 1}
    assert data.info(name, **options) == data.DatasetInfo(name, (8, 8, 1), None, {"train": 5, "test": 2}, "unpaired",
                                                          input_shape=(8, 8, 1))
    a, b = data.load_arrays(name, **options)
    assert a.shape == b.shape == (5, 8, 8, 1) and a.dtype == np.float32 and -1 <= a.min() < a.max() <= 1
    np.testing.assert_array_equal(a[3:], a[:2])  # trainA's 3 images, cycled
    native = unpaired.domain_arrays(name, "test", **options)
    assert [len(x) for x in native] == [2, 1]
    expected = data.load_arrays(f"folder:{cyclegan_folder / 'testA'}", **options)[0]
    np.testing.assert_array_equal(native[0], expected)  # read as the folder dataset reads it
    assert unpaired.domains(name) == (Domain(f"{name} (A)", None, None), Domain(f"{name} (B)", None, None))
    batches = list(data.load(name, batch_size=2, **options).as_numpy_iterator())
    assert len(batches) == 2 and batches[0][0].shape == batches[0][1].shape == (2, 8, 8, 1)
    mixed = data.info(f"digits[label=0]|folder:{cyclegan_folder / 'trainA'}", image_size=[4, 4])
    zeros = data.info("digits[label=0]").num_examples["train"]  # the folder side has no test split
    assert (mixed.input_shape, mixed.shape, mixed.num_examples) == ((8, 8, 1), (4, 4, 3), {"train": zeros})

    (cyclegan_folder / "testB" / "0.png").unlink()
    (cyclegan_folder / "testB").rmdir()
    message = _error(name, **options)
    assert "has testA/ but no testB/" in message and "add testB/ or remove testA/" in message
    (tmp_path / "flat" / "photos").mkdir(parents=True)
    message = _error(f"unpaired:{tmp_path / 'flat'}")
    assert "no trainA/ or trainB/" in message and "sub-folders photos" in message and "put domain A's" in message


def test_tfds_cycle_gan_with_mock_data():
    tfds = pytest.importorskip("tensorflow_datasets")
    name = "tfds:cycle_gan/horse2zebra"
    with tfds.testing.mock_data(num_examples=3):  # mock images of random sizes
        described = data.info(name, image_size=[8, 12])
        a, b = data.load_arrays(name, "test", image_size=[8, 12])
        gray = unpaired.domain_arrays(name, "train", limit=2, channels=1, resize="stretch")
        message = _error(name, direction="a_to_b")
    assert (described.kind, described.shape, described.input_shape) == ("unpaired", (8, 12, 3), (8, 12, 3))
    assert a.shape == b.shape == (3, 8, 12, 3) and a.dtype == np.float32 and -1 <= a.min() < a.max() <= 1
    assert [x.shape for x in gray] == [(2, 32, 32, 1)] * 2
    assert "direction does not apply" in message
    assert unpaired.domains(name)[0] == Domain(f"{name} (A)", None, None)


def _order(batches, images):
    """The index in `images` of every image of `batches`, in order."""
    where = {image.tobytes(): i for i, image in enumerate(images)}
    assert len(where) == len(images)
    return [where[np.asarray(image).tobytes()] for batch in batches for image in batch]


def test_load_yields_a_and_b_batches_shuffled_apart():
    a, b = data.load_arrays(DIGITS_01, "test", limit=12)
    ds = data.load(DIGITS_01, split="test", batch_size=4, seed=1, limit=12)
    epochs = [list(ds.as_numpy_iterator()) for _ in range(2)]
    assert len(epochs[0]) == 3 and epochs[0][0][0].shape == epochs[0][0][1].shape == (4, 8, 8, 1)
    orders = [(_order([x for x, _ in epoch], a), _order([y for _, y in epoch], b)) for epoch in epochs]
    for order_a, order_b in orders:
        assert sorted(order_a) == sorted(order_b) == list(range(12)) and order_a != order_b
    assert orders[0] != orders[1]  # reshuffled every epoch
    assert len(list(data.load(DIGITS_01, split="test", batch_size=4))) == data.info(DIGITS_01).num_examples["test"] // 4


@pytest.mark.parametrize("with_tensorflow", [True, False])
def test_epoch_stream_orders_a_and_b_apart_and_resumes_at_any_batch(with_tensorflow, monkeypatch):
    monkeypatch.setattr(streams, "tensorflow_available", lambda: with_tensorflow)
    a, b = data.load_arrays(DIGITS_01, limit=12)

    def batches(start, count):
        stream, per_epoch = data.epoch_stream(DIGITS_01, batch_size=4, seed=5, limit=12, start_batch=start)
        got = ([stream[i] for i in range(count)] if isinstance(stream, keras.utils.PyDataset)
               else list(stream.take(count).as_numpy_iterator()))
        return got, per_epoch

    unbroken, per_epoch = batches(0, 9)
    assert per_epoch == 3 and unbroken[0][0].shape == unbroken[0][1].shape == (4, 8, 8, 1)
    epochs = [unbroken[e * per_epoch:(e + 1) * per_epoch] for e in range(3)]
    orders = [(_order([x for x, _ in epoch], a), _order([y for _, y in epoch], b)) for epoch in epochs]
    for order_a, order_b in orders:
        assert sorted(order_a) == sorted(order_b) == list(range(12))  # each epoch visits every image once
        assert order_a != order_b  # two permutations, not one
    assert len({tuple(zip(*pair)) for pair in orders}) == 3  # which A meets which B changes every epoch
    for start in (1, per_epoch, 2 * per_epoch + 1):
        resumed, _ = batches(start, 2)
        for got, expected in zip(resumed, unbroken[start:start + 2]):
            np.testing.assert_array_equal(got[0], expected[0])
            np.testing.assert_array_equal(got[1], expected[1])
