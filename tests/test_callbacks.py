"""Tests for ganzoo.callbacks on the active Keras backend."""

import json
import math
import os

import keras
import numpy as np
import pytest
from PIL import Image

from ganzoo import callbacks, plots
from ganzoo.callbacks import HistoryJSON, LossCurve, SampleGrid, load_history
from ganzoo.plots import (
    GRID_BACKGROUND,
    GRID_GAP,
    image_grid,
    plot_history,
    save_image_grid,
    scatter_plot,
)

LATENT_DIM = 4


class TinyGAN(keras.Model):
    """Stand-in for a ganzoo GAN: two named heads give d_loss/g_loss/d_real/d_fake logs.

    A multi-output model trained with ``fit`` produces GAN-like log keys on every
    backend without a backend-specific ``train_step``.
    """

    def __init__(self, points=False):
        super().__init__()
        self.points = points
        self.latent_dim = LATENT_DIM
        self.d = keras.layers.Dense(1, name="d")
        self.g = keras.layers.Dense(2 if points else 64, activation="tanh", name="g")

    def call(self, z):
        return {"d": self.d(z), "g": self.g(z)}

    def generate(self, n, *, seed=None, batch_size=256):
        z = np.random.default_rng(seed).normal(size=(n, self.latent_dim)).astype("float32")
        out = keras.ops.convert_to_numpy(self.g(z))
        return out if self.points else out.reshape(n, 8, 8, 1)


def _mean_of_prediction(y_true, y_pred):
    return keras.ops.mean(y_pred)


def make_model(points=False):
    """Builds and compiles a TinyGAN whose logs hold d_loss, g_loss, d_real, d_fake."""
    model = TinyGAN(points=points)
    metrics = [
        keras.metrics.MeanMetricWrapper(_mean_of_prediction, name="real"),
        keras.metrics.MeanMetricWrapper(_mean_of_prediction, name="fake"),
    ]
    model.compile(optimizer=keras.optimizers.SGD(0.1), loss={"d": "mse", "g": "mse"},
                  metrics={"d": metrics})
    return model


def fit(model, epochs, callback_list, **kwargs):
    """Trains ``model`` on a tiny random data set."""
    rng = np.random.default_rng(0)
    x = rng.normal(size=(16, LATENT_DIM)).astype("float32")
    y = {"d": np.zeros((16, 1), "float32"), "g": np.zeros((16, model.g.units), "float32")}
    return model.fit(x, y, epochs=epochs, batch_size=8, verbose=0, callbacks=callback_list,
                     **kwargs)


# ------------------------------------------------------------------ image_grid


@pytest.mark.parametrize("n, columns, rows", [(10, None, 3), (10, 5, 2), (3, 8, 1), (1, None, 1)])
def test_grid_size_follows_tiling_arithmetic(n, columns, rows):
    images = np.zeros((n, 5, 7, 3), "float32")
    grid = image_grid(images, columns=columns, scale=1)
    cols = min(columns, n) if columns else math.ceil(math.sqrt(n))
    assert grid.size == (cols * 7 + (cols - 1) * GRID_GAP, rows * 5 + (rows - 1) * GRID_GAP)
    assert grid.mode == "RGB"


def test_grid_auto_scale_makes_small_images_wide_enough():
    grid = image_grid(np.zeros((64, 8, 8, 1), "float32"))
    # 8 columns of 8 px: the smallest integer scale reaching 256 px is 4.
    assert grid.size == (8 * 8 * 4 + 7 * GRID_GAP,) * 2
    assert grid.mode == "L"
    assert image_grid(np.zeros((4, 300, 300, 1), "float32")).size == (602, 602)


def test_grid_pixel_values_map_and_clip(tmp_path):
    images = np.stack([np.full((4, 4, 1), v, "float32") for v in (-1.0, 1.0, -7.0, 7.0)])
    path = save_image_grid(images, tmp_path / "a" / "b" / "grid.png", columns=4, scale=2)
    pixels = np.asarray(Image.open(path))
    assert pixels.shape == (8, 4 * 8 + 3 * GRID_GAP)
    tiles = [pixels[:, i * (8 + GRID_GAP) : i * (8 + GRID_GAP) + 8] for i in range(4)]
    assert [np.unique(t).tolist() for t in tiles] == [[0], [255], [0], [255]]
    assert (pixels[:, 8 : 8 + GRID_GAP] == GRID_BACKGROUND).all()


