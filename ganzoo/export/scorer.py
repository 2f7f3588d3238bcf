"""Export an anomaly scorer (GANomaly, f-AnoGAN) as SavedModel and TFLite: images in, one score each out.

```python
from ganzoo.export import export_scorer

metadata = export_scorer(model, "exported/ganomaly_sneaker/scorer", inputs=normal_images)
```

The scorer's `scorer_model` (images -> scores, the whole computation, the
networks and the distance layers) goes through `export_generator`'s pipeline
as an image-in model: the SavedModel signature is ``serve(images) -> scores``,
the TFLite files ``scorer.tflite``, ``scorer_fp16.tflite``,
``scorer_dynamic.tflite`` and ``scorer_int8.tflite``, and nothing is written
unless the SavedModel and fp32 TFLite scores match the Keras ones on real
normal images to `parity_tolerance`. ``metadata.json`` adds the score's kind
and the model's threshold, which `ganzoo.runtime.TFLiteScorer` reads.
"""

import json
import os

from ganzoo.export.errors import ExportError
from ganzoo.export.generator import FORMATS, export_generator


def scorer_of(model_or_path):
    """The anomaly-scoring model (GANomaly, f-AnoGAN) `model_or_path` is or holds; `ExportError` if none."""
    from ganzoo.models import loading  # pylint: disable=import-outside-toplevel

    model = loading.load_whole(model_or_path)
    if not callable(getattr(model, "scorer_model", None)):
        raise ExportError(f"{getattr(model, 'name', model)!r} ({type(model).__name__}) has no anomaly scorer; "
                          "scorers are GANomaly models (ganzoo.models.ganomaly) and f-AnoGAN encoders "
                          "(ganzoo.models.fanogan).")
    return model


def export_scorer(model_or_path, out_dir, *, inputs, kind=None, formats=FORMATS, parity_tolerance=1e-4,
                  num_parity=16, num_calibration=256, overwrite=False):
    """Exports `model_or_path`'s scorer to SavedModel and TFLite, checked against its Keras scores.

    Args:
        model_or_path: A GANomaly / f-AnoGAN model, or the path of its `.keras`
            file, run directory or preset.
        out_dir: Folder to create (empty or absent unless `overwrite`).
        inputs: Real normal images (an array, or an image dataset name such as
            ``"fashion_mnist[label=7]"``): the first `num_parity` check parity,
            the first `num_calibration` calibrate the int8 file.
        kind: The score to export (the model's `score_kind` by default).
        formats, parity_tolerance, overwrite: As `export_generator`'s.

    Returns:
        The metadata written to `out_dir/metadata.json`.
    """
    model = scorer_of(model_or_path)
    scorer = model.scorer_model(kind)
    metadata = export_generator(scorer, out_dir, formats=formats, parity_tolerance=parity_tolerance,
                                num_parity_latents=num_parity, representative_latents=num_calibration,
                                inputs=inputs, overwrite=overwrite)
    metadata.update(model=model.name, score_kind=kind or model.score_kind, threshold=model.threshold,
                    threshold_fpr=model.threshold_fpr)
    with open(os.path.join(os.fspath(out_dir), "metadata.json"), "w", encoding="utf-8") as f:
        json.dump(metadata, f, indent=2)
    return metadata
