"""Scores generated images against a dataset, by two judges, beside the real floor.

`evaluate` draws ``n`` samples from a generator and compares them to ``n``
images of the training split in the features of each *judge*: by default
both extractors ganzoo ships for the dataset (`ganzoo.metrics.extractors`),
networks of different architecture, seed and recipe, so that no number hangs
on one network. Every report also holds each judge's *real floor*: the same
metrics between ``n`` training and ``n`` test images, i.e. what a perfect
generator would score at this ``n`` (FID, KID and the k-NN metrics all depend
on ``n``, so a number means little without it). Where one verdict is needed,
`ganzoo.metrics.report.verdict` takes the stricter judge relative to its floor.

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
* ``per_class``: precision and recall within each class and the intra-class
  diversity (`ganzoo.metrics.per_class`), with the worst class of each.

For a conditional model, `evaluate` also reports ``label_accuracy``
("GAN-test"): each judge's classifier on the samples against the labels they
were generated for (classes cycled), with its accuracy on real test images as
its floor; the per-class scores then group samples by those labels.
"""

from __future__ import annotations

import numpy as np

from ganzoo.metrics import extractors as extractors_lib
from ganzoo.metrics import per_class, scores
from ganzoo.metrics.report import verdict
from ganzoo.models import sampling

__all__ = ["METRICS", "check_metrics", "evaluate", "evaluate_samples", "generate_samples",
           "real_floor", "reference_set"]

METRICS = ("fid", "kid", "is", "precision_recall", "density_coverage", "class_balance",
           "per_class")
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


def _score(reference, judge, samples, labels, metrics, seed):
    """One judge's metrics of `samples` (with their requested `labels`, or None)."""
    real_features = reference.train_features[judge.judge]
    fake_features, fake_probabilities = judge(samples)
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
        balance = scores.class_balance(fake_probabilities, reference.prior)
        results.update(
            class_kl=balance["kl_to_prior"],
            classes_present=balance["classes_present"],
            dominant_fraction=balance["dominant_fraction"],
            class_fractions=balance["fractions"],
        )
    if labels is not None and fake_probabilities is not None:
        results["label_accuracy"] = scores.label_accuracy(fake_probabilities, labels)
    groups = labels
    if groups is None and fake_probabilities is not None:
        groups = np.argmax(fake_probabilities, axis=1)
    if "per_class" in metrics and groups is not None:
        results.update(per_class.per_class_scores(
            real_features, reference.train_labels, fake_features, groups,
            num_classes=len(reference.prior), seed=seed))
    return results


class _Reference:
    """The real images a dataset's samples are scored against, featurized once."""

    def __init__(self, dataset: str, n: int, seed: int, judges):
        from ganzoo import data  # pylint: disable=import-outside-toplevel

        train, labels = data.load_arrays(dataset, "train", with_labels=True)
        test, test_labels = data.load_arrays(dataset, "test", with_labels=True)
        # Same n for every comparison: FID and the k-NN metrics depend on it.
        self.n = int(min(n, len(train), len(test)))
        rng = np.random.default_rng(seed)
        picked = rng.permutation(len(train))[: self.n]
        self.train, self.train_labels = train[picked], labels[picked]
        picked = rng.permutation(len(test))[: self.n]
        self.test, self.test_labels = test[picked], test_labels[picked]
        counts = np.bincount(labels, minlength=int(labels.max()) + 1)
        self.prior = counts / counts.sum()
        self.judges = judges
        self.train_features = {judge.judge: judge.features(self.train) for judge in judges}


def _judges(dataset, extractor) -> tuple:
    """The judges to score with: both shipped ones by default, else the one(s) given."""
    if extractor is None:
        return extractors_lib.get_judges(dataset)
    judges = (extractor,) if isinstance(extractor, extractors_lib.FeatureExtractor) else tuple(extractor)
    names = [judge.judge for judge in judges]
    if not judges or len(set(names)) != len(names):
        raise ValueError(f"extractors need distinct judge names, got {names}; name them apart")
    return judges


