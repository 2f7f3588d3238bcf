"""Feature extractors that work offline: small classifiers shipped inside ganzoo.

FID, KID, precision/recall and the other sample metrics compare *features* of
real and generated images. The usual features come from Inception-V3, whose
weights must be downloaded; ganzoo instead ships small classifiers per
built-in image dataset, trained by `ganzoo.metrics.train_extractor` on that
dataset's training split, so every metric works with no network:

* ``fashion_mnist``: 28x28x1 input, 10 classes;
* ``digits``: 8x8x1 input, 10 classes;
* ``fashion_mnist_32`` (Fashion-MNIST zero-padded to 32x32): Fashion-MNIST's
  judges on the central 28x28 crop, the same crop for real and generated images.

Every dataset has two *judges*, networks that differ in architecture, seed
and training recipe, so that no number hangs on one network (and on the one
the models were tuned with):

* ``cnn``: a plain CNN trained with Adam on the raw images (seed 0);
* ``resnet``: a small residual network trained with SGD, weight decay, label
  smoothing and shift (and, for clothes, mirror) augmentation (seed 1).

Each ships as ``ganzoo/metrics/weights/<dataset>_<judge>.keras`` with a
``.json`` beside it recording its test accuracy and how it was trained. The
features are the classifier's last hidden layer (named ``"features"``); class
probabilities come from its softmax head. Neither judge is ever used inside a
training loss: a network a generator was trained against is no judge of it.

Inception-V3 features (2048-d pool features of ``keras.applications.InceptionV3``)
are available with ``inception_extractor(weights_path)`` for numbers
comparable with papers; the weights file must be provided by the user,
nothing is downloaded.
"""

from __future__ import annotations

import functools
import json
import os
from pathlib import Path

import numpy as np

__all__ = [
    "ACCURACY_FLOORS",
    "ExtractorError",
    "FeatureExtractor",
    "JUDGES",
    "available_extractors",
    "build_classifier",
    "get_extractor",
    "get_judges",
    "inception_extractor",
    "weights_dir",
]

JUDGES = ("cnn", "resnet")
# Test accuracy each shipped extractor must reach (issues 4 and 21), per dataset and judge.
ACCURACY_FLOORS = {
    "fashion_mnist": {"cnn": 0.91, "resnet": 0.91},
    "digits": {"cnn": 0.97, "resnet": 0.97},
}
FEATURES_LAYER = "features"
# Datasets judged by another's extractors on a central crop: (that dataset, pixels cropped per side).
CROPPED = {"fashion_mnist_32": ("fashion_mnist", 2)}


class ExtractorError(ValueError):
    """A feature extractor cannot be loaded; the message says how to fix it."""

    def __init__(self, message: str):
        super().__init__(" ".join(str(message).split()))


def weights_dir() -> Path:
    """The package folder holding the shipped extractor files."""
    return Path(__file__).resolve().parent / "weights"


def _shipped(dataset: str, judge: str) -> bool:
    stem = weights_dir() / f"{dataset}_{judge}"
    return stem.with_suffix(".keras").exists() and stem.with_suffix(".json").exists()


def available_extractors() -> list[str]:
    """Datasets with both judges shipped (a ``.keras`` file and its metadata each)."""
    shipped = {name for name in ACCURACY_FLOORS if all(_shipped(name, judge) for judge in JUDGES)}
    return sorted(shipped | {name for name, (base, _) in CROPPED.items() if base in shipped})


def build_classifier(input_shape: tuple[int, ...], num_classes: int, seed: int = 0,
                     judge: str = "cnn"):
    """A judge's architecture (``"cnn"`` or ``"resnet"``), with a 128-d feature layer."""
    if judge == "resnet":
        return _build_resnet(input_shape, num_classes, seed)
    if judge != "cnn":
        raise ExtractorError(f"unknown judge {judge!r}; choose from {', '.join(JUDGES)}")
    return _build_cnn(input_shape, num_classes, seed)


