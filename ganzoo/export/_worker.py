"""The TensorFlow side of `export_generator` for callers on JAX or PyTorch.

`python -m ganzoo.export._worker REQUEST.json`, started with KERAS_BACKEND=tensorflow:
loads the `.keras` generator and the parity arrays (latents, labels for a two-input
generator, the Keras outputs) named in the request, writes the
exports with `convert.write_artifacts`, and writes `{"formats": ..., "tensorflow_version": ...}`
or `{"error": "one line"}` to the request's result file.
"""

import json
import sys


def main(argv):
    """Runs one request; returns the exit status (0 on success)."""
    with open(argv[1]) as file:
        request = json.load(file)
    try:
        result = _run(request)
    except Exception as e:  # noqa: BLE001 - the caller re-raises it as one line
        from ganzoo.export.errors import one_line

        result = {"error": one_line(e)}
    with open(request["result"], "w") as file:
        json.dump(result, file)
    return 1 if "error" in result else 0


def _run(request):
    import keras
    import numpy as np
    import tensorflow as tf

    import ganzoo.models  # noqa: F401 - registers ganzoo's layers for loading
    from ganzoo.export import convert
    from ganzoo.export.errors import ExportError

    if keras.backend.backend() != "tensorflow":
        raise ExportError(
            "The export worker must run with KERAS_BACKEND=tensorflow, "
            f"not {keras.backend.backend()!r}."
        )
    generator = keras.saving.load_model(request["model"], compile=False)
    with np.load(request["parity"]) as arrays:
        latents, reference = arrays["latents"], arrays["reference"]
        labels = arrays["labels"] if "labels" in arrays else None
        calibration = arrays["calibration"] if "calibration" in arrays else None
    formats = convert.write_artifacts(
        generator, request["out"], latents=latents, labels=labels, reference=reference,
        calibration=calibration,
        **request["options"],
    )
    return {"formats": formats, "tensorflow_version": tf.__version__}


if __name__ == "__main__":
    sys.exit(main(sys.argv))
