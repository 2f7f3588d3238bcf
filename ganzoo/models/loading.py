"""Loads the generator to sample, evaluate or export from a GAN, a model or a file."""

from __future__ import annotations

import os

import keras
import yaml

from ganzoo import presets

__all__ = ["ModelFileError", "load_generator", "load_whole", "trained_dataset"]


class ModelFileError(ValueError):
    """A model path that is missing or does not hold a loadable Keras model."""

    def __init__(self, message: str):
        super().__init__(" ".join(str(message).split()))


def load_generator(model_or_path, direction=None):
    """The sampling generator of a GAN, a model, a preset, a run directory or a ``.keras`` file.

    A CycleGAN gives the generator of `direction` (``"a_to_b"``, the default,
    or ``"b_to_a"``); `direction` applies to nothing else. Another GAN gives its
    `sampling_generator` (the EMA copy when it keeps one); paths are read as
    `load_whole` reads them.

    Raises:
        ModelFileError: When the path is missing or not a loadable model.
    """
    return _direction(load_whole(model_or_path), direction)


def load_whole(model_or_path):
    """The model itself: a model as given; a preset name or folder loaded with `ganzoo.from_preset`; a run
    directory's ``gan.keras``; a ``.keras`` file loaded with ``safe_mode=True`` (no arbitrary code).

    Raises:
        ModelFileError: When the path is missing or not a loadable model.
    """
    if isinstance(model_or_path, keras.Model):
        return model_or_path
    path = os.fspath(model_or_path)
    preset = presets.find_preset(path)
    if preset is not None:
        return presets.from_preset(preset)
    if os.path.isdir(path):
        path = os.path.join(path, "gan.keras")
    if not os.path.isfile(path):
        raise ModelFileError(
            f"model {os.fspath(model_or_path)!r} not found: give a preset name "
            f"({', '.join(presets.list_presets()) or 'none shipped'}), a run directory or a "
            ".keras file"
        )
    try:
        return keras.saving.load_model(path, compile=False, safe_mode=True)
    except Exception as e:  # noqa: BLE001 - any loading failure means a bad file
        if "safe_mode" in str(e):
            raise ModelFileError(
                f"refused to load {path!r}: it holds Python code (a Lambda layer or a lambda), which "
                "ganzoo never runs (safe_mode=True); rebuild the model from standard Keras layers"
            ) from None
        raise ModelFileError(
            f"cannot load {path!r} as a Keras model ({type(e).__name__}); give a gan.keras or "
            "generator.keras written by ganzoo"
        ) from None


def _direction(model, direction):
    """The generator of `direction` of a CycleGAN, else the GAN's sampling generator (or the model)."""
    from ganzoo.models.base import GAN  # pylint: disable=import-outside-toplevel
    from ganzoo.models.cyclegan import CycleGAN  # pylint: disable=import-outside-toplevel

    if isinstance(model, CycleGAN):
        try:
            return model.generator_for(direction or "a_to_b")
        except ValueError as e:
            raise ModelFileError(str(e)) from None
    if direction is not None:
        raise ModelFileError(f"direction {direction!r} applies to CycleGAN models (two generators); "
                             f"this is a {type(model).__name__}: drop the direction.")
    return model.sampling_generator if isinstance(model, GAN) else model


def trained_dataset(model_or_path):
    """The dataset a preset's metadata or a run directory's ``config.yaml`` names, else None.

    `model_or_path` may be a preset name or folder, a run directory or a file
    in one (``gan.keras``, ``generator.keras``); anything else gives None.
    """
    if not isinstance(model_or_path, (str, os.PathLike)):
        return None
    path = os.fspath(model_or_path)
    preset = presets.find_preset(path)
    if preset is not None:
        return presets.read_metadata(preset).get("dataset")
    folder = path if os.path.isdir(path) else os.path.dirname(path)
    config_path = os.path.join(folder or ".", "config.yaml")
    if not os.path.isfile(config_path):
        return None
    with open(config_path, encoding="utf-8") as f:
        config = yaml.safe_load(f)
    return ((config if isinstance(config, dict) else {}).get("data") or {}).get("dataset")
