"""SavedModel and TFLite files of a generator, each checked against the Keras outputs.

TensorFlow only: `export_generator` calls this in its own process under the
TensorFlow backend, and through `ganzoo.export._worker` otherwise.

Every file has one signature, `serve`: input `z` (float32, `[batch, latent_dim]`,
any batch size), for a two-input generator also an int32 `[batch]` input
(`labels`, or `generator` for a MAD-GAN mixture: `ganzoo.export.conditional`),
and output `images`. The TFLite files keep that interface, the int8 one
included (it quantizes `z` and dequantizes the images inside; the labels stay
int32), so one runtime serves them all. A two-input TFLite file also carries
its condition (name, number of values) as TFLite metadata, which
`ganzoo.runtime` reads to check labels and cycle through them.

An image-in generator (`ganzoo.export.image_in`) has one input, `images`
(float32 `[batch, height, width, channels]`, height and width `None` for a
fully convolutional one): its parity inputs and int8 calibration samples are
real images, given by the caller, and its TFLite files run through
`ganzoo.runtime.TFLiteTranslator`. A scorer (`ganzoo.export.scorer`: images to one
anomaly score each) is an image-in model whose output is `scores` (float32 `[batch]`);
its files are `scorer*.tflite` and run through `ganzoo.runtime.TFLiteScorer`.
"""

import json
import os
import shutil
import tempfile

import keras
import numpy as np
import tensorflow as tf

from ganzoo.export.errors import ExportError, one_line
from ganzoo.labels import cycled
from ganzoo.models import sampling
from ganzoo.runtime import CONDITION_METADATA, SCORES, TFLiteGenerator, TFLiteScorer, TFLiteTranslator

SIGNATURE = "serve"
INPUT_NAME = "z"
OUTPUT_NAME = "images"

SAVED_MODEL_DIR = "saved_model"
TFLITE_FILES = {
    "tflite": "generator.tflite",
    "tflite_fp16": "generator_fp16.tflite",
    "tflite_dynamic": "generator_dynamic.tflite",
    "tflite_int8": "generator_int8.tflite",
}
QUANTIZATION = {
    "saved_model": "none",
    "tflite": "none",
    "tflite_fp16": "float16 weights, float32 compute",
    "tflite_dynamic": "int8 weights (dynamic range), float32 activations",
    "tflite_int8": "int8 weights and activations, float32 input and output",
}
# Formats that must match the Keras generator to the tolerance; the rest only record their error.
GATED_FORMATS = ("saved_model", "tflite")
# A uint8 export may differ by one level where x * 127.5 + 127.5 sits within rounding of .5.
UINT8_TOLERANCE = 1


def write_artifacts(
    generator,
    directory,
    *,
    formats,
    latents,
    reference,
    uint8_output,
    tolerance,
    representative_latents,
    seed,
    batch_sizes,
    labels=None,
    condition=None,
    output_offset=0.0,
    input_spec=None,
    calibration=None,
):
    """Writes the `formats` of `generator` into `directory`, checking each one.

    Each file is run on `latents` (and `labels`) in batches of each of
    `batch_sizes` and compared with `reference`, the Keras generator's
    outputs on them (computed by the caller, on its backend). SavedModel and
    fp32 TFLite must agree to `tolerance` (one uint8 level with
    `uint8_output`) at every batch size; the quantized files only record
    their errors.

    Args:
        generator: The Keras generator, under the TensorFlow backend.
        directory: An existing, empty staging directory.
        formats: Names from `QUANTIZATION`.
        latents: The parity inputs: float32 latents `(n, latent_dim)`, or
            images `(n, height, width, channels)` for an image-in generator.
        reference: float32 Keras outputs on `latents`.
        uint8_output: Export `round((x + 1) * 127.5)` clipped to [0, 255] as uint8.
        tolerance: Largest max-abs difference the gated formats may show.
        representative_latents: Calibration latents for full-integer int8.
        seed: The parity seed; calibration latents use `seed + 1`, so they
            never include the parity latents.
        batch_sizes: Batch sizes each file is run at (every one over all
            the latents).
        labels: int32 array `(n,)` for a two-input generator, else None.
        condition: `ganzoo.export.conditional`'s description of the second
            input, or None.
        output_offset: Added to the exported outputs; tests use it to make an
            export that disagrees with its generator. Keep 0.
        input_spec: `{"name", "shape"}` of the first input; None for latents
            (`z`, `[None, latent_dim]`).
        calibration: float32 real inputs that calibrate the int8 file of an
            image-in generator (then `representative_latents` is unused).

    Returns:
        `{format: {"path", "size_bytes", "quantization", "parity": {...}}}`.

    Raises:
        ExportError: if a conversion fails, a gated format disagrees with the
            Keras outputs, or an export yields non-finite values.
    """
    input_spec = input_spec or {"name": INPUT_NAME, "shape": [None, int(latents.shape[1])]}
    output_name = input_spec.get("output", OUTPUT_NAME)
    runtime = (TFLiteScorer if output_name == SCORES else
               TFLiteGenerator if input_spec["name"] == INPUT_NAME else TFLiteTranslator)
    files = tflite_files(output_name)
    expected = uint8_pixels(reference) if uint8_output else reference
    limit = UINT8_TOLERANCE if uint8_output else tolerance
    scratch = None if "saved_model" in formats else tempfile.mkdtemp(prefix="ganzoo-savedmodel-")
    saved_model = os.path.join(scratch or directory, SAVED_MODEL_DIR)
    results = {}

    def check(fmt, path, run):
        outputs = [_in_batches(run, latents, labels, size) for size in batch_sizes]
        results[fmt] = _record(fmt, path, outputs, batch_sizes, expected, limit)

    try:
        _write_saved_model(
            generator, saved_model, input_spec=input_spec, condition=condition,
            uint8_output=uint8_output, output_offset=output_offset,
        )
        if "saved_model" in formats:
            check("saved_model", saved_model,
                  _saved_model_runner(saved_model, input_spec["name"], condition, output_name))
        for fmt in (f for f in files if f in formats):
            path = os.path.join(directory, files[fmt])
            with open(path, "wb") as file:
                file.write(
                    _tflite_bytes(
                        saved_model, fmt, input_spec=input_spec, condition=condition,
                        representative_latents=representative_latents, seed=seed, calibration=calibration,
                    )
                )
            check(fmt, path, runtime(path))
    finally:
        if scratch:
            shutil.rmtree(scratch, ignore_errors=True)
    return results


