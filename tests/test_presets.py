"""Presets (save_preset / from_preset / list_presets), zoo entries and `ganzoo export`."""

import json
import os

import keras
import numpy as np
import pytest

import ganzoo
from ganzoo import cli, models, presets
from ganzoo.export import entry
from ganzoo.metrics import evaluate

EXPORTED = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "exported")


def tiny_gan(seed=0):
    keras.utils.set_random_seed(seed)
    gan = models.build_gan("dcgan", (8, 8, 1), latent_dim=8, seed=seed, ema_decay=0.9)
    gan.compile(d_optimizer=keras.optimizers.Adam(1e-3, beta_1=0.5),
                g_optimizer=keras.optimizers.Adam(1e-3, beta_1=0.5))
    return gan


def images(n=32):
    return np.random.default_rng(0).uniform(-1, 1, (n, 8, 8, 1)).astype("float32")


def test_preset_round_trip_lists_and_fine_tunes(tmp_path, monkeypatch):
    gan = tiny_gan()
    gan.fit(images(), batch_size=8, epochs=1, verbose=0)
    monkeypatch.setenv(presets.ENV_DIR, str(tmp_path))
    folder = gan.save_preset(tmp_path / "tiny", metadata={"dataset": "digits"})
    assert sorted(os.listdir(folder)) == ["config.json", "metadata.json", "model.weights.h5"]
    assert "tiny" in ganzoo.list_presets() and presets.find_preset("tiny") == folder

    loaded = ganzoo.from_preset("tiny")  # by name, from $GANZOO_PRESETS
    np.testing.assert_array_equal(loaded.generate(6, seed=1), gan.generate(6, seed=1))
    metadata = presets.read_metadata(folder)
    assert metadata["dataset"] == "digits" and metadata["backend"] == keras.backend.backend()
    assert metadata["parameters"]["generator"] == gan.generator.count_params()

    # A preset also takes a new compile (fresh optimizers) before fine-tuning.
    again = ganzoo.from_preset("tiny")
    again.compile(d_optimizer=keras.optimizers.Adam(1e-4), g_optimizer=keras.optimizers.Adam(1e-4))
    again.fit(images(), batch_size=8, epochs=1, verbose=0)
    assert int(keras.ops.convert_to_numpy(again.g_optimizer.iterations)) == 4

    # Fine-tuning: it comes compiled with its optimizer state; fit continues from there.
    before = loaded.generate(6, seed=1)
    assert int(keras.ops.convert_to_numpy(loaded.g_optimizer.iterations)) == 4
    loaded.fit(images(), batch_size=8, epochs=1, verbose=0)
    assert int(keras.ops.convert_to_numpy(loaded.g_optimizer.iterations)) == 8
    assert not np.array_equal(before, loaded.generate(6, seed=1))

    # A generator-only preset: the sampling (EMA) generator's weights; it samples alike and trains on with
    # a fresh discriminator and fresh optimizers.
    slim = gan.save_preset(tmp_path / "slim", training_state=False)
    assert sorted(os.listdir(slim)) == ["config.json", "generator.weights.h5", "metadata.json"]
    assert presets.read_metadata(slim)["training_state"] is False
    loaded_slim = ganzoo.from_preset(slim)
    np.testing.assert_array_equal(loaded_slim.generate(6, seed=1), gan.generate(6, seed=1))
    loaded_slim.fit(images(), batch_size=8, epochs=1, verbose=0)
    assert int(keras.ops.convert_to_numpy(loaded_slim.g_optimizer.iterations)) == 4

    with pytest.raises(presets.PresetError, match="already exists"):
        gan.save_preset(folder)
    with pytest.raises(presets.PresetError, match=r"no preset 'tiny2'.*known: .*tiny"):
        ganzoo.from_preset("tiny2")
    (folder / "model.weights.h5").write_bytes(b"damaged")
    with pytest.raises(presets.PresetError, match="cannot load preset"):
        ganzoo.from_preset(folder)