def _build_cnn(input_shape, num_classes, seed):
    """The ``cnn`` judge: a small plain CNN with a 128-d feature layer.

    For 28x28 images (Fashion-MNIST): conv 32 - pool - conv 64 - pool (valid
    3x3 convolutions, batch norm, ReLU), flattened, about 5 MFLOPs per image
    so it trains on two CPU cores in minutes. For small images (8x8 digits),
    whose few pixels a valid convolution would eat: two same-padded conv 64
    layers, pooling, a conv 128 layer and global average pooling. Both end
    in a dense ReLU layer named ``"features"``, dropout and a softmax head.
    Inputs are images in [-1, 1], as `ganzoo.data` and every generator give.
    """
    import keras  # pylint: disable=import-outside-toplevel
    from keras import layers  # pylint: disable=import-outside-toplevel

    def conv(x, width, padding):
        x = layers.Conv2D(width, 3, padding=padding, use_bias=False)(x)
        x = layers.BatchNormalization()(x)
        return layers.ReLU()(x)

    inputs = keras.Input(shape=input_shape, name="images")
    if min(input_shape[:2]) >= 16:
        x = layers.MaxPooling2D(2)(conv(inputs, 32, "valid"))
        x = layers.MaxPooling2D(2)(conv(x, 64, "valid"))
        x = layers.Flatten()(x)
    else:
        x = layers.MaxPooling2D(2)(conv(conv(inputs, 64, "same"), 64, "same"))
        x = layers.GlobalAveragePooling2D()(conv(x, 128, "same"))
    x = layers.Dense(128, activation="relu", name=FEATURES_LAYER)(x)
    x = layers.Dropout(0.3, seed=seed)(x)
    outputs = layers.Dense(num_classes, activation="softmax", name="probabilities")(x)
    return keras.Model(inputs, outputs, name="feature_classifier")


def _build_resnet(input_shape, num_classes, seed):
    """The ``resnet`` judge: a small pre-pooling residual network, 128-d features.

    A 3x3 stem (stride 2 on 28x28 images, 1 on 8x8), one residual block of
    32 channels and one of 64 that halves the resolution (two 3x3
    convolutions each, batch norm, a 1x1 projection shortcut where the shape
    changes), global average pooling, a dense ReLU ``"features"`` layer,
    dropout 0.2 and a softmax head. About 87 000 parameters and 7 MFLOPs
    per 28x28 image: unlike the CNN, it sees the image through sums of
    residual paths and pools globally, so the two judges' features differ.
    """
    import keras  # pylint: disable=import-outside-toplevel
    from keras import layers  # pylint: disable=import-outside-toplevel

    def norm_relu(x):
        return layers.ReLU()(layers.BatchNormalization()(x))

    def block(x, width, stride):
        y = norm_relu(layers.Conv2D(width, 3, strides=stride, padding="same", use_bias=False)(x))
        y = layers.BatchNormalization()(layers.Conv2D(width, 3, padding="same", use_bias=False)(y))
        if stride != 1 or x.shape[-1] != width:
            x = layers.BatchNormalization()(
                layers.Conv2D(width, 1, strides=stride, use_bias=False)(x))
        return layers.ReLU()(layers.Add()([y, x]))

    inputs = keras.Input(shape=input_shape, name="images")
    stride = 2 if min(input_shape[:2]) >= 16 else 1
    x = norm_relu(layers.Conv2D(32, 3, strides=stride, padding="same", use_bias=False)(inputs))
    x = layers.GlobalAveragePooling2D()(block(block(x, 32, 1), 64, 2))
    x = layers.Dense(128, activation="relu", name=FEATURES_LAYER)(x)
    x = layers.Dropout(0.2, seed=seed)(x)
    outputs = layers.Dense(num_classes, activation="softmax", name="probabilities")(x)
    return keras.Model(inputs, outputs, name="resnet_classifier")


