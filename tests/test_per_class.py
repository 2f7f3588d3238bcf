"""`ganzoo.metrics.per_class`: per-class precision/recall and intra-class diversity."""

import numpy as np
import pytest

from ganzoo.metrics import per_class


def blobs(n_per_class, classes=3, spread=1.0, seed=0):
    rng = np.random.default_rng(seed)
    centres = np.arange(classes)[:, None] * 20.0 * np.ones((1, 4))
    x = np.concatenate([c + spread * rng.standard_normal((n_per_class, 4)) for c in centres])
    return x, np.repeat(np.arange(classes), n_per_class)


def test_a_faithful_generator_scores_like_real_data_in_every_class():
    real, real_labels = blobs(200)
    fake, fake_labels = blobs(200, seed=1)
    scores = per_class.per_class_scores(real, real_labels, fake, fake_labels)
    assert scores["worst_class_recall"] > 0.8 and scores["worst_class_precision"] > 0.8
    assert 0.9 < scores["worst_class_diversity"] <= scores["intra_class_diversity"] < 1.1


def test_a_missing_class_and_a_collapsed_class_are_caught():
    real, real_labels = blobs(200)
    fake, fake_labels = blobs(200, seed=1)
    keep = fake_labels != 2  # class 2 never drawn
    fake, fake_labels = fake[keep], fake_labels[keep]
    fake[fake_labels == 1] = fake[fake_labels == 1][0]  # class 1: one image repeated
    scores = per_class.per_class_scores(real, real_labels, fake, fake_labels, num_classes=3)
    assert scores["class_recall"][2] == 0.0 and scores["class_precision"][2] is None
    assert scores["class_diversity"][1] == 0.0 and scores["class_diversity"][2] == 0.0
    assert scores["class_recall"][1] < 0.1 < 0.8 < scores["class_recall"][0]
    assert scores["worst_class_recall"] == 0.0 and scores["worst_class_diversity"] == 0.0


def test_too_few_real_samples_score_none_and_bad_labels_are_clear_errors():
    real, real_labels = blobs(200)
    fake, fake_labels = blobs(200, seed=1)
    real_labels = real_labels.copy()
    real_labels[real_labels == 2] = 0  # no real class 2 at all
    scores = per_class.per_class_scores(real, real_labels, fake, fake_labels, num_classes=3)
    assert scores["class_recall"][2] is None and scores["class_diversity"][2] is None
    assert per_class.summarize([None, None]) == (None, None)
    with pytest.raises(ValueError, match="one non-negative integer class per sample"):
        per_class.per_class_scores(real, real_labels.astype(float), fake, fake_labels)
    with pytest.raises(ValueError, match="fake_labels"):
        per_class.per_class_scores(real, real_labels, fake, fake_labels[:10])