@pytest.mark.parametrize("name", ["dcgan_digits", "dcgan_fashion_mnist"])
def test_shipped_preset_loads_and_matches_its_tflite_export(name, monkeypatch):
    monkeypatch.delenv(presets.ENV_DIR, raising=False)
    folder = os.path.join(EXPORTED, name)
    if not os.path.isdir(folder):
        pytest.fail(f"exported/{name} is missing")
    assert name in ganzoo.list_presets()
    gan = ganzoo.from_preset(name)
    from ganzoo.runtime import TFLiteGenerator

    tflite = TFLiteGenerator(os.path.join(folder, "generator.tflite"))
    np.testing.assert_allclose(tflite.generate(4, seed=0), gan.generate(4, seed=0), atol=1e-4)
    for filename in ("samples.png", "metrics.json", "MODEL_CARD.md", "generator_int8.tflite"):
        assert os.path.isfile(os.path.join(folder, filename)), filename
    assert os.path.getsize(os.path.join(folder, "generator_int8.tflite")) <= 0.3 * os.path.getsize(
        os.path.join(folder, "generator.tflite"))
    # The shipped generator is trained: by the stricter judge, it draws every class, and its
    # recall is far from zero.
    dataset = presets.read_metadata(name)["dataset"]
    verdict = evaluate.evaluate(gan, dataset, n=500, metrics=["precision_recall", "class_balance"],
                                verbose=0)["verdict"]
    assert verdict["classes_present"]["value"] == 10 and verdict["recall"]["value"] > 0.3, verdict


def test_shipped_conditional_preset_draws_the_requested_classes(monkeypatch):
    monkeypatch.delenv(presets.ENV_DIR, raising=False)
    gan = ganzoo.from_preset("cgan_fashion_mnist")
    assert presets.read_metadata("cgan_fashion_mnist")["num_classes"] == 10
    # GAN-test as the card measures it, by each judge: how often each shipped Fashion-MNIST
    # classifier names the requested class. metrics.json holds it for 10 000 samples (seed 0,
    # drawn in chunks of 500); these 500 are that run's first chunk, an estimate of the same
    # rate with binomial standard error sqrt(p (1 - p) / 500), about 1.1-1.6 points. The bound
    # is 4 SE, which an untrained or label-blind generator (about 10 %) misses by far, and so
    # did these weights with the raw generator's batch-norm statistics in the EMA copy (as the
    # run first shipped: 86.3 % on the CNN's card, 84.4 % on this chunk).
    with open(os.path.join(EXPORTED, "cgan_fashion_mnist", "metrics.json"), encoding="utf-8") as f:
        card = json.load(f)["judges"]
    report = evaluate.evaluate(gan, "fashion_mnist", n=500, metrics=["class_balance"], verbose=0)
    for name, judge in report["judges"].items():
        recorded = card[name]["metrics"]["label_accuracy"]
        tolerance = 4 * np.sqrt(recorded * (1 - recorded) / report["n"])
        found = judge["metrics"]["label_accuracy"]
        assert abs(found - recorded) <= tolerance, (name, recorded, found)
        assert judge["metrics"]["classes_present"] == 10, name


def test_shipped_conditional_entry_exports_take_labels_and_match_keras(monkeypatch):
    monkeypatch.delenv(presets.ENV_DIR, raising=False)
    from ganzoo.runtime import TFLiteGenerator

    folder = os.path.join(EXPORTED, "cgan_fashion_mnist")
    gan = ganzoo.from_preset("cgan_fashion_mnist")
    labels = [7, 0, 3, 9, 5]
    fp32 = TFLiteGenerator(os.path.join(folder, "generator.tflite"))
    assert (fp32.label_input, fp32.num_labels) == ("labels", 10)
    expected = gan.generate(5, labels=labels, seed=0)
    np.testing.assert_allclose(fp32.generate(5, seed=0, labels=labels, batch_size=2), expected,
                               rtol=0, atol=1e-4)
    int8 = os.path.join(folder, "generator_int8.tflite")
    assert os.path.getsize(int8) <= 0.3 * os.path.getsize(os.path.join(folder, "generator.tflite"))
    assert np.abs(TFLiteGenerator(int8).generate(5, seed=0, labels=labels) - expected).mean() < 0.05
    export = presets.read_metadata(folder)["export"]
    assert export["condition"]["name"] == "labels" and export["parity"]["batch_sizes"] == [1, 3, 7]
    for fmt in ("tflite", "tflite_int8"):
        assert set(export["formats"][fmt]["label_accuracy"]) == {"cnn", "resnet"}


def test_cli_samples_a_shipped_preset_by_name(tmp_path, monkeypatch):
    monkeypatch.delenv(presets.ENV_DIR, raising=False)
    out = tmp_path / "grid.png"
    assert cli.main(["sample", "dcgan_fashion_mnist", "--n", "64", "--out", str(out)]) == 0
    from PIL import Image

    with Image.open(out) as grid:
        assert grid.size[0] > 8 * 28 and grid.size[1] > 8 * 28


NOT_JAX = pytest.mark.skipif(keras.backend.backend() == "jax", reason="JAX and torch export through the same "
                             "TensorFlow worker process (ganzoo.export._worker): run on torch, and in-process "
                             "on TensorFlow")


@pytest.fixture(scope="module")
def digits_run(train_tiny_run):
    return train_tiny_run("dcgan_digits")


