"""Metrics that score trained generators."""

from ganzoo.metrics.mode_coverage import ModeCoverage, evaluate_mode_coverage, mode_coverage

__all__ = ["ModeCoverage", "evaluate_mode_coverage", "mode_coverage"]
