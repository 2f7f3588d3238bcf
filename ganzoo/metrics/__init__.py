"""Metrics that score trained generators.

* `mode_coverage`: modes covered / high-quality samples / reverse KL on the 2-D
  mixtures (VEEGAN and PacGAN protocol).
* `scores`: FID, KID, Inception-style score, precision/recall,
  density/coverage, class balance and label accuracy on feature arrays.
* `extractors`: the offline feature extractors ganzoo ships (and optional
  Inception-V3 features from a user-provided weights file).
* `evaluate`: sampling, feature extraction and the real-data floor together.
"""

from ganzoo.metrics.mode_coverage import ModeCoverage, evaluate_mode_coverage, mode_coverage
from ganzoo.metrics.scores import (
    class_balance,
    density_coverage,
    frechet_distance,
    inception_score,
    kernel_inception_distance,
    label_accuracy,
    precision_recall,
)

__all__ = [
    "ModeCoverage",
    "class_balance",
    "density_coverage",
    "evaluate_mode_coverage",
    "frechet_distance",
    "inception_score",
    "kernel_inception_distance",
    "label_accuracy",
    "mode_coverage",
    "precision_recall",
]