def test_grid_zero_is_mid_grey_and_nan_does_not_crash():
    images = np.array([0.0, np.nan], "float32").reshape(2, 1, 1, 1)
    assert np.asarray(image_grid(images, scale=1))[0, [0, 1 + GRID_GAP]].tolist() == [128, 128]


@pytest.mark.parametrize("shape", [(4, 8, 8), (4, 8, 8, 2), (0, 8, 8, 1), (8, 8)])
def test_grid_rejects_bad_shapes(shape):
    with pytest.raises(ValueError, match=r"got shape \(" + ", ".join(map(str, shape))):
        image_grid(np.zeros(shape, "float32"))


def test_grid_rejects_bad_columns_and_scale():
    with pytest.raises(ValueError, match="columns must be an integer >= 1; got 0"):
        image_grid(np.zeros((2, 2, 2, 1)), columns=0)
    with pytest.raises(ValueError, match="scale"):
        image_grid(np.zeros((2, 2, 2, 1)), scale=1.5)


def test_scatter_plot_writes_png_and_validates(tmp_path):
    points = np.random.default_rng(0).normal(size=(50, 2))
    path = scatter_plot(points, tmp_path / "s" / "p.png", centers=[[0, 0], [1, 1]], title="t")
    assert Image.open(path).format == "PNG"
    with pytest.raises(ValueError, match=r"points of shape \(n, 2\); got shape \(50, 3\)"):
        scatter_plot(np.zeros((50, 3)), tmp_path / "bad.png")
    with pytest.raises(ValueError, match="centers"):
        scatter_plot(points, tmp_path / "bad.png", centers=[1, 2])


# ------------------------------------------------------------------ SampleGrid


def test_sample_grid_every_two_over_five_epochs(tmp_path):
    model = make_model()
    cb = SampleGrid(tmp_path / "samples", every=2, n=9)
    fit(model, 5, [cb])
    expected = ["epoch_0002.png", "epoch_0004.png", "final.png"]
    assert sorted(os.listdir(tmp_path / "samples")) == expected
    assert [os.path.basename(p) for p in cb.paths] == expected
    assert Image.open(cb.paths[-1]).size[0] >= plots.MIN_GRID_WIDTH
    # Same latents, trained weights: the picture must follow training progress.
    assert open(cb.paths[0], "rb").read() != open(cb.paths[1], "rb").read()


def test_sample_grid_same_seed_gives_identical_images(tmp_path):
    model = make_model()
    fit(model, 1, [])
    seeds = {"a": 3, "b": 3, "c": 4}
    first, second, other = (SampleGrid(tmp_path / d, n=16, seed=s) for d, s in seeds.items())
    for cb in (first, second, other):
        cb.set_model(model)
        cb.on_epoch_end(0, {})
    a, b, c = (open(cb.paths[0], "rb").read() for cb in (first, second, other))
    assert a == b
    assert a != c


def test_sample_grid_scatter_for_points(tmp_path):
    model = make_model(points=True)
    cb = SampleGrid(tmp_path, n=100, centers=np.eye(2))
    fit(model, 1, [cb])
    assert [os.path.basename(p) for p in cb.paths] == ["epoch_0001.png", "final.png"]
    assert all(Image.open(p).format == "PNG" for p in cb.paths)


def test_sample_grid_validates_arguments_and_model(tmp_path):
    with pytest.raises(ValueError, match="every must be an integer >= 1; got 0"):
        SampleGrid(tmp_path, every=0)
    cb = SampleGrid(tmp_path)
    cb.set_model(keras.Sequential([keras.layers.Dense(1)]))
    with pytest.raises(TypeError, match="generate"):
        cb.on_train_end()


# ----------------------------------------------------------------- HistoryJSON


class ReadBack(keras.callbacks.Callback):
    """Parses the history file at each epoch end, after HistoryJSON wrote it."""

    def __init__(self, path):
        super().__init__()
        self.path, self.snapshots = path, []

    def on_epoch_end(self, epoch, logs=None):
        with open(self.path) as handle:
            self.snapshots.append(json.load(handle))


