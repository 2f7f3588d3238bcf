"""CycleGAN (Zhu et al., 2017): unpaired translation with two generators and two discriminators.

Two generators map between image domains A and B (``a_to_b``, ``b_to_a``);
two PatchGAN discriminators (``d_a``, ``d_b``, pix2pix's, judging one
domain's images alone) tell that domain's real images from translated ones.
A batch is ``(a_images, b_images)``, two unrelated batches, which is what
`ganzoo.data` yields for an unpaired dataset (``"fashion_mnist[label=7]|
fashion_mnist[label=9]"``, ``unpaired:PATH``, ``tfds:cycle_gan/<name>``).

Each `train_step`, in the reference's order:

1. one update of both generators, on the adversarial loss of ``a_to_b(a)``
   through ``d_b`` and of ``b_to_a(b)`` through ``d_a`` (least squares by
   default), plus ``cycle_weight`` (10) times the mean absolute cycle errors
   ``|b_to_a(a_to_b(a)) - a|`` and ``|a_to_b(b_to_a(b)) - b|``, plus
   ``identity_weight * cycle_weight`` (0.5 x 10) times the identity errors
   ``|a_to_b(b) - b|`` and ``|b_to_a(a) - a|`` (which keep colours and
   overall tone; it needs A and B of equal channels);
2. one update of both discriminators, each on its real batch against the
   translated batch of step 1 passed through an image history pool.

Two optimizers, as in the reference: ``g_optimizer`` owns both generators,
``d_optimizer`` both discriminators (each optimizer's ``iterations`` counts
its updates; TF-GAN's half D learning rate is ``train.d_learning_rate``).

The history pool (Shrivastava et al., 2017) keeps ``pool_size`` (50) earlier
translations per domain. While it fills, translations go in and are judged
as they are; once full, each translation is, with probability 1/2, swapped
for a random pooled one (which the discriminator judges instead). It is
vectorised over the batch with distinct slots per batch, and it is model
state, plain non-trainable variables: threaded through the JAX step,
saved with the model and restored by checkpoints, so a resumed run equals an
unbroken one. ``pool_size=0`` judges the current translations only
(keras.io's example).

`build_generator` is the reference's ResNet generator (a 7x7 convolution,
stride-2 downsamplings, residual blocks, transposed-convolution upsamplings,
a 7x7 tanh output; instance norm throughout; zero padding where the
reference reflects) or, with ``architecture="unet"``, pix2pix's U-Net without
dropout; both sized from the image shape.
"""

import math
from typing import Annotated, Optional

import keras
import numpy as np
from keras import layers, ops

from ganzoo.arguments import Filters, Range
from ganzoo.backend.gradients import minimize, stateless_test_step, stateless_train_step
from ganzoo.layers import Conv2D, Conv2DTranspose
from ganzoo.models import pix2pix
from ganzoo.models.base import GAN

DIRECTIONS = ("a_to_b", "b_to_a")
ARCHITECTURES = ("resnet", "unet")
Blocks = Annotated[int, Range(1, 32)]
Downsamples = Annotated[int, Range(0, 6)]
Channels = Annotated[int, Range(1, 64)]
PoolSize = Annotated[int, Range(0, 10_000)]


def default_downsamples(image_shape):
    """Stride-2 steps of the ResNet generator: 2 (the reference's), fewer for images under 16 pixels."""
    return max(0, min(2, int(math.log2(min(image_shape[:2]))) - 2))


def default_blocks(image_shape):
    """Residual blocks: 9 for 256-pixel images and up (the reference's), 6 below."""
    return 9 if min(image_shape[:2]) >= 256 else 6


