"""ganzoo: a Keras 3 multi-backend GAN model zoo.

`from_preset(name_or_path)` loads a trained GAN from ``exported/`` (or any
preset folder); `list_presets()` names the shipped ones. Importing ganzoo
itself imports neither Keras nor TensorFlow (`ganzoo.runtime` relies on it).
"""

from ganzoo.presets import from_preset, list_presets

__version__ = "0.1.0"

__all__ = ["from_preset", "list_presets"]
