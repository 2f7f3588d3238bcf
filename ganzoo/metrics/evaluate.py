"""Scores generated images against a dataset, beside the real-data floor.

`evaluate` draws ``n`` samples from a generator, extracts features with the
dataset's shipped extractor (`ganzoo.metrics.extractors`) and compares them to
``n`` images of the training split. Every report also holds the *real floor*:
the same metrics between ``n`` training and ``n`` test images, i.e. what a
perfect generator would score at this ``n`` (FID, KID and the k-NN metrics all
depend on ``n``, so a number means little without it).

Metric names (`METRICS`):

* ``fid``: Fréchet distance of the features (lower is better; floor > 0).
* ``kid``: kernel distance, with ``kid_stderr`` (lower is better).
* ``is``: Inception-style score with the domain classifier (higher is better,
  at most the number of classes).
* ``precision_recall``: ``precision`` (fidelity) and ``recall`` (diversity),
  k = 3.
* ``density_coverage``: ``density`` and ``coverage``, k = 5.
* ``class_balance``: ``class_kl`` (KL of the predicted-class fractions to the
  training prior, in nats), ``classes_present``, ``dominant_fraction`` and
  ``class_fractions`` — the "data bias" report.

For a conditional model, `evaluate` also reports ``label_accuracy``
("GAN-test"): the extractor's classifier on the samples against the labels
they were generated for (classes cycled), with the classifier's accuracy on
real test images as its floor.
"""

from __future__ import annotations

import numpy as np

from ganzoo.metrics import extractors as extractors_lib
from ganzoo.metrics import scores
from ganzoo.models import sampling

__all__ = ["METRICS", "check_metrics", "evaluate", "evaluate_samples", "real_floor", "reference_set"]

METRICS = ("fid", "kid", "is", "precision_recall", "density_coverage", "class_balance")
DEFAULT_N = 10_000


def check_metrics(metrics) -> tuple[str, ...]:
    """Validates metric names; None means all of them."""
    if metrics is None:
        return METRICS
    if isinstance(metrics, str):
        metrics = [m for m in metrics.replace(",", " ").split() if m]
    unknown = [m for m in metrics if m not in METRICS]
    if unknown or not metrics:
        raise ValueError(
            f"unknown metric(s) {', '.join(map(repr, unknown)) or '(none given)'}; "
            f"choose from {', '.join(METRICS)}"
        )
    return tuple(dict.fromkeys(metrics))


