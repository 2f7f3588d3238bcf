"""Export to SavedModel / TFLite: parity gate, quantized files, refusals, standalone runtime.

Runs on TensorFlow (in-process conversion) and on PyTorch, where the conversion
runs in a TensorFlow subprocess and the parity gate still compares with this
process's Keras generator. JAX goes through that same subprocess, so its pass
skips this file for the time budget; its export is checked by test_stylegan2.py.
"""

import json
import os

import keras
import numpy as np
import pytest
from export_helpers import look_trained, run_without_tensorflow_and_keras

from ganzoo import models
from ganzoo.export import FORMATS, ExportError, export_generator
from ganzoo.models import sampling
from ganzoo.runtime import TFLiteGenerator

pytestmark = pytest.mark.skipif(keras.backend.backend() == "jax", reason="JAX exports through the same "
                                "TensorFlow worker process as torch, which runs this file")

LATENT_DIM = 8
TFLITE_FILES = {
    "tflite": "generator.tflite",
    "tflite_fp16": "generator_fp16.tflite",
    "tflite_dynamic": "generator_dynamic.tflite",
    "tflite_int8": "generator_int8.tflite",
}


def _dcgan_generator():
    # Kernels are initialized from Keras' global seed (GAN's `seed` drives training only), so
    # fix it: otherwise the weights depend on which tests ran before.
    keras.utils.set_random_seed(0)
    # base_filters=64 so that weights, not per-tensor overhead, dominate the int8 file.
    generator = models.build_gan(
        "dcgan", (8, 8, 1), latent_dim=LATENT_DIM, seed=0, generator={"base_filters": 64}
    ).sampling_generator
    look_trained(generator, generator.layers[-1])
    return generator


@pytest.fixture(scope="module")
def dcgan():
    return _dcgan_generator()


@pytest.fixture(scope="module")
def dcgan_export(dcgan, tmp_path_factory):
    out = tmp_path_factory.mktemp("dcgan") / "export"
    return out, export_generator(dcgan, out)


@pytest.fixture(scope="module")
def mlp_export(tmp_path_factory):
    generator = models.build_gan("mlp", (2,), latent_dim=4, seed=0).sampling_generator
    out = tmp_path_factory.mktemp("mlp") / "export"
    return generator, out, export_generator(generator, out)


def test_dcgan_export_writes_every_format_and_metadata(dcgan_export):
    out, metadata = dcgan_export
    expected_files = [*TFLITE_FILES.values(), "saved_model", "metadata.json"]
    assert sorted(os.listdir(out)) == sorted(expected_files)
    assert os.path.isfile(out / "saved_model" / "saved_model.pb")
    with open(out / "metadata.json") as file:
        assert json.load(file) == json.loads(json.dumps(metadata))
    assert list(metadata["formats"]) == list(FORMATS)
    assert metadata["latent_dim"] == LATENT_DIM and metadata["condition"] is None
    assert metadata["output"] == {
        "name": "images", "dtype": "float32", "shape": [None, 8, 8, 1], "transform": None,
    }
    assert metadata["training_backend"] == keras.backend.backend()
    assert metadata["versions"]["keras"] == keras.__version__
    assert metadata["parity"]["tolerance"] == 1e-4
    assert metadata["parity"]["gated_formats"] == ["saved_model", "tflite"]
    for fmt, name in TFLITE_FILES.items():
        assert metadata["formats"][fmt]["size_bytes"] == os.path.getsize(out / name)
    for fmt in ("saved_model", "tflite"):
        assert metadata["formats"][fmt]["parity"]["max_abs_error"] <= 1e-4


def test_fp32_tflite_matches_keras_on_new_latents(dcgan, dcgan_export):
    out, _ = dcgan_export
    runtime = TFLiteGenerator(out / "generator.tflite")
    assert runtime.latent_dim == LATENT_DIM and runtime.output_shape == (8, 8, 1)
    expected = sampling.generate(dcgan, 5, seed=11)
    np.testing.assert_allclose(runtime.generate(5, seed=11), expected, rtol=0, atol=1e-4)
    assert expected.std() > 0.1  # the check compares real images, not near-constant ones
    with pytest.raises(ValueError, match=r"latents of shape \(batch, 8\)"):
        runtime(np.zeros((2, 3), np.float32))


