"""Scores of a CycleGAN's two generators (A -> B and B -> A) on an unpaired dataset.

An unpaired dataset has no target for an input, so the translations are
scored by what can be checked without one. `evaluate_unpaired` translates the
held-out images of both domains (``fake_b = a_to_b(A)``, ``fake_a = b_to_a(B)``)
and back again (``rec_a = b_to_a(fake_b)``, ``rec_b = a_to_b(fake_a)``):

* ``cycle_l1_a`` / ``cycle_l1_b``: the mean absolute error of each domain's
  round trip, ``mean |rec_a - A|``, in the images' [-1, 1] range (0 when the
  round trip gives the image back; the cycle-consistency loss CycleGAN trains).
* ``cycle_psnr_a`` / ``cycle_ssim_a`` (and ``_b``): PSNR and SSIM of the round
  trip against the original, as `ganzoo.metrics.paired.psnr_ssim` measures
  them; an exact round trip has infinite PSNR and is left out of the mean,
  ``cycle_psnr_exact_a`` counts them.

When both domains are classes of a dataset ganzoo ships judges for
(``fashion_mnist[label=7]|fashion_mnist[label=9]``), for each judge ``<j>``
(`ganzoo.metrics.extractors.get_judges`):

* ``translation_accuracy_a_to_b_<j>``: the share of ``fake_b`` the judge's
  classifier puts in B's class (does the translation change the class?);
  ``..._b_to_a_<j>`` the share of ``fake_a`` put in A's. Their ceiling,
  ``translation_accuracy_a_to_b_<j>_targets``, is the share of the real
  held-out B images the judge puts in B's class (and of real A in A's).
* ``fid_a_to_b_<j>``: the Fréchet distance between the judge's features of
  ``fake_b`` and of the real held-out B (`ganzoo.metrics.frechet_distance`);
  ``fid_b_to_a_<j>`` of ``fake_a`` against A. Its real floor,
  ``fid_a_to_b_<j>_targets``, is as many real training B images against the
  held-out ones (when the held-out split is the test split).

A folder of the user's images (``unpaired:PATH``) or a TFDS CycleGAN set has
no judges: the cycle scores only.
"""

from __future__ import annotations

import numpy as np

from ganzoo.metrics.class_scores import label_accuracy
from ganzoo.metrics.paired import psnr_ssim
from ganzoo.metrics.scores import frechet_distance


def cycle_scores(originals, reconstructions, domain: str) -> dict:
    """L1, PSNR and SSIM of a round trip against its originals (both in [-1, 1]), keys ending ``_<domain>``."""
    originals, reconstructions = (np.asarray(a, np.float32) for a in (originals, reconstructions))
    found = psnr_ssim(reconstructions, originals)  # checks the shapes
    l1 = float(np.mean(np.abs(reconstructions.astype(np.float64) - originals)))
    return {f"cycle_l1_{domain}": l1, f"cycle_psnr_{domain}": found["psnr"],
            f"cycle_psnr_exact_{domain}": found["psnr_exact"], f"cycle_ssim_{domain}": found["ssim"]}


def translation_scores(fakes, reals, label: int, judges, direction: str, *, train=None) -> dict:
    """Per judge, the translation accuracy and FID of `fakes` (into the class `label`) against `reals`.

    Args:
        fakes: Translated images (N, H, W, C) in [-1, 1].
        reals: Real held-out images of the domain translated into.
        label: That domain's class.
        judges: `FeatureExtractor`s of its dataset (`ganzoo.metrics.extractors.get_judges`).
        direction: ``"a_to_b"`` or ``"b_to_a"``, the middle of the keys.
        train: As many real training images of the domain, for FID's real floor.

    Returns:
        ``{"translation_accuracy_<direction>_<judge>", "fid_<direction>_<judge>", ...}``,
        each with its ``_targets`` (the real images' accuracy; FID of `train`).
    """
    def share(probabilities):
        return label_accuracy(probabilities, np.full(len(probabilities), int(label)))

    found = {}
    for judge in judges:
        real_features, real_probabilities = judge(np.asarray(reals, np.float32))
        fake_features, fake_probabilities = judge(np.asarray(fakes, np.float32))
        key = f"{direction}_{judge.judge}"
        found[f"translation_accuracy_{key}"] = share(fake_probabilities)
        found[f"translation_accuracy_{key}_targets"] = share(real_probabilities)
        found[f"fid_{key}"] = frechet_distance(real_features, fake_features)
        if train is not None:
            found[f"fid_{key}_targets"] = frechet_distance(judge(np.asarray(train, np.float32))[0],
                                                           real_features)
    return found


