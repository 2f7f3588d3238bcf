"""Input checks shared by the scores: each raises `ValueError` with one line naming the problem and the fix."""

from __future__ import annotations

import numpy as np

# Tolerance on the row sums of probability arrays.
PROB_ATOL = 1e-3


def as_float_array(x, name: str) -> np.ndarray:
    try:
        return np.asarray(x, dtype=np.float64)
    except (TypeError, ValueError) as e:
        raise ValueError(
            f"`{name}` must be a numeric array; received an object of type "
            f"{type(x).__name__} that cannot be converted to float64 ({e})."
        ) from None


def check_finite(x: np.ndarray, name: str) -> None:
    if not np.all(np.isfinite(x)):
        bad = int(np.size(x) - np.count_nonzero(np.isfinite(x)))
        raise ValueError(
            f"`{name}` contains {bad} non-finite value(s) (NaN or inf); "
            "remove or fix those samples before scoring."
        )


def check_features(x, name: str, min_samples: int = 2) -> np.ndarray:
    """Returns `x` as a finite float64 array of shape `(N, D)`."""
    x = as_float_array(x, name)
    if x.ndim != 2:
        raise ValueError(
            f"`{name}` must be a 2-D array of shape (num_samples, num_features); "
            f"received shape {x.shape}. Flatten or reshape the features first."
        )
    if x.shape[1] < 1:
        raise ValueError(
            f"`{name}` has no feature columns (shape {x.shape}); pass at least "
            "one feature per sample."
        )
    if x.shape[0] < min_samples:
        raise ValueError(
            f"`{name}` has {x.shape[0]} sample(s) but at least {min_samples} are "
            "needed; pass more samples."
        )
    check_finite(x, name)
    return x


def check_pair(real, fake, min_samples: int = 2) -> tuple[np.ndarray, np.ndarray]:
    """Validates two feature arrays with the same number of features."""
    real = check_features(real, "real", min_samples)
    fake = check_features(fake, "fake", min_samples)
    if real.shape[1] != fake.shape[1]:
        raise ValueError(
            f"`real` and `fake` must have the same number of features; received "
            f"{real.shape[1]} and {fake.shape[1]}. Embed both with the same "
            "network."
        )
    return real, fake


def check_positive_int(value, name: str, minimum: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise ValueError(
            f"`{name}` must be an integer >= {minimum}; received {value!r}."
        )
    if value < minimum:
        raise ValueError(
            f"`{name}` must be an integer >= {minimum}; received {value}."
        )
    return int(value)


def check_neighbours(k, real: np.ndarray, fake: np.ndarray) -> int:
    """Validates `k` against the sizes of both sets (k-NN excludes self)."""
    k = check_positive_int(k, "k")
    for name, x in (("real", real), ("fake", fake)):
        if x.shape[0] <= k:
            raise ValueError(
                f"`{name}` has {x.shape[0]} samples, too few for k={k} nearest "
                f"neighbours (need at least k + 1 = {k + 1}); pass more samples "
                "or lower `k`."
            )
    return k


def check_scores(x, name: str) -> np.ndarray:
    """Returns class scores as a finite float64 array of shape `(N, C)`."""
    x = as_float_array(x, name)
    if x.ndim != 2:
        raise ValueError(
            f"`{name}` must be a 2-D array of shape (num_samples, num_classes); "
            f"received shape {x.shape}."
        )
    if x.shape[0] < 1 or x.shape[1] < 1:
        raise ValueError(
            f"`{name}` must have at least one sample and one class; received "
            f"shape {x.shape}."
        )
    check_finite(x, name)
    return x


def check_probabilities(x, name: str = "probabilities") -> np.ndarray:
    """Returns `x` as an `(N, C)` array of rows on the probability simplex."""
    x = check_scores(x, name)
    if np.any(x < 0):
        raise ValueError(
            f"`{name}` has negative entries; pass softmax probabilities, not "
            "logits."
        )
    row_sums = x.sum(axis=1)
    worst = float(np.max(np.abs(row_sums - 1.0)))
    if worst > PROB_ATOL:
        raise ValueError(
            f"Rows of `{name}` must sum to 1 (within {PROB_ATOL}); the worst "
            f"row is off by {worst:.3g}. Apply a softmax to the classifier "
            "outputs."
        )
    return x