def test_runtime_converts_quantized_inputs_and_outputs_with_their_parameters():
    from ganzoo import runtime

    details = {"dtype": np.int8, "quantization": (0.05, -3)}
    z = np.array([[-10.0, -1.0, 0.0, 0.52, 10.0]], np.float32)
    quantized = runtime._to_input(z, details)
    np.testing.assert_array_equal(quantized, [[-128, -23, -3, 7, 127]])
    np.testing.assert_allclose(
        runtime._from_output(quantized, details), [[-6.25, -1.0, 0.0, 0.5, 6.5]]
    )
    pixels = np.array([0, 255], np.uint8)  # a uint8 export's pixels carry no parameters
    assert runtime._from_output(pixels, {"dtype": np.uint8, "quantization": (0.0, 0)}) is pixels


def test_quantized_files_are_smaller_finite_and_record_their_error(dcgan, dcgan_export):
    out, metadata = dcgan_export
    formats = metadata["formats"]
    fp32_size = formats["tflite"]["size_bytes"]
    assert formats["tflite_fp16"]["size_bytes"] < 0.6 * fp32_size
    assert formats["tflite_dynamic"]["size_bytes"] < 0.4 * fp32_size
    assert formats["tflite_int8"]["size_bytes"] <= 0.3 * fp32_size
    latents = sampling.latents(16, LATENT_DIM, seed=0)  # the parity latents (seed 0)
    reference = sampling.generate(dcgan, 16, seed=0)
    for fmt in ("tflite_fp16", "tflite_dynamic", "tflite_int8"):
        images = TFLiteGenerator(out / TFLITE_FILES[fmt])(latents)
        assert images.shape == (16, 8, 8, 1) and images.dtype == np.float32
        assert np.all(np.isfinite(images))
        error = np.abs(images - reference)
        parity = formats[fmt]["parity"]
        assert parity["gated"] is False
        assert parity["max_abs_error"] == pytest.approx(error.max(), abs=1e-5)
        assert parity["mean_abs_error"] == pytest.approx(error.mean(), abs=1e-5)
        assert 0 < parity["mean_abs_error"] < 0.05  # quantized, yet close: not garbage
    assert formats["tflite_fp16"]["parity"]["max_abs_error"] < 1e-2


def test_mlp_generator_exports_every_format(mlp_export):
    generator, out, metadata = mlp_export
    assert list(metadata["formats"]) == list(FORMATS)
    assert metadata["output"]["shape"] == [None, 2]
    for fmt in ("saved_model", "tflite"):
        assert metadata["formats"][fmt]["parity"]["max_abs_error"] <= 1e-4
    expected = sampling.generate(generator, 64, seed=4)
    for fmt, name in TFLITE_FILES.items():
        points = TFLiteGenerator(out / name).generate(64, seed=4, batch_size=7)
        assert points.shape == (64, 2) and np.all(np.isfinite(points))
        if fmt == "tflite":
            np.testing.assert_allclose(points, expected, rtol=0, atol=1e-4)
        else:
            # Unbounded 2-D outputs: judge the quantization error against the points' spread
            # (a latent outside the calibration range may saturate one int8 activation).
            error = np.abs(points - expected)
            assert error.mean() < 0.05 * expected.std(), (fmt, error.mean(), expected.std())


def test_export_that_disagrees_with_keras_is_refused_and_leaves_nothing(dcgan, tmp_path):
    out = tmp_path / "export"
    refused = r"max abs difference .* > tolerance .*nothing was written"
    with pytest.raises(ExportError, match=refused) as caught:
        # The hook adds 1e-3 to the exported graph's output: a faithful-looking but wrong export.
        export_generator(dcgan, out, formats=("tflite",), _output_offset=1e-3)
    assert "\n" not in str(caught.value) and "Traceback" not in str(caught.value)
    assert os.listdir(tmp_path) == []


