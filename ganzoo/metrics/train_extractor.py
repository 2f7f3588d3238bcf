"""Trains the feature extractors that ganzoo ships (see `ganzoo.metrics.extractors`).

Usage::

    python -m ganzoo.metrics.train_extractor --dataset fashion_mnist [--epochs 12]
        [--seed 0] [--out ganzoo/metrics/weights] [--backend jax]

Trains `build_classifier` on the dataset's ``train`` split with Adam and a
cosine learning-rate decay, measures accuracy on the ``test`` split, and
writes ``<dataset>.keras`` and ``<dataset>.json`` (test accuracy, settings,
versions, wall time) into ``--out``. Nothing is written when the test
accuracy is below the floor in `ACCURACY_FLOORS` (exit status 1), so a bad
run never replaces good weights.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import sys
import tempfile
import time

DEFAULTS = {  # dataset: (epochs, batch size, learning rate)
    "fashion_mnist": (12, 128, 2e-3),
    "digits": (60, 64, 2e-3),
}


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", required=True, choices=sorted(DEFAULTS))
    parser.add_argument("--epochs", type=int, default=None, help="default: per dataset")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default=None, help="default: the package's weights folder")
    parser.add_argument("--backend", default=None, choices=("tensorflow", "jax", "torch"),
                        help="Keras backend (default: KERAS_BACKEND or Keras' own default)")
    args = parser.parse_args(argv)
    if args.epochs is not None and args.epochs < 1:
        parser.error(f"--epochs must be >= 1, got {args.epochs}")
    return args


def _write_atomically(path: str, write) -> None:
    folder = os.path.dirname(path) or "."
    fd, tmp = tempfile.mkstemp(dir=folder, suffix=os.path.splitext(path)[1])
    os.close(fd)
    try:
        write(tmp)
        os.chmod(tmp, 0o644)  # mkstemp makes owner-only files; these ship in the package
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)


def train(dataset: str, epochs: int | None = None, seed: int = 0, out: str | None = None,
          verbose: int = 2) -> dict:
    """Trains, evaluates and (when it meets its floor) saves one extractor; returns its metadata."""
    import keras  # pylint: disable=import-outside-toplevel
    import numpy as np  # pylint: disable=import-outside-toplevel

    from ganzoo import data  # pylint: disable=import-outside-toplevel
    from ganzoo.metrics import extractors  # pylint: disable=import-outside-toplevel

    default_epochs, batch_size, learning_rate = DEFAULTS[dataset]
    epochs = epochs or default_epochs
    out = out or str(extractors.weights_dir())
    start = time.perf_counter()
    keras.utils.set_random_seed(seed)
    x_train, y_train = data.load_arrays(dataset, "train", with_labels=True)
    x_test, y_test = data.load_arrays(dataset, "test", with_labels=True)
    num_classes = int(y_train.max()) + 1
    model = extractors.build_classifier(x_train.shape[1:], num_classes, seed=seed)
    steps = epochs * int(np.ceil(len(x_train) / batch_size))
    model.compile(
        optimizer=keras.optimizers.Adam(keras.optimizers.schedules.CosineDecay(learning_rate, steps)),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )
    model.fit(x_train, y_train, batch_size=batch_size, epochs=epochs, verbose=verbose,
              shuffle=True)
    test_loss, test_accuracy = model.evaluate(x_test, y_test, batch_size=500, verbose=0)
    seconds = time.perf_counter() - start
    floor = extractors.ACCURACY_FLOORS[dataset]
    metadata = {
        "dataset": dataset,
        "test_accuracy": round(float(test_accuracy), 4),
        "test_loss": round(float(test_loss), 4),
        "accuracy_floor": floor,
        "train_examples": int(len(x_train)),
        "test_examples": int(len(x_test)),
        "num_classes": num_classes,
        "features": int(model.get_layer(extractors.FEATURES_LAYER).units),
        "parameters": int(model.count_params()),
        "epochs": epochs,
        "batch_size": batch_size,
        "learning_rate": learning_rate,
        "seed": seed,
        "backend": keras.backend.backend(),
        "keras": keras.__version__,
        "train_seconds": round(seconds, 1),
        "machine": f"{platform.machine()}, {os.cpu_count()} cores",
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "command": f"python -m ganzoo.metrics.train_extractor --dataset {dataset} "
                   f"--epochs {epochs} --seed {seed}",
    }
    if test_accuracy < floor:
        metadata["saved"] = False
        return metadata
    os.makedirs(out, exist_ok=True)
    # Ship the network without its optimizer state (a third of the size): an uncompiled
    # model over the same layers.
    inference = keras.Model(model.inputs, model.outputs, name=model.name)
    _write_atomically(os.path.join(out, f"{dataset}.keras"), inference.save)

    def write_json(path):
        with open(path, "w", encoding="utf-8") as f:
            json.dump(metadata, f, indent=2)
            f.write("\n")

    _write_atomically(os.path.join(out, f"{dataset}.json"), write_json)
    metadata["saved"] = True
    return metadata


def main(argv=None) -> int:
    args = parse_args(argv)
    if args.backend:
        os.environ["KERAS_BACKEND"] = args.backend
    metadata = train(args.dataset, args.epochs, args.seed, args.out)
    print(json.dumps(metadata, indent=2))
    if not metadata["saved"]:
        print(f"test accuracy {metadata['test_accuracy']:.4f} is below the floor "
              f"{metadata['accuracy_floor']}; nothing written", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
