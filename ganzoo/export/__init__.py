"""Export generators to SavedModel and TFLite (fp32, fp16, dynamic-range and full int8).

```python
from ganzoo.export import export_generator

metadata = export_generator(gan, "exported/dcgan_digits")   # a GAN, a generator or a .keras path
```

Conversion always runs under TensorFlow (in a subprocess when Keras runs on JAX or
PyTorch), and every file is checked against the Keras generator on fixed latents
before the folder appears. Run the `.tflite` files with `ganzoo.runtime.TFLiteGenerator`,
which needs only NumPy and ai-edge-litert.
"""

from ganzoo.export.errors import ExportError
from ganzoo.export.generator import FORMATS, export_generator
from ganzoo.export.scorer import export_scorer

__all__ = ["FORMATS", "ExportError", "export_generator", "export_scorer"]
