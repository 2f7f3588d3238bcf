"""ganzoo: a Keras 3 multi-backend GAN model zoo.

`from_preset(name_or_path)` loads a trained GAN from a preset folder or by
name (`ganzoo.presets` says where names are looked up); `list_presets()` names
those it finds; `load_model(path)`
loads a ``.keras`` file that ganzoo wrote (a GAN or a generator). Importing
ganzoo itself imports neither Keras nor TensorFlow (`ganzoo.runtime` relies on
it); these functions import them when called.
"""

from ganzoo.presets import from_preset, list_presets

__version__ = "0.1.0"

__all__ = ["from_preset", "list_presets", "load_model"]


def load_model(path, *, compile=True, safe_mode=True):  # pylint: disable=redefined-builtin
    """Loads a ``.keras`` file holding ganzoo models (a `GAN`, a generator, a discriminator).

    `keras.saving.load_model` after registering ganzoo's model and layer
    classes, which a bare ``import ganzoo`` leaves unregistered (Keras would
    answer "Could not locate class 'GAN'").

    Args:
        path: The ``.keras`` file (e.g. a run's ``gan.keras`` or a checkpoint).
        compile: Restore the compile settings and optimizer state (default),
            so ``fit`` continues where the file left off.
        safe_mode: Refuse files holding Python code (Lambda layers), as Keras does.

    Returns:
        The loaded `keras.Model`.
    """
    import keras  # pylint: disable=import-outside-toplevel

    import ganzoo.models  # noqa: F401  pylint: disable=import-outside-toplevel,unused-import  (registers the classes)

    return keras.saving.load_model(path, compile=compile, safe_mode=safe_mode)
