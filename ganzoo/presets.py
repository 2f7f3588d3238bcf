"""Presets: a trained GAN in a folder, loadable by name or path (keras-hub style).

A preset folder holds

* ``config.json``: the GAN's Keras serialization (architecture, options and
  compile settings), from ``keras.saving.serialize_keras_object``;
* ``model.weights.h5``: every variable of the GAN (generator, discriminator,
  EMA generator, both optimizers' state, RNG streams): the full training
  state; or, in a *generator-only* preset (``training_state=False``), instead
  ``generator.weights.h5`` (the sampling generator: the EMA copy when there is
  one) or, for a CycleGAN, ``a_to_b.weights.h5`` and ``b_to_a.weights.h5``;
* ``metadata.json``: Keras version, backend, parameter counts, date, the
  training config and measured metrics (``"training_state": false`` marks a
  generator-only preset).

`save_preset` (or ``GAN.save_preset``) writes one; `from_preset` loads one
from a folder path or a name, and `list_presets` names every preset it can
find. Nothing is ever downloaded, and the wheel ships no preset weights: a
name is looked up, in this order, in

1. a folder path given directly (any folder holding the three files);
2. ``$GANZOO_PRESETS`` when it is set: one or more folders separated by
   ``os.pathsep`` (``:`` on Linux and macOS, ``;`` on Windows);
3. the user folder ``~/.ganzoo/presets`` (``~`` is ``$HOME``);
4. the checkout's ``exported/``, beside the ``ganzoo`` package, only when it
   exists (a source checkout or an editable install).

The first folder holding a name wins, for loading and for `list_presets`. A
name found nowhere raises `PresetError`, one line naming every folder
searched. A loaded preset samples at once and can be fine-tuned: it comes
compiled with its training settings and optimizer state, so ``fit`` on new
data continues where training stopped. A generator-only preset loads the same
way, with the generator's trained weights (in both the trained and the EMA
copy), a freshly initialised discriminator and fresh optimizer state: it
samples, translates and exports alike, and ``fit`` starts a new adversarial
game from the trained generator.
"""

from __future__ import annotations

import datetime
import json
import os
import shutil
import tempfile
from pathlib import Path

__all__ = ["PresetError", "default_preset_dirs", "from_preset", "list_presets", "preset_dirs", "presets_dir",
           "save_preset"]

CONFIG_FILE = "config.json"
WEIGHTS_FILE = "model.weights.h5"
GENERATOR_WEIGHTS = "generator.weights.h5"  # a generator-only preset's (a CycleGAN's: one per direction)
METADATA_FILE = "metadata.json"
ENV_DIR = "GANZOO_PRESETS"
USER_DIR = os.path.join("~", ".ganzoo", "presets")  # expanded when looked up, so $HOME counts


class PresetError(ValueError):
    """A preset that cannot be found, read or written; the message says how to fix it."""

    def __init__(self, message: str):
        super().__init__(" ".join(str(message).split()))


def default_preset_dirs() -> list[Path]:
    """The folders searched after those of ``$GANZOO_PRESETS``.

    Returns:
        ``~/.ganzoo/presets`` (``~`` read from ``$HOME`` now), then the
        checkout's ``exported/`` when it exists.
    """
    folders = [Path(os.path.expanduser(USER_DIR))]
    checkout = Path(__file__).resolve().parent.parent / "exported"
    if checkout.is_dir():
        folders.append(checkout)
    return folders


def preset_dirs() -> list[Path]:
    """The folders preset names are looked up in, in order (see the module docstring).

    Returns:
        The folders of ``$GANZOO_PRESETS``, then `default_preset_dirs`,
        without repeats. The first folder holding a name wins.
    """
    folders = []
    named = [Path(os.path.expanduser(part)) for part in os.environ.get(ENV_DIR, "").split(os.pathsep) if part]
    for folder in named + default_preset_dirs():
        if folder not in folders:
            folders.append(folder)
    return folders


def presets_dir() -> Path:
    """The first folder preset names are looked up in; `preset_dirs` gives them all."""
    return preset_dirs()[0]


def is_preset(path: str | os.PathLike) -> bool:
    """Whether `path` is a folder with a preset's config, metadata and weights (all, or the generator's)."""
    folder = Path(path)
    weights = any((folder / name).is_file() for name in (WEIGHTS_FILE, GENERATOR_WEIGHTS, "a_to_b.weights.h5"))
    return weights and all((folder / name).is_file() for name in (CONFIG_FILE, METADATA_FILE))


def inference_networks(gan) -> dict:
    """`{file stem: network}` a generator-only preset keeps: the sampling generator, or a CycleGAN's two."""
    if hasattr(gan, "generator_for"):
        return {direction: gan.generator_for(direction) for direction in ("a_to_b", "b_to_a")}
    return {"generator": gan.sampling_generator}


def _named_presets() -> dict[str, Path]:
    """Every preset name in `preset_dirs` and its folder, the first folder winning."""
    found = {}
    for folder in preset_dirs():
        try:
            entries = sorted(folder.iterdir())
        except OSError:  # missing or unreadable: nothing to list there
            continue
        for entry in entries:
            if entry.name not in found and is_preset(entry):
                found[entry.name] = entry
    return found


def list_presets() -> list[str]:
    """Names of the presets in all of `preset_dirs`, sorted."""
    return sorted(_named_presets())


def _is_bare_name(name: str) -> bool:
    # A bare name stays inside the preset folders: no separators, no "." or "..".
    return bool(name) and os.sep not in name and "/" not in name and name not in (".", "..")


