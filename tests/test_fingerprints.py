"""Every shipped zoo entry still draws what its card was scored on, on this backend.

The card's metrics come from 10 000 samples (re-scored by ``make bench``); this
test checks the entry's cheap fingerprint instead: 16 fixed-seed samples and
both judges' log-probabilities on them (`ganzoo.export.fingerprint`).
"""

import os

import numpy as np
import pytest

import ganzoo
from ganzoo import presets
from ganzoo.export import fingerprint

EXPORTED = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "exported")
ENTRIES = sorted(name for name in os.listdir(EXPORTED)
                 if os.path.isfile(os.path.join(EXPORTED, name, "MODEL_CARD.md")))


@pytest.mark.parametrize("name", ENTRIES)
def test_shipped_entry_matches_its_fingerprint(name):
    folder = os.path.join(EXPORTED, name)
    metadata = presets.read_metadata(folder)
    recorded = metadata.get("fingerprint")
    assert recorded, f"exported/{name} has no fingerprint; run benchmarks/rescore_entries.py --write"
    assert set(recorded["judges"]) == {"cnn", "resnet"}
    gan = ganzoo.from_preset(folder)
    assert fingerprint.check_fingerprint(gan, metadata["dataset"], recorded) == []


def test_a_changed_weight_or_judge_moves_the_fingerprint():
    folder = os.path.join(EXPORTED, "dcgan_digits")
    metadata = presets.read_metadata(folder)
    recorded = metadata["fingerprint"]
    gan = ganzoo.from_preset(folder)
    layer = next(layer for layer in gan.sampling_generator.layers if layer.weights)
    kernel = layer.weights[0]
    kernel.assign(np.asarray(kernel.numpy() if hasattr(kernel, "numpy") else kernel) * 1.01)
    problems = fingerprint.check_fingerprint(gan, metadata["dataset"], recorded)
    assert any(p.startswith("sample_means") for p in problems), problems

    gan = ganzoo.from_preset(folder)
    moved = dict(recorded, judges=dict(recorded["judges"]))
    moved["judges"]["resnet"] = (np.asarray(recorded["judges"]["resnet"]) + 0.1).tolist()
    problems = fingerprint.check_fingerprint(gan, metadata["dataset"], moved)
    assert problems == ["judge resnet's log-probabilities differ by 0.1 (tolerance 0.02)"]
