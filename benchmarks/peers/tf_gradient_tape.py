"""Reference loop 1: the keras.io-style TensorFlow GAN loop.

The simplest idiomatic loop a Keras user writes by hand (as in the Keras
guide "Writing a training loop from scratch in TensorFlow", GAN section): a
`tf.function` step that generates a batch, trains the discriminator on real
and fake images concatenated into one batch under one `GradientTape`, then
draws new latents and trains the generator through the discriminator under a
second tape, with two Adam optimizers. The networks are the DCGAN of
`zoo_configs/dcgan_fashion_mnist.yaml`: ganzoo's builders lay them out, and
each of ganzoo's layers is then swapped for the Keras layer it subclasses,
with the same config (`keras.layers.Conv2D` for `ganzoo.layers.Conv2D`, ...),
which is what a user writes. With ``--ganzoo-layers 1`` the loop keeps
ganzoo's layers (the benchmark's reference row, not a peer: what ganzoo's
layers alone give a hand-written loop). The data is Fashion-MNIST through
`tf.data` (shuffle, batch, prefetch).

Run by `benchmarks/train_step.py`; prints one JSON line.
"""
import os
import sys
import time

os.environ["KERAS_BACKEND"] = "tensorflow"
sys.path.insert(0, os.getcwd())

import keras  # noqa: E402
import tensorflow as tf  # noqa: E402

from benchmarks import _timing  # noqa: E402
from ganzoo import data  # noqa: E402
from ganzoo.models import dcgan  # noqa: E402


def with_keras_layers(model):
    """The same network with each of ganzoo's layers replaced by the Keras layer it subclasses, same config."""
    def keras_layer(layer):
        cls = type(layer)
        if cls.__module__.startswith("ganzoo"):
            cls = cls.__bases__[0]
            if not cls.__module__.startswith("keras"):
                raise TypeError(f"{type(layer).__name__} is not a subclass of a Keras layer")
        return cls.from_config(layer.get_config())

    return keras.models.clone_model(model, clone_function=keras_layer)


def main():
    args = _timing.parse_args()
    ganzoo_layers = bool(args.get("ganzoo-layers", 0))
    batch, latent_dim = args["batch"], 100
    images, _ = data.load_arrays("fashion_mnist", "train")
    dataset = (tf.data.Dataset.from_tensor_slices(images).shuffle(len(images))
               .batch(batch, drop_remainder=True).repeat().prefetch(tf.data.AUTOTUNE))

    keras.utils.set_random_seed(0)
    generator = dcgan.build_generator((28, 28, 1), latent_dim=latent_dim, base_filters=32)
    discriminator = dcgan.build_discriminator((28, 28, 1), base_filters=32)
    if not ganzoo_layers:
        generator, discriminator = with_keras_layers(generator), with_keras_layers(discriminator)
    d_optimizer = keras.optimizers.Adam(2e-4, beta_1=0.5)
    g_optimizer = keras.optimizers.Adam(2e-4, beta_1=0.5)
    loss_fn = keras.losses.BinaryCrossentropy(from_logits=True)

    @tf.function
    def train_step(real_images):
        z = tf.random.normal((batch, latent_dim))
        fake_images = generator(z, training=True)
        combined = tf.concat([fake_images, real_images], axis=0)
        labels = tf.concat([tf.zeros((batch, 1)), tf.ones((batch, 1))], axis=0)
        with tf.GradientTape() as tape:
            d_loss = loss_fn(labels, discriminator(combined, training=True))
        grads = tape.gradient(d_loss, discriminator.trainable_weights)
        d_optimizer.apply(grads, discriminator.trainable_weights)

        z = tf.random.normal((batch, latent_dim))
        with tf.GradientTape() as tape:
            predictions = discriminator(generator(z, training=True), training=True)
            g_loss = loss_fn(tf.ones((batch, 1)), predictions)
        grads = tape.gradient(g_loss, generator.trainable_weights)
        g_optimizer.apply(grads, generator.trainable_weights)
        return d_loss, g_loss

    stamps = []
    total = args["warmup"] + args["windows"] * args["window"]
    for real_images in dataset.take(total):
        d_loss, _ = train_step(real_images)
        float(d_loss)  # the step's result is on the host
        stamps.append(time.perf_counter())
    _timing.report("TF GradientTape loop", stamps, warmup=args["warmup"], window=args["window"],
                   backend="tensorflow", layers=sorted({type(layer).__module__.split(".")[0]
                                                        for model in (generator, discriminator)
                                                        for layer in model.layers}))


if __name__ == "__main__":
    main()
