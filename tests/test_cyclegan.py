"""CycleGAN through the conformance suite (four networks, two optimizers), its history pool and builders."""

import os

import keras
import numpy as np
import pytest

from conformance import GANConformance, values
from ganzoo.models import cyclegan

SHAPE = (12, 12, 1)  # not a multiple of 2 ** downsamples: the ResNet generator pads and crops


def _images(n, seed, channels=1):
    return np.random.default_rng(seed).uniform(-1, 1, (n, 12, 12, channels)).astype("float32")


class TestCycleGAN(GANConformance):
    """One-channel A to two-channel B (identity terms off), ResNet generators, a pool smaller than an epoch."""

    loss = "least_squares"

    def build_model(self, seed):
        return cyclegan.build_cyclegan(
            SHAPE, (12, 12, 2), generator={"base_filters": 4, "num_blocks": 1},
            discriminator={"base_filters": 4}, identity_weight=0.0, pool_size=12, seed=seed)

    def make_data(self, n):  # domain A (Keras' x)
        return _images(n, 0)

    def make_labels(self, n):  # domain B (Keras' y): unrelated images
        return _images(n, 1, channels=2)

    def networks(self, model):
        return (model.a_to_b, model.b_to_a, model.d_a, model.d_b)

    def samples(self, model, n, seed):
        return model.translate(_images(n, seed))

    def sample_shape(self):
        return (12, 12, 2)

    def test_pool_survives_save_and_reload(self, tmp_path):
        model = self.trained()["model"]
        # Four steps of 8 translations into a pool of 12: full, and its slots hold translations.
        assert int(keras.ops.convert_to_numpy(model.pool_count)) == 12
        pools = values([model.pool_a, model.pool_b])
        assert all(np.abs(pool[:12]).reshape(12, -1).max(axis=1).min() > 0 for pool in pools)
        path = os.path.join(tmp_path, "cyclegan.keras")
        model.save(path)
        reloaded = keras.saving.load_model(path)
        for before, after in zip(pools, values([reloaded.pool_a, reloaded.pool_b])):
            np.testing.assert_array_equal(before, after)
        assert int(keras.ops.convert_to_numpy(reloaded.pool_count)) == 12
        np.testing.assert_array_equal(model.translate(_images(3, 5), direction="a_to_b"),
                                      reloaded.translate(_images(3, 5), direction="a_to_b"))
        np.testing.assert_array_equal(model.translate(_images(3, 6, channels=2), direction="b_to_a"),
                                      reloaded.translate(_images(3, 6, channels=2), direction="b_to_a"))


    @pytest.mark.skipif(keras.backend.backend() != "torch", reason="the shipped entry exports from "
                        "TensorFlow (its build gates both directions); JAX and torch share the TensorFlow "
                        "worker process (ganzoo.export._worker): run on torch")
    def test_exports_both_directions_with_parity(self, tmp_path):
        from ganzoo.export import export_generator

        model = self.trained()["model"]
        for direction, channels in (("a_to_b", 1), ("b_to_a", 2)):
            metadata = export_generator(model, tmp_path / direction, formats=("tflite",), direction=direction,
                                        inputs=_images(8, 9, channels), num_parity_latents=4)
            assert metadata["generator"] == direction and metadata["input"]["shape"] == [None, 12, 12, channels]
            assert metadata["formats"]["tflite"]["parity"]["gated"]
            assert metadata["formats"]["tflite"]["parity"]["max_abs_error"] <= 1e-4


def test_unet_generators_identity_terms_and_no_pool_train():
    """The other options, one fit each: U-Net generators, the identity terms (A and B of one channel
    count), no pool; every weight of the four networks moves and the identity loss is logged."""
    keras.utils.set_random_seed(0)
    model = cyclegan.build_cyclegan(
        SHAPE, SHAPE, generator={"architecture": "unet", "base_filters": 4, "num_downsamples": 2},
        discriminator={"base_filters": 4, "num_downsamples": 1}, pool_size=0, seed=0)
    model.compile(d_optimizer=keras.optimizers.Adam(1e-3), g_optimizer=keras.optimizers.Adam(1e-3),
                  loss="non_saturating")
    assert model.pool_a is None and model.adversarial_loss.name == "non_saturating"
    networks = [model.a_to_b, model.b_to_a, model.d_a, model.d_b]
    before = values([v for n in networks for v in n.trainable_variables])
    history = model.fit(_images(16, 0), _images(16, 1), batch_size=8, epochs=1, verbose=0).history
    after = values([v for n in networks for v in n.trainable_variables])
    assert not [i for i, (b, a) in enumerate(zip(before, after)) if np.array_equal(b, a)]
    assert history["identity_loss"][0] > 0 and np.isfinite(history["g_loss"][0])
    assert model.translate(_images(2, 3), direction="b_to_a").shape == (2, *SHAPE)


