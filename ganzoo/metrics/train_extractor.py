"""Trains the feature extractors that ganzoo ships (see `ganzoo.metrics.extractors`).

Usage::

    python -m ganzoo.metrics.train_extractor --dataset fashion_mnist [--judge cnn]
        [--epochs 12] [--seed 0] [--out ganzoo/metrics/weights] [--backend jax]

Trains one judge (`build_classifier`) on the dataset's ``train`` split,
measures accuracy on the ``test`` split, and writes ``<dataset>_<judge>.keras``
and ``.json`` (test accuracy, recipe, versions, wall time) into ``--out``.
The two judges differ in recipe as well as architecture (`RECIPES`):

* ``cnn``: Adam with a cosine decay, plain cross-entropy, no augmentation,
  seed 0;
* ``resnet``: SGD with Nesterov momentum, weight decay and a cosine decay,
  label smoothing 0.1, random shifts (and horizontal mirrors for clothes),
  seed 1.

Nothing is written when the test accuracy is below the floor in
`ACCURACY_FLOORS` (exit status 1), so a bad run never replaces good weights.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import sys
import time

from ganzoo.files import write_atomically

# (dataset, judge): epochs, batch size, peak learning rate, seed, shift in pixels, mirror.
RECIPES = {
    ("fashion_mnist", "cnn"): dict(epochs=12, batch_size=128, learning_rate=2e-3, seed=0),
    ("digits", "cnn"): dict(epochs=60, batch_size=64, learning_rate=2e-3, seed=0),
    ("fashion_mnist", "resnet"): dict(epochs=15, batch_size=128, learning_rate=0.05, seed=1,
                                      shift=2, mirror=True),
    ("digits", "resnet"): dict(epochs=80, batch_size=64, learning_rate=0.05, seed=1, shift=1),
}
DATASETS = sorted({dataset for dataset, _ in RECIPES})


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", required=True, choices=DATASETS)
    parser.add_argument("--judge", default="cnn", choices=("cnn", "resnet"))
    parser.add_argument("--epochs", type=int, default=None, help="default: the judge's recipe")
    parser.add_argument("--seed", type=int, default=None, help="default: the judge's recipe")
    parser.add_argument("--out", default=None, help="default: the package's weights folder")
    parser.add_argument("--backend", default=None, choices=("tensorflow", "jax", "torch"),
                        help="Keras backend (default: KERAS_BACKEND or Keras' own default)")
    args = parser.parse_args(argv)
    if args.epochs is not None and args.epochs < 1:
        parser.error(f"--epochs must be >= 1, got {args.epochs}")
    return args


def _trainer(model, recipe, steps, seed):
    """The model `fit` trains (augmentation in front for the resnet recipe), compiled."""
    import keras  # pylint: disable=import-outside-toplevel
    from keras import layers  # pylint: disable=import-outside-toplevel

    schedule = keras.optimizers.schedules.CosineDecay(recipe["learning_rate"], steps)
    if "shift" not in recipe:
        model.compile(optimizer=keras.optimizers.Adam(schedule),
                      loss="sparse_categorical_crossentropy", metrics=["accuracy"])
        return model
    size = model.inputs[0].shape[1]
    augment = [layers.RandomTranslation(recipe["shift"] / size, recipe["shift"] / size,
                                        fill_mode="constant", fill_value=-1.0, seed=seed)]
    if recipe.get("mirror"):
        augment.append(layers.RandomFlip("horizontal", seed=seed))
    images = keras.Input(model.inputs[0].shape[1:])
    trainer = keras.Model(images, model(keras.Sequential(augment)(images)))
    trainer.compile(
        optimizer=keras.optimizers.SGD(schedule, momentum=0.9, nesterov=True, weight_decay=5e-4),
        loss=keras.losses.CategoricalCrossentropy(label_smoothing=0.1), metrics=["accuracy"])
    return trainer


def train(dataset: str, judge: str = "cnn", epochs: int | None = None, seed: int | None = None,
          out: str | None = None, verbose: int = 2) -> dict:
    """Trains, evaluates and (when it meets its floor) saves one judge; returns its metadata."""
    import keras  # pylint: disable=import-outside-toplevel
    import numpy as np  # pylint: disable=import-outside-toplevel

    from ganzoo import data  # pylint: disable=import-outside-toplevel
    from ganzoo.metrics import extractors  # pylint: disable=import-outside-toplevel

    recipe = dict(RECIPES[(dataset, judge)])
    recipe["epochs"] = epochs or recipe["epochs"]
    recipe["seed"] = recipe["seed"] if seed is None else seed
    epochs, batch_size, seed = recipe["epochs"], recipe["batch_size"], recipe["seed"]
    out = out or str(extractors.weights_dir())
    start = time.perf_counter()
    keras.utils.set_random_seed(seed)
    x_train, y_train = data.load_arrays(dataset, "train", with_labels=True)
    x_test, y_test = data.load_arrays(dataset, "test", with_labels=True)
    num_classes = int(y_train.max()) + 1
    model = extractors.build_classifier(x_train.shape[1:], num_classes, seed=seed, judge=judge)
    trainer = _trainer(model, recipe, epochs * int(np.ceil(len(x_train) / batch_size)), seed)
    targets = y_train if trainer is model else keras.utils.to_categorical(y_train, num_classes)
    trainer.fit(x_train, targets, batch_size=batch_size, epochs=epochs, verbose=verbose,
                shuffle=True)
    model.compile(loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    test_loss, test_accuracy = model.evaluate(x_test, y_test, batch_size=500, verbose=0)
    seconds = time.perf_counter() - start
    floor = extractors.ACCURACY_FLOORS[dataset][judge]
    metadata = {
        "dataset": dataset,
        "judge": judge,
        "test_accuracy": round(float(test_accuracy), 4),
        "test_loss": round(float(test_loss), 4),
        "accuracy_floor": floor,
        "train_examples": int(len(x_train)),
        "test_examples": int(len(x_test)),
        "num_classes": num_classes,
        "features": int(model.get_layer(extractors.FEATURES_LAYER).units),
        "parameters": int(model.count_params()),
        "recipe": recipe,
        "backend": keras.backend.backend(),
        "keras": keras.__version__,
        "train_seconds": round(seconds, 1),
        "machine": f"{platform.machine()}, {os.cpu_count()} cores",
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "command": f"python -m ganzoo.metrics.train_extractor --dataset {dataset} "
                   f"--judge {judge} --epochs {epochs} --seed {seed}",
    }
    if test_accuracy < floor:
        metadata["saved"] = False
        return metadata
    os.makedirs(out, exist_ok=True)
    # Ship the network without its optimizer state (a third of the size): an uncompiled
    # model over the same layers.
    inference = keras.Model(model.inputs, model.outputs, name=model.name)
    write_atomically(os.path.join(out, f"{dataset}_{judge}.keras"), inference.save)

    def write_json(path):
        with open(path, "w", encoding="utf-8") as f:
            json.dump(metadata, f, indent=2)
            f.write("\n")

    write_atomically(os.path.join(out, f"{dataset}_{judge}.json"), write_json)
    metadata["saved"] = True
    return metadata


def main(argv=None) -> int:
    args = parse_args(argv)
    if args.backend:
        os.environ["KERAS_BACKEND"] = args.backend
    metadata = train(args.dataset, args.judge, args.epochs, args.seed, args.out)
    print(json.dumps(metadata, indent=2))
    if not metadata["saved"]:
        print(f"test accuracy {metadata['test_accuracy']:.4f} is below the floor "
              f"{metadata['accuracy_floor']}; nothing written", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
