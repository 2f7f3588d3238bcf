"""Shipped feature extractors, `ganzoo.metrics.evaluate`, MetricCallback and `ganzoo evaluate`."""

import json
import os
import subprocess
import sys

import keras
import numpy as np
import pytest

from ganzoo import callbacks, cli, data, models
from ganzoo.data import idx
from ganzoo.metrics import evaluate, extractors

FASHION = idx.find_fashion_mnist() is not None
needs_fashion = pytest.mark.skipif(
    not FASHION,
    reason="real Fashion-MNIST is not installed (apt-get install dataset-fashion-mnist)",
)


def accuracy(dataset):
    x, y = data.load_arrays(dataset, "test", with_labels=True)
    probabilities = extractors.get_extractor(dataset).probabilities(x)
    return float(np.mean(np.argmax(probabilities, axis=1) == y))


@pytest.mark.parametrize("dataset", [
    "digits", pytest.param("fashion_mnist", marks=needs_fashion),
])
def test_shipped_extractor_meets_its_floor_on_this_backend(dataset):
    assert dataset in extractors.available_extractors()
    extractor = extractors.get_extractor(dataset)
    recorded = extractor.metadata["test_accuracy"]
    assert recorded >= extractors.ACCURACY_FLOORS[dataset]
    # The weights load on every backend and give the accuracy the metadata records.
    measured = accuracy(dataset)
    assert measured >= extractors.ACCURACY_FLOORS[dataset]
    assert abs(measured - recorded) <= 0.002
    features = extractor.features(data.load_arrays(dataset, "test", limit=3)[0])
    assert features.shape == (3, extractor.metadata["features"])


def test_unknown_extractor_and_missing_inception_weights_are_clear_errors(tmp_path):
    with pytest.raises(extractors.ExtractorError, match="no feature extractor for dataset 'ring8'"):
        extractors.get_extractor("ring8")
    with pytest.raises(extractors.ExtractorError, match="does not download"):
        extractors.inception_extractor(tmp_path / "inception_notop.h5")
    bad = tmp_path / "bad.weights.h5"
    bad.write_bytes(b"not hdf5")
    with pytest.raises(extractors.ExtractorError, match="not an HDF5 weights file"):
        extractors.inception_extractor(bad)


def test_wrong_image_shape_is_a_clear_error():
    with pytest.raises(extractors.ExtractorError, match=r"shape \(8, 8, 1\)"):
        extractors.get_extractor("digits").features(np.zeros((2, 28, 28, 1), "float32"))


@pytest.fixture(scope="module")
def digits_reference():
    return evaluate.reference_set("digits", 297, seed=0)


def test_real_floor_is_below_noise_and_one_class_is_caught(digits_reference):
    floor = evaluate.real_floor("digits", reference=digits_reference)
    assert floor["precision"] > 0.8 and floor["recall"] > 0.8
    assert floor["classes_present"] == 10 and floor["class_kl"] < 0.05
    assert 8.0 < floor["is"] <= 10.0

    noise = np.random.default_rng(0).uniform(-1, 1, (297, 8, 8, 1)).astype("float32")
    scores = evaluate.evaluate_samples(noise, "digits", reference=digits_reference)
    assert scores["fid"] > 10 * floor["fid"]
    assert scores["precision"] < 0.2 and scores["coverage"] < 0.2

    # A "generator" that only ever draws threes: the class-balance report says so.
    x, y = data.load_arrays("digits", "test", with_labels=True)
    threes = np.resize(x[y == 3], (297, 8, 8, 1))
    scores = evaluate.evaluate_samples(threes, "digits", reference=digits_reference)
    assert scores["classes_present"] <= 2 and scores["dominant_fraction"] > 0.95
    assert scores["class_kl"] > 2.0 > 20 * floor["class_kl"]
    assert scores["recall"] < 0.3 < floor["recall"]


def test_evaluate_reports_the_model_and_the_floor_with_the_same_n():
    keras.utils.set_random_seed(0)
    gan = models.build_gan("dcgan", (8, 8, 1), latent_dim=8, seed=0)
    report = evaluate.evaluate(gan, "digits", n=10_000, metrics=["fid", "class_balance"],
                               verbose=0)
    assert report["n"] == 297  # the digits test split
    assert set(report["metrics"]) == set(report["real_floor"])
    assert {"fid", "class_kl", "classes_present"} <= set(report["metrics"])
    assert report["metrics"]["fid"] > 5 * report["real_floor"]["fid"]
    with pytest.raises(ValueError, match="unknown metric.*'fidd'.*choose from"):
        evaluate.evaluate(gan, "digits", metrics=["fidd"], verbose=0)
    wrong = models.build_gan("dcgan", (16, 16, 1), latent_dim=8, seed=0)
    with pytest.raises(ValueError, match=r"shape \(16, 16, 1\).*shape \(8, 8, 1\)"):
        evaluate.evaluate(wrong, "digits", n=10, verbose=0)


