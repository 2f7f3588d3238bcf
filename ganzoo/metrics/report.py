"""One verdict from several judges, and the tables that show a report.

An evaluation report (`ganzoo.metrics.evaluate.evaluate`) holds each metric
by each judge beside that judge's real floor. Judges disagree on absolute
values (their feature spaces differ), so a single verdict compares each
judge's value with its *own* floor, as a ratio:

* lower-is-better metrics (FID): ``ratio = value / floor``, the multiple of
  the floor, and the stricter judge is the one with the larger multiple;
* higher-is-better metrics (precision, recall, coverage, label accuracy,
  classes present, the worst class's recall, intra-class diversity):
  ``ratio = value / floor``, the share of the floor reached, and the
  stricter judge is the one with the smaller share.

`VERDICT_METRICS` names them; a metric enters the verdict only where every
judge scored it and every floor is positive.
"""

from __future__ import annotations

__all__ = ["VERDICT_METRICS", "markdown_table", "scalar_metrics", "text_table", "verdict"]

# Metric: True when higher is better.
VERDICT_METRICS = {
    "fid": False,
    "precision": True,
    "recall": True,
    "coverage": True,
    "classes_present": True,
    "label_accuracy": True,
    "worst_class_recall": True,
    "intra_class_diversity": True,
}


def verdict(judges: dict) -> dict:
    """The stricter judge's value, floor and ratio for each metric of `VERDICT_METRICS`.

    Args:
        judges: ``{judge: {"metrics": {...}, "real_floor": {...}}}``.

    Returns:
        ``{metric: {"judge", "value", "real_floor", "ratio", "higher_is_better"}}``.
    """
    result = {}
    for metric, higher in VERDICT_METRICS.items():
        candidates = []
        for name, entry in judges.items():
            value = entry["metrics"].get(metric)
            floor = entry["real_floor"].get(metric)
            if value is None or floor is None or floor <= 0:
                break
            candidates.append((value / floor, name, value, floor))
        else:
            if candidates:
                pick = min if higher else max
                ratio, name, value, floor = pick(candidates, key=lambda c: c[0])
                result[metric] = {"judge": name, "value": value, "real_floor": floor,
                                  "ratio": ratio, "higher_is_better": higher}
    return result


def scalar_metrics(report: dict) -> list[str]:
    """Metric names with a number (not a list) by the first judge, in report order."""
    first = next(iter(report["judges"].values()))
    return [key for key, value in first["metrics"].items() if not isinstance(value, list)]


def _number(value) -> str:
    return "-" if value is None else f"{value:.4g}"


def _ratio(entry) -> str:
    ratio = entry["ratio"]
    text = f"{ratio:.3g}x floor" if not entry["higher_is_better"] else f"{100 * ratio:.3g}% of floor"
    return f"{text} ({entry['judge']})"


def _rows(report: dict):
    judges = report["judges"]
    for key in scalar_metrics(report):
        cells = []
        for entry in judges.values():
            cells += [_number(entry["metrics"].get(key)), _number(entry["real_floor"].get(key))]
        stricter = report.get("verdict", {}).get(key)
        yield key, cells, _ratio(stricter) if stricter else ""


def text_table(report: dict) -> list[str]:
    """Aligned lines for a terminal: metric, each judge's value and floor, the verdict."""
    header = ["metric"]
    for name in report["judges"]:
        header += [name, "floor"]
    header.append("stricter verdict")
    rows = [[key, *cells, stricter] for key, cells, stricter in _rows(report)]
    widths = [max(len(str(row[i])) for row in [header, *rows]) for i in range(len(header))]

    def line(row):
        first = f"{row[0]:<{widths[0]}}"
        middle = " ".join(f"{cell:>{width}}" for cell, width in zip(row[1:-1], widths[1:-1]))
        return f"  {first} {middle}  {row[-1]}".rstrip()

    return [line(header), *(line(row) for row in rows)]


def markdown_table(report: dict) -> list[str]:
    """A Markdown table: metric, each judge's value and real floor, the stricter verdict."""
    header = ["metric"]
    for name in report["judges"]:
        header += [f"{name}", f"{name} real floor"]
    header.append("stricter verdict (ratio to its floor)")
    lines = ["| " + " | ".join(header) + " |", "|" + " --- |" * len(header)]
    for key, cells, stricter in _rows(report):
        lines.append("| " + " | ".join([key, *cells, stricter]) + " |")
    return lines