def test_history_json_matches_fit_history(tmp_path):
    path = tmp_path / "run" / "history.json"
    probe = ReadBack(path)
    history = fit(make_model(), 3, [HistoryJSON(path), probe]).history
    assert {"d_loss", "g_loss", "d_real", "d_fake"} <= set(history)
    data = json.loads(path.read_text())
    assert data.pop("epoch") == [1, 2, 3]
    assert data == history
    assert [s["epoch"] for s in probe.snapshots] == [[1], [1, 2], [1, 2, 3]]
    assert os.listdir(path.parent) == ["history.json"]  # no temp files left behind


def test_history_json_append_continues(tmp_path):
    path = tmp_path / "history.json"
    model = make_model()
    first = fit(model, 2, [HistoryJSON(path)]).history
    second = fit(model, 2, [HistoryJSON(path, append=True)]).history
    data = json.loads(path.read_text())
    assert data["epoch"] == [1, 2, 3, 4]
    assert data["g_loss"] == first["g_loss"] + second["g_loss"]
    # Resuming with initial_epoch numbers the same way.
    fit(model, 6, [HistoryJSON(path, append=True)], initial_epoch=4)
    assert json.loads(path.read_text())["epoch"] == [1, 2, 3, 4, 5, 6]
    fit(model, 1, [HistoryJSON(path)])
    assert json.loads(path.read_text())["epoch"] == [1]


def test_history_json_non_finite_and_missing_values(tmp_path):
    path = tmp_path / "history.json"
    cb = HistoryJSON(path)
    cb.on_train_begin()
    cb.on_epoch_end(0, {"d_loss": float("nan"), "g_loss": np.float32(np.inf), "note": "text"})
    cb.on_epoch_end(1, {"d_loss": 0.5, "g_loss": -math.inf, "d_real": 0.25})
    text = path.read_text()
    assert "NaN" not in text and "Infinity" not in text
    assert json.loads(text) == {
        "epoch": [1, 2], "d_loss": ["nan", 0.5], "g_loss": ["inf", "-inf"], "d_real": [None, 0.25],
    }
    loaded = load_history(path)
    assert math.isnan(loaded["d_loss"][0]) and loaded["g_loss"] == [math.inf, -math.inf]


def test_history_json_failed_write_keeps_old_file(tmp_path, monkeypatch):
    path = tmp_path / "history.json"
    cb = HistoryJSON(path)
    cb.on_train_begin()
    cb.on_epoch_end(0, {"d_loss": 1.0})

    def broken_dump(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(callbacks.json, "dump", broken_dump)
    with pytest.raises(OSError, match="disk full"):
        cb.on_epoch_end(1, {"d_loss": 2.0})
    monkeypatch.undo()
    assert json.loads(path.read_text()) == {"epoch": [1], "d_loss": [1.0]}
    assert os.listdir(tmp_path) == ["history.json"]


@pytest.mark.parametrize("content", ["{not json", "[1, 2]", '{"a": [1], "b": [1, 2]}'])
def test_history_json_append_rejects_bad_file(tmp_path, content):
    path = tmp_path / "history.json"
    path.write_text(content)
    cb = HistoryJSON(path, append=True)
    with pytest.raises(ValueError, match="history file .*history.json"):
        cb.on_train_begin()


# ------------------------------------------------------------------- LossCurve


def test_loss_curve_writes_png(tmp_path):
    cb = LossCurve(tmp_path / "plots" / "loss.png")
    fit(make_model(), 3, [cb])
    with Image.open(cb.path) as image:
        assert image.format == "PNG" and image.size[0] > 100
    assert cb.history["epoch"] == [1, 2, 3]


def test_loss_curve_without_keys_warns_instead_of_failing(tmp_path, caplog):
    cb = LossCurve(tmp_path / "loss.png", keys="missing")
    cb.on_train_begin()
    cb.on_epoch_end(0, {"loss": 1.0})
    cb.on_train_end()
    assert not (tmp_path / "loss.png").exists()
    assert "not writing" in caplog.text


def test_plot_history_redraws_from_history_json(tmp_path):
    path = tmp_path / "history.json"
    path.write_text(json.dumps({"epoch": [1, 2], "d_loss": [1.0, "nan"], "d_fake": [None, 0.1]}))
    out = plot_history(json.loads(path.read_text()), tmp_path / "redraw.png", title="run")
    assert Image.open(out).format == "PNG"
    assert Image.open(plot_history(load_history(path), tmp_path / "b.png")).format == "PNG"
    with pytest.raises(ValueError, match=r"it has \['epoch', 'loss'\]"):
        plot_history({"epoch": [1], "loss": [1.0]}, tmp_path / "c.png")
