"""Perceptual (feature) content loss for image-to-image generators, on a frozen feature network.

SRGAN's content loss compares VGG19 features of the output and the target
instead of (or beside) their pixels. Two feature networks serve here:

* ``"fashion_mnist"``: ganzoo's own small CNN (`build_network`), trained for
  this purpose on Fashion-MNIST's training split by
  ``python -m ganzoo.models.perceptual`` and shipped in
  ``ganzoo/models/weights/``. It is deliberately *not* one of the evaluation
  judges (`ganzoo.metrics.extractors`): another architecture (ELU, no batch
  norm, average pooling), another seed and recipe, so a super-resolution
  model is never trained on the features that score it.
* ``"vgg19:PATH"``: `keras.applications.VGG19` (no top) with the weights in
  the user's file PATH (never downloaded); features of ``block5_conv4``
  (SRGAN's VGG54), divided by 12.75 as in the paper. Gray images are
  repeated to three channels; the input must be at least 32x32.

`feature_loss(name, image_shape)` returns ``loss(outputs, targets)``, the mean
squared difference of the two images' features. The network is frozen and
held outside Keras' tracking, so checkpoints do not carry its weights: a
saved GAN rebuilds it from its name.
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

import keras
from keras import layers, ops

__all__ = ["NETWORKS", "build_network", "feature_loss", "weights_path"]

NETWORKS = ("fashion_mnist", "vgg19:PATH")
FEATURE_LAYER = "features"
VGG_LAYER, VGG_SCALE = "block5_conv4", 12.75
VGG_MEAN_BGR = (103.939, 116.779, 123.68)
RECIPE = {"epochs": 4, "batch_size": 128, "learning_rate": 1e-3, "seed": 7}


def weights_path(name: str = "fashion_mnist") -> Path:
    """Where the shipped feature network `name` is stored."""
    return Path(__file__).resolve().parent / "weights" / f"{name}_features.keras"


def build_network(input_shape=(28, 28, 1), num_classes=10):
    """The Fashion-MNIST feature network: conv 32 x2 - average pool - conv 64 x2 (``features``) - classifier."""
    images = keras.Input(input_shape, name="images")
    x = layers.Conv2D(32, 3, padding="same", activation="elu")(images)
    x = layers.Conv2D(32, 3, padding="same", activation="elu")(x)
    x = layers.AveragePooling2D(2)(x)
    x = layers.Conv2D(64, 3, padding="same", activation="elu")(x)
    x = layers.Conv2D(64, 3, padding="same", activation="elu", name=FEATURE_LAYER)(x)
    x = layers.GlobalAveragePooling2D()(x)
    return keras.Model(images, layers.Dense(num_classes, activation="softmax")(x), name="perceptual_features")


class _Frozen:
    """Holds the feature model where Keras' attribute tracking does not look (no weights in checkpoints)."""

    def __init__(self, model, preprocess, scale):
        model.trainable = False
        self.model, self.preprocess, self.scale = model, preprocess, scale

    def __call__(self, images):
        return self.model(self.preprocess(images), training=False) / self.scale


def _fashion_mnist(image_shape):
    path = weights_path("fashion_mnist")
    if tuple(image_shape)[-1] != 1:  # fully convolutional: any size, but gray like Fashion-MNIST
        raise ValueError(f"the fashion_mnist feature network takes one-channel images, not {tuple(image_shape)}; "
                         "use vgg19:PATH for colour images.")
    if not path.is_file():
        raise ValueError(f"{path} is missing; train it with python -m ganzoo.models.perceptual.")
    classifier = keras.saving.load_model(path, compile=False, safe_mode=True)
    features = keras.Model(classifier.inputs, classifier.get_layer(FEATURE_LAYER).output)
    return _Frozen(features, lambda images: images, 1.0)


def _vgg19(path, image_shape):
    if not os.path.isfile(path):
        raise ValueError(f"VGG19 weights file {path!r} not found; give the path of a no-top VGG19 .h5 "
                         "file (ganzoo never downloads weights).")
    height, width, channels = image_shape
    if channels not in (1, 3) or (height is not None and height < 32) or (width is not None and width < 32):
        raise ValueError(f"vgg19 features need 1- or 3-channel images of at least 32x32, not {tuple(image_shape)}.")
    vgg = keras.applications.VGG19(include_top=False, weights=path, input_shape=(height, width, 3))
    features = keras.Model(vgg.inputs, vgg.get_layer(VGG_LAYER).output)
    mean = ops.convert_to_tensor(VGG_MEAN_BGR, dtype="float32")

    def preprocess(images):  # [-1, 1] RGB (or gray) -> Caffe-style BGR minus the ImageNet mean
        images = ops.repeat(images, 3, axis=-1) if images.shape[-1] == 1 else images
        return ops.flip((images + 1.0) * 127.5, axis=-1) - mean

    return _Frozen(features, preprocess, VGG_SCALE)


def feature_loss(name: str, image_shape):
    """``loss(outputs, targets)``: mean squared difference of the named network's features."""
    if name == "fashion_mnist":
        network = _fashion_mnist(image_shape)
    elif isinstance(name, str) and name.startswith("vgg19:"):
        network = _vgg19(name[len("vgg19:"):], image_shape)
    else:
        raise ValueError(f"unknown perceptual feature network {name!r}; choose fashion_mnist or vgg19:PATH.")

    def loss(outputs, targets):
        return ops.mean(ops.square(network(outputs) - network(ops.cast(targets, outputs.dtype))))

    return loss


def train(out: str | None = None, epochs: int = RECIPE["epochs"]) -> dict:
    """Trains the Fashion-MNIST feature network as a classifier; writes it and its facts beside it."""
    from ganzoo import data  # pylint: disable=import-outside-toplevel

    start = time.perf_counter()
    keras.utils.set_random_seed(RECIPE["seed"])
    x_train, y_train = data.load_arrays("fashion_mnist", "train", with_labels=True)
    x_test, y_test = data.load_arrays("fashion_mnist", "test", with_labels=True)
    model = build_network()
    model.compile(optimizer=keras.optimizers.Adam(RECIPE["learning_rate"]),
                  loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    model.fit(x_train, y_train, batch_size=RECIPE["batch_size"], epochs=epochs, verbose=2)
    accuracy = float(model.evaluate(x_test, y_test, batch_size=500, verbose=0)[1])
    path = Path(out) if out else weights_path("fashion_mnist")
    path.parent.mkdir(parents=True, exist_ok=True)
    plain = build_network()  # uncompiled: the file carries no optimizer state
    plain.set_weights(model.get_weights())
    plain.save(path)
    facts = {"purpose": "perceptual content loss (not an evaluation judge)", "test_accuracy": round(accuracy, 4),
             "recipe": dict(RECIPE, epochs=epochs), "backend": keras.backend.backend(),
             "keras": keras.__version__, "seconds": round(time.perf_counter() - start, 1)}
    path.with_suffix(".json").write_text(json.dumps(facts, indent=2) + "\n", encoding="utf-8")
    return facts


if __name__ == "__main__":
    print(json.dumps(train(*sys.argv[1:2]), indent=2))
