"""Export of two-input generators: conditional (`serve(z, labels)`) and MAD-GAN (`serve(z, generator)`).

Runs on TensorFlow (conversion in-process) and PyTorch (conversion in a
TensorFlow subprocess, the path JAX shares, which test_export.py covers on JAX); every check compares the files
with this process's Keras generator, with labels, at batch sizes 1, 3 and 7.
One export of each kind is shared by the module's tests.
"""

import json
import os
import shutil

import keras
import numpy as np
import pytest
from export_helpers import look_trained, run_without_tensorflow_and_keras

import ganzoo
from ganzoo import models, presets
from ganzoo.export import ExportError, entry, export_generator, latency
from ganzoo.models import mixture, sampling
from ganzoo.runtime import TFLiteGenerator

pytestmark = pytest.mark.skipif(keras.backend.backend() == "jax", reason="JAX and torch export through the same TensorFlow worker process (ganzoo.export._worker): run on torch, and in-process on TensorFlow; JAX's export path is test_export.py's and test_stylegan2.py's")
LATENT_DIM, NUM_CLASSES = 8, 3
TFLITE_FILES = dict(zip(("tflite", "tflite_fp16", "tflite_dynamic", "tflite_int8"),
                        latency.TFLITE_FILES.values()))
LABELS_7 = np.array([2, 0, 1, 1, 2, 0, 2], np.int32)


@pytest.fixture(scope="module")
def cgan_export(tmp_path_factory):
    """(GAN, folder, metadata): a tiny conditional GAN and its export in every format."""
    keras.utils.set_random_seed(0)  # kernels come from Keras' global seed
    gan = models.build_gan(
        "dcgan", (8, 8, 1), latent_dim=LATENT_DIM, seed=0, conditional="projection",
        num_classes=NUM_CLASSES, generator={"base_filters": 8}, discriminator={"base_filters": 4},
    )
    generator = gan.sampling_generator
    rng = look_trained(generator, generator.get_layer("body").layers[-1])
    embedding = generator.get_layer(sampling.LABEL_EMBEDDING)  # labels that change the image
    embedding.embeddings.assign(rng.normal(0.0, 1.0, embedding.embeddings.shape).astype("float32"))
    out = tmp_path_factory.mktemp("cgan") / "export"
    return gan, out, export_generator(gan, out)


@pytest.fixture(scope="module")
def mad_gan_export(tmp_path_factory):
    """(GAN, folder, metadata): a 3-generator MLP MAD-GAN and its gated and int8 files."""
    keras.utils.set_random_seed(0)
    gan = models.build_gan("mlp", (2,), latent_dim=4, seed=0, num_generators=3,
                           generator={"output_activation": None})
    out = tmp_path_factory.mktemp("mad_gan") / "export"
    return gan, out, export_generator(gan, out, formats=("saved_model", "tflite", "tflite_int8"))


def test_conditional_export_writes_every_format_gated_with_labels(cgan_export):
    _, out, metadata = cgan_export
    assert sorted(os.listdir(out)) == sorted([*TFLITE_FILES.values(), "saved_model", "metadata.json"])
    with open(out / "metadata.json", encoding="utf-8") as file:
        assert json.load(file) == json.loads(json.dumps(metadata))
    assert metadata["condition"] == {"name": "labels", "dtype": "int32", "shape": [None],
                                     "num_values": NUM_CLASSES, "meaning": "class label"}
    assert metadata["input"] == {"name": "z", "dtype": "float32", "shape": [None, LATENT_DIM]}
    assert metadata["parity"]["batch_sizes"] == [1, 3, 7]
    assert metadata["parity"]["labels"] == metadata["int8_calibration"]["labels"]
    assert metadata["training_backend"] == keras.backend.backend()
    for fmt in ("saved_model", "tflite"):
        assert metadata["formats"][fmt]["parity"]["gated"] is True
        assert metadata["formats"][fmt]["parity"]["max_abs_error"] <= 1e-4


