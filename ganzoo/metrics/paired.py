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
