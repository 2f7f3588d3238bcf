"""Sampling a StyleGAN2 generator (`ganzoo.models.stylegan2.build_generator`): truncation, style mixing,
interpolation in W.

Every function takes the generator model (a GAN's `sampling_generator`, a
loaded ``generator.keras`` or a preset's), so the CLI and exported files use
the same code as `StyleGAN2`'s methods.
"""

import math

import keras
import numpy as np
from keras import ops

from ganzoo.layers.style import MeanW
from ganzoo.models.sampling import check_int


def parts(generator):
    """`(mapping, mean_w, synthesis)` of a generator built by `build_generator`."""
    return generator.get_layer("mapping"), generator.get_layer("mean_w"), generator.get_layer("synthesis")


def mix_ws(first, second, crossover, num_ws):
    """Per-layer ws ``(N, num_ws, w_dim)``: `first` for the layers before `crossover` (per sample), `second` after."""
    layer = ops.arange(num_ws, dtype="int32")[None, :, None]
    crossover = ops.reshape(ops.cast(crossover, "int32"), (-1, 1, 1))
    return ops.where(layer < crossover, first[:, None], second[:, None])


def check_truncation(psi):
    """`psi` as a float, or a one-line ValueError (a finite number; 0.5 to 1 is the useful range)."""
    if isinstance(psi, bool) or not isinstance(psi, (int, float, np.floating)) or not math.isfinite(psi):
        raise ValueError(f"truncation psi must be a finite number such as 0.7 (1: none), got {psi!r}.")
    return float(psi)


def with_truncation(generator, psi):
    """A generator model with the truncation `psi` baked in (same weights; export and `generate` use it)."""
    mapping, mean_w, synthesis = parts(generator)
    truncated = MeanW(psi=psi, name="mean_w")
    z = keras.Input(generator.inputs[0].shape[1:], name="z")
    w = truncated(mapping(z))
    truncated.w_avg.assign(mean_w.w_avg)
    images = synthesis(keras.layers.RepeatVector(synthesis.inputs[0].shape[1], name="repeat")(w))
    return keras.Model(z, ops.clip(images, -1.0, 1.0), name=generator.name)


def is_style_generator(generator):
    """Whether `generator` is a StyleGAN2 generator (`build_generator`: mapping, mean_w and synthesis parts)."""
    names = {layer.name for layer in getattr(generator, "layers", ())}
    return {"mapping", "mean_w", "synthesis"} <= names


def synthesize(generator, ws):
    """Clipped images of per-layer ws ``(N, num_ws, w_dim)`` by the generator's synthesis network."""
    synthesis = parts(generator)[2]
    return np.clip(ops.convert_to_numpy(synthesis(ops.convert_to_tensor(ws), training=False)), -1, 1)


def mapped(generator, z, *, truncation=1.0):
    """w of latents `z`, truncated by psi `truncation` towards the tracked average of w."""
    mapping, mean_w, _ = parts(generator)
    z = ops.convert_to_tensor(np.asarray(z, "float32"))
    return ops.convert_to_numpy(mean_w.truncate(mapping(z, training=False), check_truncation(truncation)))


def style_mix(generator, first, second, *, crossover, truncation=1.0):
    """Images with the styles of latents `first` in the layers before `crossover`, of `second` from it on."""
    num_ws = int(parts(generator)[2].inputs[0].shape[1])
    check_int("crossover", crossover, minimum=0)
    if crossover > num_ws:
        raise ValueError(f"`crossover` must be at most num_ws = {num_ws}, got {crossover}.")
    if np.shape(first) != np.shape(second):
        raise ValueError(f"`first` and `second` must be latents of the same shape (N, latent_dim), got "
                         f"{np.shape(first)} and {np.shape(second)}.")
    first, second = (mapped(generator, z, truncation=truncation) for z in (first, second))
    return synthesize(generator, mix_ws(first, second, np.full(len(first), crossover), num_ws))


def interpolate(generator, start, end, steps, *, truncation=1.0):
    """`steps` images along the straight line in W from latent `start`'s w to latent `end`'s."""
    check_int("steps", steps, minimum=2)
    num_ws = int(parts(generator)[2].inputs[0].shape[1])
    ends = mapped(generator, np.stack([start, end]), truncation=truncation)
    t = np.linspace(0.0, 1.0, steps, dtype="float32")[:, None]
    return synthesize(generator, np.repeat(((1 - t) * ends[0] + t * ends[1])[:, None], num_ws, axis=1))


def truncation_picture(generator, path, *, psis=(0.5, 0.7, 1.0), n=8, seed=0):
    """Writes a PNG of `n` latents (seed `seed`) in one row per truncation psi, in the order of `psis`."""
    from ganzoo import plots  # pylint: disable=import-outside-toplevel
    from ganzoo.models import sampling  # pylint: disable=import-outside-toplevel

    rows = [sampling.generate(with_truncation(generator, check_truncation(psi)), n, seed=seed) for psi in psis]
    return plots.save_image_grid(np.concatenate(rows), path, columns=n)
