"""SRGAN and SRResNet through the conformance suite; any input size; x2/x4 pairs; ganzoo train on digits_x2."""

import keras
import numpy as np
import pytest

# The CLI and data paths are backend-neutral (each backend's training is the conformance classes'):
# they run on one backend, torch's, the shortest pass of `make test`.
ONE_BACKEND = pytest.mark.skipif(keras.backend.backend() != "torch", reason="backend-neutral path: run on torch")

from conformance import VARIANT, GANConformance
from ganzoo import data
from ganzoo.data import pairs
from ganzoo.layers import PixelShuffle
from ganzoo.models import srgan

SHAPE = (8, 8, 1)


def _low(n, seed, side=4):
    return np.random.default_rng(seed).uniform(-1, 1, (n, side, side, 1)).astype("float32")


class TestSRGAN(GANConformance):
    """x2 on 4x4 -> 8x8, MSE plus 1e-3 adversarial (the paper's weights), R1 and an EMA generator."""
    check_callbacks = False

    def build_model(self, seed):
        return srgan.build_srgan(SHAPE, input_shape=(4, 4, 1), generator={"filters": 4, "residual_blocks": 2},
                                 discriminator={"base_filters": 4, "num_blocks": 2, "dense_units": 8},
                                 r1_weight=0.1, ema_decay=0.9, seed=seed)

    def make_data(self, n):  # low-resolution inputs
        return _low(n, 0)

    def make_labels(self, n):  # their high-resolution targets: a sharpened nearest-neighbour enlargement
        return np.tanh(2 * np.repeat(np.repeat(self.make_data(n), 2, axis=1), 2, axis=2))

    def samples(self, model, n, seed):
        return model.upscale(_low(n, seed))

    def sample_shape(self):
        return SHAPE


class TestSRResNet(TestSRGAN):
    """SRResNet: the pixel loss alone (adversarial weight 0), x4, L1, least squares for the (unused) D."""
    pytestmark = VARIANT
    check_callbacks = False

    loss = "least_squares"

    def build_model(self, seed):
        return srgan.build_srgan(SHAPE, input_shape=(2, 2, 1), generator={"filters": 4, "residual_blocks": 1},
                                 discriminator={"base_filters": 4, "num_blocks": 1, "dense_units": 4},
                                 adversarial_weight=0.0, reconstruction="l1", seed=seed)

    def make_data(self, n):
        return _low(n, 0, side=2)

    def make_labels(self, n):
        return np.tanh(2 * np.repeat(np.repeat(self.make_data(n), 4, axis=1), 4, axis=2))

    def samples(self, model, n, seed):
        return model.upscale(_low(n, seed, side=2))


def test_generator_takes_any_input_size_and_pixel_shuffle_upsamples():
    keras.utils.set_random_seed(0)
    generator = srgan.build_generator((28, 28, 3), scale=4, filters=4, residual_blocks=1)
    assert tuple(generator.input.shape[1:]) == (None, None, 3)
    for side in (7, 5):
        assert tuple(generator(np.zeros((2, side, side + 1, 3), "float32")).shape) == (2, 4 * side, 4 * (side + 1), 3)
    x = np.arange(2 * 2 * 4, dtype="float32").reshape(1, 2, 2, 4)
    shuffled = keras.ops.convert_to_numpy(PixelShuffle(2)(x))
    assert shuffled.shape == (1, 4, 4, 1) and shuffled[0, :2, :2, 0].tolist() == [[0, 1], [2, 3]]
    with pytest.raises(ValueError, match="not an integer multiple"):
        srgan.build_srgan((28, 28, 1), input_shape=(6, 6, 1))


def test_super_resolution_pairs_are_area_downsampled_targets():
    block = np.arange(16, dtype="float32").reshape(1, 4, 4, 1)
    assert pairs.downsample(block, 2)[0, :, :, 0].tolist() == [[2.5, 4.5], [10.5, 12.5]]
    x, y = data.load_arrays("digits_x2", "test")
    assert x.shape == (297, 4, 4, 1) and y.shape == (297, 8, 8, 1)
    np.testing.assert_allclose(x, pairs.downsample(y, 2), atol=1e-6)
    assert data.info("fashion_mnist_x4").input_shape == (7, 7, 1)


@ONE_BACKEND
def test_ganzoo_train_an_srgan_config_and_upscale(tmp_path, capsys):
    import yaml  # pylint: disable=import-outside-toplevel

    from ganzoo import cli, load_model  # pylint: disable=import-outside-toplevel

    raw = {"name": "sr", "model": {"family": "srgan", "generator": {"filters": 4, "residual_blocks": 1},
                                   "discriminator": {"base_filters": 4, "num_blocks": 1, "dense_units": 4}},
           "data": {"dataset": "digits_x2", "batch_size": 16, "limit": 32},
           "train": {"epochs": 1}, "output": {"samples": 6}}
    path = tmp_path / "sr.yaml"
    path.write_text(yaml.safe_dump(raw))
    out = tmp_path / "run"
    assert cli.main(["train", str(path), "--out", str(out), "--quiet", "--tensorboard"]) == 0, capsys.readouterr().err
    assert (out / "samples" / "final.png").is_file()
    from test_tensorboard import read_events  # pylint: disable=import-outside-toplevel  (tests/ is on sys.path)

    events = read_events(out / "tb")  # input/output/target triplets as the TensorBoard image, too
    assert events[("samples", "samples")] == [0] and events[("train", "epoch_g_loss")] == [0]
    gan = load_model(out / "gan.keras")
    assert (gan.adversarial_weight, gan.reconstruction, gan.reconstruction_weight) == (1e-3, "l2", 1.0)
    assert gan.upscale(np.zeros((1, 3, 5, 1), "float32")).shape == (1, 6, 10, 1)


