"""pix2pix through the conformance suite (image-in generators), its builders, the pair convention, edges."""

import os

import keras
import numpy as np
import pytest

# The CLI and data paths are backend-neutral (each backend's training is the conformance classes'):
# they run on one backend, torch's, the shortest pass of `make test`.
ONE_BACKEND = pytest.mark.skipif(keras.backend.backend() != "torch", reason="backend-neutral path: run on torch")

from conformance import VARIANT, GANConformance
from ganzoo import data
from ganzoo.data import pairs
from ganzoo.models import GAN, dcgan, pix2pix

SHAPE = (12, 12, 1)  # not a multiple of 2 ** depth: the U-Net pads and crops


def _inputs(n, seed, channels=1):
    return np.random.default_rng(seed).uniform(-1, 1, (n, 12, 12, channels)).astype("float32")


class TestPix2Pix(GANConformance):
    """Two-channel inputs to one-channel outputs, a paired PatchGAN, R1 and an EMA generator."""

    def build_model(self, seed):
        return pix2pix.build_pix2pix(
            SHAPE, input_channels=2, generator={"base_filters": 4, "depth": 2},
            discriminator={"base_filters": 4, "num_downsamples": 1}, r1_weight=0.1, ema_decay=0.9,
            seed=seed)

    def make_data(self, n):  # the inputs (Keras' x)
        return _inputs(n, 0, channels=2)

    def make_labels(self, n):  # the targets (Keras' y): a function of the inputs, to be learned
        return np.tanh(self.make_data(n).sum(axis=-1, keepdims=True))

    def samples(self, model, n, seed):
        return model.translate(_inputs(n, seed, channels=2))

    def sample_shape(self):
        return SHAPE


class TestPix2PixHingeUnpairedSpectral(TestPix2Pix):
    """Another loss, a discriminator that sees the output alone, spectral norm and L2, no dropout."""
    pytestmark = VARIANT
    check_callbacks = False

    loss = "hinge"

    def build_model(self, seed):
        return pix2pix.build_pix2pix(
            SHAPE, input_channels=2, generator={"base_filters": 4, "depth": 3, "dropout": 0.0},
            discriminator={"base_filters": 4, "num_downsamples": 2, "spectral_norm": True},
            paired_discriminator=False, reconstruction="l2", reconstruction_weight=10.0, seed=seed)

    def unchanged_by_design(self, model):
        # The hinge loss's output-bias gradient is (fakes inside the margin - reals inside the
        # margin) / logits: zero while every logit lies in (-1, 1), as after initialisation.
        return [model.discriminator.layers[-1].layer.bias.path]


def test_unet_pads_crops_and_sizes_from_the_image():
    assert pix2pix.default_depth((28, 28, 1)) == 4 and pix2pix.default_depth((256, 256, 3)) == 8
    generator = pix2pix.build_generator((28, 28, 3), input_channels=1, base_filters=2)
    assert tuple(generator.input.shape[1:]) == (28, 28, 1) and tuple(generator.output.shape[1:]) == (28, 28, 3)
    assert sum(isinstance(layer, keras.layers.Dropout) for layer in generator.layers) == 3
    assert [pix2pix.receptive_field(n) for n in (1, 2, 3)] == [16, 34, 70]  # the paper's 70x70 PatchGAN
    patchgan = pix2pix.build_discriminator((28, 28, 1), base_filters=2, num_downsamples=2)
    assert tuple(patchgan.input.shape[1:]) == (28, 28, 2) and tuple(patchgan.output.shape[1:]) == (7, 7, 1)


def test_pairs_and_labels_are_never_confused():
    keras.utils.set_random_seed(0)
    images, targets = _inputs(8, 0), _inputs(8, 1)
    model = pix2pix.build_pix2pix(SHAPE, generator={"base_filters": 2, "depth": 2},
                                  discriminator={"base_filters": 2, "num_downsamples": 1})
    model.compile(d_optimizer="adam", g_optimizer="adam")
    with pytest.raises(ValueError, match=r"\(inputs, targets\) pairs of image batches; got no targets"):
        model.fit(images, batch_size=4, epochs=1, verbose=0)
    with pytest.raises(ValueError, match="translate"):
        model.generate(2)
    plain = GAN(dcgan.build_generator((8, 8, 1), latent_dim=4, base_filters=2),
                dcgan.build_discriminator((8, 8, 1), base_filters=2), latent_dim=4)
    plain.compile(d_optimizer="adam", g_optimizer="adam")
    with pytest.raises(ValueError, match="image pairs need an image-to-image family"):
        plain.fit(_inputs(8, 0)[:, :8, :8], targets[:, :8, :8], batch_size=4, epochs=1, verbose=0)