def find_preset(name_or_path: str | os.PathLike) -> Path | None:
    """The preset folder a path or name refers to.

    Args:
        name_or_path: A folder holding a preset, or a bare name (no
            separators) looked up in `preset_dirs`, in order.

    Returns:
        The preset folder, or None when there is none.
    """
    path = Path(name_or_path)
    if is_preset(path):
        return path
    name = str(name_or_path)
    if not _is_bare_name(name):
        return None
    for folder in preset_dirs():
        if is_preset(folder / name):
            return folder / name
    return None


def read_metadata(name_or_path: str | os.PathLike) -> dict:
    """The ``metadata.json`` of a preset."""
    folder = _require(name_or_path)
    return json.loads((folder / METADATA_FILE).read_text(encoding="utf-8"))


def _require(name_or_path) -> Path:
    folder = find_preset(name_or_path)
    if folder is None:
        raise PresetError(_not_found_message(str(name_or_path)))
    return folder


def _not_found_message(name: str) -> str:
    files = f"{CONFIG_FILE}, {WEIGHTS_FILE} and {METADATA_FILE}"
    known = ", ".join(list_presets()) or "none"
    if not _is_bare_name(name):
        return (f"no preset {name!r}: not a folder with {files} (known names: {known}); give a "
                "preset folder's path or a preset name")
    where = ", ".join(f"{str(folder)!r}" + ("" if folder.is_dir() else " (missing)")
                      for folder in preset_dirs())
    return (f"no preset {name!r}: not a folder with {files}, nor a name in {where} (known: {known}); "
            f"set {ENV_DIR} to the folder holding it ({os.pathsep!r}-separated for several) or give "
            "the preset folder's path")


def from_preset(name_or_path: str | os.PathLike):
    """Loads a preset GAN, compiled with its training settings, on the current backend.

    Raises:
        PresetError: When no such preset exists or its files cannot be read.
    """
    import keras  # pylint: disable=import-outside-toplevel

    import ganzoo.models  # noqa: F401  pylint: disable=import-outside-toplevel,unused-import

    folder = _require(name_or_path)
    try:
        config = json.loads((folder / CONFIG_FILE).read_text(encoding="utf-8"))
        gan = keras.saving.deserialize_keras_object(config, safe_mode=True)
        if (folder / WEIGHTS_FILE).is_file():
            gan.load_weights(folder / WEIGHTS_FILE)
        else:  # generator-only: the trained copy starts from the sampling (EMA) weights too
            for stem, network in inference_networks(gan).items():
                network.load_weights(folder / f"{stem}.weights.h5")
            if getattr(gan, "ema_generator", None) is not None:
                for mine, trained in zip(gan.generator.weights, gan.ema_generator.weights):
                    mine.assign(keras.ops.convert_to_numpy(trained))  # a copy: JAX must not share the buffer
    except Exception as e:  # noqa: BLE001 - any failure here means damaged files
        raise PresetError(
            f"cannot load preset {str(folder)!r} ({type(e).__name__}: {e}); re-export it with "
            "GAN.save_preset"
        ) from None
    return gan


def save_preset(gan, directory: str | os.PathLike, *, metadata: dict | None = None,
                overwrite: bool = False, training_state: bool = True) -> Path:
    """Writes `gan` as a preset folder; returns its path.

    The files are written to a temporary folder beside `directory` and moved
    into place at the end, so a failure leaves nothing half-written.

    Args:
        gan: A compiled ganzoo GAN.
        directory: The preset folder to create.
        metadata: Extra facts (training config, metrics) merged into
            ``metadata.json``.
        overwrite: Replace an existing preset folder.
        training_state: False writes a generator-only preset (see the module
            docstring): a fraction of the size, for entries meant for sampling
            and export rather than for continuing their training.

    Raises:
        PresetError: When `directory` exists (without `overwrite`) or `gan` is
            not compiled.
    """
    import keras  # pylint: disable=import-outside-toplevel

    target = Path(directory)
    if target.exists() and any(target.iterdir()) and not overwrite:
        raise PresetError(
            f"{str(target)!r} already exists and is not empty; pass overwrite=True or name a "
            "new folder"
        )
    if not gan.compiled:
        raise PresetError("compile the GAN before saving a preset, so it can be fine-tuned")
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=target.parent))
    try:
        config = keras.saving.serialize_keras_object(gan)
        (staging / CONFIG_FILE).write_text(json.dumps(config, indent=2) + "\n", encoding="utf-8")
        if training_state:
            gan.save_weights(staging / WEIGHTS_FILE)
        else:
            for stem, network in inference_networks(gan).items():
                network.save_weights(staging / f"{stem}.weights.h5")
        facts = {
            "training_state": bool(training_state),
            "class_name": type(gan).__name__,
            "keras_version": keras.__version__,
            "backend": keras.backend.backend(),
            "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
            "parameters": {
                "generator": int(gan.generator.count_params()),
                "discriminator": int(gan.discriminator.count_params()),
            },
            "latent_dim": None if gan.latent_dim is None else int(gan.latent_dim),
            "input_shape": list(gan.generator.input_shape[1:]) if gan.latent_dim is None else None,
            "output_shape": list(gan.generator.output_shape[1:]),
            "num_classes": getattr(gan, "num_classes", None),
            **(metadata or {}),
        }
        (staging / METADATA_FILE).write_text(json.dumps(facts, indent=2) + "\n", encoding="utf-8")
        if target.exists():
            shutil.rmtree(target)
        os.replace(staging, target)
    finally:
        if staging.exists():
            shutil.rmtree(staging)
    return target
