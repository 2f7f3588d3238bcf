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


def accuracy(dataset, judge):
    x, y = data.load_arrays(dataset, "test", with_labels=True)
    probabilities = extractors.get_extractor(dataset, judge).probabilities(x)
    return float(np.mean(np.argmax(probabilities, axis=1) == y))


@pytest.mark.parametrize("judge", extractors.JUDGES)
@pytest.mark.parametrize("dataset", [
    "digits", pytest.param("fashion_mnist", marks=needs_fashion),
])
def test_shipped_extractor_meets_its_floor_on_this_backend(dataset, judge):
    assert dataset in extractors.available_extractors()
    extractor = extractors.get_extractor(dataset, judge)
    assert extractor.judge == judge and extractor.name == f"{dataset}_{judge}"
    recorded = extractor.metadata["test_accuracy"]
    floor = extractors.ACCURACY_FLOORS[dataset][judge]
    assert recorded >= floor
    # The weights load on every backend and give the accuracy the metadata records.
    measured = accuracy(dataset, judge)
    assert measured >= floor
    assert abs(measured - recorded) <= 0.002
    features = extractor.features(data.load_arrays(dataset, "test", limit=3)[0])
    assert features.shape == (3, extractor.metadata["features"])


def test_the_two_judges_are_independent_networks():
    cnn, resnet = extractors.get_judges("digits")
    assert (cnn.judge, resnet.judge) == ("cnn", "resnet")
    layers = [{type(layer).__name__ for layer in judge.model.layers} for judge in (cnn, resnet)]
    assert "Add" in layers[1] and "Add" not in layers[0]  # residual paths in one only
    assert cnn.metadata["seed"] != resnet.metadata["recipe"]["seed"]
    assert "shift" in resnet.metadata["recipe"]  # trained with augmentation; the CNN without
    # Their features are not a rotation of each other: a linear map from one to the other
    # explains far from all of the variance.
    x = data.load_arrays("digits", "test")[0]
    a, b = cnn.features(x), resnet.features(x)
    a, b = a - a.mean(0), b - b.mean(0)
    fit, *_ = np.linalg.lstsq(np.c_[a, np.ones(len(a))], b, rcond=None)
    explained = 1 - np.sum((np.c_[a, np.ones(len(a))] @ fit - b) ** 2) / np.sum(b ** 2)
    assert explained < 0.999, explained


def test_unknown_extractor_and_missing_inception_weights_are_clear_errors(tmp_path):
    with pytest.raises(extractors.ExtractorError, match="no feature extractor for dataset 'ring8'"):
        extractors.get_extractor("ring8")
    with pytest.raises(extractors.ExtractorError, match="unknown judge 'vgg'"):
        extractors.get_extractor("digits", "vgg")
    with pytest.raises(extractors.ExtractorError, match="does not download"):
        extractors.inception_extractor(tmp_path / "inception_notop.h5")
    bad = tmp_path / "bad.weights.h5"
    bad.write_bytes(b"not hdf5")
    with pytest.raises(extractors.ExtractorError, match="not an HDF5 weights file"):
        extractors.inception_extractor(bad)


def test_wrong_image_shape_is_a_clear_error():
    with pytest.raises(extractors.ExtractorError, match=r"shape \(8, 8, 1\)"):
        extractors.get_extractor("digits").features(np.zeros((2, 28, 28, 1), "float32"))
    with pytest.raises(extractors.ExtractorError, match=r"shape \(32, 32, 1\), got \(28, 28, 1\)"):
        extractors.get_extractor("fashion_mnist_32").features(np.zeros((2, 28, 28, 1), "float32"))


@needs_fashion
def test_padded_fashion_mnist_is_judged_on_its_central_crop():
    """fashion_mnist_32's judges are Fashion-MNIST's on the central 28x28: the same features as the unpadded image."""
    assert "fashion_mnist_32" in extractors.available_extractors()
    images = data.load_arrays("fashion_mnist", "test", limit=4)[0]
    padded = np.pad(images, ((0, 0), (2, 2), (2, 2), (0, 0)), constant_values=-1.0)
    padded[:, 0] = 1.0  # the border is cropped away: it does not count
    for judge in extractors.JUDGES:
        np.testing.assert_array_equal(extractors.get_extractor("fashion_mnist_32", judge).features(padded),
                                      extractors.get_extractor("fashion_mnist", judge).features(images))


@pytest.fixture(scope="module")
def digits_reference():
    return evaluate.reference_set("digits", 297, seed=0)