def test_edges_mark_the_outline_and_the_paired_dataset_yields_inputs_and_targets():
    square = -np.ones((1, 9, 9, 1), np.float32)
    square[0, 3:6, 3:6] = 1.0
    found = pairs.edges(square)
    assert found.shape == (1, 9, 9, 1) and found.min() == -1.0 and found.max() == 1.0
    assert found[0, 0, 0, 0] == -1.0 and found[0, 4, 4, 0] == -1.0  # flat inside and outside
    assert found[0, 3, 4, 0] > 0 and found[0, 2, 4, 0] > 0  # the outline, on both sides of the step
    described = data.info("fashion_mnist_edges")
    assert described.kind == "pairs" and described.input_shape == (28, 28, 1) and not described.has_labels
    with pytest.raises(data.DatasetError, match="with_labels does not apply"):
        data.load_arrays("fashion_mnist_edges", with_labels=True)


@ONE_BACKEND
def test_fashion_mnist_edges_stream_is_pairs_that_train_pix2pix(tmp_path, monkeypatch):
    from test_data import write_fashion  # pylint: disable=import-outside-toplevel  (tests/ is on sys.path)

    from ganzoo.data import idx  # pylint: disable=import-outside-toplevel

    write_fashion(tmp_path, n_train=8)  # a tiny Fashion-MNIST, so the test needs no download
    monkeypatch.setenv(idx.ENV_DIR, str(tmp_path))
    monkeypatch.setenv(idx.ENV_ONLY, "1")
    stream, per_epoch = data.epoch_stream("fashion_mnist_edges", batch_size=4, seed=0)
    assert per_epoch == 2
    inputs, targets = (np.asarray(part) for part in next(iter(stream)))
    assert inputs.shape == targets.shape == (4, 28, 28, 1)
    np.testing.assert_allclose(inputs, pairs.edges(targets), atol=1e-6)  # each input is its target's edges
    x, y = data.load_arrays("fashion_mnist_edges", "test")
    _, _, labels = pairs.load_pair_arrays("fashion_mnist_edges", "test")
    assert x.shape == y.shape == (3, 28, 28, 1) and labels.tolist() == [0, 1, 2]
    keras.utils.set_random_seed(0)
    model = pix2pix.build_pix2pix((28, 28, 1), generator={"base_filters": 2},
                                  discriminator={"base_filters": 2, "num_downsamples": 2})
    model.compile(d_optimizer="adam", g_optimizer="adam")
    history = model.fit(stream, steps_per_epoch=per_epoch, epochs=1, verbose=0, shuffle=False)
    assert np.isfinite(history.history["g_loss"]).all()
    assert model.translate(x).shape == (3, 28, 28, 1)


@ONE_BACKEND
def test_ganzoo_train_runs_the_pix2pix_zoo_config_on_pairs(tmp_path, monkeypatch, capsys):
    import yaml  # pylint: disable=import-outside-toplevel
    from test_data import write_fashion  # pylint: disable=import-outside-toplevel

    from ganzoo import cli, config_files, load_model  # pylint: disable=import-outside-toplevel
    from ganzoo.data import idx  # pylint: disable=import-outside-toplevel

    assert "pix2pix_fashion_mnist_edges" in config_files.zoo_config_names()
    write_fashion(tmp_path / "fashion", n_train=8, n_test=3)
    monkeypatch.setenv(idx.ENV_DIR, str(tmp_path / "fashion"))
    monkeypatch.setenv(idx.ENV_ONLY, "1")
    raw = yaml.safe_load(open(f"{config_files.zoo_config_dir()}/pix2pix_fashion_mnist_edges.yaml"))
    raw["model"]["generator"] = {"base_filters": 2}  # the zoo config's networks, smaller
    raw["model"]["discriminator"]["base_filters"] = 2
    raw["data"]["batch_size"] = 4
    raw["train"]["epochs"], raw["train"]["decay_epochs"] = 2, 1
    path = tmp_path / "tiny.yaml"
    path.write_text(yaml.safe_dump(raw))
    out = tmp_path / "run"
    assert cli.main(["train", str(path), "--out", str(out), "--quiet"]) == 0, capsys.readouterr().err
    grid = keras.utils.load_img(out / "samples" / "final.png")  # 3 held-out pairs: input, output, target
    assert grid.size[0] == grid.size[1]  # 3 rows of input, output, target
    gan = load_model(out / "gan.keras")
    assert type(gan).__name__ == "ImageToImageGAN" and gan.reconstruction_weight == 100.0
    assert int(keras.ops.convert_to_numpy(gan.g_optimizer.iterations)) == 4
    x, _ = data.load_arrays("fashion_mnist_edges", "test")
    assert np.isfinite(gan.translate(x)).all()