def build_generator(
    image_shape,
    *,
    input_channels: Optional[Channels] = None,
    architecture: str = "resnet",
    base_filters: Filters = 64,
    num_blocks: Optional[Blocks] = None,
    num_downsamples: Optional[Downsamples] = None,
    name: str = "generator",
):
    """One direction's generator: images `(H, W, input_channels)` -> images `image_shape` in [-1, 1].

    Args:
        image_shape: `(H, W, C)` of the output images.
        input_channels: Channels of the input images (default: C).
        architecture: ``"resnet"`` (the reference's) or ``"unet"`` (pix2pix's, no dropout).
        base_filters: Filters of the first convolution (64 in the reference).
        num_blocks: Residual blocks (default `default_blocks`).
        num_downsamples: Stride-2 steps (default `default_downsamples`; the
            U-Net's depth when ``"unet"``).
        name: Model name.
    """
    if architecture not in ARCHITECTURES:
        raise ValueError(f"`architecture` must be one of {ARCHITECTURES}, got {architecture!r}.")
    if architecture == "unet":
        return pix2pix.build_generator(image_shape, input_channels=input_channels, base_filters=base_filters,
                                       depth=num_downsamples or None, dropout=0.0, name=name)
    height, width, channels = image_shape
    downsamples = default_downsamples(image_shape) if num_downsamples is None else num_downsamples
    blocks = default_blocks(image_shape) if num_blocks is None else num_blocks
    step = 2 ** downsamples
    pad = tuple((p // 2, p - p // 2) for p in (-height % step, -width % step))
    inputs = keras.Input((height, width, input_channels or channels), name="images")
    x = layers.ZeroPadding2D(pad)(inputs)

    def norm_relu(x, label):
        return layers.ReLU()(layers.GroupNormalization(groups=-1, epsilon=1e-5, name=f"{label}_norm")(x))

    x = norm_relu(Conv2D(base_filters, 7, padding="same", name="stem")(x), "stem")
    for level in range(downsamples):
        filters = base_filters * 2 ** (level + 1)
        x = norm_relu(Conv2D(filters, 3, strides=2, padding="same", name=f"down{level}")(x), f"down{level}")
    filters = base_filters * 2 ** downsamples
    for block in range(blocks):
        y = norm_relu(Conv2D(filters, 3, padding="same", name=f"block{block}_a")(x), f"block{block}_a")
        y = Conv2D(filters, 3, padding="same", name=f"block{block}_b")(y)
        y = layers.GroupNormalization(groups=-1, epsilon=1e-5, name=f"block{block}_b_norm")(y)
        x = layers.Add()([x, y])
    for level in reversed(range(downsamples)):
        x = Conv2DTranspose(base_filters * 2 ** level, 3, strides=2, padding="same", name=f"up{level}")(x)
        x = norm_relu(x, f"up{level}")
    x = Conv2D(channels, 7, padding="same", activation="tanh", name="output")(x)
    x = layers.Cropping2D(pad)(x)
    return keras.Model(inputs, x, name=name)


def build_discriminator(image_shape, *, base_filters: Filters = 64, num_downsamples: Optional[Downsamples] = None,
                        spectral_norm: bool = False, name: str = "discriminator"):
    """One domain's PatchGAN (pix2pix's, judging the image alone): images -> a grid of logits.

    Args:
        image_shape: `(H, W, C)` of the domain's images.
        base_filters: Filters of the first block (64 in the reference).
        num_downsamples: Stride-2 blocks (3 in the reference: 70-pixel
            patches); default 3, or fewer so a patch is at most 1.5 image
            sides (`pix2pix.receptive_field`).
        spectral_norm: Spectral normalization instead of instance normalization.
        name: Model name.
    """
    if num_downsamples is None:  # patches of at most 1.5 image sides (34 pixels on 28x28 images)
        num_downsamples = 3
        while num_downsamples > 1 and pix2pix.receptive_field(num_downsamples) > 1.5 * min(image_shape[:2]):
            num_downsamples -= 1
    return pix2pix.build_discriminator(image_shape, input_channels=0, base_filters=base_filters,
                                       num_downsamples=max(1, num_downsamples), spectral_norm=spectral_norm,
                                       name=name)


@keras.saving.register_keras_serializable(package="ganzoo")
class CycleGAN(GAN):
    """Unpaired translation between domains A and B; see the module docstring.

    Args:
        a_to_b, b_to_a: The generators (`build_generator`).
        d_a, d_b: The discriminators of domain A and B (`build_discriminator`).
        cycle_weight: Weight of the cycle-consistency terms (10).
        identity_weight: Identity terms' weight, relative to `cycle_weight`
            (0.5; 0 turns them off, as A and B of unequal channels need).
        pool_size: Translations kept per domain in the history pool (50; 0: none).
        seed: Seed of the pool's random stream.
        **kwargs: Passed to `keras.Model` (e.g. `name`).
    """

    def __init__(self, a_to_b, b_to_a, d_a, d_b, *, cycle_weight=10.0, identity_weight=0.5, pool_size=50,
                 seed=None, **kwargs):
        for key, value in (("cycle_weight", cycle_weight), ("identity_weight", identity_weight)):
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value < float("inf"):
                raise ValueError(f"`{key}` must be a number >= 0, got {value!r}.")
        if isinstance(pool_size, bool) or not isinstance(pool_size, (int, np.integer)) or pool_size < 0:
            raise ValueError(f"`pool_size` must be an integer >= 0 (50 in the paper, 0 for none), got {pool_size!r}.")
        for key in kwargs:
            if key not in ("name", "dtype", "trainable"):
                raise ValueError(f"`{key}` does not apply to CycleGAN; remove it.")
        for role, network in (("b_to_a", b_to_a), ("d_a", d_a)):
            if not isinstance(network, keras.Model):
                raise TypeError(f"`{role}` must be a keras.Model, got {type(network).__name__}.")
        a_shape, b_shape = tuple(a_to_b.inputs[0].shape[1:]), tuple(a_to_b.outputs[0].shape[1:])
        if tuple(b_to_a.inputs[0].shape[1:]) != b_shape or tuple(b_to_a.outputs[0].shape[1:]) != a_shape:
            raise ValueError(f"b_to_a must map B images {b_shape} to A images {a_shape}; it maps "
                             f"{tuple(b_to_a.inputs[0].shape[1:])} to {tuple(b_to_a.outputs[0].shape[1:])}.")
        if identity_weight and a_shape[-1] != b_shape[-1]:
            raise ValueError(f"the identity terms feed B images to a_to_b, which takes {a_shape[-1]} channels, "
                             f"not {b_shape[-1]}; set identity_weight=0.")
        super().__init__(a_to_b, d_b, latent_dim=None, seed=seed, **kwargs)
        self.b_to_a, self.d_a = b_to_a, d_a
        self.cycle_weight, self.identity_weight = float(cycle_weight), float(identity_weight)
        self.pool_size = int(pool_size)
        self.pool_count = self.add_weight(shape=(), dtype="int32", initializer="zeros", trainable=False,
                                          name="pool_count")
        # One row more than the pool: writes that keep nothing go to this last row.
        self.pool_a, self.pool_b = (
            self.add_weight(shape=(self.pool_size + 1, *shape), initializer="zeros", trainable=False,
                            name=f"pool_{domain}") if self.pool_size else None
            for domain, shape in (("a", a_shape), ("b", b_shape)))
        self.cycle_tracker = keras.metrics.Mean(name="cycle_loss")
        self.identity_tracker = keras.metrics.Mean(name="identity_loss")
        self.built = all(n.built for n in (a_to_b, b_to_a, d_a, d_b))

    def compile(self, *, d_optimizer, g_optimizer, loss="least_squares", **kwargs):
        """`GAN.compile` with the reference's least-squares loss as the default."""
        super().compile(d_optimizer=d_optimizer, g_optimizer=g_optimizer, loss=loss, **kwargs)

    @property
    def a_to_b(self):
        """The A -> B generator (also `generator` and the default `sampling_generator`)."""
        return self.generator

    @property
    def d_b(self):
        """Domain B's discriminator (also `discriminator`)."""
        return self.discriminator

    @property
    def discriminators(self):
        return (self.d_a, self.d_b)

    @property
    def metrics(self):
        return [*super().metrics, self.cycle_tracker, self.identity_tracker]

    def generator_for(self, direction="a_to_b"):
        """The generator of `direction` (``"a_to_b"`` or ``"b_to_a"``)."""
        if direction not in DIRECTIONS:
            raise ValueError(f"unknown direction {direction!r}; expected one of {', '.join(DIRECTIONS)}.")
        return self.generator if direction == "a_to_b" else self.b_to_a

    # --------------------------------------------------------------- the step
    def unpack_batch(self, data):
        """`(a_images, b_images)` of a batch of two image batches."""
        a, b, _ = keras.utils.unpack_x_y_sample_weight(data)
        if b is None or len(a.shape) != 4 or len(b.shape) != 4:
            raise ValueError(
                "CycleGAN trains on (a_images, b_images) batches of two image sets; got "
                f"{'one batch' if b is None else f'parts of shapes {tuple(a.shape)} and {tuple(b.shape)}'}. "
                "Load an unpaired dataset, e.g. ganzoo.data.load('fashion_mnist[label=7]|fashion_mnist[label=9]').")
        return a, b

    @staticmethod
    def _l1(x, y):
        return ops.mean(ops.abs(ops.subtract(x, ops.cast(y, x.dtype))))

    def generators_loss(self, a, b, *, training=True):
        """Both generators' loss on real batches `a` and `b`, and aux ``fake_a``, ``fake_b``, ``cycle``, ``identity``."""
        fake_b = self.a_to_b(a, training=training)
        fake_a = self.b_to_a(b, training=training)
        adversarial = (self.adversarial_loss.generator(self.d_b(fake_b, training=training))
                       + self.adversarial_loss.generator(self.d_a(fake_a, training=training)))
        cycle = (self._l1(self.b_to_a(fake_b, training=training), a)
                 + self._l1(self.a_to_b(fake_a, training=training), b))
        loss = adversarial + self.cycle_weight * cycle
        identity = ops.zeros(())
        if self.identity_weight:
            identity = self._l1(self.a_to_b(b, training=training), b) + self._l1(self.b_to_a(a, training=training), a)
            loss = loss + self.identity_weight * self.cycle_weight * identity
        return loss, {"fake_a": fake_a, "fake_b": fake_b, "cycle": cycle, "identity": identity}

    def discriminators_loss(self, a, b, fake_a, fake_b, *, training=True):
        """Both discriminators' loss (real vs. the given translations) and their mean probabilities."""
        logits = [(self.d_a(a, training=training), self.d_a(fake_a, training=training)),
                  (self.d_b(b, training=training), self.d_b(fake_b, training=training))]
        loss = sum(self.adversarial_loss.discriminator(real, fake) for real, fake in logits)
        return loss, {"d_real": ops.mean(ops.stack([ops.mean(ops.sigmoid(r)) for r, _ in logits])),
                      "d_fake": ops.mean(ops.stack([ops.mean(ops.sigmoid(f)) for _, f in logits]))}

    def query_pools(self, fake_a, fake_b):
        """The history pools' answer to a batch of translations, updating the pools (see the module docstring)."""
        if not self.pool_size:
            return fake_a, fake_b
        n = ops.shape(fake_a)[0]
        count = self.pool_count
        index = ops.arange(n, dtype="int32")
        filling = ops.less(count + index, self.pool_size)
        # Distinct random filled slots: sort random keys, pushing unfilled slots behind the filled ones.
        keys = keras.random.uniform((self.pool_size,), seed=self.seed_generator)
        keys = keys + ops.cast(ops.greater_equal(ops.arange(self.pool_size, dtype="int32"), count), keys.dtype) * 2.0
        slots = ops.cast(ops.argsort(keys), "int32")
        slots = ops.concatenate([slots, ops.full((n,), self.pool_size, dtype="int32")])[:n]
        coin = ops.less(keras.random.uniform((n,), seed=self.seed_generator), 0.5)
        swap = ops.logical_and(ops.logical_and(ops.logical_not(filling), coin), ops.less(slots, count))
        trash = ops.full((n,), self.pool_size, dtype="int32")
        write = ops.where(filling, count + index, ops.where(swap, slots, trash))
        answers = []
        for pool, fake in ((self.pool_a, fake_a), (self.pool_b, fake_b)):
            fake = ops.cast(fake, pool.dtype)
            pooled = ops.take(pool, ops.minimum(slots, self.pool_size), axis=0)
            answers.append(ops.where(ops.reshape(swap, (-1, 1, 1, 1)), pooled, fake))
            pool.assign(ops.scatter_update(pool, ops.expand_dims(write, -1), fake))
        self.pool_count.assign(ops.minimum(count + n, self.pool_size))
        return answers[0], answers[1]

    @stateless_train_step
    def train_step(self, data):
        a, b = self.unpack_batch(data)
        generator_variables = [*self.a_to_b.trainable_variables, *self.b_to_a.trainable_variables]
        g_loss, aux = minimize(lambda: self.generators_loss(a, b), generator_variables, self.g_optimizer)
        fake_a, fake_b = self.query_pools(ops.stop_gradient(aux["fake_a"]), ops.stop_gradient(aux["fake_b"]))
        d_loss, probabilities = minimize(lambda: self.discriminators_loss(a, b, fake_a, fake_b),
                                         [*self.d_a.trainable_variables, *self.d_b.trainable_variables],
                                         self.d_optimizer)
        self._track(g_loss, d_loss, probabilities, aux)
        self.optimizer.iterations.assign_add(1)
        return {m.name: m.result() for m in self.metrics}

    @stateless_test_step
    def test_step(self, data):
        """The step's losses on a held-out batch, in inference mode, with nothing updated (no pool either)."""
        a, b = self.unpack_batch(data)
        g_loss, aux = self.generators_loss(a, b, training=False)
        d_loss, probabilities = self.discriminators_loss(a, b, aux["fake_a"], aux["fake_b"], training=False)
        self._track(g_loss, d_loss, probabilities, aux)
        return {m.name: m.result() for m in self.metrics}

    def _track(self, g_loss, d_loss, probabilities, aux):
        for tracker, value in ((self.g_loss_tracker, g_loss), (self.d_loss_tracker, d_loss),
                               (self.d_real_tracker, probabilities["d_real"]),
                               (self.d_fake_tracker, probabilities["d_fake"]),
                               (self.cycle_tracker, aux["cycle"]), (self.identity_tracker, aux["identity"])):
            tracker.update_state(value)

    # -------------------------------------------------------------- inference
    def translate(self, images, *, direction="a_to_b", batch_size=64):
        """Maps a batch of domain images (NHWC in [-1, 1]) through the generator of `direction`.

        Returns:
            A float32 NumPy array of translated images in [-1, 1].
        """
        from ganzoo.models import sampling  # pylint: disable=import-outside-toplevel

        generator = self.generator_for(direction)
        images = np.asarray(images, dtype=np.float32)
        expected = tuple(generator.inputs[0].shape[1:])
        if images.ndim != 4 or images.shape[1:] != expected:
            raise ValueError(f"{direction} takes images of shape (n,) + {expected}, got {images.shape}.")
        return sampling.run(generator, images, batch_size=batch_size)

    def picture_tiles(self, a, b):
        """Tiles image, translation, reconstruction for A images then B images, for sample pictures."""
        from ganzoo import plots  # pylint: disable=import-outside-toplevel

        fake_b, fake_a = self.translate(a), self.translate(b, direction="b_to_a")
        return np.concatenate([plots.pair_tiles(a, fake_b, self.translate(fake_b, direction="b_to_a")),
                               plots.pair_tiles(b, fake_a, self.translate(fake_a))])

    def generate(self, n, *, labels=None, seed=None, batch_size=256):
        raise ValueError("CycleGAN maps images to images; call translate(images, direction=...).")

    def recompute_ema_statistics(self, n=4096):
        """Nothing to re-estimate: CycleGAN keeps no EMA generator."""

    # ---------------------------------------------------------- serialization
    def get_config(self):
        return {"name": self.name,
                **{key: keras.saving.serialize_keras_object(getattr(self, key))
                   for key in ("a_to_b", "b_to_a", "d_a", "d_b")},
                "cycle_weight": self.cycle_weight, "identity_weight": self.identity_weight,
                "pool_size": self.pool_size, "seed": self.seed}

    @classmethod
    def from_config(cls, config, custom_objects=None):
        config = dict(config)
        for key in ("a_to_b", "b_to_a", "d_a", "d_b"):
            config[key] = keras.saving.deserialize_keras_object(config[key], custom_objects=custom_objects)
        return cls(**config)


def build_cyclegan(a_shape, b_shape, *, generator=None, discriminator=None, **gan_kwargs):
    """The `CycleGAN` between A images `a_shape` and B images `b_shape`.

    Args:
        a_shape, b_shape: `(H, W, C)` of the two domains' images.
        generator: Keyword arguments of `build_generator` (both directions).
        discriminator: Keyword arguments of `build_discriminator` (both domains).
        **gan_kwargs: Arguments of `CycleGAN` (``cycle_weight``, ``identity_weight``,
            ``pool_size``, ``seed``, ``name``).
    """
    generator, discriminator = dict(generator or {}), dict(discriminator or {})
    if tuple(a_shape[:2]) != tuple(b_shape[:2]):
        raise ValueError(f"CycleGAN maps between images of one size; A is {tuple(a_shape)}, B {tuple(b_shape)}: "
                         "load both at one image_size.")
    return CycleGAN(
        build_generator(b_shape, input_channels=a_shape[-1], name="a_to_b", **generator),
        build_generator(a_shape, input_channels=b_shape[-1], name="b_to_a", **generator),
        build_discriminator(a_shape, name="d_a", **discriminator),
        build_discriminator(b_shape, name="d_b", **discriminator),
        **gan_kwargs)
