"""GANomaly through the conformance suite; its scores rank anomalies first; threshold, saving, bad input."""

import os

import keras
import numpy as np
import pytest

from conformance import VARIANT, GANConformance
import ganzoo
from ganzoo.models import ganomaly

SHAPE = (8, 8, 1)


def _normal(n, seed):
    """Normal images: horizontal stripes of random phase and contrast."""
    rng = np.random.default_rng(seed)
    rows = np.arange(8)[None, :, None, None]
    phase, contrast = rng.uniform(0, 2 * np.pi, (n, 1, 1, 1)), rng.uniform(0.5, 1.0, (n, 1, 1, 1))
    return (contrast * np.sin(rows * np.pi / 2 + phase) * np.ones((1, 8, 8, 1))).astype("float32")


def _anomalous(n, seed):
    """Anomalies: a bright square at a random place on a dark background."""
    rng = np.random.default_rng(seed)
    images = -np.ones((n, 8, 8, 1), "float32")
    for image, (y, x) in zip(images, rng.integers(0, 5, (n, 2))):
        image[y:y + 4, x:x + 4] = 1.0
    return images


def _model(seed=0, **kwargs):
    return ganomaly.build_ganomaly(SHAPE, latent_dim=4, generator={"base_filters": 4},
                                   discriminator={"base_filters": 4}, seed=seed, **kwargs)


class TestGANomaly(GANConformance):
    """The paper's weights and BCE; the data are normal images only."""

    def build_model(self, seed):
        return _model(seed)

    def make_data(self, n):
        return _normal(n, 0)

    def samples(self, model, n, seed):
        return model.translate(_normal(n, seed))

    def sample_shape(self):
        return SHAPE


class TestGANomalyR1ReconstructionScore(TestGANomaly):
    """Least squares with R1, two D steps per G step, the reconstruction score."""
    pytestmark = VARIANT
    check_callbacks = False

    loss = "least_squares"

    def build_model(self, seed):
        return _model(seed, r1_weight=0.1, d_steps_per_g_step=2, score_kind="reconstruction",
                      reconstruction_weight=20.0)


@pytest.fixture(scope="module")
def trained():
    keras.utils.set_random_seed(0)
    model = _model(0)
    model.compile(d_optimizer=keras.optimizers.Adam(2e-3, beta_1=0.5),
                  g_optimizer=keras.optimizers.Adam(2e-3, beta_1=0.5))
    model.fit(_normal(256, 1), batch_size=32, epochs=6, verbose=0)
    return model


def test_scores_rank_anomalies_above_normal_images(trained):
    normal, anomalous = _normal(64, 2), _anomalous(64, 3)
    # Six epochs on the stripes: the reconstruction error separates the squares fully (AUROC 1.0 on
    # TensorFlow), the latent distance above chance (0.76 on TensorFlow, 0.60 on torch; 0.87 on
    # TensorFlow after 12 epochs): on this toy the latent score is the weaker of the two.
    for kind, least in (("reconstruction", 0.95), ("latent", 0.5)):
        scores = trained.score(np.concatenate([normal, anomalous]), kind=kind)
        assert scores.shape == (128,) and scores.dtype == np.float32 and np.all(scores >= 0)
        # AUROC: the chance that an anomaly outscores a normal image (ties count half).
        a, b = scores[64:, None], scores[None, :64]
        auroc = np.mean((a > b) + 0.5 * (a == b))
        assert auroc > least, (kind, auroc)
    # The scorer model is the same computation (what export writes).
    np.testing.assert_allclose(
        keras.ops.convert_to_numpy(trained.scorer_model()(normal[:8])), trained.score(normal[:8]), rtol=1e-5)


def test_calibrated_threshold_flags_the_asked_rate_and_is_saved(trained, tmp_path):
    with pytest.raises(ValueError, match="no threshold yet; call calibrate"):
        trained.flag(_normal(4, 4))
    validation = _normal(200, 5)
    threshold = trained.calibrate(validation, fpr=0.1)
    assert trained.threshold == threshold and trained.threshold_fpr == 0.1
    assert np.mean(trained.flag(validation)) <= 0.1
    assert np.mean(trained.flag(_normal(200, 6))) < 0.3  # unseen normal images: near the asked rate
    path = tmp_path / "ganomaly.keras"
    trained.save(path)
    reloaded = ganzoo.load_model(path)
    assert isinstance(reloaded, ganomaly.GANomaly) and reloaded.threshold == threshold
    np.testing.assert_array_equal(reloaded.score(validation[:16]), trained.score(validation[:16]))


