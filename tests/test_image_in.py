"""Image-in generators (pix2pix, SRResNet/SRGAN): export parity, the TFLite runtime at two sizes, translate.

Each backend trains a tiny model for two steps and exports it (JAX and torch through the
TensorFlow worker process), so the parity gate is checked for runs trained on all three; the
`ganzoo translate` paths are backend-neutral and run on torch.
"""

import json
import os

import keras
import numpy as np
import pytest
from PIL import Image

from export_helpers import run_without_tensorflow_and_keras
from ganzoo import cli
from ganzoo.export import ExportError, export_generator
from ganzoo.models import pix2pix, srgan
from ganzoo.translate import ImageInputError, translate_files

BACKEND = keras.backend.backend()
ONE_BACKEND = pytest.mark.skipif(BACKEND != "torch", reason="backend-neutral path: run on torch")
NOT_JAX = pytest.mark.skipif(BACKEND == "jax", reason="JAX and torch export through the same TensorFlow worker "
                             "process (ganzoo.export._worker): run on torch, and in-process on TensorFlow")


def _images(n, side, seed, channels=1):
    return np.random.default_rng(seed).uniform(-1, 1, (n, side, side, channels)).astype("float32")


def _trained(model, inputs, targets):
    model.compile(d_optimizer=keras.optimizers.Adam(1e-3), g_optimizer=keras.optimizers.Adam(1e-3))
    model.fit(inputs, targets, batch_size=4, epochs=1, steps_per_epoch=2, verbose=0)
    return model


def _sr(seed=0):
    keras.utils.set_random_seed(seed)
    model = srgan.build_srgan((8, 8, 1), input_shape=(4, 4, 1), generator={"filters": 4, "residual_blocks": 1},
                              discriminator={"base_filters": 4, "num_blocks": 1, "dense_units": 4}, seed=seed)
    low = _images(8, 4, 0)
    return _trained(model, low, np.tanh(2 * np.repeat(np.repeat(low, 2, axis=1), 2, axis=2)))


def _p2p(seed=0):
    keras.utils.set_random_seed(seed)
    model = pix2pix.build_pix2pix((8, 8, 1), generator={"base_filters": 4, "depth": 2},
                                  discriminator={"base_filters": 4, "num_downsamples": 1}, seed=seed)
    inputs = _images(8, 8, 1)
    return _trained(model, inputs, np.tanh(-2 * inputs))


@NOT_JAX
def test_super_resolution_export_takes_any_size_and_runs_without_tensorflow(tmp_path):
    model = _sr()
    calibration = _images(32, 4, 2)
    metadata = export_generator(model, tmp_path / "sr", inputs=calibration)
    assert metadata["input"] == {"name": "images", "dtype": "float32", "shape": [None, None, None, 1]}
    assert metadata["latent_dim"] is None and metadata["training_backend"] == BACKEND
    assert metadata["int8_calibration"]["num_inputs"] == 32
    for name in ("saved_model", "tflite"):
        assert metadata["formats"][name]["parity"]["max_abs_error"] <= 1e-4
    # Two input sizes, neither the training one, in a process that cannot import TensorFlow or Keras.
    inputs = {"a": _images(3, 5, 3), "b": np.random.default_rng(4).uniform(-1, 1, (2, 6, 9, 1)).astype("float32")}
    np.savez(tmp_path / "inputs.npz", **inputs)
    completed = run_without_tensorflow_and_keras(
        """
        import sys
        import numpy as np
        from ganzoo.runtime import TFLiteTranslator

        folder = sys.argv[1]
        inputs = np.load(folder + "/inputs.npz")
        out = {}
        for name in ("generator.tflite", "generator_int8.tflite"):
            sr = TFLiteTranslator(folder + "/sr/" + name)
            assert sr.input_shape == (None, None, 1), sr.input_shape
            for key in ("a", "b"):
                out[name + key] = sr.upscale(inputs[key], batch_size=2)
        np.savez(folder + "/outputs.npz", **out)
        print([m for m in ("tensorflow", "keras") if m in sys.modules])
        """, tmp_path)
    assert completed.returncode == 0, completed.stderr[-3000:]
    assert completed.stdout.strip().splitlines()[-1] == "[]"
    outputs = np.load(tmp_path / "outputs.npz")
    for key, images in inputs.items():
        expected = model.upscale(images)
        assert expected.shape == (len(images), 2 * images.shape[1], 2 * images.shape[2], 1)
        np.testing.assert_allclose(outputs["generator.tflite" + key], expected, atol=1e-4)
        assert np.abs(outputs["generator_int8.tflite" + key] - expected).mean() < 0.1


