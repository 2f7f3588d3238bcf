"""StyleGAN2 through the conformance suite (lazy R1 and path length, style mixing, EMA), and its pieces
checked against their definitions."""

import math
import os

import keras
import numpy as np
import pytest

from conformance import N_SAMPLES, BATCH_SIZE, GANConformance, iterations, values
from ganzoo.layers.style import StyleConv
from ganzoo.models import style_sampling, stylegan2

SHAPE = (8, 8, 1)
TINY = {"generator": {"w_dim": 8, "base_filters": 4, "max_filters": 8},
        "discriminator": {"base_filters": 4, "max_filters": 8}}
ONE_BACKEND = pytest.mark.skipif(keras.backend.backend() != "torch", reason="backend-neutral path: run on torch")


def _tiny(seed=0, **kwargs):
    keras.utils.set_random_seed(seed)
    return stylegan2.build_stylegan2(SHAPE, latent_dim=8, seed=seed, **TINY, **kwargs)


class TestStyleGAN2(GANConformance):
    """Every regulariser on: R1 every 2nd step, path length every step (two compiled steps), mixing, EMA."""

    def build_model(self, seed):
        return stylegan2.build_stylegan2(SHAPE, latent_dim=8, r1_weight=1.0, r1_interval=2, pl_weight=2.0,
                                         pl_interval=1, style_mixing=0.9, ema_decay=0.9, seed=seed, **TINY)

    def make_data(self, n):
        return np.random.default_rng(0).uniform(-1, 1, (n, *SHAPE)).astype("float32")

    def assert_update_counts(self, model, epochs):
        """The lazy updates are optimizer updates of their own: R1 on steps 0, 2, ...; path length on every step."""
        steps = epochs * N_SAMPLES // BATCH_SIZE
        assert iterations(model.d_optimizer) == steps + math.ceil(steps / 2)
        assert iterations(model.g_optimizer) == 2 * steps
        assert int(keras.ops.convert_to_numpy(model.optimizer.iterations)) == steps

    def test_mean_w_and_path_length_state_are_tracked_saved_and_restored(self, tmp_path):
        model = self.trained()["model"]
        w_avg, pl_mean = values([model.mean_w.w_avg, model.pl_mean])
        assert np.abs(w_avg).max() > 0 and pl_mean > 0
        # The EMA generator copies the tracked average, so truncated samples use it.
        np.testing.assert_array_equal(values([style_sampling.parts(model.sampling_generator)[1].w_avg])[0], w_avg)
        path = os.path.join(tmp_path, "stylegan2.keras")
        model.save(path)
        reloaded = keras.saving.load_model(path)
        np.testing.assert_array_equal(values([reloaded.mean_w.w_avg, reloaded.pl_mean])[0], w_avg)
        assert float(keras.ops.convert_to_numpy(reloaded.pl_mean)) == pl_mean
        np.testing.assert_array_equal(model.generate(3, seed=2, truncation=0.5),
                                      reloaded.generate(3, seed=2, truncation=0.5))
        assert reloaded.style_mixing == 0.9 and reloaded.r1_interval == 2 and reloaded.pl_interval == 1

    @pytest.mark.skipif(keras.backend.backend() == "tensorflow", reason="TensorFlow exports in process like the "
                        "shipped entry's build; here the subprocess path, from JAX and torch")
    def test_exports_with_parity_modulated_convolutions_included(self, tmp_path):
        from ganzoo.export import export_generator

        model = self.trained()["model"]
        metadata = export_generator(model, tmp_path / "psi", formats=("tflite",), truncation=0.7,
                                    num_parity_latents=4)
        assert metadata["truncation"] == 0.7
        assert metadata["formats"]["tflite"]["parity"]["gated"]
        assert metadata["formats"]["tflite"]["parity"]["max_abs_error"] <= 1e-4


