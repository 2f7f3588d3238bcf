"""`ganzoo.metrics.paired`: PSNR and SSIM by their definitions, the bicubic baseline, judges' scores."""

import numpy as np
import pytest

from ganzoo import data
from ganzoo.data import pairs
from ganzoo.metrics import extractors, paired


def test_psnr_and_ssim_follow_their_definitions():
    targets = np.random.default_rng(0).uniform(-1, 1, (4, 16, 16, 1)).astype("float32")
    shifted = targets + 0.2  # 0.1 in [0, 1]: MSE 0.01, PSNR = 10 log10(1 / 0.01) = 20 dB
    found = paired.psnr_ssim(shifted, targets)
    assert found["psnr"] == pytest.approx(20.0, abs=1e-3) and found["psnr_exact"] == 0
    assert found["ssim"] < 1.0
    same = paired.psnr_ssim(targets, targets)
    assert same["psnr_exact"] == 4 and same["psnr"] == float("inf") and same["ssim"] == pytest.approx(1.0)
    with pytest.raises(ValueError, match="equal NHWC batches"):
        paired.psnr_ssim(targets[:2], targets)


def test_bicubic_keeps_a_flat_image_and_enlarges():
    flat = np.full((2, 4, 4, 1), 0.25, np.float32)
    np.testing.assert_allclose(paired.bicubic(flat, (8, 8)), np.full((2, 8, 8, 1), 0.25), atol=1e-6)


def test_scores_of_digits_x2_outputs_against_targets_by_both_judges():
    inputs, targets, labels = pairs.load_pair_arrays("digits_x2", "test", limit=100)
    judges = extractors.get_judges(pairs.DOMAIN["digits_x2"])
    baseline = paired.bicubic(inputs, (8, 8))
    perfect = paired.score_pairs(targets, targets, labels=labels, judges=judges, baseline=baseline)
    assert perfect["psnr_exact"] == 100 and perfect["n"] == 100
    for judge in ("cnn", "resnet"):
        assert perfect[f"fid_{judge}"] == pytest.approx(0.0, abs=1e-6)
        assert perfect[f"label_accuracy_{judge}"] > 0.9  # the shipped digits judges on real test digits
        assert perfect[f"fid_{judge}_baseline"] > perfect[f"fid_{judge}"]  # bicubic blurs
    assert 10 < perfect["psnr_baseline"] < 40 and perfect["ssim_baseline"] < 1.0
    assert data.info("digits_x2").kind == "pairs"
