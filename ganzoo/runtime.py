"""Run an exported `.tflite` generator with NumPy and ai-edge-litert only.

This module imports neither TensorFlow nor Keras (nor any ganzoo module that
does), so it runs on a device that has only `numpy` and `ai-edge-litert`:

```python
from ganzoo.runtime import TFLiteGenerator

generator = TFLiteGenerator("exported/dcgan_digits/generator.tflite")
images = generator.generate(16, seed=0)   # the same latents as GAN.generate(16, seed=0)

conditional = TFLiteGenerator("exported/cgan_fashion_mnist/generator_int8.tflite")
shoes = conditional.generate(16, labels=7, seed=0)   # as GAN.generate(16, labels=7, seed=0)

from ganzoo.runtime import TFLiteTranslator           # image-in: pix2pix, SRResNet/SRGAN

sr = TFLiteTranslator("exported/srresnet_fashion_mnist_x4/generator.tflite")
large = sr.upscale(small)   # NHWC in [-1, 1], any height and width: the file is resized per call

from ganzoo.runtime import TFLiteScorer               # anomaly scorers (GANomaly, f-AnoGAN)

scorer = TFLiteScorer("exported/ganomaly_fashion_mnist_sneaker/scorer/scorer.tflite")
scores, flags = scorer.score(images), scorer.flag(images)   # the threshold saved with the export
```

Files are run through their `serve` signature, by input and output name
(`z`, `labels` or `generator`, or `images`; output `images`), never by tensor order.

Keep it that way: it is tested in a process where `import tensorflow` and
`import keras` fail.
"""

import json
import os

import numpy as np
from ai_edge_litert import schema_py_generated as schema
from ai_edge_litert.interpreter import Interpreter

from ganzoo.labels import check_labels

SIGNATURE = "serve"
LATENT_INPUT = "z"
IMAGE_INPUT = "images"
OUTPUT = "images"
SCORES = "scores"  # a scorer's output: one anomaly score per image
# TFLite metadata entry of a two-input file: JSON {"name", "num_values", ...} of its integer input.
CONDITION_METADATA = "ganzoo_condition"


class TFLiteGenerator:
    """A generator exported by `ganzoo.export.export_generator`, run with LiteRT.

    The file is run through its `serve` signature runner, by input name: `z`
    (float32 latents) and, for a conditional or MAD-GAN export, an int32
    input (`labels`, or `generator`: which generator of the mixture draws
    each sample) whose number of values the file records in its metadata.
    The batch dimension is dynamic: each call's inputs set it. Quantized
    (int8/uint8) inputs and outputs are converted with the tensors'
    quantization parameters; a uint8 output without them (an export made
    with `uint8_output=True`) is returned as uint8 pixels.

    Args:
        path: Path of the `.tflite` file.
        num_threads: Threads for the interpreter; None lets LiteRT choose.
    """

    def __init__(self, path, *, num_threads=None):
        self.path = str(path)
        content, self._runner = _open(self.path, num_threads)
        inputs = self._runner.get_input_details()
        outputs = self._runner.get_output_details()
        others = sorted(set(inputs) - {LATENT_INPUT})
        if LATENT_INPUT not in inputs or len(others) > 1 or list(outputs) != [OUTPUT]:
            raise ValueError(
                f"{self.path!r}'s {SIGNATURE!r} signature maps {sorted(inputs)} to {sorted(outputs)}; "
                f"a generator maps {LATENT_INPUT!r} (and one integer input) to {OUTPUT!r}."
            )
        self._input, self._output = inputs[LATENT_INPUT], outputs[OUTPUT]
        signature = self._input["shape_signature"]
        if len(signature) != 2:
            raise ValueError(
                f"{self.path!r} takes inputs of shape {list(signature)}; a generator "
                "takes latents of shape [batch, latent_dim]."
            )
        self._latent_dim = int(signature[1])
        self._output_shape = tuple(int(d) for d in self._output["shape_signature"][1:])
        self._condition = _condition(self.path, content, others[0], inputs[others[0]]) if others else None

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

    @property
    def label_input(self):
        """Name of the integer input (`labels`, or `generator` for a MAD-GAN export), or None."""
        return None if self._condition is None else self._condition["name"]

    @property
    def num_labels(self):
        """Values the integer input takes (classes, or generators of a mixture), or None."""
        return None if self._condition is None else self._condition["num_values"]

    def latents(self, n, seed=None):
        """The `n` standard normal latents `ganzoo.models.sampling.latents` draws for `seed`."""
        return np.random.default_rng(seed).standard_normal((n, self._latent_dim), dtype=np.float32)

    def generate(self, n, seed=None, batch_size=64, *, labels=None):
        """Generates `n` samples from seeded latents, `batch_size` at a time.

        Args:
            n: Number of samples (>= 1).
            seed: Integer seed of the latents; the same seed gives the same
                latents as `GAN.generate` and `ganzoo.models.sampling.latents`.
            batch_size: Latents per interpreter call (>= 1).
            labels: Two-input files only: one label for all samples, one per
                sample, or None to cycle through them (0, 1, ..., 0, ...), as
                `GAN.generate` does. For a MAD-GAN export a label is the index
                of the generator that draws the sample.

        Returns:
            A NumPy array of shape `(n,) + output_shape`.

        Raises:
            ValueError: for a bad count, or labels out of range, of the wrong
                number, or given to a file without a label input.
        """
        _check_count("n", n)
        _check_count("batch_size", batch_size)
        labels = self._labels(labels, n)
        z = self.latents(n, seed)
        return np.concatenate([
            self(z[i : i + batch_size], None if labels is None else labels[i : i + batch_size])
            for i in range(0, n, batch_size)
        ])

    def __call__(self, z, labels=None):
        """Runs the generator on latents of shape `(batch, latent_dim)` (and their labels)."""
        z = np.asarray(z, dtype=np.float32)
        if z.ndim != 2 or z.shape[1] != self._latent_dim or z.shape[0] < 1:
            raise ValueError(
                f"Expected latents of shape (batch, {self._latent_dim}) with batch >= 1, "
                f"got {z.shape}."
            )
        feeds = {LATENT_INPUT: _to_input(z, self._input)}
        labels = self._labels(labels, z.shape[0])
        if labels is not None:
            feeds[self._condition["name"]] = _to_input(labels, self._condition["details"])
        return _from_output(self._runner(**feeds)[OUTPUT], self._output)

    def _labels(self, labels, n):
        if self._condition is None:
            return check_labels(labels, n, None)
        return check_labels(labels, n, self._condition["num_values"], counted=self._condition["counted"])