def test_demodulated_kernels_have_unit_norm_and_the_layer_convolves_with_them():
    keras.utils.set_random_seed(0)
    layer = StyleConv(5, 3, noise=False, activation=None)
    x = np.random.default_rng(1).standard_normal((2, 6, 6, 3)).astype("float32")
    w = np.random.default_rng(2).standard_normal((2, 4)).astype("float32")
    out = keras.ops.convert_to_numpy(layer([x, w]))
    kernels = keras.ops.convert_to_numpy(layer.modulated_kernels(w))  # (N, k, k, in, out)
    np.testing.assert_allclose(np.sqrt(np.sum(kernels ** 2, axis=(1, 2, 3))), 1.0, atol=1e-5)
    for i in range(2):  # the layer's shared-kernel convolution equals each sample's own kernel
        own = keras.ops.convert_to_numpy(keras.ops.conv(x[i:i + 1], kernels[i], padding="same"))
        np.testing.assert_allclose(out[i:i + 1], own, atol=1e-5)
    undemodulated = StyleConv(5, 3, demodulate=False, noise=False)
    undemodulated.build(((None, 6, 6, 3), (None, 4)))
    norms = np.sqrt(np.sum(keras.ops.convert_to_numpy(undemodulated.modulated_kernels(w)) ** 2, axis=(1, 2, 3)))
    assert np.abs(norms - 1.0).max() > 0.05  # without demodulation the norms are the styles'


def test_zero_noise_strength_makes_images_independent_of_the_noise():
    model = _tiny()
    ws = keras.ops.convert_to_tensor(np.random.default_rng(0).standard_normal((3, 4, 8)).astype("float32"))
    synthesis = model.synthesis
    strengths = [layer.noise_strength for layer in synthesis.layers if getattr(layer, "noise", False)]
    assert len(strengths) == 3  # b4_conv1, b8_conv0, b8_conv1
    for strength in strengths:
        strength.assign(0.5)
    noisy = [keras.ops.convert_to_numpy(synthesis(ws, training=True)) for _ in range(2)]
    assert np.abs(noisy[0] - noisy[1]).max() > 1e-3  # fresh noise each call changes the images
    for strength in strengths:
        strength.assign(0.0)
    images = [keras.ops.convert_to_numpy(synthesis(ws, training=training)) for training in (True, True, False)]
    np.testing.assert_array_equal(images[0], images[1])
    np.testing.assert_array_equal(images[0], images[2])


def test_truncation_zero_gives_the_mean_w_image_for_any_latent():
    model = _tiny()
    w_avg = np.random.default_rng(3).standard_normal(8).astype("float32")
    model.mean_w.w_avg.assign(w_avg)
    images = model.generate(5, seed=4, truncation=0.0)
    mean_image = style_sampling.synthesize(model.generator, np.tile(w_avg, (1, 4, 1)))
    np.testing.assert_allclose(images, np.repeat(mean_image, 5, axis=0), atol=1e-6)
    half = model.generate(5, seed=4, truncation=0.5)
    assert np.abs(half - half[:1]).max() > 1e-3  # psi 0.5 keeps latents apart
    with pytest.raises(ValueError, match="truncation psi must be a finite number"):
        model.generate(2, truncation=float("nan"))


def test_style_mixing_uses_the_second_w_from_the_crossover_on():
    first = keras.ops.convert_to_tensor(np.zeros((3, 8), "float32"))
    second = keras.ops.convert_to_tensor(np.ones((3, 8), "float32"))
    ws = keras.ops.convert_to_numpy(stylegan2.mix_ws(first, second, np.array([0, 2, 4]), 4))
    for sample, crossover in enumerate((0, 2, 4)):
        np.testing.assert_array_equal(ws[sample, :, 0], [0.0 if layer < crossover else 1.0 for layer in range(4)])
    model = _tiny()
    z = np.random.default_rng(5).standard_normal((2, 2, 8)).astype("float32")
    mixed = model.style_mix(z[0], z[1], crossover=2)
    w1, w2 = (style_sampling.mapped(model.generator, part) for part in z)
    manual = np.concatenate([np.repeat(w1[:, None], 2, axis=1), np.repeat(w2[:, None], 2, axis=1)], axis=1)
    np.testing.assert_allclose(mixed, style_sampling.synthesize(model.generator, manual), atol=1e-6)
    images = [keras.ops.convert_to_numpy(model.generator(part)) for part in z]
    np.testing.assert_allclose(model.style_mix(z[0], z[1], crossover=4), images[0], atol=1e-5)
    np.testing.assert_allclose(model.style_mix(z[0], z[1], crossover=0), images[1], atol=1e-5)
    assert np.abs(mixed - images[0]).max() > 1e-4
    with pytest.raises(ValueError, match="at most num_ws = 4"):
        model.style_mix(z[0], z[1], crossover=5)
    with pytest.raises(ValueError, match="same shape.*got \\(2, 8\\) and \\(1, 8\\)"):
        model.style_mix(z[0], z[1][:1], crossover=2)