def test_non_empty_out_dir_is_refused_before_any_work(dcgan, tmp_path):
    out = tmp_path / "export"
    out.mkdir()
    (out / "keep.txt").write_text("mine")
    with pytest.raises(ExportError, match="already exists and is not empty; pass overwrite=True"):
        export_generator(dcgan, out)
    assert os.listdir(tmp_path) == ["export"] and os.listdir(out) == ["keep.txt"]


def test_unknown_format_is_a_value_error(dcgan, tmp_path):
    with pytest.raises(ValueError, match="tflite_int4"):
        export_generator(dcgan, tmp_path / "export", formats=("tflite_int4",))


def test_uint8_output_overwrites_and_matches_keras_pixels(dcgan, tmp_path):
    out = tmp_path / "export"
    out.mkdir()
    (out / "old.txt").write_text("replaced")
    metadata = export_generator(
        dcgan, out, formats=("tflite", "tflite_int8"), uint8_output=True, overwrite=True
    )
    assert sorted(os.listdir(out)) == ["generator.tflite", "generator_int8.tflite", "metadata.json"]
    assert os.listdir(tmp_path) == ["export"]
    assert metadata["output"]["dtype"] == "uint8"
    assert metadata["parity"] == {
        "tolerance": 1, "unit": "uint8 levels", "gated_formats": ["tflite"],
        "num_latents": 16, "inputs": "seeded latents", "seed": 0, "batch_sizes": [1, 3, 7], "labels": None,
    }
    expected = np.clip(np.round((sampling.generate(dcgan, 20, seed=5) + 1) * 127.5), 0, 255)
    pixels = TFLiteGenerator(out / "generator.tflite").generate(20, seed=5)
    assert pixels.dtype == np.uint8 and pixels.shape == (20, 8, 8, 1)
    assert np.abs(pixels.astype(int) - expected).max() <= 1
    assert pixels.min() < 64 and pixels.max() > 192  # the whole range is in use
    quantized = TFLiteGenerator(out / "generator_int8.tflite").generate(20, seed=5)
    assert quantized.dtype == np.uint8
    assert np.abs(quantized.astype(int) - expected).mean() < 5


_RUNTIME_SCRIPT = """
    import json
    import numpy as np
    from ganzoo.runtime import TFLiteGenerator

    generator = TFLiteGenerator(sys.argv[1])
    latents = generator.latents(7, seed=3)
    np.savez(
        sys.argv[2],
        batch_1=generator.generate(7, seed=3, batch_size=1),
        batch_7=generator.generate(7, seed=3, batch_size=7),
        batch_3=generator.generate(7, seed=3, batch_size=3),
        call=generator(latents[:2]),
        latents=latents,
    )
    loaded = [m for m in ("tensorflow", "keras") if m in sys.modules]
    print(json.dumps({"latent_dim": generator.latent_dim,
                      "output_shape": list(generator.output_shape), "loaded": loaded}))
"""


def test_runtime_needs_neither_tensorflow_nor_keras(dcgan, dcgan_export, tmp_path):
    out, _ = dcgan_export
    result_path = tmp_path / "result.npz"
    completed = run_without_tensorflow_and_keras(
        _RUNTIME_SCRIPT, out / "generator.tflite", result_path
    )
    assert completed.returncode == 0, completed.stderr[-2000:]
    report = json.loads(completed.stdout.strip().splitlines()[-1])
    assert report == {"latent_dim": LATENT_DIM, "output_shape": [8, 8, 1], "loaded": []}
    expected = sampling.generate(dcgan, 7, seed=3)
    with np.load(result_path) as result:
        np.testing.assert_array_equal(result["latents"], sampling.latents(7, LATENT_DIM, seed=3))
        for key in ("batch_1", "batch_7", "batch_3"):
            np.testing.assert_allclose(result[key], expected, rtol=0, atol=1e-4, err_msg=key)
        np.testing.assert_allclose(result["call"], expected[:2], rtol=0, atol=1e-4)