def test_real_floor_is_below_noise_and_one_class_is_caught(digits_reference):
    floors = evaluate.real_floor("digits", reference=digits_reference)
    assert set(floors) == {"cnn", "resnet"}
    noise = np.random.default_rng(0).uniform(-1, 1, (297, 8, 8, 1)).astype("float32")
    noisy = evaluate.evaluate_samples(noise, "digits", reference=digits_reference)
    # A "generator" that only ever draws threes: the class-balance report says so.
    x, y = data.load_arrays("digits", "test", with_labels=True)
    threes = np.resize(x[y == 3], (297, 8, 8, 1))
    collapsed = evaluate.evaluate_samples(threes, "digits", reference=digits_reference)
    for judge, floor in floors.items():
        assert floor["precision"] > 0.75 and floor["recall"] > 0.8, judge
        assert floor["classes_present"] == 10 and floor["class_kl"] < 0.05, judge
        # The resnet's label smoothing makes it less confident, so its IS is lower.
        assert 5.0 < floor["is"] <= 10.0, judge
        assert floor["worst_class_recall"] > 0.7 and 0.8 < floor["intra_class_diversity"] < 1.3

        scores = noisy[judge]
        assert scores["fid"] > 10 * floor["fid"], judge
        assert scores["precision"] < 0.2 and scores["coverage"] < 0.2, judge

        scores = collapsed[judge]
        assert scores["classes_present"] <= 2 and scores["dominant_fraction"] > 0.95, judge
        assert scores["class_kl"] > 2.0 > 20 * floor["class_kl"], judge
        assert scores["recall"] < 0.3 < floor["recall"], judge
        # Per class: the missing classes have recall and diversity 0.
        assert scores["worst_class_recall"] == 0 and scores["worst_class_diversity"] == 0, judge


def test_per_class_scores_expose_a_few_easy_samples_that_label_accuracy_praises(digits_reference):
    # A "conditional generator" that repeats two real test images per class, each drawn
    # for its own label: label accuracy as high as real images', yet each class collapsed.
    x, y = data.load_arrays("digits", "test", with_labels=True)
    easy = np.ones(len(y), bool)  # images both judges name correctly
    for judge in extractors.get_judges("digits"):
        easy &= np.argmax(judge.probabilities(x), axis=1) == y
    picks = np.concatenate([np.flatnonzero(easy & (y == c))[:2] for c in range(10)])
    labels = np.resize(np.repeat(np.arange(10), 2), 297)
    samples = np.resize(x[picks], (297, 8, 8, 1))
    scores = evaluate.evaluate_samples(samples, "digits", reference=digits_reference,
                                       labels=labels)
    floors = evaluate.real_floor("digits", reference=digits_reference, conditional=True)
    for judge in ("cnn", "resnet"):
        found, floor = scores[judge], floors[judge]
        assert found["label_accuracy"] == 1.0 >= floor["label_accuracy"], judge
        # Half the pairs within a class are copies (distance 0): the spread drops by about half.
        assert found["intra_class_diversity"] < 0.7 * floor["intra_class_diversity"], judge
        assert found["worst_class_recall"] < 0.5 * floor["worst_class_recall"], judge
        assert len(found["class_recall"]) == 10 and len(found["class_diversity"]) == 10


def test_evaluate_reports_both_judges_their_floors_and_the_stricter_verdict():
    keras.utils.set_random_seed(0)
    gan = models.build_gan("dcgan", (8, 8, 1), latent_dim=8, seed=0)
    report = evaluate.evaluate(gan, "digits", n=10_000, metrics=["fid", "class_balance"],
                               verbose=0)
    assert report["n"] == 297  # the digits test split
    assert list(report["judges"]) == ["cnn", "resnet"]
    for name, judge in report["judges"].items():
        assert judge["extractor"] == f"digits_{name}" and judge["test_accuracy"] > 0.97
        assert set(judge["metrics"]) == set(judge["real_floor"])
        assert {"fid", "class_kl", "classes_present"} <= set(judge["metrics"])
        assert judge["metrics"]["fid"] > 5 * judge["real_floor"]["fid"]
    multiples = {name: j["metrics"]["fid"] / j["real_floor"]["fid"]
                 for name, j in report["judges"].items()}
    stricter = report["verdict"]["fid"]
    assert stricter["ratio"] == pytest.approx(max(multiples.values()))
    assert multiples[stricter["judge"]] == pytest.approx(stricter["ratio"])
    with pytest.raises(ValueError, match="unknown metric.*'fidd'.*choose from"):
        evaluate.evaluate(gan, "digits", metrics=["fidd"], verbose=0)
    wrong = models.build_gan("dcgan", (16, 16, 1), latent_dim=8, seed=0)
    with pytest.raises(ValueError, match=r"shape \(16, 16, 1\).*shape \(8, 8, 1\)"):
        evaluate.evaluate(wrong, "digits", n=10, verbose=0)


