"""`ganzoo translate`: run an image-in model (pix2pix, SRResNet/SRGAN) on image files.

`translate_files(model, source, out_dir)` reads one image file or every image
of a folder (PNG, JPEG, BMP, GIF; other files are skipped), checks them all
against the model (channels, size), runs the model's sampling generator on
them and writes one output per input to `out_dir` under the input's file
name. Every input is read and checked before anything is written, and the
outputs are written to a staging folder beside `out_dir` that is renamed into
place at the end, so a bad input leaves nothing behind and an existing
`out_dir` is only replaced with `overwrite`.

Pixels map to the models' range as in training: ``x / 127.5 - 1`` in,
``round((y + 1) * 127.5)`` clipped to [0, 255] out.
"""

from __future__ import annotations

import os
import shutil
import tempfile

import numpy as np
from PIL import Image, UnidentifiedImageError

__all__ = ["IMAGE_EXTENSIONS", "ImageInputError", "read_images", "translate_files"]

IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".bmp", ".gif")
CHANNELS = {"L": 1, "LA": 2, "RGB": 3, "RGBA": 4}


class ImageInputError(ValueError):
    """An input image or folder the model cannot take, or an output folder in the way."""


def _files(source):
    if os.path.isfile(source):
        return [source]
    if not os.path.isdir(source):
        raise ImageInputError(f"input {source!r} not found; give an image file or a folder of images.")
    names = sorted(n for n in os.listdir(source) if n.lower().endswith(IMAGE_EXTENSIONS)
                   and os.path.isfile(os.path.join(source, n)))
    if not names:
        raise ImageInputError(f"folder {source!r} holds no images ({', '.join(IMAGE_EXTENSIONS)}); "
                              "give a folder of image files.")
    return [os.path.join(source, n) for n in names]


def read_images(source, *, shape):
    """`(paths, images)`: the image file `source`, or a folder's images, as float32 NHWC in [-1, 1].

    Args:
        source: An image file or a folder of them.
        shape: `(height, width, channels)` the model takes; `None` height and
            width take any size, and then the images are returned as a list
            (their sizes may differ).

    Raises:
        ImageInputError: for a missing or unreadable file, an image of another
            channel count, or one of another size than a fixed-size model takes.
    """
    height, width, channels = shape
    paths, images = _files(os.fspath(source)), []
    for path in paths:
        try:
            with Image.open(path) as image:
                image.load()
                if image.mode == "P":
                    image = image.convert("RGBA" if "transparency" in image.info else "RGB")
                elif image.mode not in CHANNELS:
                    image = image.convert("RGB" if image.mode in ("CMYK", "YCbCr") else "L")
                pixels = np.asarray(image, dtype=np.float32)
        except (OSError, UnidentifiedImageError, ValueError) as e:
            reason = (str(e).strip().splitlines() or [type(e).__name__])[0]
            raise ImageInputError(f"cannot read {path!r} as an image ({reason}); fix or remove it.") from None
        pixels = pixels[..., None] if pixels.ndim == 2 else pixels
        if pixels.shape[2] != channels:
            raise ImageInputError(
                f"{path!r} has {pixels.shape[2]} channel(s), the model takes {channels} "
                f"({'grayscale' if channels == 1 else 'RGB' if channels == 3 else f'{channels} channels'}); "
                "convert the image first.")
        if (height is not None and pixels.shape[0] != height) or (width is not None and pixels.shape[1] != width):
            smaller = (height is not None and pixels.shape[0] < height) or (width is not None and pixels.shape[1] < width)
            raise ImageInputError(
                f"{path!r} is {pixels.shape[1]}x{pixels.shape[0]} pixels, "
                f"{'smaller than' if smaller else 'not'} the {width}x{height} the model takes; resize it first.")
        images.append(pixels / 127.5 - 1.0)
    return paths, (np.stack(images) if height is not None else images)


def translate_files(model, source, out_dir, *, overwrite=False, batch_size=64, direction=None):
    """Translates the image file or folder `source` with `model`; writes one output per input.

    Args:
        model: A preset name or folder, run directory or `.keras` file of an
            image-in model, or the model (GAN or generator) itself.
        source: An image file or a folder of images.
        out_dir: Folder to create for the outputs (same file names).
        overwrite: Replace a non-empty `out_dir`.
        direction: CycleGAN models: ``"a_to_b"`` (default) or ``"b_to_a"``.

    Returns:
        The written output paths.

    Raises:
        ImageInputError: for bad inputs (see `read_images`), a model that does
            not take images, or `out_dir` in the way.
    """
    from keras import ops  # pylint: disable=import-outside-toplevel

    from ganzoo.models import loading  # pylint: disable=import-outside-toplevel

    out_dir = os.path.abspath(os.fspath(out_dir))
    if os.path.exists(out_dir) and (not os.path.isdir(out_dir) or (os.listdir(out_dir) and not overwrite)):
        raise ImageInputError(f"--out {out_dir!r} exists and is not an empty folder; pass --force "
                              "to replace it or name a new folder.")
    generator = loading.load_generator(model, direction)
    shape = generator.input_shape
    if not isinstance(shape, tuple) or len(shape) != 4:
        raise ImageInputError(
            f"{model if isinstance(model, (str, os.PathLike)) else generator.name!r} generates images from "
            "latents; it takes no input images. translate needs an image-in model (families pix2pix, srgan, cyclegan); "
            "draw samples with ganzoo sample.")
    if len(generator.outputs) != 1:  # GANomaly's encoder-decoder-encoder: reconstructions and two latents
        raise ImageInputError(
            f"{model if isinstance(model, (str, os.PathLike)) else generator.name!r} is an anomaly scorer's "
            f"generator ({len(generator.outputs)} outputs), not a translator; score images with ganzoo score.")
    paths, images = read_images(source, shape=shape[1:])

    def run(batch):
        return ops.convert_to_numpy(generator(np.asarray(batch, np.float32), training=False))

    if isinstance(images, list):  # any size: one image at a time
        outputs = [run(image[None])[0] for image in images]
    else:
        outputs = np.concatenate([run(images[i:i + batch_size]) for i in range(0, len(images), batch_size)])
    parent = os.path.dirname(out_dir)
    os.makedirs(parent, exist_ok=True)
    staging = tempfile.mkdtemp(prefix=f".{os.path.basename(out_dir)}.translate-", dir=parent)
    try:
        written = []
        for path, output in zip(paths, outputs):
            pixels = np.clip(np.round((np.asarray(output, np.float32) + 1.0) * 127.5), 0, 255).astype(np.uint8)
            name = os.path.basename(path)
            Image.fromarray(pixels[..., 0] if pixels.shape[-1] == 1 else pixels).save(os.path.join(staging, name))
            written.append(os.path.join(out_dir, name))
        if os.path.isdir(out_dir):
            shutil.rmtree(out_dir)
        os.replace(staging, out_dir)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return written
