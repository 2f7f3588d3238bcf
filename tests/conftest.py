import os
import sys

import pytest

# conformance.py is a shared module of the test suite, imported by the model tests.
sys.path.insert(0, os.path.dirname(__file__))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


@pytest.fixture(scope="session")
def train_tiny_run(tmp_path_factory):
    """Returns `train(config) -> run dir`: `ganzoo train CONFIG` for 1 epoch of 2 steps, in-process."""

    def train(config):
        from ganzoo import cli

        out = str(tmp_path_factory.mktemp("run") / config)
        assert cli.main(["train", config, "--epochs", "1", "--steps-per-epoch", "2", "--out", out,
                         "--quiet"]) == 0
        return out

    return train