class TFLiteTranslator:
    """An image-in generator (pix2pix, SRResNet/SRGAN) exported by `ganzoo export`, run with LiteRT.

    The file's `serve` signature maps `images` (float32 NHWC in [-1, 1]) to
    `images`. A super-resolution export takes any height and width (`None`
    in `input_shape`): each call resizes the interpreter to its inputs, as it
    does for the batch dimension. Quantized inputs and outputs are converted
    as in `TFLiteGenerator`.

    Args:
        path: Path of the `.tflite` file.
        num_threads: Threads for the interpreter; None lets LiteRT choose.
    """

    def __init__(self, path, *, num_threads=None):
        self.path = str(path)
        _, self._runner = _open(self.path, num_threads)
        inputs, outputs = self._runner.get_input_details(), self._runner.get_output_details()
        if (list(inputs) != [IMAGE_INPUT] or list(outputs) != [OUTPUT]
                or len(inputs[IMAGE_INPUT]["shape_signature"]) != 4):
            raise ValueError(
                f"{self.path!r}'s {SIGNATURE!r} signature maps {sorted(inputs)} to {sorted(outputs)}; an "
                f"image-in generator maps {IMAGE_INPUT!r} [batch, height, width, channels] to {OUTPUT!r}."
            )
        self._input, self._output = inputs[IMAGE_INPUT], outputs[OUTPUT]

    @property
    def input_shape(self):
        """Shape of one input image, `None` where any size is accepted."""
        return tuple(None if d < 0 else int(d) for d in self._input["shape_signature"][1:])

    @property
    def output_shape(self):
        """Shape of one output image, `None` where it follows the input's size."""
        return tuple(None if d < 0 else int(d) for d in self._output["shape_signature"][1:])

    def __call__(self, images):
        """Runs the file on one batch of images `(batch,) + input_shape`."""
        images = np.asarray(images, dtype=np.float32)
        expected = self.input_shape
        if images.ndim != 4 or images.shape[0] < 1 or any(
                e is not None and e != g for e, g in zip(expected, images.shape[1:])):
            shown = tuple("any" if e is None else e for e in expected)
            raise ValueError(f"Expected images of shape (batch,) + {shown} with batch >= 1, got {images.shape}.")
        return _from_output(self._runner(**{IMAGE_INPUT: _to_input(images, self._input)})[OUTPUT], self._output)

    def translate(self, images, batch_size=64):
        """Maps images `(n,) + input_shape` to output images, `batch_size` at a time."""
        return _in_batches(self, images, batch_size)

    def upscale(self, images, batch_size=64):
        """`translate` for super-resolution files: images of any size -> larger images."""
        return self.translate(images, batch_size=batch_size)


