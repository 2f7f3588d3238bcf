"""Presets: a trained GAN in a folder, loadable by name or path (keras-hub style).

A preset folder holds

* ``config.json``: the GAN's Keras serialization (architecture, options and
  compile settings), from ``keras.saving.serialize_keras_object``;
* ``model.weights.h5``: every variable of the GAN (generator, discriminator,
  EMA generator, both optimizers' state, RNG streams);
* ``metadata.json``: Keras version, backend, parameter counts, date, the
  training config and measured metrics.

`save_preset` (or ``GAN.save_preset``) writes one; `from_preset` loads one
from a folder path or a name in the presets folder — ``exported/`` of the
ganzoo checkout, or ``$GANZOO_PRESETS`` — and `list_presets` names those.
Nothing is ever downloaded. A loaded preset samples at once and can be
fine-tuned: it comes compiled with its training settings and optimizer
state, so ``fit`` on new data continues where training stopped.
"""

from __future__ import annotations

import datetime
import json
import os
import shutil
import tempfile
from pathlib import Path

__all__ = ["PresetError", "from_preset", "list_presets", "presets_dir", "save_preset"]

CONFIG_FILE = "config.json"
WEIGHTS_FILE = "model.weights.h5"
METADATA_FILE = "metadata.json"
ENV_DIR = "GANZOO_PRESETS"


class PresetError(ValueError):
    """A preset that cannot be found, read or written; the message says how to fix it."""

    def __init__(self, message: str):
        super().__init__(" ".join(str(message).split()))


def presets_dir() -> Path:
    """Where preset names are looked up: ``$GANZOO_PRESETS``, else the checkout's ``exported/``."""
    if os.environ.get(ENV_DIR):
        return Path(os.environ[ENV_DIR])
    return Path(__file__).resolve().parent.parent / "exported"


def is_preset(path: str | os.PathLike) -> bool:
    """Whether `path` is a folder with the three preset files."""
    folder = Path(path)
    return all((folder / name).is_file() for name in (CONFIG_FILE, WEIGHTS_FILE, METADATA_FILE))


def list_presets() -> list[str]:
    """Names of the presets in `presets_dir`, sorted."""
    folder = presets_dir()
    if not folder.is_dir():
        return []
    return sorted(entry.name for entry in folder.iterdir() if is_preset(entry))


def find_preset(name_or_path: str | os.PathLike) -> Path | None:
    """The preset folder a path or name refers to, or None."""
    path = Path(name_or_path)
    if is_preset(path):
        return path
    name = str(name_or_path)
    # A bare name stays inside presets_dir: no separators, no "." or "..".
    if os.sep in name or "/" in name or name in (".", "..") or not name:
        return None
    named = presets_dir() / name
    return named if is_preset(named) else None


def read_metadata(name_or_path: str | os.PathLike) -> dict:
    """The ``metadata.json`` of a preset."""
    folder = _require(name_or_path)
    return json.loads((folder / METADATA_FILE).read_text(encoding="utf-8"))


def _require(name_or_path) -> Path:
    folder = find_preset(name_or_path)
    if folder is None:
        known = ", ".join(list_presets()) or "none"
        raise PresetError(
            f"no preset {str(name_or_path)!r}: not a folder with {CONFIG_FILE}, {WEIGHTS_FILE} "
            f"and {METADATA_FILE}, nor a name in {str(presets_dir())!r} (known: {known})"
        )
    return folder


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
        gan.load_weights(folder / WEIGHTS_FILE)
    except Exception as e:  # noqa: BLE001 - any failure here means damaged files
        raise PresetError(
            f"cannot load preset {str(folder)!r} ({type(e).__name__}: {e}); re-export it with "
            "GAN.save_preset"
        ) from None
    return gan


def save_preset(gan, directory: str | os.PathLike, *, metadata: dict | None = None,
                overwrite: bool = False) -> Path:
    """Writes `gan` as a preset folder; returns its path.

    The files are written to a temporary folder beside `directory` and moved
    into place at the end, so a failure leaves nothing half-written.

    Args:
        gan: A compiled ganzoo GAN.
        directory: The preset folder to create.
        metadata: Extra facts (training config, metrics) merged into
            ``metadata.json``.
        overwrite: Replace an existing preset folder.

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
        gan.save_weights(staging / WEIGHTS_FILE)
        facts = {
            "class_name": type(gan).__name__,
            "keras_version": keras.__version__,
            "backend": keras.backend.backend(),
            "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
            "parameters": {
                "generator": int(gan.generator.count_params()),
                "discriminator": int(gan.discriminator.count_params()),
            },
            "latent_dim": int(gan.latent_dim),
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