def test_lazy_updates_change_only_what_their_penalty_reaches_and_configs_keep_r1_on():
    from ganzoo import config
    from ganzoo.training import run

    gan = run.build_from_config(config.from_dict({"name": "x", "model": {"family": "stylegan2"},
                                                  "data": {"dataset": "digits"}}))
    assert gan.r1_weight == 0.01  # r1_weight left out of the config: the family's default
    logit_bias = gan.discriminator.get_layer("logit").bias
    r1 = gan.r1_variables()
    assert len(r1) == len(gan.discriminator.trainable_variables) - 1 and not any(v is logit_bias for v in r1)
    torgb = [layer.bias for layer in gan.synthesis.layers if layer.name.endswith("_torgb")]
    length = gan.path_length_variables()
    assert len(torgb) == 2 and len(length) == len(gan.synthesis.trainable_variables) - 2
    assert not any(v is b for v in length for b in torgb)
    assert not any(v is m for v in length for m in gan.mapping.trainable_variables)


def test_builders_check_their_arguments_and_size_from_the_image():
    for shape, num_ws in (((8, 8, 1), 4), ((32, 32, 3), 8), ((64, 64, 1), 10)):
        assert stylegan2.num_layers(shape)[1] == num_ws
    with pytest.raises(ValueError, match="power of two >= 8.*fashion_mnist_32"):
        stylegan2.num_layers((28, 28, 1))
    with pytest.raises(ValueError, match="`pack` does not apply to StyleGAN2"):
        _tiny(pack=2)
    with pytest.raises(ValueError, match="`style_mixing` must be a number in"):
        _tiny(style_mixing=1.5)
    residual = stylegan2.build_discriminator((16, 16, 1), base_filters=4, max_filters=8, architecture="resnet")
    assert residual.get_layer("b16_skip") is not None and residual.output.shape == (None, 1)
    big = stylegan2.build_generator((64, 64, 3), latent_dim=8, w_dim=8, base_filters=2, max_filters=4, seed=0)
    images = big(np.zeros((2, 8), "float32"))
    assert images.shape == (2, 64, 64, 3)
    logits = stylegan2.build_discriminator((64, 64, 3), base_filters=2, max_filters=4, minibatch_group_size=2)(images)
    assert logits.shape == (2, 1)


@ONE_BACKEND
def test_cli_samples_with_truncation_and_interpolates_to_png_and_gif(tmp_path):
    from PIL import Image

    from ganzoo import cli

    model = _tiny()
    path = str(tmp_path / "gan.keras")
    model.save(path)
    assert cli.main(["sample", path, "--out", str(tmp_path / "s.png"), "--n", "4", "--truncation", "0.5"]) == 0
    assert cli.main(["interpolate", path, "--out", str(tmp_path / "strip.png"), "--steps", "5"]) == 0
    assert cli.main(["interpolate", path, "--out", str(tmp_path / "anim.gif"), "--steps", "4"]) == 0
    strip, anim = Image.open(tmp_path / "strip.png"), Image.open(tmp_path / "anim.gif")
    assert strip.width > 4 * strip.height and anim.n_frames == 6  # 4 there, 2 back
    assert cli.main(["interpolate", path, "--out", str(tmp_path / "anim.gif")]) == 2  # exists: kept
    assert Image.open(tmp_path / "anim.gif").n_frames == 6