def test_bad_input_is_refused_in_one_line(trained):
    for images, fix in ((np.zeros((2, 8, 8, 3)), "resize or convert"), (np.zeros((2, 9, 9, 1)), r"shape \(8, 8, 1\)")):
        with pytest.raises(ValueError, match=fix) as error:
            trained.score(images)
        assert "\n" not in str(error.value)
    assert trained.score(np.zeros((3, 8, 8))).shape == (3,)  # grayscale without a channel axis
    for fpr in (0, 1, True, "5%"):
        with pytest.raises(ValueError, match="false-positive rate in"):
            trained.calibrate(_normal(8, 0), fpr=fpr)
    with pytest.raises(ValueError, match="score_kind"):
        _model(score_kind="izif")
    for key, value in (("perceptual_weight", 0.1), ("ema_decay", 0.999), ("pack", 2)):
        with pytest.raises(ValueError, match=f"`{key}` is fixed for GANomaly"):
            _model(**{key: value})
    with pytest.raises(ValueError, match="build them with ganzoo.models.ganomaly"):
        ganomaly.GANomaly(keras.Sequential([keras.Input(SHAPE), keras.layers.Identity()]), trained.discriminator)
    with pytest.raises(ValueError, match="normal images"):
        trained.fit(_normal(8, 0), _normal(8, 0), epochs=1, verbose=0)


@pytest.mark.skipif(keras.backend.backend() != "torch", reason="the scorer's export through the TensorFlow worker "
                    "process (JAX's path too; TensorFlow's in-process path runs the same conversion, test_export.py)")
def test_scorer_exports_with_parity_and_scores_without_tensorflow(trained, tmp_path):
    from export_helpers import run_without_tensorflow_and_keras
    from ganzoo.export import ExportError, export_scorer

    trained.calibrate(_normal(200, 5), fpr=0.1)
    metadata = export_scorer(trained, tmp_path / "scorer", inputs=_normal(64, 8), num_calibration=64)
    assert metadata["output"]["name"] == "scores" and metadata["threshold"] == trained.threshold
    for name in ("saved_model", "tflite"):
        assert metadata["formats"][name]["parity"]["max_abs_error"] <= 1e-4
    assert sorted(os.listdir(tmp_path / "scorer")) == ["metadata.json", "saved_model", "scorer.tflite",
                                                      "scorer_dynamic.tflite", "scorer_fp16.tflite",
                                                      "scorer_int8.tflite"]
    images = np.concatenate([_normal(5, 9), _anomalous(5, 9)])
    np.save(tmp_path / "images.npy", images)
    completed = run_without_tensorflow_and_keras(
        """
        import sys
        import numpy as np
        from ganzoo.runtime import TFLiteScorer

        scorer = TFLiteScorer(sys.argv[1] + "/scorer/scorer.tflite")
        images = np.load(sys.argv[1] + "/images.npy")
        np.save(sys.argv[1] + "/scores.npy", scorer.score(images, batch_size=3))
        np.save(sys.argv[1] + "/flags.npy", scorer.flag(images))
        print([m for m in ("tensorflow", "keras") if m in sys.modules])
        """, tmp_path)
    assert completed.returncode == 0, completed.stderr[-3000:]
    assert completed.stdout.strip().splitlines()[-1] == "[]"
    np.testing.assert_allclose(np.load(tmp_path / "scores.npy"), trained.score(images), rtol=1e-4, atol=1e-5)
    np.testing.assert_array_equal(np.load(tmp_path / "flags.npy"), trained.flag(images))
    with pytest.raises(ExportError, match="has no anomaly scorer"):
        export_scorer(trained.generator, tmp_path / "not_a_scorer", inputs=_normal(4, 0))
    assert not (tmp_path / "not_a_scorer").exists()


