"""Labelled synthetic datasets from a conditional generator, for data augmentation.

`write_labelled_dataset` writes `per_class` PNG images of every class into one
folder per class, named by the class index zero-padded so that
`keras.utils.image_dataset_from_directory(out)` (which sorts folder names)
gives label k to class k, plus `manifest.json` with the generator, the seed,
the counts and the class names when the dataset has them. The folder is built
beside `out` and renamed into place when complete, so an interrupted or
failed run leaves nothing half-written.
"""

import datetime
import json
import os
import shutil
import tempfile

import numpy as np
from PIL import Image

from ganzoo.models import sampling
from ganzoo.plots import to_uint8

MANIFEST = "manifest.json"


class SyntheticDataError(ValueError):
    """The synthetic dataset cannot be written (generator, count or folder)."""


def class_folder(label, num_classes):
    """The folder name of class `label`: its index, zero-padded to sort in class order."""
    return f"{label:0{len(str(num_classes - 1))}d}"


def write_labelled_dataset(
    generator, out, *, per_class, seed=0, source=None, class_names=None, overwrite=False, batch_size=256
):
    """Writes `per_class` samples of each class of a conditional generator as PNG files.

    Args:
        generator: A conditional generator (inputs `[z, label]`), e.g.
            `ganzoo.models.loading.load_generator(preset_or_run)`.
        out: Folder to create. It must not exist or be empty unless
            `overwrite`, in which case it is replaced only once the new
            dataset is complete.
        per_class: Images per class (>= 1).
        seed: Latent seed; class k uses seed `seed + k`, so adding classes or
            images never changes the ones already drawn for a class.
        source: What the generator was loaded from (recorded in the manifest).
        class_names: Optional names of the classes (recorded in the manifest).
        overwrite: Replace a non-empty `out`.
        batch_size: Samples per generator call.

    Returns:
        The manifest dict (also written to `out/manifest.json`).

    Raises:
        SyntheticDataError: unconditional generator, bad count or unusable `out`.
    """
    classes = sampling.num_classes(generator)
    if classes is None:
        raise SyntheticDataError(
            "this generator is unconditional; augment needs a conditional one "
            "(e.g. a cgan_* preset or a run of a config with model.conditional)."
        )
    try:
        sampling.check_int("per_class", per_class, minimum=1)
    except ValueError as e:
        raise SyntheticDataError(str(e)) from None
    out = os.path.abspath(out)
    if os.path.exists(out) and not os.path.isdir(out):
        raise SyntheticDataError(f"--out {out!r} is a file; name a folder to create.")
    if os.path.isdir(out) and os.listdir(out) and not overwrite:
        raise SyntheticDataError(f"--out {out!r} exists and is not empty; pass --force or name a new folder.")
    parent = os.path.dirname(out)
    try:
        os.makedirs(parent, exist_ok=True)
        staging = tempfile.mkdtemp(prefix=".ganzoo-augment-", dir=parent)
    except OSError as e:
        raise SyntheticDataError(f"cannot create {out!r}: {e.strerror}; name a writable folder.") from None
    try:
        for label in range(classes):
            images = to_uint8(sampling.generate(
                generator, per_class, labels=label, seed=seed + label, batch_size=batch_size
            ))
            folder = os.path.join(staging, class_folder(label, classes))
            os.makedirs(folder)
            for i, image in enumerate(images):
                pixels = image[..., 0] if image.shape[-1] == 1 else image
                Image.fromarray(pixels).save(os.path.join(folder, f"{i:06d}.png"))
        manifest = {
            "generator": source or generator.name,
            "num_classes": classes,
            "class_folders": [class_folder(k, classes) for k in range(classes)],
            "class_names": list(class_names) if class_names else None,
            "per_class": per_class,
            "seed": seed,
            "seed_rule": "class k uses latent seed seed + k (ganzoo.models.sampling.latents)",
            "image_shape": list(images.shape[1:]),
            "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        }
        with open(os.path.join(staging, MANIFEST), "w", encoding="utf-8") as f:
            json.dump(manifest, f, indent=1)
        if os.path.isdir(out):
            shutil.rmtree(out)
        os.replace(staging, out)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return manifest


def read_labelled_dataset(folder):
    """Reads a folder written by `write_labelled_dataset` back as (images in [-1, 1], labels)."""
    with open(os.path.join(folder, MANIFEST), encoding="utf-8") as f:
        manifest = json.load(f)
    images, labels = [], []
    for label, name in enumerate(manifest["class_folders"]):
        directory = os.path.join(folder, name)
        for file in sorted(os.listdir(directory)):
            with Image.open(os.path.join(directory, file)) as image:
                pixels = np.asarray(image, dtype=np.float32)
            images.append(pixels[..., None] if pixels.ndim == 2 else pixels)
            labels.append(label)
    return np.stack(images) / 127.5 - 1.0, np.asarray(labels, dtype=np.int32)
