"""`export_generator`: one export path for generators trained on any backend."""

import datetime
import json
import logging
import os
import shutil
import subprocess
import sys
import tempfile
import uuid

import keras
import numpy as np

import ganzoo
from ganzoo.export import conditional, image_in
from ganzoo.export.errors import ExportError
from ganzoo.models import sampling

logger = logging.getLogger(__name__)

FORMATS = ("saved_model", "tflite", "tflite_fp16", "tflite_dynamic", "tflite_int8")
# Every file is run on the parity latents in batches of each size: the batch dimension is dynamic.
PARITY_BATCH_SIZES = (1, 3, 7)


def export_generator(
    generator_or_path,
    out_dir,
    *,
    formats=FORMATS,
    uint8_output=False,
    parity_tolerance=1e-4,
    num_parity_latents=16,
    representative_latents=256,
    seed=0,
    overwrite=False,
    inputs=None,
    direction=None,
    truncation=None,
    _output_offset=0.0,
):
    """Exports a generator to SavedModel and TFLite, checked against the Keras model.

    The conversion always runs under the TensorFlow backend: in this process
    when Keras runs on TensorFlow, else in a subprocess that loads a `.keras`
    copy of the generator. Either way the files are written to a staging
    folder beside `out_dir`, run on `num_parity_latents` latents drawn with
    `seed` (in batches of 1, 3 and 7, each size over all of them), and
    compared with this process's Keras generator on the same latents. Only
    when the SavedModel and the fp32 TFLite file agree to `parity_tolerance`
    (max abs difference) is the folder renamed to `out_dir`; the quantized
    files' errors are recorded, not gated.

    `out_dir` then holds `saved_model/` (signature `serve`: input `z`, float32
    `[batch, latent_dim]`; output `images`), `generator.tflite`,
    `generator_fp16.tflite`, `generator_dynamic.tflite` (int8 weights),
    `generator_int8.tflite` (int8 weights and activations behind a float32
    input and output), as requested, and `metadata.json`. The TFLite batch
    dimension is dynamic: each call's inputs set it, as in
    `ganzoo.runtime.TFLiteGenerator`, which runs the `serve` signature runner.

    A conditional generator (`[z, label]`) exports as `serve(z, labels)` and
    a MAD-GAN mixture as `serve(z, generator)` (`ganzoo.export.conditional`):
    the second input is int32 `[batch]` in every file, the int8 one included;
    the parity latents' labels, and the int8 calibration's, cycle through the
    classes (generators). Run the files by input name (the signature runner),
    never by input order.

    An image-in generator (pix2pix, SRResNet/SRGAN: `ganzoo.export.image_in`)
    exports as `serve(images) -> images`, any height and width for a fully
    convolutional one; its parity inputs are `num_parity_latents` real
    held-out inputs and its int8 file is calibrated on
    `representative_latents` real training inputs (`inputs`).

    Args:
        generator_or_path: A generator `keras.Model`, a `GAN` (its sampling
            generator is exported), or the path of a `.keras` file or run
            directory.
        out_dir: Folder to create. It must not exist, or be empty, unless
            `overwrite`.
        formats: Any of "saved_model", "tflite", "tflite_fp16",
            "tflite_dynamic", "tflite_int8".
        uint8_output: Output `round((x + 1) * 127.5)` clipped to [0, 255] as
            uint8 instead of float32 images in [-1, 1]. The gated formats must
            then match the Keras images converted the same way to one level.
        parity_tolerance: Largest max abs difference allowed between the
            SavedModel / fp32 TFLite outputs and the Keras outputs.
        num_parity_latents: Latents of the parity check.
        representative_latents: Calibration latents of the int8 file (drawn
            with `seed + 1`).
        seed: Seed of the parity latents.
        overwrite: Replace a non-empty `out_dir`.
        inputs: Image-in generators only: a paired dataset name or an array
            of real inputs (see `image_in.real_inputs`); None takes the
            dataset a run directory or preset was trained on.
        direction: CycleGAN only: the generator to export, ``"a_to_b"``
            (default) or ``"b_to_a"``; its real inputs are that direction's
            source domain of the unpaired dataset.
        truncation: StyleGAN2 only: the truncation psi baked into the
            exported files (`ganzoo.models.style_sampling.with_truncation`;
            None or 1: none). Recorded in the metadata as ``truncation``.

    Returns:
        The metadata dict also written to `out_dir/metadata.json`.

    Raises:
        ExportError: if `out_dir` is in the way, a conversion fails, or an
            export disagrees with the Keras generator (nothing is written).
        ValueError: for an unknown format or an invalid number.
    """
    formats = _check_formats(formats)
    _check_number("parity_tolerance", parity_tolerance, minimum=0.0)
    for name, value in (
        ("num_parity_latents", num_parity_latents),
        ("representative_latents", representative_latents),
    ):
        sampling.check_int(name, value, minimum=1)
    sampling.check_int("seed", seed, minimum=0)
    out_dir = os.path.abspath(os.fspath(out_dir))
    _check_out_dir(out_dir, overwrite=overwrite)

    generator = _truncated(_resolve_generator(generator_or_path, direction), truncation)
    generator, condition = conditional.exportable(generator)
    calibration = None
    if image_in.is_image_in(generator):
        spec, output_shape = image_in.input_spec(generator)
        latents, calibration = image_in.real_inputs(inputs, generator_or_path, num_parity=num_parity_latents,
                                                    num_calibration=representative_latents, direction=direction)
    else:
        latent_dim, output_shape = _check_generator(generator, condition)
        spec = {"name": "z", "dtype": "float32", "shape": [None, latent_dim]}
        latents = sampling.latents(num_parity_latents, latent_dim, seed=seed)
    labels = conditional.cycled_labels(len(latents), condition)
    reference = sampling.run(generator, latents, labels)
    options = {
        "formats": list(formats),
        "uint8_output": bool(uint8_output),
        "tolerance": float(parity_tolerance),
        "representative_latents": int(representative_latents if calibration is None else len(calibration)),
        "seed": int(seed),
        "output_offset": float(_output_offset),
        "condition": condition,
        "batch_sizes": list(PARITY_BATCH_SIZES),
        "input_spec": spec,
    }

    staging = _make_staging_dir(out_dir)
    try:
        if keras.backend.backend() == "tensorflow":
            import tensorflow as tf

            from ganzoo.export import convert

            results = convert.write_artifacts(
                generator, staging, latents=latents, labels=labels, reference=reference,
                calibration=calibration, **options
            )
            tf_version = tf.__version__
        else:
            results, tf_version = _write_in_tensorflow_process(
                generator, staging, latents=latents, labels=labels, reference=reference,
                calibration=calibration, options=options,
            )
        metadata = _metadata(
            generator, results, output_shape=output_shape,
            options=options, num_parity_latents=len(latents), tf_version=tf_version,
        )
        if truncation is not None:
            metadata["truncation"] = float(truncation)  # baked into every file
        with open(os.path.join(staging, "metadata.json"), "w") as file:
            json.dump(metadata, file, indent=2)
        _move_into_place(staging, out_dir, overwrite=overwrite)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    logger.info("Exported %s to %s", ", ".join(formats), out_dir)
    return metadata


