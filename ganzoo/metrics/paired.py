"""Scores of image-to-image outputs against their targets: PSNR, SSIM, FID, label accuracy.

`score_pairs` compares a model's outputs with the targets of the same inputs:

* ``psnr`` and ``ssim``: `tf.image.psnr` and `tf.image.ssim` on images mapped
  from [-1, 1] to [0, 1] (``max_val=1``; SSIM's Gaussian window is 11 pixels,
  or the image's shorter side when smaller), averaged over the images. PSNR
  is averaged in dB; an image equal to its target has infinite PSNR and is
  left out of the mean (``psnr_exact`` counts them).
* ``fid_<judge>``: the Fréchet distance between the judge's features of the
  outputs and of the targets (``ganzoo.metrics.frechet_distance``), for each
  of the dataset's shipped judges.
* ``label_accuracy_<judge>``: how often the judge's classifier names the class
  of the image a pair came from (does the translation keep the class?).

With ``baseline`` images (for super-resolution: the bicubic enlargement of the
inputs, `bicubic`), every score is also given for them as ``<score>_baseline``,
measured the same way.

`evaluate_pairs(generator, dataset)` does it all for a paired dataset's test
split: what ``ganzoo evaluate`` reports for an image-in model and what the
zoo entries' cards show.
"""

from __future__ import annotations

import numpy as np

from ganzoo.metrics.class_scores import label_accuracy
from ganzoo.metrics.scores import frechet_distance

SSIM_WINDOW = 11


def bicubic(inputs, size) -> np.ndarray:
    """The bicubic enlargement of images in [-1, 1] to `size` (height, width), clipped to [-1, 1]."""
    import tensorflow as tf  # pylint: disable=import-outside-toplevel

    enlarged = tf.image.resize(np.asarray(inputs, np.float32), size, method="bicubic")
    return np.clip(enlarged.numpy(), -1.0, 1.0).astype(np.float32)


def psnr_ssim(images, targets, *, batch_size: int = 1000) -> dict:
    """Mean PSNR (dB, finite values) and SSIM of images against targets, both in [-1, 1]."""
    import tensorflow as tf  # pylint: disable=import-outside-toplevel

    images, targets = (np.asarray(a, np.float32) for a in (images, targets))
    if images.shape != targets.shape or images.ndim != 4:
        raise ValueError(f"images {images.shape} and targets {targets.shape} must be equal NHWC batches")
    window = min(SSIM_WINDOW, *images.shape[1:3])
    psnr, ssim = [], []
    for start in range(0, len(images), batch_size):
        a = (images[start:start + batch_size] + 1.0) / 2.0
        b = (targets[start:start + batch_size] + 1.0) / 2.0
        psnr.append(tf.image.psnr(a, b, max_val=1.0).numpy())
        ssim.append(tf.image.ssim(a, b, max_val=1.0, filter_size=window).numpy())
    psnr, ssim = np.concatenate(psnr), np.concatenate(ssim)
    finite = np.isfinite(psnr)
    return {"psnr": float(psnr[finite].mean()) if finite.any() else float("inf"),
            "psnr_exact": int((~finite).sum()), "ssim": float(ssim.mean())}


def score_pairs(outputs, targets, *, labels=None, judges=(), baseline=None) -> dict:
    """PSNR, SSIM and, per judge, FID and label accuracy of `outputs` against `targets`.

    Args:
        outputs: The model's images (N, H, W, C) in [-1, 1].
        targets: The targets of the same inputs.
        labels: Classes of the pairs' images (N,), for label accuracy.
        judges: `FeatureExtractor`s of the targets' domain
            (`ganzoo.metrics.extractors.get_judges`).
        baseline: Images to score the same way for comparison (e.g. `bicubic`).

    Returns:
        ``{"psnr", "psnr_exact", "ssim", "fid_<judge>", "label_accuracy_<judge>",
        ..., "<score>_baseline", ..., "n"}``.
    """
    found = {"n": int(len(outputs))}
    real = {judge.judge: judge(np.asarray(targets, np.float32)) for judge in judges}
    for suffix, images in (("", outputs), ("_baseline", baseline)):
        if images is None:
            continue
        found.update({f"{key}{suffix}": value for key, value in psnr_ssim(images, targets).items()})
        for judge in judges:
            features, probabilities = judge(np.asarray(images, np.float32))
            found[f"fid_{judge.judge}{suffix}"] = frechet_distance(real[judge.judge][0], features)
            if labels is not None and probabilities is not None:
                found[f"label_accuracy_{judge.judge}{suffix}"] = label_accuracy(probabilities, labels)
    return found