@pytest.mark.skipif(keras.backend.backend() != "torch", reason="backend-neutral CLI path: run on torch")
def test_ganzoo_score_writes_a_row_per_image_and_refuses_bad_input_in_one_line(trained, tmp_path, capsys):
    from PIL import Image

    from ganzoo import cli

    trained.calibrate(_normal(200, 5), fpr=0.1)
    model = str(tmp_path / "ganomaly.keras")
    trained.save(model)
    folder = tmp_path / "images"
    folder.mkdir()
    images = np.concatenate([_normal(2, 9), _anomalous(2, 9)])
    pixels = np.round((images[..., 0] + 1) * 127.5).astype(np.uint8)
    for i, image in enumerate(pixels):
        Image.fromarray(image).save(folder / f"{i}.png")
    (folder / "notes.txt").write_text("not an image")
    out = tmp_path / "scores.csv"
    assert cli.main(["score", model, str(folder), "--out", str(out)]) == 0
    rows = out.read_text().splitlines()
    assert rows[0] == "file,score,flagged" and [r.split(",")[0] for r in rows[1:]] == ["0.png", "1.png", "2.png", "3.png"]
    expected = trained.score(pixels[..., None] / 127.5 - 1.0)
    np.testing.assert_allclose([float(r.split(",")[1]) for r in rows[1:]], expected, rtol=1e-4)
    assert [int(r.split(",")[2]) for r in rows[1:]] == [int(s > trained.threshold) for s in expected]
    assert "scored 4 image(s)" in capsys.readouterr().out

    rgb, empty = tmp_path / "rgb", tmp_path / "empty"
    rgb.mkdir(), empty.mkdir()
    Image.fromarray(np.zeros((8, 8, 3), np.uint8)).save(rgb / "a.png")
    Image.fromarray(np.zeros((9, 9), np.uint8)).save(empty.parent / "big.png")
    generator = str(tmp_path / "generator.keras")
    trained.discriminator.save(generator)
    before = out.read_text()
    for argv, message in (
            ([model, str(rgb), "--out", str(tmp_path / "x.csv")], "3 channel(s), the model takes 1"),
            ([model, str(tmp_path / "big.png"), "--out", str(tmp_path / "x.csv")], "9x9 pixels, not the 8x8"),
            ([model, str(empty), "--out", str(tmp_path / "x.csv")], "holds no images"),
            ([generator, str(folder), "--out", str(tmp_path / "x.csv")], "has no anomaly scorer"),
            ([model, str(folder), "--out", str(out)], "already exists; pass --force"),
            ([model, str(folder), "--out", str(tmp_path / "x.csv"), "--kind", "izif"], "`kind` must be one of"),
            (["translate", model, str(folder), "--out", str(tmp_path / "x")], "not a translator; score images")):
        assert cli.main(argv if argv[0] == "translate" else ["score", *argv]) == 2
        err = capsys.readouterr().err.strip()
        assert err.startswith("ganzoo: error:") and message in err and "\n" not in err, err
    assert out.read_text() == before and not (tmp_path / "x.csv").exists() and not (tmp_path / "x").exists()


@pytest.mark.skipif(keras.backend.backend() != "torch", reason="config checks and the CLI are backend-neutral: "
                    "run on torch (the model's step is tested on every backend above)")
def test_ganzoo_train_runs_a_ganomaly_config_and_refuses_keys_that_do_not_apply(tmp_path, capsys):
    import yaml

    from ganzoo import cli, config

    raw = {"name": "one_class", "model": {"family": "ganomaly", "latent_dim": 4, "encoder_weight": 2.0,
                                          "generator": {"base_filters": 4}, "discriminator": {"base_filters": 4}},
           "data": {"dataset": "digits[label=0]", "batch_size": 16, "limit": 32}, "train": {"epochs": 1},
           "output": {"dir": str(tmp_path / "run"), "samples": 4}}
    path = tmp_path / "one_class.yaml"
    path.write_text(yaml.safe_dump(raw))
    assert cli.main(["train", str(path)]) == 0
    model = ganzoo.load_model(tmp_path / "run" / "gan.keras")
    assert isinstance(model, ganomaly.GANomaly)
    assert (model.encoder_weight, model.reconstruction_weight, model.adversarial_weight) == (2.0, 50.0, 1.0)
    assert os.path.isfile(tmp_path / "run" / "samples" / "final.png")
    folder = tmp_path / "images"
    folder.mkdir()
    from PIL import Image

    for i in range(3):
        Image.fromarray(np.full((8, 8), 40 * i, np.uint8)).save(folder / f"{i}.png")
    assert cli.main(["score", str(tmp_path / "run"), str(folder), "--out", str(tmp_path / "s.csv")]) == 0
    assert len((tmp_path / "s.csv").read_text().splitlines()) == 4
    capsys.readouterr()

    def changed(section, **values):
        return {**raw, section: {**raw[section], **values}}

    for bad, words in (
            (changed("model", pack=2), "takes none of pack"),
            (changed("model", ema_decay=0.999), "takes none of pack"),
            (changed("model", perceptual="fashion_mnist", perceptual_weight=0.1), "applies to the image-to-image"),
            (changed("data", dataset="ring8"), "learns one class of images"),
            (changed("model", family="dcgan", generator={}, discriminator={}), "applies to the anomaly families")):
        with pytest.raises(config.ConfigError, match=words) as error:
            config.from_dict(bad)
        assert "\n" not in str(error.value)