class FeatureExtractor:
    """Maps images to features (and class probabilities when it has a head).

    Args:
        model: A Keras model from images to ``[features, probabilities]`` (or
            to features alone).
        name: What the features are, for reports (e.g. ``"fashion_mnist"``).
        metadata: Facts about the extractor (test accuracy, training).
        preprocess: Optional function applied to each image batch first.
        judge: Short name in reports (``"cnn"``, ``"resnet"``; default `name`).
    """

    def __init__(self, model, name: str, metadata: dict | None = None, preprocess=None,
                 judge: str | None = None):
        self.model = model
        self.name = name
        self.judge = judge or name
        self.metadata = dict(metadata or {})
        self.preprocess = preprocess
        self.input_shape = tuple(model.inputs[0].shape[1:])
        self.has_probabilities = len(model.outputs) == 2

    def _check(self, images: np.ndarray) -> np.ndarray:
        images = np.asarray(images, dtype=np.float32)
        if images.ndim == len(self.input_shape) and self.preprocess is None:
            images = images[np.newaxis]
        if self.preprocess is None and images.shape[1:] != self.input_shape:
            raise ExtractorError(
                f"the {self.name} extractor takes images of shape {self.input_shape}, got "
                f"{images.shape[1:]}; evaluate against the dataset the generator was trained on"
            )
        if not np.all(np.isfinite(images)):
            raise ExtractorError("images contain NaN or infinity; check the generator's output")
        return images

    def __call__(self, images: np.ndarray, batch_size: int = 500) -> tuple[np.ndarray, np.ndarray | None]:
        """Returns ``(features, probabilities)`` as float64 arrays (probabilities None without a head)."""
        images = self._check(images)
        features, probabilities = [], []
        for start in range(0, len(images), batch_size):
            batch = images[start:start + batch_size]
            if self.preprocess is not None:
                batch = self.preprocess(batch)
            outputs = self.model(batch, training=False)
            if not self.has_probabilities:
                outputs = [outputs]
            features.append(np.asarray(_numpy(outputs[0]), dtype=np.float64))
            if self.has_probabilities:
                probabilities.append(np.asarray(_numpy(outputs[1]), dtype=np.float64))
        if not features:
            raise ExtractorError("no images to extract features from; pass at least one")
        return (np.concatenate(features),
                np.concatenate(probabilities) if self.has_probabilities else None)

    def features(self, images: np.ndarray, batch_size: int = 500) -> np.ndarray:
        """Feature vectors (N, D) of the images."""
        return self(images, batch_size)[0]

    def probabilities(self, images: np.ndarray, batch_size: int = 500) -> np.ndarray:
        """Class probabilities (N, C) of the images."""
        if not self.has_probabilities:
            raise ExtractorError(f"the {self.name} extractor has no classifier head")
        return self(images, batch_size)[1]


def _numpy(tensor):
    import keras  # pylint: disable=import-outside-toplevel

    return keras.ops.convert_to_numpy(tensor)


def from_classifier(classifier, name: str, metadata: dict | None = None,
                    judge: str | None = None) -> FeatureExtractor:
    """Wraps a classifier built by `build_classifier` as a two-output extractor."""
    import keras  # pylint: disable=import-outside-toplevel

    model = keras.Model(
        classifier.inputs[0],
        [classifier.get_layer(FEATURES_LAYER).output, classifier.outputs[0]],
        name=f"{name}_extractor",
    )
    return FeatureExtractor(model, name, metadata, judge=judge)


