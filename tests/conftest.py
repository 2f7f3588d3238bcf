import atexit
import os
import shutil
import sys
import tempfile

import pytest

# conformance.py is a shared module of the test suite, imported by the model tests.
sys.path.insert(0, os.path.dirname(__file__))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

# JAX recompiles the same tiny networks' train steps in many tests (Keras makes new jitted
# functions per model), and most of the JAX suite's time is XLA compilation. A persistent
# compilation cache, fresh for each pytest session and inherited by the CLI subprocesses, makes
# identical programs compile once: tests/test_dcgan.py + test_stability.py ran in 117 s instead
# of 166 s. Set here, before anything imports jax.
if os.environ.get("KERAS_BACKEND") == "jax" and "JAX_COMPILATION_CACHE_DIR" not in os.environ:
    _cache = tempfile.mkdtemp(prefix="ganzoo-test-jax-cache-")
    atexit.register(shutil.rmtree, _cache, ignore_errors=True)
    os.environ["JAX_COMPILATION_CACHE_DIR"] = _cache
    os.environ.setdefault("JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS", "0.1")


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