@pytest.mark.skipif(keras.backend.backend() != "torch", reason="the entry's export runs through the TensorFlow "
                    "worker process, as on JAX; the scoring code is backend-neutral: run on torch")
def test_zoo_entry_of_a_scorer_ships_threshold_scorer_exports_pictures_and_card(tmp_path):
    from ganzoo import config
    from ganzoo.data import idx
    from ganzoo.export import entry, fingerprint
    from ganzoo.training import run

    if idx.find_fashion_mnist() is None:
        pytest.skip("real Fashion-MNIST is not installed (apt-get install dataset-fashion-mnist)")
    raw = {"name": "sneaker_scorer", "model": {"family": "ganomaly", "latent_dim": 4, "generator": {"base_filters": 4},
                                               "discriminator": {"base_filters": 4}},
           "data": {"dataset": "fashion_mnist[label=sneaker]", "batch_size": 32, "limit": 64}, "train": {"epochs": 1},
           "output": {"dir": str(tmp_path / "run"), "samples": 4}}
    run.train(config.from_dict(raw), verbose=0)
    folder = tmp_path / "exported" / "sneaker_scorer"
    metadata = entry.build_entry(tmp_path / "run", folder, n_eval=2000, latency_rounds=2)  # the first 2 000 test images
    assert {"MODEL_CARD.md", "config.json", "metadata.json", "metrics.json", "model.weights.h5", "roc.png",
            "samples.png", "scores.png", "scorer"} == set(os.listdir(folder))
    report = metadata["metrics"]
    from ganzoo import data

    sneakers = int(np.sum(data.load_arrays("fashion_mnist", "test", with_labels=True, limit=2000)[1] == 7))
    assert report["n"] == {"calibration": (sneakers + 1) // 2, "normal": sneakers // 2, "anomalous": 2000 - sneakers}
    assert report["normal_class"] == "Sneaker" and "Sneaker" not in report["per_class"] and len(report["per_class"]) == 9
    # The threshold comes from the other half of the normal test images: near the asked 5 % on this half.
    assert report["threshold_fpr"] == 0.05 and report["scores"]["false_positive_rate"] < 0.2
    keras_auroc = report["scores"][f"auroc_{report['score_kind']}"]
    for facts in metadata["export"]["formats"].values():
        if facts["path"].endswith(".tflite"):
            assert abs(facts["scores"]["auroc"] - keras_auroc) < 0.02, facts
    card = (folder / "MODEL_CARD.md").read_text()
    assert f"{report['threshold']:.6g}" in card and "scorer/scorer_int8.tflite" in card and "Trouser" in card

    model = ganzoo.from_preset(folder)
    assert model.threshold == report["threshold"] and model.threshold_fpr == 0.05
    assert fingerprint.check_fingerprint(model, metadata["dataset"], metadata["fingerprint"]) == []
    moved = dict(metadata["fingerprint"], scores=[s * 1.01 for s in metadata["fingerprint"]["scores"]])
    assert fingerprint.check_fingerprint(model, metadata["dataset"], moved) == [
        "scores differ by 0.0099 relative (tolerance 0.001)"]
    again = entry.rescore_entry(folder, n_eval=2000)
    for key, value in report["scores"].items():
        assert again["scores"][key] == pytest.approx(value, abs=1e-6), key