def _score(real_features, fake_features, fake_probabilities, prior, metrics, seed):
    results = {}
    if "fid" in metrics:
        results["fid"] = scores.frechet_distance(real_features, fake_features)
    if "kid" in metrics:
        kid = scores.kernel_inception_distance(
            real_features, fake_features, subsets=100,
            # Subsets of at most half the samples, so they differ and the spread means something.
            subset_size=max(2, min(1000, len(real_features) // 2, len(fake_features) // 2)),
            seed=seed,
        )
        results.update(kid=kid["kid"], kid_stderr=kid["kid_stderr"])
    if "is" in metrics and fake_probabilities is not None:
        # Ten splits as in the original, fewer for small sets (at least 100 samples each).
        splits = max(1, min(10, len(fake_probabilities) // 100))
        inception = scores.inception_score(fake_probabilities, splits=splits)
        results.update(**{"is": inception["is"], "is_std": inception["is_std"]})
    if "precision_recall" in metrics:
        results.update(scores.precision_recall(real_features, fake_features, k=3))
    if "density_coverage" in metrics:
        results.update(scores.density_coverage(real_features, fake_features, k=5))
    if "class_balance" in metrics and fake_probabilities is not None:
        balance = scores.class_balance(fake_probabilities, prior)
        results.update(
            class_kl=balance["kl_to_prior"],
            classes_present=balance["classes_present"],
            dominant_fraction=balance["dominant_fraction"],
            class_fractions=balance["fractions"],
        )
    return results


class _Reference:
    """The real images a dataset's samples are scored against, featurized once."""

    def __init__(self, dataset: str, n: int, seed: int, extractor):
        from ganzoo import data  # pylint: disable=import-outside-toplevel

        train, labels = data.load_arrays(dataset, "train", with_labels=True)
        test, test_labels = data.load_arrays(dataset, "test", with_labels=True)
        # Same n for every comparison: FID and the k-NN metrics depend on it.
        self.n = int(min(n, len(train), len(test)))
        rng = np.random.default_rng(seed)
        self.train = train[rng.permutation(len(train))[: self.n]]
        picked = rng.permutation(len(test))[: self.n]
        self.test, self.test_labels = test[picked], test_labels[picked]
        counts = np.bincount(labels, minlength=int(labels.max()) + 1)
        self.prior = counts / counts.sum()
        self.extractor = extractor
        self.train_features, _ = extractor(self.train)


def reference_set(dataset: str, n: int, seed: int = 0, extractor=None) -> _Reference:
    """Featurizes ``n`` training (and picks ``n`` test) images of `dataset`, to score against."""
    extractor = extractor or extractors_lib.get_extractor(dataset)
    return _Reference(dataset, n, seed, extractor)


def evaluate_samples(samples, dataset: str, *, metrics=None, n: int | None = None,
                     seed: int = 0, extractor=None, reference=None) -> dict:
    """Scores an array of generated images against ``n`` training images.

    Args:
        samples: float array (N, H, W, C) in [-1, 1].
        dataset: Built-in dataset with a shipped extractor.
        metrics: Names from `METRICS` (default: all).
        n: Real images to compare with (default: ``len(samples)``; capped
            by the test split's size so the real floor uses the same n).
        seed: Chooses the real subset and KID's subsets.
        extractor: A `FeatureExtractor` (default: the dataset's own).
        reference: Internal cache of featurized real images.

    Returns:
        A dict of metric values (see the module docstring).
    """
    metrics = check_metrics(metrics)
    samples = np.asarray(samples, dtype=np.float32)
    reference = reference or reference_set(dataset, n or len(samples), seed, extractor)
    samples = samples[: reference.n]
    features, probabilities = reference.extractor(samples)
    return _score(reference.train_features, features, probabilities, reference.prior,
                  metrics, seed)


def real_floor(dataset: str, *, metrics=None, n: int = DEFAULT_N, seed: int = 0,
               extractor=None, reference=None) -> dict:
    """The metrics between ``n`` training and ``n`` test images of `dataset`."""
    metrics = check_metrics(metrics)
    reference = reference or reference_set(dataset, n, seed, extractor)
    features, probabilities = reference.extractor(reference.test)
    return _score(reference.train_features, features, probabilities, reference.prior,
                  metrics, seed)


def _generate(model, n: int, seed: int, batch_size: int, progress):
    """Samples from a GAN (its `generate`) or a bare generator model.

    Returns `(samples, labels)`: the class each sample was asked for when the
    generator is conditional (each chunk cycles through the classes), else None.
    """
    generator = model.sampling_generator if hasattr(model, "sampling_generator") else model
    classes = sampling.num_classes(generator)
    chunks, labels, done = [], [], 0
    while done < n:
        count = min(batch_size, n - done)
        # One seed per chunk, derived from `seed`, so results do not depend on progress output.
        chunk_seed = seed * 1_000_003 + done
        if hasattr(model, "generate"):
            chunks.append(model.generate(count, seed=chunk_seed, batch_size=batch_size))
        else:
            chunks.append(sampling.generate(model, count, seed=chunk_seed, batch_size=batch_size))
        if classes is not None:
            labels.append(sampling.check_labels(None, count, classes))
        done += count
        if progress is not None:
            progress.update(done)
    return np.concatenate(chunks), (np.concatenate(labels) if classes is not None else None)


def evaluate(model, dataset: str, *, n: int = DEFAULT_N, metrics=None, seed: int = 0,
             batch_size: int = 500, extractor=None, verbose: int = 1) -> dict:
    """Samples ``n`` images from `model` and scores them, with the real floor.

    Args:
        model: A ganzoo GAN, or a generator `keras.Model` from latents to images.
        dataset: Built-in dataset the model was trained on.
        n: Samples (and real images) to compare; capped by the test split.
        metrics: Names from `METRICS` (default: all).
        seed: Seed of the latents and of the real subset.
        batch_size: Generation batch size.
        extractor: A `FeatureExtractor` (default: the dataset's shipped one).
        verbose: 1 shows a progress bar.

    Returns:
        ``{"dataset", "n", "extractor", "metrics": {...}, "real_floor": {...}}``.
    """
    import keras  # pylint: disable=import-outside-toplevel

    metrics = check_metrics(metrics)
    sampling.check_int("n", n, minimum=2)
    sampling.check_int("batch_size", batch_size, minimum=1)
    reference = reference_set(dataset, n, seed, extractor)
    progress = keras.utils.Progbar(reference.n, unit_name="sample") if verbose else None
    samples, labels = _generate(model, reference.n, seed, batch_size, progress)
    expected = tuple(reference.train.shape[1:])
    if samples.shape[1:] != expected:
        raise ValueError(
            f"the model makes samples of shape {samples.shape[1:]}, but {dataset!r} images have "
            f"shape {expected}; evaluate the model against the dataset it was trained on"
        )
    report = {
        "dataset": dataset,
        "n": reference.n,
        "extractor": reference.extractor.name,
        "metrics": evaluate_samples(samples, dataset, metrics=metrics, seed=seed,
                                    reference=reference),
        "real_floor": real_floor(dataset, metrics=metrics, seed=seed, reference=reference),
    }
    if labels is not None and reference.extractor.has_probabilities:
        # GAN-test: the real-data classifier on conditional samples vs the requested labels,
        # beside its accuracy on real test images.
        report["metrics"]["label_accuracy"] = scores.label_accuracy(
            reference.extractor.probabilities(samples), labels)
        report["real_floor"]["label_accuracy"] = scores.label_accuracy(
            reference.extractor.probabilities(reference.test), reference.test_labels)
    return report