def test_perceptual_content_loss_uses_the_shipped_feature_network(tmp_path):
    """SRGAN's feature loss on ganzoo's own Fashion-MNIST network: added to G's loss, zero at the
    target, trained by fit on every backend, rebuilt by name on loading (no weights in the file)."""
    from ganzoo.models import perceptual

    def build(weight):
        keras.utils.set_random_seed(0)
        return srgan.build_srgan((28, 28, 1), input_shape=(7, 7, 1), generator={"filters": 4, "residual_blocks": 1},
                                 discriminator={"base_filters": 4, "num_blocks": 1, "dense_units": 4},
                                 perceptual="fashion_mnist" if weight else None, perceptual_weight=weight, seed=0)

    plain, featured = build(0.0), build(1.0)
    assert len(featured.weights) == len(plain.weights)  # the feature network is not the GAN's
    featured.set_weights(plain.get_weights())
    for model in (plain, featured):
        model.compile(d_optimizer=keras.optimizers.Adam(1e-4), g_optimizer=keras.optimizers.Adam(1e-4))
    low, targets = _low(4, 1, side=7), np.tanh(2 * _low(4, 2, side=28))
    fake = plain.generator(low)
    extra = [float(keras.ops.convert_to_numpy(m.generator_loss(fake, (low, targets))[0])) for m in (plain, featured)]
    assert extra[1] > extra[0]
    loss = perceptual.feature_loss("fashion_mnist", (28, 28, 1))
    assert float(keras.ops.convert_to_numpy(loss(keras.ops.convert_to_tensor(targets), targets))) == 0.0
    history = featured.fit(low, targets, batch_size=4, epochs=1, verbose=0)
    assert np.isfinite(history.history["g_loss"][0])
    featured.save(tmp_path / "gan.keras")
    loaded = keras.saving.load_model(tmp_path / "gan.keras", safe_mode=True)
    assert (loaded.perceptual, loaded.perceptual_weight) == ("fashion_mnist", 1.0)
    np.testing.assert_allclose(loaded.upscale(low), featured.upscale(low), atol=1e-6)
    with pytest.raises(ValueError, match="go together"):
        srgan.build_srgan((28, 28, 1), input_shape=(7, 7, 1), perceptual="fashion_mnist")
    with pytest.raises(ValueError, match="never downloads"):
        perceptual.feature_loss("vgg19:/no/such/vgg19.h5", (64, 64, 3))


@ONE_BACKEND
def test_super_resolution_pairs_from_a_folder_are_seeded_random_crops(tmp_path, capsys):
    import os

    import yaml
    from PIL import Image

    from ganzoo import cli

    rng = np.random.default_rng(0)
    originals = [rng.integers(0, 256, (20, 24), dtype=np.uint8) for _ in range(3)]
    os.makedirs(tmp_path / "photos")
    for i, pixels in enumerate(originals):
        Image.fromarray(pixels).save(tmp_path / "photos" / f"{i}.png")
    Image.fromarray(rng.integers(0, 256, (6, 6), dtype=np.uint8)).save(tmp_path / "photos" / "small.png")
    name, options = f"folder:{tmp_path}/photos", {"image_size": [8, 8], "channels": 1, "scale": 2}
    info = data.info(name, **options)
    assert (info.kind, info.shape, info.input_shape) == ("pairs", (8, 8, 1), (4, 4, 1))
    inputs, targets = data.load_arrays(name, "train", **options)
    assert inputs.shape == (4, 4, 4, 1) and targets.shape == (4, 8, 8, 1)
    np.testing.assert_allclose(inputs, pairs.downsample(targets, 2), atol=1e-6)
    for original, target in zip(originals, np.round((targets[:3, ..., 0] + 1) * 127.5)):
        windows = np.lib.stride_tricks.sliding_window_view(original, (8, 8))
        assert (np.abs(windows - target).max(axis=(2, 3)) == 0).any()  # a window of the image
    again, _ = data.load_arrays(name, "train", seed=1, **options)
    assert not np.array_equal(again, inputs)  # another seed, other crops
    with pytest.raises(data.DatasetError, match="does not divide"):
        data.info(name, image_size=[8, 8], scale=3)
    raw = {"name": "tiny", "model": {"family": "srgan", "generator": {"filters": 2, "residual_blocks": 1},
                                     "discriminator": {"base_filters": 2, "num_blocks": 1, "dense_units": 2}},
           "data": {"dataset": name, "batch_size": 2, **options}, "train": {"epochs": 1}, "output": {"samples": 2}}
    (tmp_path / "tiny.yaml").write_text(yaml.safe_dump(raw))
    assert cli.main(["train", str(tmp_path / "tiny.yaml"), "--out", str(tmp_path / "run"), "--quiet"]) == 0, \
        capsys.readouterr().err