@NOT_JAX
def test_zoo_entry_holds_preset_exports_samples_metrics_and_card(digits_run, tmp_path):
    out = tmp_path / "exported" / "dcgan_digits"
    metadata = entry.build_entry(digits_run, out, n_eval=100, latency_rounds=3, verbose=0)
    names = set(os.listdir(out))
    assert {"config.json", "model.weights.h5", "metadata.json", "saved_model", "generator.tflite",
            "generator_fp16.tflite", "generator_dynamic.tflite", "generator_int8.tflite",
            "samples.png", "metrics.json", "MODEL_CARD.md"} <= names
    assert metadata["training"]["generator_steps"] == 2
    assert metadata["metrics"]["n"] == 100
    assert all("fid" in j["real_floor"] for j in metadata["metrics"]["judges"].values())
    assert metadata["fingerprint"]["n"] == 16 and set(metadata["fingerprint"]["judges"]) == {
        "cnn", "resnet"}
    card = (out / "MODEL_CARD.md").read_text(encoding="utf-8")
    for words in ("## Metrics", "cnn real floor", "resnet real floor", "stricter verdict",
                  "generator_int8.tflite", "(gated)", "tflite_fp32 | 1", "FID change"):
        assert words in card, words
    int8 = metadata["export"]["formats"]["tflite_int8"]
    for judge, keras_fid in metadata["export"]["fid_check"]["keras_fid"].items():
        assert int8["fid_change"][judge] == pytest.approx(int8["fid"][judge] - keras_fid)
    fp32 = metadata["export"]["formats"]["tflite"]
    assert max(map(abs, fp32["fid_change"].values())) < 1e-3  # the fp32 file draws the same images
    gan = ganzoo.from_preset(out)
    original = keras.saving.load_model(os.path.join(digits_run, "gan.keras"))
    np.testing.assert_array_equal(gan.generate(4, seed=0), original.generate(4, seed=0))
    # Nothing beside the entry: the staging folder is gone.
    assert os.listdir(tmp_path / "exported") == ["dcgan_digits"]
    with pytest.raises(Exception, match="already exists"):
        entry.build_entry(digits_run, out, verbose=0)

    # Slimmed for shipping: the generator only, no SavedModel, the same samples, and the card says so.
    from ganzoo.export import ExportError, slim

    full_size = os.path.getsize(out / "model.weights.h5")
    slim.slim_entry(out)
    names = set(os.listdir(out))
    assert "model.weights.h5" not in names and "saved_model" not in names and "generator.tflite" in names
    assert os.path.getsize(out / "generator.weights.h5") < 0.5 * full_size
    np.testing.assert_array_equal(ganzoo.from_preset(out).generate(4, seed=0), original.generate(4, seed=0))
    card = (out / "MODEL_CARD.md").read_text(encoding="utf-8")
    assert "## Not shipped" in card and "ganzoo export dcgan_digits --out DIR" in card
    with pytest.raises(ExportError, match="nothing to leave out"):
        slim.slim_entry(out)
    assert os.listdir(tmp_path / "exported") == ["dcgan_digits"]


@NOT_JAX
def test_cli_sample_and_export_accept_presets_and_refuse_bad_input(digits_run, tmp_path, capsys,
                                                                   monkeypatch):
    monkeypatch.setenv(presets.ENV_DIR, str(tmp_path / "presets"))
    original = keras.saving.load_model(os.path.join(digits_run, "gan.keras"))
    original.save_preset(tmp_path / "presets" / "mine", metadata={"dataset": "digits"}, training_state=False)

    assert cli.main(["sample", "mine", "--n", "16", "--out", str(tmp_path / "grid.png")]) == 0
    assert os.path.getsize(tmp_path / "grid.png") > 0
    out = tmp_path / "export"
    assert cli.main(["export", "mine", "--out", str(out), "--formats", "tflite"]) == 0
    written = json.loads((out / "metadata.json").read_text(encoding="utf-8"))
    assert list(written["formats"]) == ["tflite"]
    capsys.readouterr()

    for args, words in [
        (["export", "mine", "--out", str(out)], "not empty"),
        (["export", "mine", "--out", str(tmp_path / "x"), "--formats", "tflite_int4"], "unknown format"),
        (["export", "nothing_here", "--out", str(tmp_path / "y")], "not found"),
        (["sample", "mine2", "--out", str(tmp_path / "g.png")], "give a preset name ("),
    ]:
        assert cli.main(args) == 2, args
        err = capsys.readouterr().err
        assert words in err and err.count("\n") == 1 and "Traceback" not in err, err
    assert not (tmp_path / "x").exists() and not (tmp_path / "y").exists()


def test_cli_format_list_matches_the_export_module():
    from ganzoo.export import FORMATS

    assert cli.FORMATS == FORMATS