def test_metric_callback_logs_scores_into_history(tmp_path):
    keras.utils.set_random_seed(0)
    gan = models.build_gan("dcgan", (8, 8, 1), latent_dim=8, seed=0)
    gan.compile(d_optimizer=keras.optimizers.Adam(2e-4), g_optimizer=keras.optimizers.Adam(2e-4))
    x = data.load_arrays("digits", "train", limit=64)[0]
    path = tmp_path / "history.json"
    history = gan.fit(
        x, batch_size=32, epochs=2, verbose=0, shuffle=False,
        callbacks=[callbacks.MetricCallback("digits", ["fid", "precision_recall"], every=2, n=100),
                   callbacks.HistoryJSON(str(path))],
    )
    assert len(history.history["fid"]) == 1  # only the second epoch is scored
    assert history.history["fid"][0] > 0 and 0 <= history.history["recall"][0] <= 1
    written = callbacks.load_history(path)
    assert written["fid"][-1] == pytest.approx(history.history["fid"][-1])


def run_cli(*args):
    env = dict(os.environ, KERAS_BACKEND=keras.backend.backend())
    return subprocess.run([sys.executable, "-m", "ganzoo.cli", *args], capture_output=True,
                          text=True, env=env, timeout=600)


def test_cli_evaluate_prints_model_and_floor_and_writes_json(tmp_path, capsys):
    keras.utils.set_random_seed(0)
    gan = models.build_gan("dcgan", (8, 8, 1), latent_dim=8, seed=0)
    path = str(tmp_path / "generator.keras")
    gan.generator.save(path)
    report = str(tmp_path / "report.json")
    result = run_cli("evaluate", path, "--dataset", "digits", "--metrics", "fid", "kid",
                     "--json", report, "--quiet")
    assert result.returncode == 0, result.stderr[-2000:]
    assert "real floor" in result.stdout and "fid" in result.stdout
    with open(report, encoding="utf-8") as f:
        written = json.load(f)
    assert written["n"] == 297 and set(written["metrics"]) == {"fid", "kid", "kid_stderr"}

    # Bad input: one line on stderr, exit status 2, the existing report untouched.
    before = open(report, encoding="utf-8").read()
    for args, words in [
        (("--dataset", "digits", "--json", report), "already exists"),
        (("--dataset", "digits", "--metrics", "fidd"), "unknown metric"),
        (("--dataset", "ring8"), "no feature extractor"),
        ((), "pass --dataset"),
        (("--dataset", "digits", "--inception-weights", str(tmp_path / "none.h5")),
         "does not download"),
    ]:
        assert cli.main(["evaluate", path, *args]) == 2, args
        err = capsys.readouterr().err
        assert words in err and "Traceback" not in err
        assert len(err.strip().splitlines()) == 1, err
    assert open(report, encoding="utf-8").read() == before


@pytest.mark.skipif(
    keras.backend.backend() != "tensorflow",
    reason="the shipped extractors are trained once, on TensorFlow; loading and scoring them is "
    "checked on every backend (test_shipped_extractor_meets_its_floor_on_this_backend)",
)
def test_training_script_writes_only_extractors_that_meet_the_floor(tmp_path, monkeypatch):
    from ganzoo.metrics import train_extractor

    out = tmp_path / "weights"
    monkeypatch.setitem(extractors.ACCURACY_FLOORS, "digits", 1.01)  # unreachable
    metadata = train_extractor.train("digits", epochs=1, out=str(out), verbose=0)
    assert not metadata["saved"] and not out.exists()

    monkeypatch.setitem(extractors.ACCURACY_FLOORS, "digits", 0.0)
    metadata = train_extractor.train("digits", epochs=1, out=str(out), verbose=0)
    assert metadata["saved"] and 0.0 < metadata["test_accuracy"] <= 1.0
    written = json.loads((out / "digits.json").read_text(encoding="utf-8"))
    assert written["test_accuracy"] == metadata["test_accuracy"]
    classifier = keras.saving.load_model(out / "digits.keras")
    assert classifier.get_layer(extractors.FEATURES_LAYER).units == written["features"]