def _check_formats(formats):
    if isinstance(formats, str):
        formats = (formats,)
    formats = tuple(formats)
    unknown = [f for f in formats if f not in FORMATS]
    if unknown or not formats or len(set(formats)) != len(formats):
        raise ValueError(
            f"`formats` must be distinct names from {list(FORMATS)}, got {list(formats)}."
        )
    return tuple(f for f in FORMATS if f in formats)


def _check_number(name, value, *, minimum):
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not value >= minimum:
        raise ValueError(f"`{name}` must be a number >= {minimum}, got {value!r}.")


def _check_out_dir(out_dir, *, overwrite):
    if not os.path.lexists(out_dir):
        return
    if not os.path.isdir(out_dir) or os.path.islink(out_dir):
        raise ExportError(f"{out_dir!r} exists and is not a directory; name a new folder.")
    if os.listdir(out_dir) and not overwrite:
        raise ExportError(
            f"{out_dir!r} already exists and is not empty; pass overwrite=True to replace it "
            "or name a new folder."
        )


def _resolve_generator(generator_or_path, direction=None):
    from ganzoo.models import loading

    try:
        return loading.load_generator(generator_or_path, direction)
    except loading.ModelFileError as e:
        raise ExportError(str(e)) from None


def _truncated(generator, truncation):
    """`generator` with the truncation psi baked in (StyleGAN2 generators only); as it is for None."""
    if truncation is None:
        return generator
    from ganzoo.models import style_sampling

    if not style_sampling.is_style_generator(generator):
        raise ExportError(f"truncation applies to StyleGAN2 generators; {generator.name!r} is not one: "
                          "drop the truncation.")
    try:
        return style_sampling.with_truncation(generator, style_sampling.check_truncation(truncation))
    except ValueError as e:
        raise ExportError(str(e)) from None


def _check_generator(generator, condition):
    """Returns (latent_dim, output_shape) of a generator from latents (and labels) to one output."""
    input_shape, output_shape = generator.input_shape, generator.output_shape
    if condition is not None and isinstance(input_shape, list) and len(input_shape) == 2:
        input_shape = input_shape[0]
    if (
        not isinstance(input_shape, tuple)
        or len(input_shape) != 2
        or not isinstance(input_shape[1], int)
        or not isinstance(output_shape, tuple)
        or any(not isinstance(d, int) for d in output_shape[1:])
    ):
        raise ExportError(
            f"Export needs a generator from latents (batch, latent_dim) to one output of "
            f"fixed shape; {generator.name!r} maps {input_shape} to {output_shape}."
        )
    return input_shape[1], tuple(output_shape[1:])