class TFLiteScorer:
    """An anomaly scorer exported by `ganzoo.export.export_scorer`, run with LiteRT.

    The file's `serve` signature maps `images` (float32 NHWC in [-1, 1], the
    training images' shape) to `scores` (float32, one per image, higher =
    more anomalous). The threshold saved beside the file (the export's
    ``metadata.json``, key ``threshold``) is read when present, so `flag` works
    as the Keras model's does.

    Args:
        path: Path of the `.tflite` file.
        threshold: Flagging threshold; None reads the export's ``metadata.json``.
        num_threads: Threads for the interpreter; None lets LiteRT choose.
    """

    def __init__(self, path, *, threshold=None, num_threads=None):
        self.path = str(path)
        _, self._runner = _open(self.path, num_threads)
        inputs, outputs = self._runner.get_input_details(), self._runner.get_output_details()
        if list(inputs) != [IMAGE_INPUT] or list(outputs) != [SCORES]:
            raise ValueError(f"{self.path!r}'s {SIGNATURE!r} signature maps {sorted(inputs)} to {sorted(outputs)}; "
                             f"a scorer maps {IMAGE_INPUT!r} to {SCORES!r} (give a scorer*.tflite file).")
        self._input, self._output = inputs[IMAGE_INPUT], outputs[SCORES]
        if threshold is None:
            threshold = _saved_threshold(self.path)
        self.threshold = None if threshold is None else float(threshold)

    @property
    def input_shape(self):
        """Shape of one input image."""
        return tuple(int(d) for d in self._input["shape_signature"][1:])

    def __call__(self, images):
        """Scores one batch of images `(batch,) + input_shape`."""
        images = np.asarray(images, dtype=np.float32)
        if images.ndim != 4 or images.shape[0] < 1 or images.shape[1:] != self.input_shape:
            raise ValueError(f"this scorer takes images of shape (batch,) + {self.input_shape} with batch >= 1, "
                             f"got {images.shape}; resize or convert them to that shape first.")
        return _from_output(self._runner(**{IMAGE_INPUT: _to_input(images, self._input)})[SCORES], self._output)

    def score(self, images, batch_size=64):
        """Anomaly scores of images `(n,) + input_shape`, `batch_size` at a time."""
        return _in_batches(self, images, batch_size)

    def flag(self, images, batch_size=64):
        """Whether each image scores above the threshold (a bool array)."""
        if self.threshold is None:
            raise ValueError(f"no threshold for {self.path!r}: its export has none (calibrate the model before "
                             "exporting it) and none was given (TFLiteScorer(path, threshold=...)).")
        return self.score(images, batch_size) > self.threshold


def _in_batches(run, images, batch_size):
    """`run` (one batch of images -> outputs) over images `(n, height, width, channels)`, `batch_size` at a time."""
    _check_count("batch_size", batch_size)
    images = np.asarray(images, dtype=np.float32)
    if images.ndim != 4 or len(images) == 0:
        raise ValueError(f"Expected a non-empty batch of images (n, height, width, channels), got {images.shape}.")
    return np.concatenate([run(images[i : i + batch_size]) for i in range(0, len(images), batch_size)])


def _saved_threshold(path):
    """The ``threshold`` of the ``metadata.json`` beside `path`, or None."""
    metadata = os.path.join(os.path.dirname(os.path.abspath(path)), "metadata.json")
    if not os.path.isfile(metadata):
        return None
    with open(metadata, encoding="utf-8") as f:
        return json.load(f).get("threshold")


def _open(path, num_threads):
    """`(file bytes, serve signature runner)` of a `.tflite` file written by `ganzoo export`."""
    try:
        with open(path, "rb") as file:
            content = file.read()
        interpreter = Interpreter(model_content=content, num_threads=num_threads)
    except (OSError, ValueError, RuntimeError) as error:
        reason = (str(error).strip().splitlines() or [type(error).__name__])[0]
        raise ValueError(
            f"cannot load {path!r} as a TFLite model ({reason}); give a .tflite file "
            "written by `ganzoo export`."
        ) from None
    signatures = interpreter.get_signature_list()
    if SIGNATURE not in signatures:
        raise ValueError(
            f"{path!r} has no {SIGNATURE!r} signature (it has {sorted(signatures)}); "
            "give a .tflite file written by `ganzoo export`."
        )
    return content, interpreter.get_signature_runner(SIGNATURE)


def _condition(path, content, name, details):
    """The integer input `name`'s facts, from the file's `CONDITION_METADATA` entry."""
    model = schema.Model.GetRootAsModel(content, 0)
    for i in range(model.MetadataLength()):
        entry = model.Metadata(i)
        if entry.Name().decode("utf-8") == CONDITION_METADATA:
            facts = json.loads(model.Buffers(entry.Buffer()).DataAsNumpy().tobytes().decode("utf-8"))
            break
    else:
        facts = None
    if facts is None or facts.get("name") != name or not np.issubdtype(details["dtype"], np.integer):
        raise ValueError(
            f"{path!r} takes a second input {name!r} without ganzoo's {CONDITION_METADATA!r} "
            "metadata for it; give a .tflite file written by `ganzoo export`."
        )
    counted = "generators" if name == "generator" else "classes"
    return {"name": name, "num_values": int(facts["num_values"]), "counted": counted,
            "details": details}


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
