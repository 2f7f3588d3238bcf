"""Generators that take images (pix2pix, SRResNet/SRGAN), as the export sees them.

An image-in generator exports as ``serve(images) -> images``: input float32
``[batch, height, width, channels]`` in [-1, 1], with ``None`` height and
width for a fully convolutional generator (the super-resolution ones), so the
SavedModel takes any size and a TFLite file is resized at run time
(`ganzoo.runtime.TFLiteTranslator`). Latents would say nothing about such a
model, so its parity check runs on real inputs and its int8 file is
calibrated on real inputs: the held-out (test) inputs of the dataset it was
trained on check parity, the first training inputs calibrate.
"""

from __future__ import annotations

import numpy as np

from ganzoo.export.errors import ExportError

__all__ = ["INPUT_NAME", "is_image_in", "input_spec", "real_inputs"]

INPUT_NAME = "images"


def is_image_in(generator):
    """Whether `generator` maps one batch of images (NHWC) to images."""
    shape = generator.input_shape
    return isinstance(shape, tuple) and len(shape) == 4


def input_spec(generator):
    """`({"name", "dtype", "shape"[, "output"]}, output_shape)` of an image-in generator's export.

    A scorer (images to one number each, `ganzoo.export.scorer`) gets ``"output": "scores"``.
    """
    shape, output_shape = generator.input_shape, generator.output_shape
    if not isinstance(output_shape, tuple) or len(output_shape) not in (1, 4) or not isinstance(shape[3], int):
        raise ExportError(f"Export needs a generator from images (batch, height, width, channels) to "
                          f"images (or a scorer, to one score each); {generator.name!r} maps {shape} to "
                          f"{output_shape}.")
    spec = {"name": INPUT_NAME, "dtype": "float32", "shape": [None, *shape[1:]]}
    if len(output_shape) == 1:
        spec["output"] = "scores"
    return spec, tuple(output_shape[1:])


def real_inputs(inputs, model_or_path, *, num_parity, num_calibration, direction=None):
    """`(parity, calibration)` input arrays of an image-in export.

    Args:
        inputs: A paired dataset's name (parity on its first `num_parity`
            test inputs, calibration on its first `num_calibration` training
            inputs), an array of real inputs (parity on the first
            `num_parity`, calibration on all), or None for the dataset the
            model was trained on (`ganzoo.models.loading.trained_dataset`).
        model_or_path: What is exported, to find that dataset.
        direction: For an unpaired dataset (CycleGAN): ``"b_to_a"`` takes its
            B images as the inputs, anything else its A images.
    """
    from ganzoo import data  # pylint: disable=import-outside-toplevel
    from ganzoo.models import loading  # pylint: disable=import-outside-toplevel

    if inputs is None:
        inputs = loading.trained_dataset(model_or_path)
        if inputs is None:
            raise ExportError(
                "An image-in generator is checked and int8-calibrated on real inputs, and this one's "
                "dataset is not known; pass inputs= (an array, or a paired dataset such as "
                "fashion_mnist_x4), or --inputs DATASET on the command line.")
    if isinstance(inputs, str):
        try:
            held_out = "test" if "test" in (data.info(inputs).num_examples or {}) else "train"
            side = 1 if direction == "b_to_a" and data.info(inputs).kind == "unpaired" else 0
            parity = data.load_arrays(inputs, held_out, limit=num_parity)[side]
            calibration = data.load_arrays(inputs, "train", limit=num_calibration)[side]
        except data.DatasetError as e:
            raise ExportError(f"Cannot load the export's real inputs: {e}") from None
        return parity.astype(np.float32), calibration.astype(np.float32)
    inputs = np.asarray(inputs, dtype=np.float32)
    if inputs.ndim != 4 or len(inputs) == 0:
        raise ExportError(f"`inputs` must be a non-empty batch of images (n, height, width, channels), "
                          f"got shape {inputs.shape}.")
    return inputs[:num_parity], inputs[:num_calibration]