@NOT_JAX
def test_pix2pix_export_is_checked_on_real_inputs(tmp_path):
    model = _p2p()
    metadata = export_generator(model, tmp_path / "p2p", inputs=_images(20, 8, 5),
                                formats=("saved_model", "tflite", "tflite_int8"))
    assert metadata["input"]["shape"] == [None, 8, 8, 1]
    assert metadata["parity"]["inputs"] == "real held-out inputs" and metadata["parity"]["num_latents"] == 16
    assert metadata["formats"]["tflite"]["parity"]["max_abs_error"] <= 1e-4
    with pytest.raises(ExportError, match="real inputs"):  # no inputs and no dataset to take them from
        export_generator(model, tmp_path / "none")
    assert not os.path.exists(tmp_path / "none")


def _write_pngs(folder, images):
    os.makedirs(folder, exist_ok=True)
    for i, image in enumerate(images):
        pixels = np.round((image[..., 0] + 1) * 127.5).astype("uint8")
        Image.fromarray(pixels).save(os.path.join(folder, f"img_{i}.png"))


@ONE_BACKEND
def test_translate_a_folder_keeps_the_file_names(tmp_path, capsys):
    model = _p2p()
    model.save(tmp_path / "gan.keras")
    images = _images(3, 8, 6)
    _write_pngs(tmp_path / "in", images)
    (tmp_path / "in" / "notes.txt").write_text("not an image")
    assert cli.main(["translate", str(tmp_path / "gan.keras"), str(tmp_path / "in"),
                     "--out", str(tmp_path / "out")]) == 0
    assert "wrote 3 output image(s)" in capsys.readouterr().out
    assert sorted(os.listdir(tmp_path / "out")) == ["img_0.png", "img_1.png", "img_2.png"]
    read = np.stack([np.asarray(Image.open(tmp_path / "in" / f"img_{i}.png"), np.float32) for i in range(3)])
    expected = np.round((model.translate(read[..., None] / 127.5 - 1) + 1) * 127.5)
    got = np.stack([np.asarray(Image.open(tmp_path / "out" / f"img_{i}.png"), np.float32) for i in range(3)])
    assert np.abs(got - expected[..., 0]).max() <= 1
    # One file; then a second run refuses the filled folder without --force and keeps it.
    written = translate_files(model, tmp_path / "in" / "img_1.png", tmp_path / "one")
    assert [os.path.basename(p) for p in written] == ["img_1.png"]
    with pytest.raises(ImageInputError, match="--force"):
        translate_files(model, tmp_path / "in", tmp_path / "one")
    assert os.listdir(tmp_path / "one") == ["img_1.png"]


@ONE_BACKEND
def test_translate_upscales_images_of_any_size(tmp_path):
    model = _sr()
    _write_pngs(tmp_path / "in", [_images(1, 5, 7)[0]])
    Image.fromarray(np.zeros((3, 7), np.uint8)).save(tmp_path / "in" / "wide.png")
    translate_files(model, tmp_path / "in", tmp_path / "out")
    sizes = {name: Image.open(tmp_path / "out" / name).size for name in os.listdir(tmp_path / "out")}
    assert sizes == {"img_0.png": (10, 10), "wide.png": (14, 6)}


@ONE_BACKEND
def test_evaluate_reports_paired_scores(tmp_path, capsys):
    """`ganzoo evaluate` on an image-in run: PSNR/SSIM beside bicubic, FID and label accuracy by both judges."""
    model = _sr()  # x2 from 4x4, as digits_x2
    model.save(tmp_path / "gan.keras")
    (tmp_path / "config.yaml").write_text("data: {dataset: digits_x2}\n")  # the run's dataset
    assert cli.main(["evaluate", str(tmp_path), "--n", "60", "--json", str(tmp_path / "r.json"), "--quiet"]) == 0
    report = json.loads((tmp_path / "r.json").read_text())
    assert report["dataset"] == "digits_x2" and report["n"] == 60
    scores = report["scores"]
    for key in ("psnr", "ssim", "psnr_baseline", "fid_cnn", "fid_resnet", "label_accuracy_cnn_targets"):
        assert np.isfinite(scores[key]), key
    assert scores["label_accuracy_cnn_targets"] > 0.8  # the real images: the ceiling
    assert "bicubic" in capsys.readouterr().out