def evaluate_pairs(generator, dataset: str, *, n: int = 10_000, batch_size: int = 500, **options) -> dict:
    """Scores an image-in generator on the first `n` test pairs of the paired `dataset`.

    The outputs are scored by `score_pairs` against the targets, by the
    target domain's shipped judges (`ganzoo.data.pairs.DOMAIN`); a
    super-resolution dataset adds the bicubic baseline, and the targets'
    own label accuracy (``label_accuracy_<judge>_targets``) is the ceiling
    the outputs' can reach; ``fid_<judge>_targets`` is FID's real floor, as
    many training targets against the test targets. A ``pairs:PATH`` folder (its `options` as in
    `ganzoo.data.info`) has no judges: PSNR and SSIM, on its test split if it
    has one, else on its training pairs.

    Returns:
        ``{"dataset", "split", "n", "judges": {judge: test accuracy}, "scores": {...}}``.
    """
    from ganzoo import data  # pylint: disable=import-outside-toplevel
    from ganzoo.data import pairs  # pylint: disable=import-outside-toplevel
    from ganzoo.metrics import extractors  # pylint: disable=import-outside-toplevel
    from ganzoo.models import sampling  # pylint: disable=import-outside-toplevel

    if not pairs.is_paired(dataset):
        raise ValueError(f"{dataset!r} is not a paired dataset; give one of {', '.join(sorted(pairs.PAIRED))} "
                         "or pairs:PATH.")
    held_out = "test" if "test" in (data.info(dataset, **options).num_examples or {}) else "train"
    inputs, targets, labels = pairs.load_pair_arrays(dataset, held_out, limit=n, **options)
    outputs = sampling.run(generator, inputs, batch_size=batch_size)
    # A folder of the user's pairs has no shipped judges: PSNR and SSIM only.
    judges = extractors.get_judges(pairs.DOMAIN[dataset]) if dataset in pairs.DOMAIN else ()
    baseline = bicubic(inputs, targets.shape[1:3]) if inputs.shape[1:3] != targets.shape[1:3] else None
    scores = score_pairs(outputs, targets, labels=labels, judges=judges, baseline=baseline)
    ceiling = score_pairs(targets, targets, labels=labels, judges=judges)
    scores.update({f"{key}_targets": value for key, value in ceiling.items() if key.startswith("label_accuracy")})
    if judges and held_out == "test":  # the real floor of FID: as many training targets against the test ones
        train_targets = pairs.load_pair_arrays(dataset, "train", limit=len(targets), **options)[1]
        for judge in judges:
            scores[f"fid_{judge.judge}_targets"] = frechet_distance(judge(train_targets)[0], judge(targets)[0])
    return {"dataset": dataset, "split": held_out, "n": int(len(inputs)),
            "judges": {judge.judge: judge.metadata.get("test_accuracy") for judge in judges},
            "scores": scores}


def text_table(report: dict) -> list:
    """Lines of an `evaluate_pairs` report: each score beside its baseline and ceiling, when it has them."""
    scores = report["scores"]
    lines = [f"{'score':<24} {'model':>10} {'bicubic':>10} {'targets':>10}"]
    for key, value in scores.items():
        if key == "n" or key.endswith(("_baseline", "_targets")) or key == "psnr_exact":
            continue
        cells = [scores.get(key), scores.get(f"{key}_baseline"), scores.get(f"{key}_targets")]
        lines.append(f"{key:<24} " + " ".join(f"{c:>10.4g}" if c is not None else f"{'':>10}" for c in cells))
    return lines
