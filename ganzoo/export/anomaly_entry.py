"""The anomaly-scorer parts of a zoo entry (GANomaly): threshold, scorer export, AUROC, pictures, model card.

`ganzoo.export.entry.build_entry` calls `build` for a model with a scorer
trained on one class of a labelled dataset (``"fashion_mnist[label=7]"``).
The base dataset's test split is the judge: the normal class's test images
are split in two, the even-numbered half calibrates the threshold (at
`FPR`, 5 % false positives) and never scores; the other half and every other
class's test images are what the entry is scored on (`evaluate_scorer`):
AUROC of each score kind, AUROC against each other class, and the
false-positive and detection rates at the threshold. The scorer (images ->
scores) is exported to ``scorer/`` (`export_scorer`: SavedModel, four TFLite
files checked against Keras, ``metadata.json`` with the kind and threshold
that `ganzoo.runtime.TFLiteScorer` reads), and every TFLite file is scored
on the same images. Pictures: ``samples.png`` (image | reconstruction |
error map, a normal image beside an anomaly on each row), ``roc.png`` and
``scores.png`` (histograms of the scores with the threshold).
"""

from __future__ import annotations

import os

import numpy as np

__all__ = ["FPR", "build", "evaluate_scorer", "model_card", "test_split"]

FPR = 0.05
PICTURE_ROWS = 8


def test_split(dataset, limit=None):
    """`(calibration, images, labels, normal_label, class_names)` of a ``NAME[label=K]`` dataset's test split.

    `calibration` is every second normal test image; `images` (with `labels`)
    are the others: the rest of the normal class and all other classes.
    """
    from ganzoo import data  # pylint: disable=import-outside-toplevel
    from ganzoo.data import filtered  # pylint: disable=import-outside-toplevel

    if not filtered.is_filtered(dataset):
        raise ValueError(f"an anomaly entry is scored on one class of a labelled dataset, such as "
                         f"'fashion_mnist[label=7]', not {dataset!r}; train on such a dataset.")
    chosen = filtered.resolve(dataset)
    x, y = data.load_arrays(chosen.base, "test", with_labels=True, limit=limit)
    calibration = np.flatnonzero(y == chosen.label)[::2]
    keep = np.ones(len(x), bool)
    keep[calibration] = False
    names = (filtered.class_names(chosen.base, chosen.base_info)
             or tuple(str(k) for k in range(chosen.base_info.num_classes)))
    return x[calibration], x[keep], y[keep], chosen.label, tuple(names)


def _auroc(scores, anomalous):
    from sklearn.metrics import roc_auc_score  # pylint: disable=import-outside-toplevel

    return float(roc_auc_score(anomalous, scores))


def _rates(scores, anomalous, threshold):
    flagged = np.asarray(scores) > threshold
    return float(flagged[~anomalous].mean()), float(flagged[anomalous].mean())


def evaluate_scorer(model, dataset, *, limit=None):
    """Scores `model` (its saved threshold kept) on `dataset`'s held-out test images; returns the report."""
    calibration, images, labels, normal, names = test_split(dataset, limit)
    anomalous = labels != normal
    kinds = {kind: model.score(images, kind=kind) for kind in _kinds(model)}
    default = kinds[model.score_kind]
    false_positives, detected = _rates(default, anomalous, model.threshold)
    scores = {f"auroc_{kind}": _auroc(values, anomalous) for kind, values in kinds.items()}
    scores.update(false_positive_rate=false_positives, detection_rate=detected)
    per_class = {}
    for label in sorted(set(labels.tolist()) - {normal}):
        pick = (labels == label) | ~anomalous
        per_class[names[label]] = {"auroc": _auroc(default[pick], anomalous[pick]),
                                   "detection_rate": float((default[labels == label] > model.threshold).mean())}
    return {"dataset": dataset, "normal_class": names[normal], "score_kind": model.score_kind,
            "threshold": model.threshold, "threshold_fpr": model.threshold_fpr,
            "n": {"calibration": int(len(calibration)), "normal": int(np.sum(~anomalous)),
                  "anomalous": int(np.sum(anomalous))},
            "scores": scores, "per_class": per_class}


def _kinds(model):
    from ganzoo.models import ganomaly  # pylint: disable=import-outside-toplevel

    return ganomaly.SCORE_KINDS if isinstance(model, ganomaly.GANomaly) else (model.score_kind,)


