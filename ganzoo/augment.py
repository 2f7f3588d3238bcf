"""Differentiable augmentation of what the discriminator sees (DiffAugment).

Zhao et al. (2020) showed that augmenting real *and* generated images with the
same differentiable transforms before the discriminator curbs its
overfitting on small data without leaking the augmentations into the
generator. ganzoo builds these from Keras core preprocessing layers, which
are backend-neutral and differentiable with respect to their input (keras-cv is
not used: it is end-of-life and its layers fail inside `jax.jit`).
"""

import difflib

import keras
from keras import layers

from ganzoo.backend import gradients

# Images are in [-1, 1]; -1 is the background of the bundled datasets.
POLICIES = {
    "translation": lambda seed: layers.RandomTranslation(
        0.125, 0.125, fill_mode="constant", fill_value=-1.0, seed=seed
    ),
    "flip": lambda seed: layers.RandomFlip("horizontal", seed=seed),
    "brightness": lambda seed: layers.RandomBrightness(0.25, value_range=(-1.0, 1.0), seed=seed),
    "contrast": lambda seed: layers.RandomContrast(0.25, value_range=(-1.0, 1.0), seed=seed),
}


def build_augmenter(policy, *, seed=None, name="augmenter", input_shape=None):
    """Returns a `keras.Sequential` applying the named transforms in order.

    Args:
        policy: List of names from `POLICIES` ("translation", "flip",
            "brightness", "contrast").
        seed: Base seed; transform i uses `seed + i`.
        name: Model name.
        input_shape: If given, the batch shape the augmenter is built for;
            it must be an image batch (NHWC).

    Raises:
        ValueError: on an empty policy, an unknown name (the message
            suggests the closest), or an `input_shape` that is not NHWC.
    """
    if isinstance(policy, str):
        policy = [policy]
    if not policy:
        raise ValueError("augment needs at least one transform, e.g. ['translation'].")
    transforms = []
    for i, transform in enumerate(policy):
        if transform not in POLICIES:
            close = difflib.get_close_matches(str(transform), POLICIES, n=1)
            hint = f" Did you mean {close[0]!r}?" if close else ""
            raise ValueError(
                f"Unknown augmentation {transform!r}; expected names from {sorted(POLICIES)}.{hint}"
            )
        transforms.append(gradients.traceable(POLICIES[transform](None if seed is None else seed + i)))
    augmenter = keras.Sequential(transforms, name=name)
    if input_shape is not None:
        if len(input_shape) != 4:
            raise ValueError(f"`augment` transforms images (NHWC); this generator outputs shape "
                             f"{tuple(input_shape)}. Remove `augment` for point data.")
        augmenter.build(tuple(input_shape))
    return augmenter