def tflite_files(output_name=OUTPUT_NAME):
    """`{format: file name}`: ``generator*.tflite``, or ``scorer*.tflite`` for a scorer's `scores` output."""
    stem = "scorer" if output_name == SCORES else "generator"
    return {fmt: name.replace("generator", stem, 1) for fmt, name in TFLITE_FILES.items()}


def uint8_pixels(images):
    """`round((x + 1) * 127.5)` clipped to [0, 255], as uint8 (NumPy)."""
    images = np.asarray(images, dtype=np.float32)
    return np.clip(np.round(images * 127.5 + 127.5), 0, 255).astype(np.uint8)


def _in_batches(run, latents, labels, batch_size):
    """`run(z)` or `run(z, labels)` over all latents, `batch_size` at a time."""
    chunks = []
    for i in range(0, len(latents), batch_size):
        inputs = (latents[i : i + batch_size],)
        if labels is not None:
            inputs += (labels[i : i + batch_size],)
        chunks.append(np.asarray(run(*inputs)))
    return np.concatenate(chunks)


def _write_saved_model(generator, path, *, input_spec, condition, uint8_output, output_offset):
    def serve(*inputs):
        images = tf.cast(generator(inputs[0] if len(inputs) == 1 else list(inputs), training=False),
                         tf.float32)
        if output_offset:
            images = images + output_offset
        if uint8_output:
            # x * 127.5 + 127.5, not (x + 1) * 127.5: in full-integer int8 the
            # converter gives the ADD before a MUL the MUL's scale (1.0), which
            # leaves (x + 1) three levels and the images garbage.
            pixels = tf.clip_by_value(tf.round(images * 127.5 + 127.5), 0.0, 255.0)
            images = tf.cast(pixels, tf.uint8)
        return {input_spec.get("output", OUTPUT_NAME): images}

    # The signature's input names are the TensorSpecs' names.
    specs = [tf.TensorSpec(input_spec["shape"], tf.float32, name=input_spec["name"])]
    if condition is not None:
        specs.append(tf.TensorSpec([None], tf.int32, name=condition["name"]))
    archive = keras.export.ExportArchive()
    archive.track(generator)
    archive.add_endpoint(SIGNATURE, serve, input_signature=specs)
    try:
        archive.write_out(path, verbose=False)
    except Exception as e:  # noqa: BLE001 - any failure is a one-line export error
        raise ExportError(f"Writing the SavedModel failed: {one_line(e)}") from None


def _saved_model_runner(path, input_name, condition, output_name=OUTPUT_NAME):
    """`run(z[, labels])` (or `run(images)`) of the SavedModel's signature, by input and output name."""
    serve = tf.saved_model.load(path).signatures[SIGNATURE]

    def run(z, labels=None):
        feeds = {input_name: tf.constant(z)}
        if labels is not None:
            feeds[condition["name"]] = tf.constant(labels, tf.int32)
        return serve(**feeds)[output_name].numpy()

    return run