def build(model, dataset, staging, *, limit=None, latency_rounds=50):
    """Calibrates `model`, exports its scorer, scores it and draws the pictures; returns the entry's facts.

    `limit`: use only the first `limit` test images (quick checks; default all).
    """
    from ganzoo.export import latency  # pylint: disable=import-outside-toplevel
    from ganzoo.export.scorer import export_scorer  # pylint: disable=import-outside-toplevel

    calibration, images, labels, normal, _ = test_split(dataset, limit)
    model.calibrate(calibration, fpr=FPR)
    report = evaluate_scorer(model, dataset, limit=limit)
    scorer_dir = os.path.join(staging, "scorer")
    export = export_scorer(model, scorer_dir, inputs=calibration)
    tflite_quality(scorer_dir, images, labels != normal, export)
    samples_picture(model, images, labels != normal, os.path.join(staging, "samples.png"))
    curves_pictures(model, images, labels != normal, staging)
    rows = latency.measure(model.scorer_model(), scorer_dir, batch_sizes=(1,), rounds=latency_rounds,
                           images=calibration[:1])
    return {"export": export, "metrics": report, "latency": rows}


def tflite_quality(scorer_dir, images, anomalous, export):
    """Each ``scorer*.tflite`` file's AUROC and rates at the threshold on the held-out images, into `export`."""
    from ganzoo.runtime import TFLiteScorer  # pylint: disable=import-outside-toplevel

    for facts in export["formats"].values():
        if facts["path"].endswith(".tflite"):
            runner = TFLiteScorer(os.path.join(scorer_dir, facts["path"]))
            scores = runner.score(images, batch_size=500)
            false_positives, detected = _rates(scores, anomalous, runner.threshold)
            facts["scores"] = {"auroc": _auroc(scores, anomalous), "false_positive_rate": false_positives,
                               "detection_rate": detected}


def samples_picture(model, images, anomalous, path):
    """Rows of ``normal | its reconstruction | error map | anomaly | reconstruction | error map``."""
    from ganzoo import plots  # pylint: disable=import-outside-toplevel

    normal = images[~anomalous][:PICTURE_ROWS]
    rng = np.random.default_rng(0)  # anomalies from every class, in a fixed order
    others = images[anomalous][rng.permutation(int(anomalous.sum()))[:PICTURE_ROWS]]
    shown = np.stack([normal, others], axis=1).reshape((-1, *images.shape[1:]))
    plots.save_image_grid(model.picture_tiles(shown), path, columns=6)


