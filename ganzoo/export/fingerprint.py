"""A zoo entry's fingerprint: cheap numbers that tie its card to its weights.

A card's metrics come from 10 000 samples, too slow to re-score in unit
tests on every backend. The fingerprint is what a test *can* afford: 16
samples at latent seed 0 (classes cycled for a conditional generator),
summarized by their overall mean, standard deviation and absolute-sum
checksum, each sample's mean and standard deviation, and every judge's
log-probabilities for them (clipped at `LOG_FLOOR`). The latents come from
NumPy, so every backend draws the same samples; if the weights, the
generator code or a judge change, the fingerprint moves and
`check_fingerprint` says what moved. An image-in generator's 16 samples are
its outputs for the paired dataset's first 16 test inputs, judged by the
target domain's extractors; a CycleGAN's are 8 held-out A images translated
to B and 8 B images translated to A, judged by their dataset's extractors; an
anomaly scorer's (``NAME[label=K]``) are its reconstructions of the base
dataset's first 16 test images (every class), whose scores it also records.
"""

from __future__ import annotations

import numpy as np

__all__ = ["LOG_FLOOR", "check_fingerprint", "fingerprint"]

N, SEED = 16, 0
LOG_FLOOR = -10.0  # log-probabilities below this (p < 4.5e-5) are clipped: too small to compare
# Agreement asked of a re-computed fingerprint: float32 round-off between backends
# moves the sample statistics by about 1e-6 and log-probabilities by about 1e-4.
SAMPLE_TOLERANCE = 1e-4
LOG_PROBABILITY_TOLERANCE = 0.02
SCORE_TOLERANCE = 1e-3  # an anomaly scorer's scores, relative


def _log_probabilities(judge, samples):
    return np.maximum(np.log(np.maximum(judge.probabilities(samples), 1e-30)), LOG_FLOOR)


def fingerprint(gan, dataset: str | None) -> dict:
    """The fingerprint of `gan` (judged by `dataset`'s shipped extractors, when it has them)."""
    from ganzoo import data  # pylint: disable=import-outside-toplevel
    from ganzoo.data import filtered, pairs, unpaired  # pylint: disable=import-outside-toplevel
    from ganzoo.metrics import evaluate, extractors  # pylint: disable=import-outside-toplevel

    scores = None
    if callable(getattr(gan, "scorer_model", None)):  # an anomaly scorer: reconstructions and scores
        dataset = filtered.resolve(dataset).base
        images, _ = data.load_arrays(dataset, "test", limit=N)
        samples, scores = gan.translate(images), gan.score(images)
    elif dataset in pairs.DOMAIN:  # an image-in generator: its outputs for the first test inputs
        samples = gan.translate(pairs.load_pair_arrays(dataset, "test", limit=N)[0])
        dataset = pairs.DOMAIN[dataset]
    elif unpaired.is_unpaired(dataset):  # a CycleGAN: half A -> B, half B -> A, of held-out images
        samples, dataset = _unpaired_samples(gan, dataset)
    else:
        samples, _ = evaluate.generate_samples(gan, N, seed=SEED)
    samples = samples.astype(np.float64)
    flat = samples.reshape(N, -1)
    facts = {
        "n": N,
        "seed": SEED,
        "mean": float(samples.mean()),
        "std": float(samples.std()),
        "checksum": float(np.abs(samples).sum()),
        "sample_means": flat.mean(axis=1).round(6).tolist(),
        "sample_stds": flat.std(axis=1).round(6).tolist(),
        "log_floor": LOG_FLOOR,
        "judges": {},
    }
    if scores is not None:
        facts["scores"] = np.asarray(scores, np.float64).tolist()
    if dataset in extractors.available_extractors():
        for judge in extractors.get_judges(dataset):
            facts["judges"][judge.judge] = _log_probabilities(judge, samples).round(4).tolist()
    return facts


def _unpaired_samples(gan, dataset):
    """`translate` of the first N/2 held-out A images (a_to_b) and B images (b_to_a), and their judges' dataset."""
    from ganzoo import data  # pylint: disable=import-outside-toplevel
    from ganzoo.data import unpaired  # pylint: disable=import-outside-toplevel

    held_out = "test" if "test" in (data.info(dataset).num_examples or {}) else "train"
    a, b = unpaired.domain_arrays(dataset, held_out, limit=N // 2)
    samples = np.concatenate([gan.translate(a, direction="a_to_b"), gan.translate(b, direction="b_to_a")])
    bases = {domain.base for domain in unpaired.domains(dataset)}
    return samples, (bases.pop() if len(bases) == 1 else None)


def check_fingerprint(gan, dataset: str | None, recorded: dict) -> list[str]:
    """What differs between `gan`'s fingerprint now and the `recorded` one (empty: nothing)."""
    now = fingerprint(gan, dataset)
    problems = []
    checks = [("mean", SAMPLE_TOLERANCE), ("std", SAMPLE_TOLERANCE),
              ("sample_means", SAMPLE_TOLERANCE), ("sample_stds", SAMPLE_TOLERANCE)]
    for key, tolerance in checks:
        gap = float(np.max(np.abs(np.subtract(now[key], recorded[key]))))
        if gap > tolerance:
            problems.append(f"{key} differs by {gap:.3g} (tolerance {tolerance:g})")
    if "scores" in recorded:  # an anomaly scorer's: relative round-off
        gap = float(np.max(np.abs(np.subtract(now["scores"], recorded["scores"]))
                           / np.maximum(np.abs(recorded["scores"]), 1e-6)))
        if gap > SCORE_TOLERANCE:
            problems.append(f"scores differ by {gap:.3g} relative (tolerance {SCORE_TOLERANCE:g})")
    # The checksum sums N x pixels absolute values: allow each 1e-5 of round-off.
    if abs(now["checksum"] - recorded["checksum"]) > 1e-5 * N * int(np.prod(_shape(gan, dataset))):
        problems.append(f"checksum {now['checksum']:.6g} != recorded {recorded['checksum']:.6g}")
    for name, values in recorded["judges"].items():
        if name not in now["judges"]:
            problems.append(f"judge {name} is not shipped any more")
            continue
        gap = float(np.max(np.abs(np.subtract(now["judges"][name], values))))
        if gap > LOG_PROBABILITY_TOLERANCE:
            problems.append(f"judge {name}'s log-probabilities differ by {gap:.3g} "
                            f"(tolerance {LOG_PROBABILITY_TOLERANCE:g})")
    return problems


def _shape(gan, dataset):
    from ganzoo import data  # pylint: disable=import-outside-toplevel
    from ganzoo.data import pairs  # pylint: disable=import-outside-toplevel

    if dataset in pairs.DOMAIN:  # the targets' shape (a super-resolution generator takes any size)
        return data.info(dataset).shape
    generator = gan.sampling_generator if hasattr(gan, "sampling_generator") else gan
    return tuple(generator.outputs[0].shape[1:])