@functools.lru_cache(maxsize=None)
def get_extractor(dataset: str, judge: str = "cnn") -> FeatureExtractor:
    """One shipped judge of a built-in dataset (loaded once per process).

    Raises:
        ExtractorError: When ganzoo ships no such extractor.
    """
    import keras  # pylint: disable=import-outside-toplevel

    if judge not in JUDGES:
        raise ExtractorError(f"unknown judge {judge!r}; choose from {', '.join(JUDGES)}")
    if dataset in CROPPED:
        base, crop = CROPPED[dataset]
        judged = get_extractor(base, judge)
        return FeatureExtractor(judged.model, judged.name, {**judged.metadata, "crop": crop},
                                preprocess=lambda images: _cropped(images, crop, judged.input_shape), judge=judge)
    if dataset not in ACCURACY_FLOORS or not _shipped(dataset, judge):
        which = f"{judge} " if dataset in ACCURACY_FLOORS else ""
        fix = (f"train one with python -m ganzoo.metrics.train_extractor --judge {judge}"
               if not str(dataset).startswith("folder:") else
               "a folder of your own images has no judge (it has no labelled test split); look at its "
               "samples with ganzoo sample")
        raise ExtractorError(
            f"no {which}feature extractor for dataset {dataset!r}; ganzoo ships extractors for "
            f"{', '.join(available_extractors()) or 'no dataset (reinstall ganzoo)'}; {fix}"
        )
    stem = weights_dir() / f"{dataset}_{judge}"
    metadata = json.loads(stem.with_suffix(".json").read_text(encoding="utf-8"))
    metadata.setdefault("judge", judge)
    metadata["accuracy_floor"] = ACCURACY_FLOORS[dataset][judge]
    classifier = keras.saving.load_model(stem.with_suffix(".keras"), compile=False)
    return from_classifier(classifier, f"{dataset}_{judge}", metadata, judge=judge)


def _cropped(images, crop, shape):
    """The central crop of an NHWC batch, checked against the extractor's input shape."""
    images = np.asarray(images, dtype=np.float32)
    if images.ndim != 4 or images.shape[1:] != (shape[0] + 2 * crop, shape[1] + 2 * crop, shape[2]):
        raise ExtractorError(f"this judge takes images of shape {(shape[0] + 2 * crop, shape[1] + 2 * crop, shape[2])}"
                             f", got {images.shape[1:]}; evaluate against the dataset the generator was trained on")
    return images[:, crop:-crop, crop:-crop]


def get_judges(dataset: str) -> tuple[FeatureExtractor, ...]:
    """Both shipped judges of a built-in dataset, in `JUDGES` order."""
    return tuple(get_extractor(dataset, judge) for judge in JUDGES)


def inception_extractor(weights_path: str | os.PathLike) -> FeatureExtractor:
    """Inception-V3 pool features (2048-d) from a user-provided weights file.

    Images in [-1, 1] (Inception's own input scale) are resized to 299x299
    bilinearly, and grayscale is repeated to three channels. The weights must
    be Keras' ``include_top=False`` Inception-V3 weights file
    (``inception_v3_weights_tf_dim_ordering_tf_kernels_notop.h5``), fetched on
    a connected machine; ganzoo never downloads it.

    Raises:
        ExtractorError: When `weights_path` is missing or not loadable.
    """
    import keras  # pylint: disable=import-outside-toplevel

    path = Path(weights_path)
    if not path.is_file():
        raise ExtractorError(
            f"Inception-V3 weights file {str(path)!r} not found; ganzoo does not download it: "
            "copy inception_v3_weights_tf_dim_ordering_tf_kernels_notop.h5 from a connected "
            "machine and pass its path, or use the dataset's own extractor"
        )
    import h5py  # pylint: disable=import-outside-toplevel  (a Keras dependency)

    if not h5py.is_hdf5(path):
        raise ExtractorError(
            f"{str(path)!r} is not an HDF5 weights file; pass Keras' Inception-V3 notop "
            "weights (inception_v3_weights_tf_dim_ordering_tf_kernels_notop.h5)"
        )
    try:
        model = keras.applications.InceptionV3(
            include_top=False, weights=str(path), pooling="avg", input_shape=(299, 299, 3)
        )
    except (ValueError, OSError) as error:
        raise ExtractorError(
            f"cannot load Inception-V3 weights from {str(path)!r} ({error}); pass the "
            "include_top=False (notop) weights file"
        ) from error

    def preprocess(images):
        images = np.asarray(images, dtype=np.float32)
        if images.ndim != 4 or images.shape[-1] not in (1, 3):
            raise ExtractorError(
                f"Inception features need NHWC images with 1 or 3 channels, got shape "
                f"{images.shape}"
            )
        if images.shape[-1] == 1:
            images = np.repeat(images, 3, axis=-1)
        return keras.ops.image.resize(images, (299, 299), interpolation="bilinear")

    return FeatureExtractor(model, "inception_v3", {"weights": str(path)}, preprocess,
                            judge="inception_v3")
