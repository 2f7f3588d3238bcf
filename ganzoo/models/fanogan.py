"""f-AnoGAN (Schlegl et al., Medical Image Analysis 2019): an encoder for a trained GAN of the zoo, and its score.

Any trained unconditional image GAN of the zoo (a WGAN-GP, an R1 DCGAN, ...)
gets an encoder E (image -> latent) this way, with the GAN frozen: the paper's
"izi_f" training maps a normal image x to z = E(x), back to x' = G(z), and
minimises

    mean((x - x')^2)  +  kappa * mean((f(x) - f(x'))^2)

where f is the discriminator's last hidden layer (its features before the
output layer) and kappa = 1 as in the paper. Only E learns; G and D stay as
trained. The anomaly score of an image is the same sum, per image: an image
unlike the normal data is one the generator cannot reproduce through the
encoder, in pixels or in the discriminator's features. ``score_kind`` picks
the whole score (``"izif"``), or one of its two residuals (``"image"``,
``"features"``).

E is a DCGAN discriminator with `latent_dim` outputs (`ganzoo.models.dcgan`):
a linear output, as the zoo's latents are standard normal (the paper's WGAN
draws uniform latents and puts a tanh there).
"""

import keras
from keras import layers, ops

from ganzoo.arguments import Filters
from ganzoo.layers import MinibatchStdDev
from ganzoo.backend.gradients import minimize, stateless_test_step, stateless_train_step
from ganzoo.models import dcgan
from ganzoo.models.anomaly import AnomalyScorer, ScoreDistance

SCORE_KINDS = ("izif", "image", "features")


def feature_network(discriminator):
    """A frozen copy of the discriminator's last hidden features: its input to its output layer's input."""
    if len(discriminator.inputs) != 1 or len(discriminator.outputs) != 1:
        raise ValueError("f-AnoGAN needs an unconditional discriminator with one image input and one output; "
                         f"{discriminator.name!r} has {len(discriminator.inputs)} inputs and "
                         f"{len(discriminator.outputs)} outputs.")
    if any(isinstance(layer, MinibatchStdDev) for layer in discriminator.layers):
        raise ValueError("f-AnoGAN scores images one by one, but this discriminator's minibatch-stddev layer makes "
                         "its features depend on the rest of the batch; use a GAN without minibatch_stddev.")
    return _frozen_copy(keras.Model(discriminator.input, discriminator.layers[-1].input, name="features"))


def _frozen_copy(model):
    """A copy of `model` with its weights, not trainable, so the trained GAN itself is left as it was."""
    copy = keras.models.clone_model(model)
    copy.set_weights(model.get_weights())
    copy.trainable = False
    return copy


def build_encoder(image_shape, *, latent_dim, base_filters: Filters = 64, name: str = "encoder"):
    """Builds E: images -> latents (a DCGAN discriminator with `latent_dim` linear outputs)."""
    return dcgan.build_discriminator(image_shape, base_filters=base_filters, num_outputs=latent_dim, name=name)