def reference_set(dataset: str, n: int, seed: int = 0, extractor=None) -> _Reference:
    """Featurizes ``n`` training (and picks ``n`` test) images of `dataset`, to score against.

    `extractor` is a `FeatureExtractor`, a sequence of them, or None for
    both of the dataset's shipped judges.
    """
    return _Reference(dataset, n, seed, _judges(dataset, extractor))


def evaluate_samples(samples, dataset: str, *, metrics=None, n: int | None = None,
                     seed: int = 0, extractor=None, reference=None, labels=None) -> dict:
    """Scores an array of generated images against ``n`` training images, per judge.

    Args:
        samples: float array (N, H, W, C) in [-1, 1].
        dataset: Built-in dataset with shipped extractors.
        metrics: Names from `METRICS` (default: all).
        n: Real images to compare with (default: ``len(samples)``; capped
            by the test split's size so the real floor uses the same n).
        seed: Chooses the real subset and KID's subsets.
        extractor: A `FeatureExtractor` or a sequence of them (default: both
            of the dataset's shipped judges).
        reference: Internal cache of featurized real images.
        labels: The classes the samples were generated for (conditional
            models): adds ``label_accuracy`` and groups the per-class scores.

    Returns:
        ``{judge: {metric: value}}`` (see the module docstring).
    """
    metrics = check_metrics(metrics)
    samples = np.asarray(samples, dtype=np.float32)
    reference = reference or reference_set(dataset, n or len(samples), seed, extractor)
    samples = samples[: reference.n]
    labels = None if labels is None else np.asarray(labels)[: reference.n]
    return {judge.judge: _score(reference, judge, samples, labels, metrics, seed)
            for judge in reference.judges}


def real_floor(dataset: str, *, metrics=None, n: int = DEFAULT_N, seed: int = 0,
               extractor=None, reference=None, conditional: bool = False) -> dict:
    """The metrics between ``n`` training and ``n`` test images, per judge.

    With `conditional`, the test images' true labels play the requested
    labels (so ``label_accuracy`` is each classifier's test accuracy).
    """
    metrics = check_metrics(metrics)
    reference = reference or reference_set(dataset, n, seed, extractor)
    labels = reference.test_labels if conditional else None
    return {judge.judge: _score(reference, judge, reference.test, labels, metrics, seed)
            for judge in reference.judges}


def generate_samples(model, n: int, seed: int = 0, batch_size: int = 500, progress=None):
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
        extractor: A `FeatureExtractor` or a sequence of them (default: both
            of the dataset's shipped judges).
        verbose: 1 shows a progress bar.

    Returns:
        ``{"dataset", "n", "seed", "judges": {judge: {"extractor",
        "test_accuracy", "accuracy_floor", "metrics", "real_floor"}},
        "verdict": {metric: {"judge", "value", "real_floor", "ratio"}}}``.
    """
    import keras  # pylint: disable=import-outside-toplevel

    metrics = check_metrics(metrics)
    sampling.check_int("n", n, minimum=2)
    sampling.check_int("batch_size", batch_size, minimum=1)
    reference = reference_set(dataset, n, seed, extractor)
    progress = keras.utils.Progbar(reference.n, unit_name="sample") if verbose else None
    samples, labels = generate_samples(model, reference.n, seed, batch_size, progress)
    expected = tuple(reference.train.shape[1:])
    if samples.shape[1:] != expected:
        raise ValueError(
            f"the model makes samples of shape {samples.shape[1:]}, but {dataset!r} images have "
            f"shape {expected}; evaluate the model against the dataset it was trained on"
        )
    found = evaluate_samples(samples, dataset, metrics=metrics, seed=seed, reference=reference,
                             labels=labels)
    floors = real_floor(dataset, metrics=metrics, seed=seed, reference=reference,
                        conditional=labels is not None)
    judges = {}
    for judge in reference.judges:
        judges[judge.judge] = {
            "extractor": judge.name,
            "test_accuracy": judge.metadata.get("test_accuracy"),
            "accuracy_floor": judge.metadata.get("accuracy_floor"),
            "metrics": found[judge.judge],
            "real_floor": floors[judge.judge],
        }
    return {"dataset": dataset, "n": reference.n, "seed": seed, "judges": judges,
            "verdict": verdict(judges)}
