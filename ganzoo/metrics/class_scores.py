"""Scores of class probabilities: the Inception score, class balance and label accuracy.

They work on classifier outputs of generated samples, shape ``(N, C)``, in
float64 with NumPy and SciPy only (see `ganzoo.metrics.scores`, which also
exports them, for the feature-based scores).
"""

from __future__ import annotations

import math

import numpy as np
import scipy.special

from ganzoo.metrics.checks import (
    PROB_ATOL,
    as_float_array,
    check_finite,
    check_positive_int,
    check_probabilities,
    check_scores,
)

__all__ = ["class_balance", "inception_score", "label_accuracy"]


# --------------------------------------------------------------------------
# Inception score (IS).
# --------------------------------------------------------------------------


def inception_score(probabilities, *, splits: int = 10) -> dict:
    """Inception score (IS) of class probabilities of generated samples.

    Salimans et al., "Improved Techniques for Training GANs", NeurIPS 2016:

    ```
    IS = exp(E_x KL(p(y | x) || p(y))),    p(y) = E_x p(y | x)
    ```

    The rows are split into `splits` contiguous groups (`np.array_split`);
    the marginal `p(y)` and the score are computed within each group, and the
    mean and (population, `ddof=0`) standard deviation over groups are
    reported, as in the original implementation. IS lies in `[1, C]`: 1 when
    every sample gets the same prediction, `C` when predictions are confident
    one-hot vectors spread evenly over the `C` classes.

    `0 log 0` is taken as 0 via `scipy.special.rel_entr`, so zero
    probabilities need no epsilon: `p(y)` is positive wherever any
    `p(y | x)` is.

    Args:
        probabilities: Classifier probabilities `p(y | x)` of generated
            samples, shape `(N, C)`, non-negative rows summing to 1 (within
            1e-3).
        splits: Number of groups, `1 <= splits <= N`.

    Returns:
        A dict with `"is"` (mean over splits) and `"is_std"` (standard
        deviation over splits).
    """
    probabilities = check_probabilities(probabilities)
    splits = check_positive_int(splits, "splits")
    if splits > probabilities.shape[0]:
        raise ValueError(
            f"`splits` ({splits}) exceeds the number of samples "
            f"({probabilities.shape[0]}); pass more samples or lower `splits`."
        )
    scores = []
    for part in np.array_split(probabilities, splits, axis=0):
        marginal = part.mean(axis=0, keepdims=True)
        kl = scipy.special.rel_entr(part, marginal).sum(axis=1)
        scores.append(math.exp(float(np.mean(kl))))
    return {"is": float(np.mean(scores)), "is_std": float(np.std(scores))}


# --------------------------------------------------------------------------
# Classifier-based checks.
# --------------------------------------------------------------------------


def class_balance(probabilities, prior=None) -> dict:
    """Histogram of predicted classes and its divergence from a prior.

    Each sample is assigned its most probable class; `fractions[c]` is the
    share of samples assigned to class `c`. The divergence to the prior `q`
    (uniform by default) is

    ```
    KL(fractions || q) = sum_c fractions_c log(fractions_c / q_c)
    ```

    with `0 log 0 = 0` (`scipy.special.rel_entr`), the mode-balance score of
    PacGAN (Lin et al., "PacGAN: The power of two samples in generative
    adversarial networks", NeurIPS 2018) applied to classifier labels. It is
    0 for a perfectly balanced generator and `log C` for one that produces a
    single class under a uniform prior; it is `inf` if a class with prior 0
    is produced.

    Only the argmax of each row is used, so logits work as well as
    probabilities; rows are not required to sum to 1.

    Args:
        probabilities: Classifier scores of generated samples, shape `(N, C)`.
        prior: Optional expected class frequencies, shape `(C,)`,
            non-negative and summing to 1 (within 1e-3); defaults to uniform.

    Returns:
        A dict with `"fractions"` (list of C floats summing to 1),
        `"kl_to_prior"` (nats), `"dominant_class"` (int, the most frequent
        class, the lowest index on ties), `"dominant_fraction"` and
        `"classes_present"` (int, number of classes predicted at least once).
    """
    probabilities = check_scores(probabilities, "probabilities")
    num_classes = probabilities.shape[1]
    if prior is None:
        prior = np.full(num_classes, 1.0 / num_classes)
    else:
        prior = as_float_array(prior, "prior")
        if prior.shape != (num_classes,):
            raise ValueError(
                f"`prior` must have shape ({num_classes},) to match the "
                f"{num_classes} classes of `probabilities`; received shape "
                f"{prior.shape}."
            )
        check_finite(prior, "prior")
        if np.any(prior < 0) or abs(prior.sum() - 1.0) > PROB_ATOL:
            raise ValueError(
                "`prior` must be non-negative and sum to 1 (within "
                f"{PROB_ATOL}); received a sum of {prior.sum():.6g}. "
                "Normalise it first."
            )
    predicted = np.argmax(probabilities, axis=1)
    counts = np.bincount(predicted, minlength=num_classes)
    fractions = counts / counts.sum()
    kl = float(np.sum(scipy.special.rel_entr(fractions, prior)))
    dominant = int(np.argmax(fractions))
    return {
        "fractions": [float(f) for f in fractions],
        "kl_to_prior": kl,
        "dominant_class": dominant,
        "dominant_fraction": float(fractions[dominant]),
        "classes_present": int(np.count_nonzero(counts)),
    }


def label_accuracy(probabilities, labels) -> float:
    """Fraction of samples whose predicted class matches their label.

    For a class-conditional generator, `labels[i]` is the class the sample
    was generated for and `probabilities[i]` the output of a classifier
    trained on real data; the score is

    ```
    accuracy = 1/N sum_i 1[argmax_c probabilities[i, c] == labels[i]]
    ```

    (the "classification accuracy" of conditional samples used, e.g., by
    Odena et al., "Conditional Image Synthesis with Auxiliary Classifier
    GANs", ICML 2017). Only the argmax is used, so logits work too.

    Args:
        probabilities: Classifier scores, shape `(N, C)`.
        labels: Integer class labels in `[0, C)`, shape `(N,)`. Floats are
            accepted if they hold whole numbers.

    Returns:
        The accuracy, a float in `[0, 1]`.
    """
    probabilities = check_scores(probabilities, "probabilities")
    labels = np.asarray(labels)
    num_samples, num_classes = probabilities.shape
    if labels.ndim != 1 or labels.shape[0] != num_samples:
        raise ValueError(
            f"`labels` must be a 1-D array of {num_samples} class indices, one "
            f"per row of `probabilities`; received shape {labels.shape}. Pass "
            "integer labels, not one-hot vectors."
        )
    if not np.issubdtype(labels.dtype, np.integer):
        as_float = as_float_array(labels, "labels")
        check_finite(as_float, "labels")
        if np.any(as_float != np.round(as_float)):
            raise ValueError(
                "`labels` must hold integer class indices; received "
                "non-integer values."
            )
        labels = as_float.astype(np.int64)
    if np.any(labels < 0) or np.any(labels >= num_classes):
        raise ValueError(
            f"`labels` must lie in [0, {num_classes}) to index the classes of "
            f"`probabilities`; received values in [{labels.min()}, "
            f"{labels.max()}]."
        )
    return float(np.mean(np.argmax(probabilities, axis=1) == labels))
