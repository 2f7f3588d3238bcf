"""Shared by the export tests: generators that look trained, and a process without TF or Keras.

`ganzoo.runtime` must work on a device with only NumPy and ai-edge-litert; the
export tests run it behind an import hook that makes `import tensorflow` and
`import keras` fail, to prove it.
"""

import subprocess
import sys
import textwrap

import keras
import numpy as np

from ganzoo.models import ema

BLOCK = textwrap.dedent(
    """
    import importlib.abc, sys

    class Block(importlib.abc.MetaPathFinder):
        def find_spec(self, name, path=None, target=None):
            if name.split(".")[0] in ("tensorflow", "keras", "tf_keras"):
                raise ImportError(f"{name} is blocked in this test")
            return None

    sys.meta_path.insert(0, Block())
    """
)


def run_without_tensorflow_and_keras(script, *args):
    """`python -c BLOCK + script ARGS...`; returns the `subprocess.CompletedProcess`.

    The script should end by printing, as its last line, whether it loaded
    TensorFlow or Keras after all (`[m for m in ("tensorflow", "keras") if m in sys.modules]`).
    """
    return subprocess.run(
        [sys.executable, "-c", BLOCK + textwrap.dedent(script), *map(str, args)],
        capture_output=True, text=True, check=False,
    )


def look_trained(generator, output_layer, *, seed=1):
    """Gives an untrained generator what a trained one has, so that exports compare real images.

    Spread batch-norm statistics (nested models included) and an output layer
    whose kernel is 30 times larger, which spreads the images over [-1, 1].
    """
    rng = np.random.default_rng(seed)
    for layer in ema.batch_norms(generator):
        units = layer.moving_mean.shape[0]
        layer.moving_mean.assign(rng.normal(0.0, 0.1, units).astype("float32"))
        layer.moving_variance.assign(rng.uniform(0.5, 2.0, units).astype("float32"))
    output_layer.kernel.assign(keras.ops.convert_to_numpy(output_layer.kernel) * 30.0)
    return rng
