"""SavedModel and TFLite files of a generator, each checked against the Keras outputs.

TensorFlow only: `export_generator` calls this in its own process under the
TensorFlow backend, and through `ganzoo.export._worker` otherwise.

Every file has one signature, `serve`: input `z` (float32, `[batch, latent_dim]`,
any batch size) and output `images`. The TFLite files keep that float32
interface, the int8 one included (it quantizes `z` and dequantizes the images
inside), so one runtime serves them all.
"""

import os
import shutil
import tempfile

import keras
import numpy as np
import tensorflow as tf

from ganzoo.export.errors import ExportError, one_line
from ganzoo.models import sampling
from ganzoo.runtime import TFLiteGenerator

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
    output_offset=0.0,
):
    """Writes the `formats` of `generator` into `directory`, checking each one.

    Each file is run on `latents` and compared with `reference`, the Keras
    generator's outputs on them (computed by the caller, on its backend).
    SavedModel and fp32 TFLite must agree to `tolerance` (one uint8 level with
    `uint8_output`); the quantized files only record their errors.

    Args:
        generator: The Keras generator, under the TensorFlow backend.
        directory: An existing, empty staging directory.
        formats: Names from `QUANTIZATION`.
        latents: float32 array `(n, latent_dim)`.
        reference: float32 Keras outputs on `latents`.
        uint8_output: Export `round((x + 1) * 127.5)` clipped to [0, 255] as uint8.
        tolerance: Largest max-abs difference the gated formats may show.
        representative_latents: Calibration latents for full-integer int8.
        seed: The parity seed; calibration latents use `seed + 1`, so they
            never include the parity latents.
        output_offset: Added to the exported outputs; tests use it to make an
            export that disagrees with its generator. Keep 0.

    Returns:
        `{format: {"path", "size_bytes", "quantization", "parity": {...}}}`.

    Raises:
        ExportError: if a conversion fails, a gated format disagrees with the
            Keras outputs, or an export yields non-finite values.
    """
    latent_dim = int(latents.shape[1])
    expected = uint8_pixels(reference) if uint8_output else reference
    limit = UINT8_TOLERANCE if uint8_output else tolerance
    scratch = None if "saved_model" in formats else tempfile.mkdtemp(prefix="ganzoo-savedmodel-")
    saved_model = os.path.join(scratch or directory, SAVED_MODEL_DIR)
    results = {}
    try:
        _write_saved_model(
            generator, saved_model, latent_dim=latent_dim,
            uint8_output=uint8_output, output_offset=output_offset,
        )
        if "saved_model" in formats:
            outputs = _run_saved_model(saved_model, latents)
            results["saved_model"] = _record("saved_model", saved_model, outputs, expected, limit)
        for fmt in (f for f in TFLITE_FILES if f in formats):
            path = os.path.join(directory, TFLITE_FILES[fmt])
            with open(path, "wb") as file:
                file.write(
                    _tflite_bytes(
                        saved_model, fmt, latent_dim=latent_dim,
                        representative_latents=representative_latents, seed=seed,
                    )
                )
            results[fmt] = _record(fmt, path, TFLiteGenerator(path)(latents), expected, limit)
    finally:
        if scratch:
            shutil.rmtree(scratch, ignore_errors=True)
    return results


def uint8_pixels(images):
    """`round((x + 1) * 127.5)` clipped to [0, 255], as uint8 (NumPy)."""
    images = np.asarray(images, dtype=np.float32)
    return np.clip(np.round(images * 127.5 + 127.5), 0, 255).astype(np.uint8)


def _write_saved_model(generator, path, *, latent_dim, uint8_output, output_offset):
    def serve(z):
        images = tf.cast(generator(z, training=False), tf.float32)
        if output_offset:
            images = images + output_offset
        if uint8_output:
            # x * 127.5 + 127.5, not (x + 1) * 127.5: in full-integer int8 the
            # converter gives the ADD before a MUL the MUL's scale (1.0), which
            # leaves (x + 1) three levels and the images garbage.
            pixels = tf.clip_by_value(tf.round(images * 127.5 + 127.5), 0.0, 255.0)
            images = tf.cast(pixels, tf.uint8)
        return {OUTPUT_NAME: images}

    archive = keras.export.ExportArchive()
    archive.track(generator)
    archive.add_endpoint(
        SIGNATURE,
        serve,
        input_signature=[tf.TensorSpec([None, latent_dim], tf.float32, name=INPUT_NAME)],
    )
    try:
        archive.write_out(path, verbose=False)
    except Exception as e:  # noqa: BLE001 - any failure is a one-line export error
        raise ExportError(f"Writing the SavedModel failed: {one_line(e)}") from None


def _run_saved_model(path, latents):
    serve = tf.saved_model.load(path).signatures[SIGNATURE]
    return serve(**{INPUT_NAME: tf.constant(latents)})[OUTPUT_NAME].numpy()


def _tflite_bytes(saved_model, fmt, *, latent_dim, representative_latents, seed):
    converter = tf.lite.TFLiteConverter.from_saved_model(saved_model, signature_keys=[SIGNATURE])
    if fmt != "tflite":
        converter.optimizations = [tf.lite.Optimize.DEFAULT]
    if fmt == "tflite_fp16":
        converter.target_spec.supported_types = [tf.float16]
    if fmt == "tflite_int8":
        calibration = sampling.latents(representative_latents, latent_dim, seed=seed + 1)
        converter.representative_dataset = lambda: ([z[None]] for z in calibration)
        converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
        # One scale per dense layer, not per output unit: a latent projection has few
        # inputs and thousands of outputs, and per-unit scales, zero points and int32
        # biases cost more bytes than its int8 weights. Convolutions stay per-channel.
        converter._experimental_disable_per_channel_quantization_for_dense_layers = True
    try:
        return converter.convert()
    except Exception as e:  # noqa: BLE001 - converter errors are long MLIR dumps
        raise ExportError(f"TFLite conversion to {fmt} failed: {one_line(e)[:400]}") from None


def _record(fmt, path, outputs, expected, limit):
    outputs = np.asarray(outputs)
    if outputs.shape != expected.shape:
        raise ExportError(
            f"The {fmt} export returns shape {outputs.shape} where the Keras generator "
            f"returns {expected.shape}; nothing was written."
        )
    if not np.all(np.isfinite(outputs)):
        raise ExportError(f"The {fmt} export returns non-finite values; nothing was written.")
    error = np.abs(outputs.astype(np.float64) - expected.astype(np.float64))
    max_abs, mean_abs = float(error.max()), float(error.mean())
    gated = fmt in GATED_FORMATS
    if gated and max_abs > limit:
        raise ExportError(
            f"The {fmt} export's outputs on {len(outputs)} fixed latents have max abs "
            f"difference {max_abs:.3g} > tolerance {limit:g} from the Keras generator's; "
            "the export disagrees with the Keras model, nothing was written."
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