def _make_staging_dir(out_dir):
    # Beside out_dir, so the final rename stays on one file system.
    parent = os.path.dirname(out_dir)
    os.makedirs(parent, exist_ok=True)
    staging = os.path.join(parent, f".{os.path.basename(out_dir)}.export-{uuid.uuid4().hex[:12]}")
    os.mkdir(staging)
    return staging


def _move_into_place(staging, out_dir, *, overwrite):
    if not os.path.lexists(out_dir) or (os.path.isdir(out_dir) and not os.listdir(out_dir)):
        os.replace(staging, out_dir)  # also replaces an empty directory, atomically
        return
    if not overwrite:
        raise ExportError(f"{out_dir!r} was filled during the export; nothing was written.")
    old = staging + ".old"
    os.replace(out_dir, old)
    try:
        os.replace(staging, out_dir)
    except BaseException:
        os.replace(old, out_dir)
        raise
    shutil.rmtree(old, ignore_errors=True)


def _write_in_tensorflow_process(generator, staging, *, latents, labels, reference, calibration, options):
    """Runs `convert.write_artifacts` in `python -m ganzoo.export._worker` under TensorFlow."""
    with tempfile.TemporaryDirectory(prefix="ganzoo-export-") as work:
        request = {
            "model": os.path.join(work, "generator.keras"),
            "parity": os.path.join(work, "parity.npz"),
            "out": staging,
            "result": os.path.join(work, "result.json"),
            "options": options,
        }
        generator.save(request["model"])
        arrays = {"latents": latents, "reference": reference}
        if labels is not None:
            arrays["labels"] = labels
        if calibration is not None:
            arrays["calibration"] = calibration
        np.savez(request["parity"], **arrays)
        request_path = os.path.join(work, "request.json")
        with open(request_path, "w") as file:
            json.dump(request, file)
        package_root = os.path.dirname(os.path.dirname(os.path.abspath(ganzoo.__file__)))
        env = dict(os.environ, KERAS_BACKEND="tensorflow")
        env.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [package_root, env.get("PYTHONPATH")]))
        completed = subprocess.run(
            [sys.executable, "-m", "ganzoo.export._worker", request_path],
            env=env, capture_output=True, text=True, check=False,
        )
        result = None
        if os.path.isfile(request["result"]):
            with open(request["result"]) as file:
                result = json.load(file)
    if result is None:
        last = (completed.stderr.strip().splitlines() or ["no output"])[-1]
        raise ExportError(
            f"The TensorFlow export process failed (exit status {completed.returncode}): {last}"
        )
    if "error" in result:
        raise ExportError(result["error"])
    return result["formats"], result["tensorflow_version"]


def _metadata(generator, results, *, output_shape, options, num_parity_latents, tf_version):
    uint8_output = options["uint8_output"]
    spec = options["input_spec"]
    image_input = spec["name"] == image_in.INPUT_NAME
    metadata = {
        "generator": generator.name,
        "latent_dim": None if image_input else spec["shape"][1],
        "signature": "serve",
        "input": spec,
        "condition": options["condition"],
        "output": {
            "name": spec.get("output", "images"),
            "dtype": "uint8" if uint8_output else "float32",
            "shape": [None, *output_shape],
            "transform": "round((x + 1) * 127.5) clipped to [0, 255]" if uint8_output else None,
        },
        "formats": results,
        "parity": {
            "tolerance": 1 if uint8_output else options["tolerance"],
            "unit": "uint8 levels" if uint8_output else "output units",
            "gated_formats": [f for f, r in results.items() if r["parity"]["gated"]],
            "num_latents": num_parity_latents,
            "inputs": "real held-out inputs" if image_input else "seeded latents",
            "seed": options["seed"],
            "batch_sizes": options["batch_sizes"],
            "labels": None if options["condition"] is None else "cycled through the values",
        },
        "training_backend": keras.backend.backend(),
        "versions": {
            "ganzoo": ganzoo.__version__, "keras": keras.__version__, "tensorflow": tf_version,
        },
        "created": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
    }
    if "tflite_int8" in results and image_input:
        metadata["int8_calibration"] = {"num_inputs": options["representative_latents"],
                                        "inputs": "the first real training inputs"}
    elif "tflite_int8" in results:
        metadata["int8_calibration"] = {
            "num_latents": options["representative_latents"],
            "seed": options["seed"] + 1,
            "labels": None if options["condition"] is None else "cycled through the values",
        }
    return metadata
