"""Anomaly scoring shared by ganzoo's scorers (GANomaly): scores, a threshold, flags.

A scorer is a model trained on normal images only that maps an image to one
float, higher meaning more anomalous. `AnomalyScorer` gives such a model

* `score(images)`: one float per image, computed by `scorer_model()`, a plain
  functional `keras.Model` (images -> scores) that is also what gets exported
  (SavedModel / TFLite) and checked for parity;
* `calibrate(normal_images, fpr=0.05)`: the threshold above which an image is
  flagged, chosen on held-out normal images so that a fraction `fpr` of them
  score above it (the false-positive rate on normal data); the threshold and
  its rate are saved with the model (its config);
* `flag(images)`: whether each image scores above the threshold.

`ScoreDistance` is the layer that turns the networks' outputs into the score,
so the exported scorer holds the whole computation.
"""

import keras
import numpy as np
from keras import ops


@keras.saving.register_keras_serializable(package="ganzoo")
class ScoreDistance(keras.layers.Layer):
    """Per-sample mean of ``|a - b| ** power`` over every axis but the first.

    ``power=2`` is the mean squared distance (GANomaly's latent score), ``power=1``
    the mean absolute one (its reconstruction score).
    """

    def __init__(self, power=2, **kwargs):
        super().__init__(**kwargs)
        if power not in (1, 2):
            raise ValueError(f"`power` must be 1 or 2, got {power!r}.")
        self.power = power

    def call(self, a, b):
        error = ops.subtract(a, b)
        error = ops.abs(error) if self.power == 1 else ops.square(error)
        return ops.mean(ops.reshape(error, (ops.shape(error)[0], -1)), axis=-1)

    def compute_output_shape(self, a_shape, b_shape):
        return (a_shape[0],)

    def get_config(self):
        return {**super().get_config(), "power": self.power}


def check_images(images, expected):
    """`images` as float32 NHWC of the shape `expected` (H, W, C), or a one-line `ValueError` naming the fix."""
    images = np.asarray(images, dtype=np.float32)
    if images.ndim == 3 and expected[-1] == 1 and images.shape[1:] == tuple(expected[:2]):
        images = images[..., None]  # grayscale images without their channel axis
    if images.ndim != 4 or tuple(images.shape[1:]) != tuple(expected):
        got = tuple(images.shape[1:]) if images.ndim == 4 else images.shape
        raise ValueError(f"this scorer takes images of shape {tuple(expected)} (height, width, channels), got "
                         f"{got}; resize or convert them to that shape first.")
    return images


class AnomalyScorer:
    """Mixin of a model that scores images: `score`, `calibrate`, `flag` over its `scorer_model`.

    The class using it sets ``self.threshold`` and ``self.threshold_fpr`` (None
    until `calibrate`), saves them in its config and defines `scorer_model()`
    and `image_shape`.
    """

    def scorer_model(self, kind=None):
        raise NotImplementedError

    @property
    def image_shape(self):
        raise NotImplementedError

    def score(self, images, *, kind=None, batch_size=256):
        """Anomaly scores of `images` (NHWC in [-1, 1]): one float32 per image, higher = more anomalous.

        Args:
            images: NumPy array of images shaped like the training images.
            kind: Which score (the model's `score_kind` by default; see the class).
            batch_size: Images per forward pass.
        """
        images = check_images(images, self.image_shape)
        scorer = self.scorer_model(kind)
        scores = [ops.convert_to_numpy(scorer(images[i:i + batch_size], training=False))
                  for i in range(0, len(images), batch_size)]
        return np.concatenate(scores).astype(np.float32) if scores else np.zeros((0,), np.float32)

    def calibrate(self, normal_images, *, fpr=0.05):
        """Sets the threshold so that a fraction `fpr` of `normal_images` (held-out normal data) score above it.

        Returns:
            The threshold (also stored as ``threshold``, with ``threshold_fpr``, and saved with the model).
        """
        if isinstance(fpr, bool) or not isinstance(fpr, (int, float)) or not 0 < fpr < 1:
            raise ValueError(f"`fpr` must be a false-positive rate in (0, 1), e.g. 0.05; got {fpr!r}.")
        scores = self.score(normal_images)
        if len(scores) < 2:
            raise ValueError(f"calibrate needs at least 2 normal images, got {len(scores)}.")
        self.threshold = float(np.quantile(scores, 1.0 - fpr, method="higher"))
        self.threshold_fpr = float(fpr)
        return self.threshold

    def flag(self, images, **kwargs):
        """Whether each image scores above the calibrated threshold (a bool array)."""
        if self.threshold is None:
            raise ValueError("this scorer has no threshold yet; call calibrate(normal_images, fpr=0.05) first.")
        return self.score(images, **kwargs) > self.threshold
