"""Per-class scores: a high label accuracy must not hide a collapsed class.

A conditional generator that draws a few easy images per class can score a
label accuracy above the real test images' while missing most of each class.
The global precision/recall mixes the classes; these scores split them:

* `per_class_precision_recall`: improved precision and recall
  (`ganzoo.metrics.scores.precision_recall`, k = 3) between the real and the
  generated features of each class;
* `intra_class_diversity`: per class, the mean pairwise feature distance of
  the generated samples over that of the real samples (1 = as varied as the
  real class, near 0 = one image repeated).

Classes come from labels: the real images' true labels, and for generated
images the labels they were drawn for (conditional models) or a classifier's
predictions (unconditional ones). A class the generator draws too rarely to
measure (at most ``k`` samples for precision/recall, fewer than 2 for
diversity) is a collapsed class: its recall and diversity are 0 and its
precision ``None``. A class with too few *real* samples scores ``None``
throughout. The summaries (`summarize`) take the classes that scored.
"""

from __future__ import annotations

import numpy as np
from scipy.spatial.distance import pdist

from ganzoo.metrics.checks import check_pair
from ganzoo.metrics.scores import precision_recall

__all__ = ["intra_class_diversity", "per_class_precision_recall", "per_class_scores", "summarize"]

# At most this many samples per class enter the pairwise distances (a fixed subset).
_MAX_PER_CLASS = 1000


def _labels(labels, n, name):
    labels = np.asarray(labels)
    if labels.shape != (n,) or not np.issubdtype(labels.dtype, np.integer) or np.any(labels < 0):
        raise ValueError(
            f"`{name}` must hold one non-negative integer class per sample ({n}), got shape "
            f"{labels.shape} and dtype {labels.dtype}; pass the class indices"
        )
    return labels


def _classes(real_labels, fake_labels, num_classes):
    if num_classes is None:
        num_classes = int(max(real_labels.max(initial=-1), fake_labels.max(initial=-1))) + 1
    return range(int(num_classes))


def per_class_precision_recall(real, real_labels, fake, fake_labels, *, k: int = 3,
                               num_classes: int | None = None) -> dict:
    """Precision and recall within each class.

    Returns:
        ``{"precision": [...], "recall": [...]}``, one entry per class:
        recall 0 and precision ``None`` where the fakes hold at most `k`
        samples of the class, both ``None`` where the reals do.
    """
    real, fake = check_pair(real, fake)
    real_labels = _labels(real_labels, len(real), "real_labels")
    fake_labels = _labels(fake_labels, len(fake), "fake_labels")
    precision, recall = [], []
    for c in _classes(real_labels, fake_labels, num_classes):
        r, f = real[real_labels == c], fake[fake_labels == c]
        if len(r) <= k or len(f) <= k:
            precision.append(None)
            recall.append(None if len(r) <= k else 0.0)
            continue
        scores = precision_recall(r, f, k=k)
        precision.append(scores["precision"])
        recall.append(scores["recall"])
    return {"precision": precision, "recall": recall}


def _mean_distance(x, rng):
    if len(x) > _MAX_PER_CLASS:
        x = x[rng.choice(len(x), _MAX_PER_CLASS, replace=False)]
    return float(np.mean(pdist(x)))


def intra_class_diversity(real, real_labels, fake, fake_labels, *,
                          num_classes: int | None = None, seed: int = 0) -> list:
    """Per class, mean pairwise distance of generated over real features.

    0 where the fakes hold fewer than 2 samples of the class; None where the
    reals do (or all real samples coincide).
    """
    real, fake = check_pair(real, fake)
    real_labels = _labels(real_labels, len(real), "real_labels")
    fake_labels = _labels(fake_labels, len(fake), "fake_labels")
    rng = np.random.default_rng(seed)
    ratios = []
    for c in _classes(real_labels, fake_labels, num_classes):
        r, f = real[real_labels == c], fake[fake_labels == c]
        real_spread = _mean_distance(r, rng) if len(r) >= 2 else 0.0
        if real_spread <= 0:
            ratios.append(None)
        else:
            ratios.append(_mean_distance(f, rng) / real_spread if len(f) >= 2 else 0.0)
    return ratios


def summarize(values: list) -> tuple[float | None, float | None]:
    """(mean, min) over the classes that scored; (None, None) when none did."""
    scored = [v for v in values if v is not None]
    if not scored:
        return None, None
    return float(np.mean(scored)), float(np.min(scored))


def per_class_scores(real, real_labels, fake, fake_labels, *, k: int = 3,
                     num_classes: int | None = None, seed: int = 0) -> dict:
    """Everything above in one report: the per-class lists and their summaries.

    Returns:
        ``class_precision``, ``class_recall``, ``class_diversity`` (lists, one
        entry per class) and the scalars ``worst_class_precision``,
        ``worst_class_recall`` (the lowest class), ``intra_class_diversity``
        (mean over classes) and ``worst_class_diversity``.
    """
    pr = per_class_precision_recall(real, real_labels, fake, fake_labels, k=k,
                                    num_classes=num_classes)
    diversity = intra_class_diversity(real, real_labels, fake, fake_labels,
                                      num_classes=num_classes, seed=seed)
    mean_diversity, worst_diversity = summarize(diversity)
    return {
        "worst_class_precision": summarize(pr["precision"])[1],
        "worst_class_recall": summarize(pr["recall"])[1],
        "intra_class_diversity": mean_diversity,
        "worst_class_diversity": worst_diversity,
        "class_precision": pr["precision"],
        "class_recall": pr["recall"],
        "class_diversity": diversity,
    }