def test_saved_model_and_fp32_tflite_match_keras_with_labels_at_batch_1_3_7(cgan_export):
    import tensorflow as tf

    cgan, out, _ = cgan_export
    expected = cgan.generate(7, labels=LABELS_7, seed=11)
    assert expected.std() > 0.1  # real images, not near-constant ones
    other = cgan.generate(7, labels=(LABELS_7 + 1) % NUM_CLASSES, seed=11)
    assert np.abs(other - expected).mean() > 0.05  # the label changes the image
    serve = tf.saved_model.load(str(out / "saved_model")).signatures["serve"]
    latents = sampling.latents(7, LATENT_DIM, seed=11)
    runtime = TFLiteGenerator(out / "generator.tflite")
    for batch_size in (1, 3, 7):
        saved = np.concatenate([
            serve(z=tf.constant(latents[i : i + batch_size]),
                  labels=tf.constant(LABELS_7[i : i + batch_size]))["images"].numpy()
            for i in range(0, 7, batch_size)
        ])
        np.testing.assert_allclose(saved, expected, rtol=0, atol=1e-4, err_msg=f"batch {batch_size}")
        tflite = runtime.generate(7, seed=11, labels=LABELS_7, batch_size=batch_size)
        np.testing.assert_allclose(tflite, expected, rtol=0, atol=1e-4, err_msg=f"batch {batch_size}")


def test_every_tflite_file_takes_int32_labels_by_name(cgan_export):
    cgan, out, metadata = cgan_export
    expected = cgan.generate(12, seed=4)  # labels cycle 0, 1, 2, 0, ...
    for fmt, name in TFLITE_FILES.items():
        runtime = TFLiteGenerator(out / name)
        assert (runtime.label_input, runtime.num_labels) == ("labels", NUM_CLASSES)
        details = runtime._runner.get_input_details()
        assert details["labels"]["dtype"] == np.int32 and list(details["labels"]["shape_signature"]) == [-1]
        images = runtime.generate(12, seed=4, batch_size=5)
        error = np.abs(images - expected)
        assert images.shape == (12, 8, 8, 1) and images.dtype == np.float32
        assert error.mean() < 0.05, (fmt, error.mean())  # quantized, yet close: not garbage
        assert metadata["formats"][fmt]["parity"]["max_abs_error"] < 0.5


def test_runtime_labels_int_sequence_or_cycled_and_one_line_range_errors(cgan_export):
    _, out, _ = cgan_export
    runtime = TFLiteGenerator(out / "generator.tflite")
    np.testing.assert_array_equal(runtime.generate(4, seed=2, labels=1),
                                  runtime.generate(4, seed=2, labels=[1, 1, 1, 1]))
    np.testing.assert_array_equal(runtime.generate(5, seed=2),
                                  runtime.generate(5, seed=2, labels=[0, 1, 2, 0, 1]))
    for labels, words in [
        (3, "label 3 is out of range; this generator has 3 classes, labels 0..2."),
        ([0, -1], "label -1 is out of range"),
        ([0, 1, 2], "got 3 labels for 2 samples"),
        ([0.5, 1], "labels must be integers in [0, 2]"),
    ]:
        with pytest.raises(ValueError) as caught:
            runtime.generate(2, labels=labels)
        assert str(caught.value).startswith(words) and "\n" not in str(caught.value)


_RUNTIME_SCRIPT = """
    import json
    import numpy as np
    from ganzoo.runtime import TFLiteGenerator

    generator = TFLiteGenerator(sys.argv[1])
    arrays = {f"batch_{b}": generator.generate(7, seed=3, batch_size=b) for b in (1, 3, 7)}
    arrays["class_2"] = generator.generate(3, seed=5, labels=2)
    arrays["listed"] = generator(generator.latents(3, seed=6), [2, 0, 1])
    np.savez(sys.argv[2], **arrays)
    try:
        generator.generate(2, labels=[0, 3])
        error = None
    except ValueError as e:
        error = str(e)
    loaded = [m for m in ("tensorflow", "keras") if m in sys.modules]
    print(json.dumps({"labels": [generator.label_input, generator.num_labels], "error": error,
                      "loaded": loaded}))
"""


def test_conditional_runtime_needs_neither_tensorflow_nor_keras(cgan_export, tmp_path):
    cgan, out, _ = cgan_export
    completed = run_without_tensorflow_and_keras(
        _RUNTIME_SCRIPT, out / "generator_int8.tflite", tmp_path / "result.npz"
    )
    assert completed.returncode == 0, completed.stderr[-2000:]
    report = json.loads(completed.stdout.strip().splitlines()[-1])
    assert report == {"labels": ["labels", NUM_CLASSES], "loaded": [],
                      "error": "label 3 is out of range; this generator has 3 classes, labels 0..2."}
    expected = {
        "class_2": cgan.generate(3, labels=2, seed=5),
        "listed": cgan.generate(3, labels=[2, 0, 1], seed=6),
        **{f"batch_{b}": cgan.generate(7, seed=3) for b in (1, 3, 7)},
    }
    with np.load(tmp_path / "result.npz") as result:
        for key, images in expected.items():
            assert np.abs(result[key] - images).mean() < 0.05, key  # the int8 file
        np.testing.assert_array_equal(result["batch_1"], result["batch_7"])