@keras.saving.register_keras_serializable(package="ganzoo")
class FAnoGAN(AnomalyScorer, keras.Model):
    """The f-AnoGAN scorer: a trainable encoder before a frozen generator, judged by frozen critic features.

    Args:
        generator: The trained GAN's generator (latents -> images); frozen.
        features: Its discriminator's last hidden features (`feature_network`); frozen.
        encoder: The encoder to train (images -> latents of the generator's size).
        kappa: Weight of the feature residual (1 in the paper).
        score_kind: ``"izif"`` (image + kappa * features, the paper's), ``"image"`` or ``"features"``.
        threshold, threshold_fpr: The flagging threshold and its false-positive rate (`calibrate`).
        **kwargs: Passed to `keras.Model` (``name``).

    Example:

    ```python
    gan = ganzoo.from_preset("wgan_gp_fashion_mnist")    # any unconditional image GAN
    scorer = ganzoo.models.fanogan.build_fanogan(gan, base_filters=32)
    scorer.compile(optimizer=keras.optimizers.Adam(1e-4, beta_1=0.5))
    scorer.fit(normal_images, batch_size=64, epochs=10)
    scores = scorer.score(test_images)
    ```
    """

    def __init__(self, generator, features, encoder, *, kappa=1.0, score_kind="izif", threshold=None,
                 threshold_fpr=None, **kwargs):
        super().__init__(**kwargs)
        if score_kind not in SCORE_KINDS:
            raise ValueError(f"`score_kind` must be one of {SCORE_KINDS}, got {score_kind!r}.")
        if isinstance(kappa, bool) or not isinstance(kappa, (int, float)) or kappa < 0:
            raise ValueError(f"`kappa` must be a number >= 0, got {kappa!r}.")
        latent = tuple(generator.inputs[0].shape[1:])
        if len(generator.inputs) != 1 or tuple(encoder.outputs[0].shape[1:]) != latent:
            raise ValueError(f"the encoder must output the generator's latents {latent}, got "
                             f"{tuple(encoder.outputs[0].shape[1:])} (and the generator take one input).")
        generator.trainable = features.trainable = False
        self.generator, self.features, self.encoder = generator, features, encoder
        self.kappa = float(kappa)
        self.score_kind = score_kind
        self.threshold = None if threshold is None else float(threshold)
        self.threshold_fpr = None if threshold_fpr is None else float(threshold_fpr)
        self.loss_tracker = keras.metrics.Mean(name="loss")
        self.image_tracker = keras.metrics.Mean(name="image_residual")
        self.feature_tracker = keras.metrics.Mean(name="feature_residual")

    @property
    def image_shape(self):
        return tuple(self.encoder.inputs[0].shape[1:])

    @property
    def metrics(self):
        return [self.loss_tracker, self.image_tracker, self.feature_tracker]

    def call(self, images, training=False):
        """The generator's reproduction G(E(x)) of `images`."""
        return self.generator(self.encoder(images, training=training), training=False)

    def _residuals(self, images, training):
        reproduced = self(images, training=training)
        image = ops.mean(ops.square(ops.subtract(images, reproduced)))
        feature = ops.mean(ops.square(ops.subtract(self.features(images, training=False),
                                                   self.features(reproduced, training=False))))
        return image + self.kappa * feature, image, feature

    def _images(self, data):
        images, labels, _ = keras.utils.unpack_x_y_sample_weight(data)
        if len(images.shape) != 4 or (labels is not None and len(labels.shape) > 2):
            raise ValueError("the f-AnoGAN encoder trains on batches of normal images (or images with class "
                             f"labels), got {tuple(images.shape)}; give fit() the images of the normal class.")
        return images

    def _log(self, loss, image, feature):
        for tracker, value in zip(self.metrics, (loss, image, feature)):
            tracker.update_state(value)
        return {m.name: m.result() for m in self.metrics}

    @stateless_train_step
    def train_step(self, data):
        images = self._images(data)

        def objective():
            loss, image, feature = self._residuals(images, training=True)
            return loss, {"image": image, "feature": feature}

        loss, parts = minimize(objective, self.encoder.trainable_variables, self.optimizer)
        return self._log(loss, parts["image"], parts["feature"])

    @stateless_test_step
    def test_step(self, data):
        return self._log(*self._residuals(self._images(data), training=False))

    def scorer_model(self, kind=None):
        """A functional model from images to anomaly scores (`kind`: ``"izif"``, ``"image"`` or ``"features"``)."""
        kind = kind or self.score_kind
        if kind not in SCORE_KINDS:
            raise ValueError(f"`kind` must be one of {SCORE_KINDS}, got {kind!r}.")
        images = keras.Input(self.image_shape, name="images")
        reproduced = self.generator(self.encoder(images))
        image = ScoreDistance(2, name="image_residual")(images, reproduced)
        feature = ScoreDistance(2, name="feature_residual")(self.features(images), self.features(reproduced))
        scores = {"image": image, "features": feature,
                  "izif": layers.Add(name="izif")([image, layers.Rescaling(self.kappa)(feature)])}[kind]
        return keras.Model(images, scores, name=f"{self.name}_scorer")

    def get_config(self):
        return {"name": self.name, "kappa": self.kappa, "score_kind": self.score_kind, "threshold": self.threshold,
                "threshold_fpr": self.threshold_fpr,
                **{key: keras.saving.serialize_keras_object(getattr(self, key))
                   for key in ("generator", "features", "encoder")}}

    @classmethod
    def from_config(cls, config, custom_objects=None):
        config = dict(config)
        for key in ("generator", "features", "encoder"):
            config[key] = keras.saving.deserialize_keras_object(config[key], custom_objects=custom_objects)
        return cls(**config)


def build_fanogan(gan, *, base_filters=64, kappa=1.0, **kwargs):
    """The `FAnoGAN` scorer of a trained unconditional image `gan` of the zoo, with a new encoder to train.

    Args:
        gan: A trained `ganzoo.models.GAN` (its sampling generator, the EMA one
            when it has one, and its discriminator are used, frozen).
        base_filters: Filters of the encoder's first convolution.
        kappa: Weight of the feature residual (1 in the paper).
        **kwargs: Arguments of `FAnoGAN` (``score_kind``, ``name``).
    """
    generator = gan.sampling_generator
    shape = tuple(generator.outputs[0].shape[1:])
    if len(shape) != 3 or gan.latent_dim is None or getattr(gan, "pack", 1) != 1 or len(generator.inputs) != 1:
        raise ValueError(f"f-AnoGAN needs an unconditional image GAN without packing; {gan.name!r} "
                         f"({type(gan).__name__}) is not one.")
    kwargs.setdefault("name", f"{gan.name}_fanogan")
    return FAnoGAN(_frozen_copy(generator), feature_network(gan.discriminator),
                   build_encoder(shape, latent_dim=gan.latent_dim, base_filters=base_filters),
                   kappa=kappa, **kwargs)