def _png(path, pixels):
    from PIL import Image  # pylint: disable=import-outside-toplevel

    os.makedirs(os.path.dirname(path), exist_ok=True)
    Image.fromarray(np.asarray(pixels, np.uint8)).save(path)


@ONE_BACKEND
def test_pairs_from_folders_side_by_side_and_in_two_folders(tmp_path, capsys):
    """pairs:PATH: A|B images (direction picks the input half) with train/ and test/, or A/ and B/
    folders with matching names (no test split: the run shows training pairs); ganzoo train on it."""
    import yaml  # pylint: disable=import-outside-toplevel

    from ganzoo import cli  # pylint: disable=import-outside-toplevel

    rng = np.random.default_rng(0)
    left, right = rng.integers(0, 256, (5, 8, 8)), rng.integers(0, 256, (5, 8, 8))
    for i in range(5):
        _png(tmp_path / "sbs" / ("train" if i < 3 else "test") / f"{i}.png", np.concatenate([left[i], right[i]], 1))
        _png(tmp_path / "two" / "A" / f"p{i}.png", left[i])
        _png(tmp_path / "two" / "B" / f"p{i}.png", right[i])
    options = {"image_size": [8, 8], "channels": 1}
    x, y = data.load_arrays(f"pairs:{tmp_path}/sbs", "test", **options)
    np.testing.assert_allclose(x[..., 0], left[3:] / 127.5 - 1, atol=1e-6)  # a_to_b: the left half is the input
    np.testing.assert_allclose(y[..., 0], right[3:] / 127.5 - 1, atol=1e-6)
    x, y = data.load_arrays(f"pairs:{tmp_path}/sbs", "train", direction="b_to_a", **options)
    np.testing.assert_allclose(x[..., 0], right[:3] / 127.5 - 1, atol=1e-6)
    info = data.info(f"pairs:{tmp_path}/two", **options)
    assert (info.kind, info.num_examples, info.input_shape) == ("pairs", {"train": 5}, (8, 8, 1))
    x, y = data.load_arrays(f"pairs:{tmp_path}/two", "train", **options)
    np.testing.assert_allclose(y[..., 0], right / 127.5 - 1, atol=1e-6)

    raw = {"name": "tiny", "model": {"family": "pix2pix", "generator": {"base_filters": 2, "depth": 2},
                                     "discriminator": {"base_filters": 2, "num_downsamples": 1}},
           "data": {"dataset": f"pairs:{tmp_path}/two", "batch_size": 2, "direction": "b_to_a", **options},
           "train": {"epochs": 1}, "output": {"samples": 2}}
    (tmp_path / "tiny.yaml").write_text(yaml.safe_dump(raw))
    assert cli.main(["train", str(tmp_path / "tiny.yaml"), "--out", str(tmp_path / "run"), "--quiet"]) == 0, \
        capsys.readouterr().err
    assert (tmp_path / "run" / "samples" / "final.png").is_file()
    os.remove(tmp_path / "two" / "B" / "p2.png")
    with pytest.raises(data.DatasetError, match="p2.png.*no partner"):
        data.load_arrays(f"pairs:{tmp_path}/two", "train", **options)
    with pytest.raises(data.DatasetError, match="direction applies"):
        data.info("fashion_mnist_edges", direction="b_to_a")