def test_mad_gan_exports_one_function_of_latents_and_generator_index(mad_gan_export):
    mad_gan, out, metadata = mad_gan_export
    assert metadata["condition"]["name"] == "generator" and metadata["condition"]["num_values"] == 3
    for fmt in ("saved_model", "tflite"):
        assert metadata["formats"][fmt]["parity"]["max_abs_error"] <= 1e-4
    assert metadata["parity"]["batch_sizes"] == [1, 3, 7]
    runtime = TFLiteGenerator(out / "generator.tflite")
    assert (runtime.label_input, runtime.num_labels) == ("generator", 3)
    expected = mad_gan.generate(7, seed=5)  # sample i from generator i mod 3
    assert expected.std() > 0.01
    for batch_size in (1, 3, 7):  # the index input, not the batch position, picks the generator
        np.testing.assert_allclose(runtime.generate(7, seed=5, batch_size=batch_size), expected,
                                   rtol=0, atol=1e-4)
    latents = sampling.latents(4, 4, seed=8)
    member = mad_gan.sampling_generator.get_layer("generator_1")
    np.testing.assert_allclose(runtime(latents, 1), keras.ops.convert_to_numpy(member(latents)),
                               rtol=0, atol=1e-4)
    int8 = TFLiteGenerator(out / "generator_int8.tflite").generate(30, seed=5, batch_size=30)
    reference = sampling.run(mixture.indexed_generator(mad_gan.sampling_generator),
                             sampling.latents(30, 4, seed=5), np.arange(30) % 3)
    assert np.abs(int8 - reference).mean() < 0.1 * reference.std()
    with pytest.raises(ValueError, match=r"^label 3 is out of range; this generator has 3 generators"):
        runtime.generate(2, labels=3)


def test_export_quality_and_card_report_label_accuracy_beside_fp32(cgan_export, tmp_path,
                                                                    monkeypatch):
    """`add_exports` on a preset-only conditional entry (the export reused from the fixture)."""
    cgan, out, metadata = cgan_export
    cgan.compile(d_optimizer=keras.optimizers.Adam(), g_optimizer=keras.optimizers.Adam())
    folder = tmp_path / "tiny_cgan"
    recorded = {"n": 16, "mean": 0.5}
    cgan.save_preset(folder, metadata={
        "name": "tiny_cgan", "description": "test", "dataset": "digits", "metrics": None,
        "training_config": {"model": {"family": "dcgan"}}, "training": {}, "export": None,
        "fingerprint": recorded,
    })
    monkeypatch.setattr(entry, "export_generator",
                        lambda gan, path: shutil.copytree(out, path) and json.loads(json.dumps(metadata)))
    facts = entry.add_exports(folder, n_check=24, latency_rounds=2)
    assert {"saved_model", "generator_int8.tflite", "MODEL_CARD.md"} <= set(os.listdir(folder))
    assert presets.read_metadata(folder)["fingerprint"] == recorded
    check = facts["export"]["fid_check"]
    assert check["n"] == 24 and set(check["keras_label_accuracy"]) == {"cnn", "resnet"}
    fp32, int8 = (facts["export"]["formats"][f] for f in ("tflite", "tflite_int8"))
    assert fp32["label_accuracy"] == check["keras_label_accuracy"]  # the same images
    assert max(map(abs, fp32["fid_change"].values())) < 1e-3
    assert set(int8["label_accuracy"]) == {"cnn", "resnet"} and set(int8["fid_change"]) == {"cnn", "resnet"}
    assert {row["runner"] for row in facts["latency"]} >= {"saved_model", "tflite_int8"}
    card = (folder / "MODEL_CARD.md").read_text(encoding="utf-8")
    int8_accuracy = " / ".join(f"{v:.3g}" for v in int8["label_accuracy"].values())
    for words in ("| label accuracy |", "int8 beside fp32: label accuracy " + int8_accuracy,
                  "run in batches of 1, 3 and 7", "labels cycling through the classes",
                  "measured when its exports were added", "nothing retrained"):
        assert words in card, words
    assert ganzoo.from_preset(folder).generate(2, seed=0).shape == (2, 8, 8, 1)
    with pytest.raises(ExportError, match="already has exports"):
        entry.add_exports(folder)