@pytest.mark.skipif(keras.backend.backend() != "torch", reason="backend-neutral path: run on torch")
def test_pool_fills_then_answers_half_from_history():
    keras.utils.set_random_seed(0)
    model = cyclegan.build_cyclegan(SHAPE, SHAPE, generator={"base_filters": 2, "num_blocks": 1},
                                    discriminator={"base_filters": 2}, pool_size=10, seed=0)
    batches = [np.full((4, *SHAPE), i + 1, np.float32) for i in range(40)]  # batch i is all (i + 1)
    answered = [keras.ops.convert_to_numpy(model.query_pools(batch, -batch)[0]) for batch in batches]
    # Filling (10 slots: batches 1, 2 and half of 3) returns the batch as it is.
    for i in range(2):
        np.testing.assert_array_equal(answered[i], batches[i])
    pooled = np.concatenate([a[:, 0, 0, 0] for a in answered[3:]])
    current = np.concatenate([b[:, 0, 0, 0] for b in batches[3:]])
    from_history = pooled != current
    assert 0.35 < from_history.mean() < 0.65  # a coin flip per image
    assert np.all(pooled[from_history] < current[from_history])  # history holds earlier batches
    pool = keras.ops.convert_to_numpy(model.pool_a)[:10, 0, 0, 0]
    assert len(set(pool)) > 3 and pool.max() == 40  # mixed ages, the newest batch included


def test_direction_and_arguments_are_checked():
    model = cyclegan.build_cyclegan(SHAPE, SHAPE, generator={"base_filters": 2, "num_blocks": 1},
                                    discriminator={"base_filters": 2}, pool_size=0)
    with pytest.raises(ValueError, match="unknown direction 'c_to_d'"):
        model.translate(_images(1, 0), direction="c_to_d")
    with pytest.raises(ValueError, match="identity_weight=0"):
        cyclegan.build_cyclegan(SHAPE, (12, 12, 3))
    with pytest.raises(ValueError, match="one size"):
        cyclegan.build_cyclegan(SHAPE, (16, 16, 1))
    with pytest.raises(ValueError, match="pool_size"):
        cyclegan.build_cyclegan(SHAPE, SHAPE, pool_size=-1)


FIXTURE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "bad_inputs")


@pytest.mark.skipif(keras.backend.backend() != "torch", reason="backend-neutral path: run on torch")
def test_cli_translates_each_direction_and_evaluates_both(tmp_path, capsys):
    from ganzoo import cli

    model = os.path.join(FIXTURE, "cyclegan_8x8.keras")  # an untrained 8x8 CycleGAN (tests/fixtures)
    gan = keras.saving.load_model(model)
    image = os.path.join(FIXTURE, "images", "gray.png")
    for direction in ("a_to_b", "b_to_a"):
        out = tmp_path / direction
        assert cli.main(["translate", model, image, "--out", str(out), "--direction", direction]) == 0
        from PIL import Image

        written = np.asarray(Image.open(out / "gray.png"), np.float32) / 127.5 - 1.0
        pixels = np.asarray(Image.open(image), np.float32)[None, ..., None] / 127.5 - 1.0
        expected = gan.translate(pixels, direction=direction)[0, ..., 0]
        assert np.abs(written - expected).max() <= 1 / 127.5 + 1e-6  # one pixel level of rounding
    capsys.readouterr()
    report = tmp_path / "report.json"
    assert cli.main(["evaluate", model, "--dataset", "digits[label=0]|digits[label=1]", "--n", "40",
                     "--json", str(report)]) == 0
    printed = capsys.readouterr().out
    for key in ("translation_accuracy_a_to_b_cnn", "translation_accuracy_b_to_a_resnet", "fid_a_to_b_cnn",
                "cycle_l1_a", "cycle_psnr_b"):
        assert key in printed, key
    import json

    scores = json.loads(report.read_text())["scores"]
    assert 0 <= scores["translation_accuracy_a_to_b_cnn"] <= 1 and scores["cycle_l1_a"] > 0


@pytest.mark.skipif(keras.backend.backend() != "torch", reason="backend-neutral runtime: run on torch (every "
                    "backend checks the entry's fingerprint, tests/test_fingerprints.py)")
def test_shipped_entry_translates_both_ways_and_its_tflite_files_agree():
    import ganzoo
    from ganzoo.data import unpaired
    from ganzoo.runtime import TFLiteTranslator

    name = "cyclegan_fashion_mnist_sneaker_boot"
    folder = os.path.join(os.path.dirname(FIXTURE), "..", "exported", name)
    gan = ganzoo.from_preset(folder)
    sneakers, boots = unpaired.domain_arrays(gan_dataset := "fashion_mnist[label=7]|fashion_mnist[label=9]",
                                             "test", limit=4)
    assert ganzoo.presets.read_metadata(folder)["dataset"] == gan_dataset
    for direction, images in (("a_to_b", sneakers), ("b_to_a", boots)):
        keras_outputs = gan.translate(images, direction=direction)
        tflite = TFLiteTranslator(os.path.join(folder, direction, "generator.tflite"))
        np.testing.assert_allclose(tflite.translate(images), keras_outputs, atol=1e-4)
