import atexit
import os
import shutil
import sys
import tempfile

import pytest

# conformance.py is a shared module of the test suite, imported by the model tests.
sys.path.insert(0, os.path.dirname(__file__))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

# The test process trains as `ganzoo train` does: freed memory stays in the process (set before
# Keras starts its threads; tests/test_memory.py checks the setting itself in fresh processes).
from ganzoo.backend import memory  # noqa: E402  pylint: disable=wrong-import-position

memory.keep_freed_memory()

# Most of the JAX suite's time is XLA compiling tiny networks, so for the tests (not the library:
# `make demo` and the benchmarks keep XLA's defaults), set here before anything imports jax and
# inherited by the CLI subprocesses:
# - a persistent compilation cache, fresh for each pytest session: Keras makes new jitted
#   functions per model, and identical programs then compile once (tests/test_dcgan.py +
#   test_stability.py: 166 s -> 117 s);
# - XLA's CPU backend at optimisation level 0, which halves compile time (a tiny DCGAN's build
#   10 s instead of 20 s, its first fit 3.4 s instead of 5.7 s); the programs mean the same.
if os.environ.get("KERAS_BACKEND") == "jax":
    if "JAX_COMPILATION_CACHE_DIR" not in os.environ:
        _cache = tempfile.mkdtemp(prefix="ganzoo-test-jax-cache-")
        atexit.register(shutil.rmtree, _cache, ignore_errors=True)
        os.environ["JAX_COMPILATION_CACHE_DIR"] = _cache
        os.environ.setdefault("JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS", "0.1")
    if "xla_backend_optimization_level" not in os.environ.get("XLA_FLAGS", ""):
        os.environ["XLA_FLAGS"] = (os.environ.get("XLA_FLAGS", "") + " --xla_backend_optimization_level=0").strip()


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