def domain_judges(domain) -> tuple:
    """The shipped judges of a domain that is a class of a built-in dataset, else ``()``."""
    from ganzoo.metrics import extractors  # pylint: disable=import-outside-toplevel

    if domain.base is None or domain.label is None or domain.base not in extractors.available_extractors():
        return ()
    return tuple(extractors.get_judges(domain.base))


def evaluate_unpaired(a_to_b, b_to_a, dataset: str, *, n: int = 10_000, batch_size: int = 500,
                      **options) -> dict:
    """Scores a CycleGAN's generators on the first `n` held-out images of each domain of `dataset`.

    The held-out split is the test split when the dataset has one, else the
    training split (a folder's `options` as in `ganzoo.data.info`). The cycle
    scores are always given; the translation accuracy and FID by each judge
    when both domains are classes of a dataset with shipped judges, A -> B
    judged by B's dataset's judges and B -> A by A's (see the module's notes).

    Returns:
        ``{"dataset", "split", "n": {"a", "b"}, "judges": {judge: test accuracy},
        "domains": {"a", "b"}, "scores": {...}}``.
    """
    from ganzoo import data  # pylint: disable=import-outside-toplevel
    from ganzoo.data import unpaired as unpaired_data  # pylint: disable=import-outside-toplevel
    from ganzoo.models import sampling  # pylint: disable=import-outside-toplevel

    held_out = "test" if "test" in (data.info(dataset, **options).num_examples or {}) else "train"
    domain_a, domain_b = unpaired_data.domains(dataset)
    real_a, real_b = unpaired_data.domain_arrays(dataset, held_out, limit=n, **options)
    fake_b = sampling.run(a_to_b, real_a, batch_size=batch_size)
    fake_a = sampling.run(b_to_a, real_b, batch_size=batch_size)
    scores = {**cycle_scores(real_a, sampling.run(b_to_a, fake_b, batch_size=batch_size), "a"),
              **cycle_scores(real_b, sampling.run(a_to_b, fake_a, batch_size=batch_size), "b")}
    judges_a, judges_b = domain_judges(domain_a), domain_judges(domain_b)
    if not (judges_a and judges_b):  # translation is judged both ways or not at all
        judges_a = judges_b = ()
    train_a = train_b = None
    if judges_b and held_out == "test":  # FID's real floor: as many training images against the test ones
        train_a, train_b = unpaired_data.domain_arrays(dataset, "train", limit=max(len(real_a), len(real_b)),
                                                  **options)
        train_a, train_b = train_a[:len(real_a)], train_b[:len(real_b)]
    scores.update(translation_scores(fake_b, real_b, domain_b.label, judges_b, "a_to_b", train=train_b))
    scores.update(translation_scores(fake_a, real_a, domain_a.label, judges_a, "b_to_a", train=train_a))
    same = domain_a.base == domain_b.base  # else each dataset's judges are named by it
    judged = {(judge.judge if same else judge.name): judge.metadata.get("test_accuracy")
              for judge in judges_b + (() if same else judges_a)}
    return {"dataset": dataset, "split": held_out, "n": {"a": int(len(real_a)), "b": int(len(real_b))},
            "judges": judged, "domains": {"a": domain_a.name, "b": domain_b.name}, "scores": scores}


def text_table(report: dict) -> list:
    """Lines of an `evaluate_unpaired` report: each score beside the same score of real images, when it has one.

    The ``real`` column is a translation accuracy's ceiling (real images of
    the domain translated into) and an FID's floor (training against held-out
    real images).
    """
    scores = report["scores"]
    keys = [key for key in scores if not key.endswith("_targets")]
    width = max([len("score"), *map(len, keys)])
    lines = [f"{'score':<{width}} {'model':>10} {'real':>10}"]
    for key in keys:
        cells = [scores.get(key), scores.get(f"{key}_targets")]
        lines.append(f"{key:<{width}} " + " ".join(f"{c:>10.4g}" if c is not None else f"{'':>10}" for c in cells))
    return lines