def curves_pictures(model, images, anomalous, folder):
    """``roc.png`` (ROC curve of each score kind, the threshold's point) and ``scores.png`` (histograms)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg  # pylint: disable=import-outside-toplevel
    from matplotlib.figure import Figure  # pylint: disable=import-outside-toplevel
    from sklearn.metrics import roc_curve  # pylint: disable=import-outside-toplevel

    figure = Figure(figsize=(4.5, 4.5))
    axes = figure.add_subplot()
    for kind in _kinds(model):
        scores = model.score(images, kind=kind)
        fpr, tpr, _ = roc_curve(anomalous, scores)
        axes.plot(fpr, tpr, label=f"{kind} (AUROC {_auroc(scores, anomalous):.3f})")
    false_positives, detected = _rates(model.score(images), anomalous, model.threshold)
    axes.plot([false_positives], [detected], "ko", label=f"threshold ({model.score_kind})")
    axes.plot([0, 1], [0, 1], ":", color="gray")
    axes.set(xlabel="false-positive rate (normal images flagged)", ylabel="detection rate (anomalies flagged)",
             title=f"{model.name}: held-out test images")
    axes.legend(loc="lower right", fontsize="small")
    FigureCanvasAgg(figure).print_png(os.path.join(folder, "roc.png"))

    scores = model.score(images)
    figure = Figure(figsize=(6, 3.5))
    axes = figure.add_subplot()
    bins = np.geomspace(max(scores.min(), 1e-6), scores.max(), 60)
    axes.hist(scores[~anomalous], bins=bins, alpha=0.6, density=True, label=f"normal ({int((~anomalous).sum())})")
    axes.hist(scores[anomalous], bins=bins, alpha=0.6, density=True, label=f"anomalies ({int(anomalous.sum())})")
    axes.axvline(model.threshold, color="k", linestyle="--", label=f"threshold (FPR {model.threshold_fpr:g})")
    axes.set(xscale="log", xlabel=f"{model.score_kind} score", ylabel="density")
    axes.legend(fontsize="small")
    figure.tight_layout()
    FigureCanvasAgg(figure).print_png(os.path.join(folder, "scores.png"))


def model_card(metadata: dict, folder: str) -> str:
    """The MODEL_CARD.md text of an anomaly-scorer zoo entry."""
    import yaml  # pylint: disable=import-outside-toplevel

    from ganzoo.export import card, latency  # pylint: disable=import-outside-toplevel

    config, training = metadata["training_config"], metadata.get("training") or {}
    report, export, name = metadata["metrics"], metadata["export"], metadata["name"]
    scores, n = report["scores"], report["n"]
    kinds = [key[len("auroc_"):] for key in scores if key.startswith("auroc_")]
    lines = [
        f"# {name}", "", metadata.get("description") or "", "",
        "## What it is", "",
        f"A ganzoo `{metadata['class_name']}` anomaly scorer ({config['model']['family']}) trained only on the normal "
        f"class `{report['normal_class']}` of `{report['dataset'].split('[')[0]}`: `score(images)` gives one number per "
        f"image, higher for images unlike the normal class (default kind `{report['score_kind']}`), and `flag(images)` "
        f"compares it with the shipped threshold {report['threshold']:.6g} (chosen for {report['threshold_fpr']:.0%} "
        f"false positives). Generator parameters: {metadata['parameters']['generator']:,}; discriminator: "
        f"{metadata['parameters']['discriminator']:,}.",
        "", "```python", "import ganzoo",
        f'model = ganzoo.from_preset("{name}")', "scores = model.score(images)   # NHWC in [-1, 1]",
        "flags = model.flag(images)     # score > threshold", "```", "",
        f"`ganzoo score {name} INPUT --out scores.csv` scores an image file or a folder; "
        "`ganzoo.runtime.TFLiteScorer(\"scorer/scorer.tflite\")` does it with LiteRT and NumPy only.", "",
        "## Data and training", "",
        f"Dataset `{metadata['dataset']}` (train split). Trained on the {training.get('backend', '?')} backend "
        f"(Keras {training.get('keras', '?')}), {training.get('generator_steps', '?')} generator steps in "
        f"{training.get('fit_seconds', '?')} s of `fit` on {training.get('machine', '?')} "
        f"({training.get('accelerator', 'cpu')}), {training.get('date', '?')}.",
        "", "Config:", "", "```yaml", yaml.safe_dump(config, sort_keys=False).strip(), "```", "",
        "## Metrics", "",
        f"The test split: every second normal test image ({n['calibration']}) set the threshold and is not scored; "
        f"the other {n['normal']} normal and {n['anomalous']} anomalous (every other class) test images are. "
        "AUROC: the chance that a random anomaly scores above a random normal image.", "",
        "| score | AUROC |", "| --- | --- |",
        *(f"| {kind}{' (default)' if kind == report['score_kind'] else ''} | {scores['auroc_' + kind]:.4f} |"
          for kind in kinds),
        "", f"At the threshold: {scores['false_positive_rate']:.1%} of held-out normal images flagged, "
        f"{scores['detection_rate']:.1%} of anomalies flagged. Per anomalous class ({report['score_kind']} score):", "",
        "| class | AUROC against the normal class | flagged at the threshold |", "| --- | --- | --- |",
        *(f"| {label} | {facts['auroc']:.4f} | {facts['detection_rate']:.1%} |"
          for label, facts in report["per_class"].items()),
        "", "![ROC curves](roc.png)", "", "![score histograms](scores.png)", "",
        "`samples.png`: each row a held-out normal image and an anomaly, each with its reconstruction and the error "
        "map (white: large).", "",
        "## Files", "",
        f"`scorer/` holds the exported scorer `serve(images) -> scores` (`{export['score_kind']}` score): SavedModel and "
        f"TFLite, gated against the Keras scores to {export['parity']['tolerance']:g} (max abs error on "
        f"{export['parity']['num_latents']} normal test images); int8 calibrated on "
        f"{export['int8_calibration']['num_inputs']} normal images. Each file scored like the Keras model:", "",
        "| file | quantization | size | max abs error | AUROC | false positives | detected |",
        "| --- | --- | --- | --- | --- | --- | --- |",
        "| {} (Keras) | float32, {} | {:.0f} KiB | | ".format(*card.weights_files(folder))
        + f"{scores['auroc_' + report['score_kind']]:.4f} | {scores['false_positive_rate']:.1%} | "
        f"{scores['detection_rate']:.1%} |",
    ]
    for facts in export["formats"].values():
        error = facts["parity"]["max_abs_error"]
        cells = ("| | |" if "scores" not in facts else f"{facts['scores']['auroc']:.4f} | "
                 f"{facts['scores']['false_positive_rate']:.1%} | {facts['scores']['detection_rate']:.1%} |")
        lines.append(f"| `scorer/{facts['path']}` | {facts['quantization']} | {facts['size_bytes'] / 1024:.0f} KiB | "
                     f"{error:.2g} | {cells}")
    if metadata.get("latency"):
        lines += ["", "## Latency", "", "Batch-1 scoring, median of interleaved rounds on the build machine:", "",
                  latency.markdown_table(metadata["latency"]).strip()]
    return "\n".join(lines) + "\n" + card.shipped_section(metadata)