def _calibration(input_spec, condition, count, seed, real=None):
    """Signature-keyed calibration samples: `(SIGNATURE, {input name: one-sample batch})`."""
    if real is not None:  # an image-in generator: its real inputs
        for image in real:
            yield SIGNATURE, {input_spec["name"]: image[None]}
        return
    latents = sampling.latents(count, input_spec["shape"][1], seed=seed)
    labels = None if condition is None else cycled(count, condition["num_values"])
    for i, z in enumerate(latents):
        feeds = {INPUT_NAME: z[None]}
        if labels is not None:
            feeds[condition["name"]] = labels[i : i + 1]
        yield SIGNATURE, feeds


def _tflite_bytes(saved_model, fmt, *, input_spec, condition, representative_latents, seed, calibration):
    converter = tf.lite.TFLiteConverter.from_saved_model(saved_model, signature_keys=[SIGNATURE])
    if fmt != "tflite":
        converter.optimizations = [tf.lite.Optimize.DEFAULT]
    if fmt == "tflite_fp16":
        converter.target_spec.supported_types = [tf.float16]
    if fmt == "tflite_int8":
        converter.representative_dataset = lambda: _calibration(
            input_spec, condition, representative_latents, seed + 1, calibration
        )
        converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
        # One scale per dense layer, not per output unit: a latent projection has few
        # inputs and thousands of outputs, and per-unit scales, zero points and int32
        # biases cost more bytes than its int8 weights. Convolutions stay per-channel.
        converter._experimental_disable_per_channel_quantization_for_dense_layers = True
    try:
        model = converter.convert()
    except Exception as e:  # noqa: BLE001 - converter errors are long MLIR dumps
        raise ExportError(f"TFLite conversion to {fmt} failed: {one_line(e)[:400]}") from None
    return model if condition is None else _with_metadata(model, CONDITION_METADATA, condition)


def _with_metadata(model, name, facts):
    """The TFLite flatbuffer `model` with a metadata entry `name` holding `facts` as JSON."""
    # The converter adds its own metadata entry the same way (tensorflow/lite/python/util.py).
    # pylint: disable-next=import-outside-toplevel
    from tensorflow.lite.python import schema_py_generated as schema
    from tensorflow.lite.tools import flatbuffer_utils  # pylint: disable=import-outside-toplevel

    flatbuffer = flatbuffer_utils.convert_bytearray_to_object(bytearray(model))
    buffer = schema.BufferT()
    buffer.data = np.frombuffer(json.dumps(facts).encode("utf-8"), dtype=np.uint8)
    flatbuffer.buffers.append(buffer)
    entry = schema.MetadataT()
    entry.name = name
    entry.buffer = len(flatbuffer.buffers) - 1
    flatbuffer.metadata = [*(flatbuffer.metadata or []), entry]
    return bytes(flatbuffer_utils.convert_object_to_bytearray(flatbuffer))


def _record(fmt, path, outputs, batch_sizes, expected, limit):
    """Facts of one file from its outputs at each batch size; refuses a gated one out of `limit`."""
    for outputs_at_size in outputs:
        if outputs_at_size.shape != expected.shape:
            raise ExportError(
                f"The {fmt} export returns shape {outputs_at_size.shape} where the Keras generator "
                f"returns {expected.shape}; nothing was written."
            )
        if not np.all(np.isfinite(outputs_at_size)):
            raise ExportError(f"The {fmt} export returns non-finite values; nothing was written.")
    errors = [np.abs(o.astype(np.float64) - expected.astype(np.float64)) for o in outputs]
    max_abs = float(max(error.max() for error in errors))
    mean_abs = float(np.mean([error.mean() for error in errors]))
    gated = fmt in GATED_FORMATS
    if gated and max_abs > limit:
        worst = max(range(len(errors)), key=lambda i: errors[i].max())
        raise ExportError(
            f"The {fmt} export's outputs on {len(expected)} fixed inputs in batches of "
            f"{batch_sizes[worst]} have max abs difference {max_abs:.3g} > tolerance {limit:g} "
            "from the Keras generator's; the export disagrees with the Keras model, nothing was "
            "written."
        )
    return {
        "path": os.path.basename(path),
        "size_bytes": _size(path),
        "quantization": QUANTIZATION[fmt],
        "parity": {"max_abs_error": max_abs, "mean_abs_error": mean_abs, "gated": gated},
    }


def _size(path):
    if os.path.isfile(path):
        return os.path.getsize(path)
    return sum(
        os.path.getsize(os.path.join(folder, name))
        for folder, _, names in os.walk(path)
        for name in names
    )