def test_verdict_takes_the_stricter_judge_relative_to_its_floor():
    from ganzoo.metrics import report

    judges = {
        "a": {"metrics": {"fid": 10.0, "recall": 0.5, "kid": 1.0},
              "real_floor": {"fid": 1.0, "recall": 0.9, "kid": -0.1}},
        "b": {"metrics": {"fid": 4.0, "recall": 0.6}, "real_floor": {"fid": 0.2, "recall": 0.8}},
    }
    found = report.verdict(judges)
    assert found["fid"]["judge"] == "b" and found["fid"]["ratio"] == pytest.approx(20.0)
    assert found["recall"]["judge"] == "a" and found["recall"]["ratio"] == pytest.approx(5 / 9)
    assert "kid" not in found  # not a verdict metric (and one judge lacks it)


def test_metric_callback_logs_both_judges_floors_and_verdict(tmp_path):
    keras.utils.set_random_seed(0)
    gan = models.build_gan("dcgan", (8, 8, 1), latent_dim=8, seed=0)
    gan.compile(d_optimizer=keras.optimizers.Adam(2e-4), g_optimizer=keras.optimizers.Adam(2e-4))
    x = data.load_arrays("digits", "train", limit=64)[0]
    path = tmp_path / "history.json"
    metric = callbacks.MetricCallback("digits", ["fid", "precision_recall"], every=2, n=100)
    history = gan.fit(x, batch_size=32, epochs=2, verbose=0, shuffle=False,
                      callbacks=[metric, callbacks.HistoryJSON(str(path))])
    logged = history.history
    assert len(logged["fid_cnn"]) == 1  # only the second epoch is scored
    for judge in ("cnn", "resnet"):
        assert logged[f"fid_{judge}"][0] > logged[f"fid_{judge}_floor"][0] > 0
        assert 0 <= logged[f"recall_{judge}"][0] <= 1
    multiples = [logged[f"fid_{j}"][0] / logged[f"fid_{j}_floor"][0] for j in ("cnn", "resnet")]
    assert logged["fid_vs_floor"][0] == pytest.approx(max(multiples))
    assert metric.report["verdict"]["fid"]["ratio"] == pytest.approx(max(multiples))
    written = callbacks.load_history(path)
    assert written["fid_resnet"][-1] == pytest.approx(logged["fid_resnet"][-1])


def run_cli(*args):
    env = dict(os.environ, KERAS_BACKEND=keras.backend.backend())
    return subprocess.run([sys.executable, "-m", "ganzoo.cli", *args], capture_output=True,
                          text=True, env=env, timeout=600)


@pytest.mark.skipif(keras.backend.backend() != "torch", reason="backend-neutral CLI path (each backend's "
                    "scores are the tests above): run on torch")
def test_cli_evaluate_prints_model_and_floor_and_writes_json(tmp_path, capsys):
    keras.utils.set_random_seed(0)
    gan = models.build_gan("dcgan", (8, 8, 1), latent_dim=8, seed=0)
    path = str(tmp_path / "generator.keras")
    gan.generator.save(path)
    report = str(tmp_path / "report.json")
    result = run_cli("evaluate", path, "--dataset", "digits", "--metrics", "fid", "kid",
                     "--json", report, "--quiet")
    assert result.returncode == 0, result.stderr[-2000:]
    header = next(line for line in result.stdout.splitlines() if "stricter verdict" in line)
    assert header.split()[:5] == ["metric", "cnn", "floor", "resnet", "floor"], result.stdout
    assert "x floor (" in result.stdout  # FID's verdict: the larger multiple, and whose
    with open(report, encoding="utf-8") as f:
        written = json.load(f)
    assert written["n"] == 297 and set(written["judges"]) == {"cnn", "resnet"}
    for judge in written["judges"].values():
        assert set(judge["metrics"]) == set(judge["real_floor"]) == {"fid", "kid", "kid_stderr"}
    assert written["verdict"]["fid"]["judge"] in ("cnn", "resnet")

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
    floors = extractors.ACCURACY_FLOORS["digits"]
    monkeypatch.setitem(floors, "cnn", 1.01)  # unreachable
    metadata = train_extractor.train("digits", epochs=1, out=str(out), verbose=0)
    assert not metadata["saved"] and not out.exists()

    monkeypatch.setitem(floors, "cnn", 0.0)
    monkeypatch.setitem(floors, "resnet", 0.0)
    for judge in extractors.JUDGES:
        metadata = train_extractor.train("digits", judge, epochs=1, out=str(out), verbose=0)
        assert metadata["saved"] and 0.0 < metadata["test_accuracy"] <= 1.0
        written = json.loads((out / f"digits_{judge}.json").read_text(encoding="utf-8"))
        assert written["test_accuracy"] == metadata["test_accuracy"] and written["judge"] == judge
        classifier = keras.saving.load_model(out / f"digits_{judge}.keras")
        assert classifier.get_layer(extractors.FEATURES_LAYER).units == written["features"]
        # The shipped network is the classifier alone: augmentation stays in training.
        assert classifier.inputs[0].shape[1:] == (8, 8, 1)
        assert not any("random" in type(layer).__name__.lower() for layer in classifier.layers)
