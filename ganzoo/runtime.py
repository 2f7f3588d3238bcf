"""Run an exported `.tflite` generator with NumPy and ai-edge-litert only.

This module imports neither TensorFlow nor Keras (nor any ganzoo module that
does), so it runs on a device that has only `numpy` and `ai-edge-litert`:

```python
from ganzoo.runtime import TFLiteGenerator

generator = TFLiteGenerator("exported/dcgan_digits/generator.tflite")
images = generator.generate(16, seed=0)   # the same latents as GAN.generate(16, seed=0)
```

Keep it that way: it is tested in a process where `import tensorflow` and
`import keras` fail.
"""

import numpy as np
from ai_edge_litert.interpreter import Interpreter


class TFLiteGenerator:
    """A generator exported by `ganzoo.export.export_generator`, run with LiteRT.

    The model's batch dimension is dynamic: the input is resized to each
    batch's size, and the tensors are reallocated only when that size changes.
    Quantized (int8/uint8) inputs and outputs are converted with the tensors'
    quantization parameters; a uint8 output without them (an export made with
    `uint8_output=True`) is returned as uint8 pixels.

    Args:
        path: Path of the `.tflite` file.
        num_threads: Threads for the interpreter; None lets LiteRT choose.
    """

    def __init__(self, path, *, num_threads=None):
        self.path = str(path)
        try:
            self._interpreter = Interpreter(model_path=self.path, num_threads=num_threads)
        except (ValueError, RuntimeError) as error:
            reason = (str(error).strip().splitlines() or [type(error).__name__])[0]
            raise ValueError(
                f"cannot load {self.path!r} as a TFLite model ({reason}); give a .tflite file "
                "written by `ganzoo export`."
            ) from None
        inputs = self._interpreter.get_input_details()
        outputs = self._interpreter.get_output_details()
        if len(inputs) != 1 or len(outputs) != 1:
            raise ValueError(
                f"{self.path!r} has {len(inputs)} inputs and {len(outputs)} outputs; "
                "a generator has one latent input and one output."
            )
        self._input, self._output = inputs[0], outputs[0]
        signature = self._input["shape_signature"]
        if len(signature) != 2:
            raise ValueError(
                f"{self.path!r} takes inputs of shape {list(signature)}; a generator "
                "takes latents of shape [batch, latent_dim]."
            )
        self._latent_dim = int(signature[1])
        self._output_shape = tuple(int(d) for d in self._output["shape_signature"][1:])
        self._batch_size = None

    @property
    def latent_dim(self):
        """Size of one latent vector."""
        return self._latent_dim

    @property
    def output_shape(self):
        """Shape of one generated sample, without the batch dimension."""
        return self._output_shape

    @property
    def output_dtype(self):
        """NumPy dtype of the returned samples: float32, or uint8 for a uint8 export."""
        if _quantization(self._output) is not None:
            return np.dtype(np.float32)
        return np.dtype(self._output["dtype"])

    def latents(self, n, seed=None):
        """The `n` standard normal latents `ganzoo.models.sampling.latents` draws for `seed`."""
        return np.random.default_rng(seed).standard_normal((n, self._latent_dim), dtype=np.float32)

    def generate(self, n, seed=None, batch_size=64):
        """Generates `n` samples from seeded latents, `batch_size` at a time.

        Args:
            n: Number of samples (>= 1).
            seed: Integer seed of the latents; the same seed gives the same
                latents as `GAN.generate` and `ganzoo.models.sampling.latents`.
            batch_size: Latents per interpreter call (>= 1).

        Returns:
            A NumPy array of shape `(n,) + output_shape`.
        """
        _check_count("n", n)
        _check_count("batch_size", batch_size)
        z = self.latents(n, seed)
        return np.concatenate([self(z[i : i + batch_size]) for i in range(0, n, batch_size)])

    def __call__(self, z):
        """Runs the generator on a batch of latents of shape `(batch, latent_dim)`."""
        z = np.asarray(z, dtype=np.float32)
        if z.ndim != 2 or z.shape[1] != self._latent_dim or z.shape[0] < 1:
            raise ValueError(
                f"Expected latents of shape (batch, {self._latent_dim}) with batch >= 1, "
                f"got {z.shape}."
            )
        self._resize(z.shape[0])
        self._interpreter.set_tensor(self._input["index"], _to_input(z, self._input))
        self._interpreter.invoke()
        return _from_output(self._interpreter.get_tensor(self._output["index"]), self._output)

    def _resize(self, batch_size):
        if batch_size == self._batch_size:
            return
        self._interpreter.resize_tensor_input(
            self._input["index"], [batch_size, self._latent_dim], strict=True
        )
        self._interpreter.allocate_tensors()
        self._batch_size = batch_size


def _quantization(details):
    """(scale, zero_point) of a quantized integer tensor, else None."""
    scale, zero_point = details["quantization"]
    if scale == 0 or not np.issubdtype(details["dtype"], np.integer):
        return None
    return scale, zero_point


def _to_input(z, details):
    quantization = _quantization(details)
    if quantization is None:
        return z.astype(details["dtype"])
    scale, zero_point = quantization
    limits = np.iinfo(details["dtype"])
    quantized = np.clip(np.round(z / scale + zero_point), limits.min, limits.max)
    return quantized.astype(details["dtype"])


def _from_output(y, details):
    quantization = _quantization(details)
    if quantization is None:
        return y
    scale, zero_point = quantization
    return ((y.astype(np.float32) - zero_point) * scale).astype(np.float32)


def _check_count(name, value):
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(f"`{name}` must be an integer >= 1, got {value!r}.")
