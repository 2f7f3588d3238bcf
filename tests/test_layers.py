"""The layers: anti-mode-collapse ones and the discriminator options built on them, the fast-training ones."""

import os

import keras
import numpy as np
import pytest

from ganzoo.layers import (
    BatchNormalization,
    Conv2D,
    Conv2DTranspose,
    MinibatchStdDev,
    SpectralNormalization,
    pack,
    packed_shape,
    spectral_normalized,
)
from ganzoo.models import build_gan, dcgan, mlp
from ganzoo.backend import gradients, kernels, matmul


def numpy(x):
    return keras.ops.convert_to_numpy(x)


def random(*shape, seed=0):
    return np.random.default_rng(seed).normal(size=shape).astype("float32")


def minibatch_stddev_reference(x, group):
    """ProGAN's statistic in NumPy, over consecutive groups of `group` samples."""
    groups = x.reshape((-1, group) + x.shape[1:])
    stddev = np.sqrt(groups.var(axis=1) + 1e-8)  # population variance, as in the paper
    statistic = stddev.reshape(len(groups), -1).mean(axis=1)
    column = np.repeat(statistic, group)
    feature = np.broadcast_to(column.reshape((-1,) + (1,) * (x.ndim - 1)), x.shape[:-1] + (1,))
    return np.concatenate([x, feature], axis=-1)


# ------------------------------------------------------------ MinibatchStdDev
@pytest.mark.parametrize(
    "shape, group_size, group",
    [
        ((8, 3, 3, 2), 4, 4),  # NHWC: two groups of four
        ((6, 5), 3, 3),  # rank 2: two groups of three
        ((2, 5), 4, 2),  # group_size above the batch: one group of the whole batch
    ],
)
def test_minibatch_stddev_matches_numpy(shape, group_size, group):
    x = random(*shape)
    x[group:] *= 3.0  # groups with different spreads get different statistics
    outputs = numpy(MinibatchStdDev(group_size)(x))
    assert outputs.shape == shape[:-1] + (shape[-1] + 1,)
    np.testing.assert_allclose(outputs, minibatch_stddev_reference(x, group), rtol=1e-5, atol=1e-6)
    np.testing.assert_array_equal(outputs[..., :-1], x)


def test_minibatch_stddev_is_zero_plus_epsilon_for_identical_samples():
    x = np.repeat(random(1, 4, 4, 3), 4, axis=0)
    np.testing.assert_allclose(numpy(MinibatchStdDev(4)(x))[..., -1], 1e-4, rtol=1e-3)


def test_minibatch_stddev_output_shape_and_errors():
    assert MinibatchStdDev()(keras.Input((4, 4, 8))).shape == (None, 4, 4, 9)
    assert MinibatchStdDev().compute_output_shape((None, 16)) == (None, 17)
    with pytest.raises(ValueError, match="multiple of group_size"):
        MinibatchStdDev(4)(random(6, 3))
    with pytest.raises(ValueError, match="group_size >= 1"):
        MinibatchStdDev(0)


def test_minibatch_stddev_config_round_trip():
    layer = MinibatchStdDev(group_size=2, name="stat")
    config = layer.get_config()
    assert config["group_size"] == 2
    clone = MinibatchStdDev.from_config(config)
    assert (clone.group_size, clone.name) == (2, "stat")
    x = random(4, 3)
    np.testing.assert_array_equal(numpy(clone(x)), numpy(layer(x)))


def test_tiny_model_with_both_layers_saves_and_loads(tmp_path):
    inputs = keras.Input((3, 3, 2))
    x = SpectralNormalization(keras.layers.Conv2D(4, 3))(inputs)
    x = MinibatchStdDev(2)(x)
    outputs = SpectralNormalization(keras.layers.Dense(1))(keras.layers.Flatten()(x))
    model = keras.Model(inputs, outputs)
    x = random(4, 3, 3, 2)
    for _ in range(3):  # moves vector_u away from its initial value
        model(x, training=True)
    path = os.path.join(tmp_path, "tiny.keras")
    model.save(path)
    loaded = keras.saving.load_model(path)

    kinds = [type(layer) for layer in loaded.layers]
    assert kinds.count(SpectralNormalization) == 2 and MinibatchStdDev in kinds
    assert loaded.layers[2].group_size == 2
    np.testing.assert_allclose(numpy(loaded(x)), numpy(model(x)), rtol=1e-6, atol=1e-6)
    for a, b in zip(model.weights, loaded.weights):
        np.testing.assert_array_equal(numpy(a), numpy(b))


# ----------------------------------------------------- SpectralNormalization
def test_spectral_normalization_divides_by_the_largest_singular_value():
    layer = SpectralNormalization(keras.layers.Dense(3), power_iterations=5)
    x = random(4, 6)
    untrained = numpy(layer(x))
    raw_kernel = numpy(layer.layer.kernel).copy()
    # Before any power iteration sigma is a lower bound: W u for one unit u.
    unit_u = numpy(layer.vector_u) / np.linalg.norm(numpy(layer.vector_u))
    rough = x @ (raw_kernel / np.linalg.norm(raw_kernel @ unit_u.T)) + numpy(layer.layer.bias)
    np.testing.assert_allclose(untrained, rough, rtol=1e-5, atol=1e-6)
    for _ in range(10):  # power iteration converges on u
        layer(x, training=True)
    sigma = np.linalg.svd(raw_kernel, compute_uv=False)[0]
    expected = x @ (raw_kernel / sigma) + numpy(layer.layer.bias)
    np.testing.assert_allclose(numpy(layer(x)), expected, rtol=1e-4, atol=1e-5)
    # The stored kernel stays the raw weight: only u is state.
    np.testing.assert_array_equal(numpy(layer.layer.kernel), raw_kernel)


def test_spectral_normalized_wraps_only_when_enabled():
    dense = keras.layers.Dense(2)
    assert spectral_normalized(dense, False) is dense
    wrapped = spectral_normalized(dense)
    assert isinstance(wrapped, keras.layers.SpectralNormalization) and wrapped.layer is dense


# ---------------------------------------------------------------------- pack
def test_pack_images_puts_sample_i_in_channel_block_i():
    batch, m, channels = 6, 3, 2
    x = random(batch, 4, 5, channels)
    packed = numpy(pack(x, m))
    assert packed.shape == (batch // m, 4, 5, m * channels)
    for p in range(batch // m):
        for i in range(m):
            block = packed[p, ..., i * channels : (i + 1) * channels]
            np.testing.assert_array_equal(block, x[p * m + i])


def test_pack_vectors_concatenates_features():
    x = random(4, 5)
    np.testing.assert_array_equal(numpy(pack(x, 2)), x.reshape(2, 10))


def test_pack_of_one_is_the_identity_and_errors_name_the_fix():
    x = random(3, 2)
    assert pack(x, 1) is x
    with pytest.raises(ValueError, match="batch size that is a multiple of pack=2"):
        pack(random(5, 2), 2)
    with pytest.raises(ValueError, match="m >= 1"):
        pack(x, 0)


def test_packed_shape():
    assert packed_shape((28, 28, 1), 4) == (28, 28, 4)
    assert packed_shape([2], 3) == (6,)
    assert packed_shape((8, 8, 3), 1) == (8, 8, 3)
    with pytest.raises(ValueError, match="m >= 1"):
        packed_shape((2,), 0)


# ------------------------------------------------------ discriminator options
DCGAN_SHAPE, MLP_SHAPE = (8, 8, 1), (2,)


def build(family, **options):
    if family == "dcgan":
        return dcgan.build_discriminator(DCGAN_SHAPE, base_filters=4, **options)
    return mlp.build_discriminator(MLP_SHAPE, hidden_units=(16, 8), **options)


def layer_types(model):
    return [type(layer).__name__ for layer in model.layers]


def test_defaults_build_the_original_discriminators():
    assert layer_types(build("dcgan")) == [
        "InputLayer", "Conv2D", "LeakyReLU", "Conv2D", "BatchNormalization",
        "LeakyReLU", "Flatten", "Dense",
    ]  # fmt: skip
    assert layer_types(build("mlp")) == [
        "InputLayer", "Flatten", "Dense", "LeakyReLU", "Dense", "LeakyReLU", "Dense",
    ]  # fmt: skip


@pytest.mark.parametrize("family, n_wrapped", [("dcgan", 3), ("mlp", 3)])
def test_spectral_norm_wraps_every_conv_and_dense(family, n_wrapped):
    model = build(family, spectral_norm=True)
    wrapped = [layer for layer in model.layers if isinstance(layer, SpectralNormalization)]
    assert len(wrapped) == n_wrapped
    assert all(isinstance(w.layer, (keras.layers.Conv2D, keras.layers.Dense)) for w in wrapped)
    assert isinstance(model.layers[-1].layer, keras.layers.Dense)
    bare = [x for x in model.layers if isinstance(x, (keras.layers.Conv2D, keras.layers.Dense))]
    assert not bare
    assert "BatchNormalization" not in layer_types(model)


def test_dcgan_batch_norm_follows_spectral_norm_unless_given():
    assert "BatchNormalization" in layer_types(build("dcgan", batch_norm=True))
    assert "BatchNormalization" not in layer_types(build("dcgan", batch_norm=False))
    without = build("dcgan", spectral_norm=True, batch_norm=False)
    assert "BatchNormalization" not in layer_types(without)
    with pytest.raises(ValueError, match="leave batch_norm unset"):
        build("dcgan", spectral_norm=True, batch_norm=True)


@pytest.mark.parametrize(
    "family, before, after", [("dcgan", "LeakyReLU", "Flatten"), ("mlp", "LeakyReLU", "Dense")]
)
def test_minibatch_stddev_sits_before_the_output(family, before, after):
    model = build(family, minibatch_stddev=True, minibatch_group_size=2)
    types = layer_types(model)
    assert types.count("MinibatchStdDev") == 1
    i = types.index("MinibatchStdDev")
    assert (types[i - 1], types[i + 1]) == (before, after)
    assert model.layers[i].group_size == 2
    assert model.layers[i].output.shape[-1] == model.layers[i - 1].output.shape[-1] + 1


def test_pack_multiplies_the_input_channels_or_features():
    assert build("dcgan", pack=4).input_shape == (None, 8, 8, 4)
    assert build("mlp", pack=4).input_shape == (None, 8)


def test_mlp_dropout_after_each_hidden_layer():
    model = build("mlp", dropout=0.3)
    dropouts = [layer for layer in model.layers if isinstance(layer, keras.layers.Dropout)]
    assert [d.rate for d in dropouts] == [0.3, 0.3]
    assert "Dropout" not in layer_types(build("mlp"))


VARIANTS = [
    ("dcgan", {"spectral_norm": True}),
    ("dcgan", {"minibatch_stddev": True}),
    ("dcgan", {"pack": 2, "spectral_norm": True, "minibatch_stddev": True}),
    ("mlp", {"spectral_norm": True, "dropout": 0.5}),
    ("mlp", {"pack": 2, "minibatch_stddev": True, "minibatch_group_size": 2}),
]


@pytest.mark.parametrize("family, options", VARIANTS)
def test_variant_runs_in_training_mode(family, options):
    m = options.get("pack", 1)
    model = build(family, **options)
    samples = random(8 * m, *(DCGAN_SHAPE if family == "dcgan" else MLP_SHAPE))
    logits = numpy(model(pack(samples, m), training=True))
    assert logits.shape == (8, 1)
    assert np.all(np.isfinite(logits))


@pytest.mark.parametrize(
    "family, shape, discriminator",
    [
        ("dcgan", DCGAN_SHAPE, dict(base_filters=4, spectral_norm=True, minibatch_stddev=True)),
        ("mlp", MLP_SHAPE, {"hidden_units": (8,), "spectral_norm": True, "dropout": 0.2}),
    ],
)
def test_gan_trains_with_the_remedies(family, shape, discriminator):
    keras.utils.set_random_seed(0)
    generator = {"base_filters": 4} if family == "dcgan" else {"hidden_units": (8,)}
    gan = build_gan(
        family, shape, latent_dim=4, generator=generator, discriminator=discriminator, seed=0
    )
    gan.compile(d_optimizer=keras.optimizers.Adam(1e-3), g_optimizer=keras.optimizers.Adam(1e-3))
    weights = gan.discriminator.trainable_variables
    vectors = [v for v in gan.discriminator.non_trainable_variables if "vector_u" in v.path]
    before = [numpy(v).copy() for v in weights + vectors]
    history = gan.fit(random(16, *shape), batch_size=8, epochs=1, shuffle=False, verbose=0)
    assert np.isfinite(history.history["d_loss"][-1]) and np.isfinite(history.history["g_loss"][-1])
    n_wrapped = sum(isinstance(layer, SpectralNormalization) for layer in gan.discriminator.layers)
    assert len(vectors) == n_wrapped > 0
    for variable, value in zip(weights + vectors, before):
        assert not np.array_equal(numpy(variable), value), variable.path


# ------------------------------------------------------------ Conv2D, Conv2DTranspose
def _kernel(name):
    """A training kernel of `ganzoo.backend.kernels`, or one of the matmul forms it picks from."""
    return getattr(kernels, name, None) or getattr(matmul, name)


def assert_values_and_gradients_match(ours, reference, x, kernel):
    """ours(x, kernel) == reference(x, kernel), and so are both gradients under a random cotangent."""
    ops = keras.ops
    expected = reference(x, kernel)
    np.testing.assert_allclose(numpy(ours(x, kernel)), numpy(expected), atol=1e-5)
    cotangent = ops.convert_to_tensor(random(*expected.shape, seed=2))  # a random output gradient
    for name, grad in (
        ("input", lambda f: gradients.input_gradients(lambda v: f(v, kernel) * cotangent, x)),
        ("kernel", lambda f: gradients.input_gradients(lambda v: f(x, v) * cotangent, kernel)),
    ):
        want = numpy(grad(reference))
        np.testing.assert_allclose(numpy(grad(ours)), want, atol=1e-4 * np.abs(want).max(), err_msg=name)


CONV_CASES = [  # input shape, kernel shape, strides, padding
    ((2, 8, 8, 4), (3, 3, 4, 1), (1, 1), "same"),  # the DCGAN generator's output layer
    ((2, 8, 8, 4), (4, 4, 4, 6), (2, 2), "same"),  # the DCGAN discriminator's layers
    ((2, 7, 9, 3), (4, 4, 3, 5), (2, 2), "same"),  # odd sizes: uneven "same" padding
    ((2, 7, 6, 3), (2, 3, 3, 5), (1, 2), "same"),  # even kernel: uneven padding
    ((2, 7, 9, 3), (3, 2, 3, 5), (2, 3), "valid"),
    ((2, 5, 5, 3), (1, 1, 3, 2), (1, 1), "valid"),
    ((2, 7, 6, 3), (2, 4, 3, 5), (1, 1), "same"),  # even kernel, stride 1: uneven padding
    ((2, 7, 6, 3), (3, 2, 3, 17), (1, 1), "valid"),
]


@pytest.mark.parametrize(
    "input_shape, kernel_shape, strides, padding, function",
    [case + ("conv",) for case in CONV_CASES]
    + [case + ("conv_as_matmul",) for case in CONV_CASES if case[2] == (1, 1)],
)
def test_conv_values_and_gradients_match_keras(input_shape, kernel_shape, strides, padding, function):
    x, kernel = keras.ops.convert_to_tensor(random(*input_shape)), keras.ops.convert_to_tensor(random(*kernel_shape, seed=1))
    arguments = {"padding": padding} if function == "conv_as_matmul" else {"strides": strides, "padding": padding}
    assert_values_and_gradients_match(
        lambda x_, k_: _kernel(function)(x_, k_, **arguments),
        lambda x_, k_: keras.ops.conv(x_, k_, strides=strides, padding=padding), x, kernel)


@pytest.mark.parametrize(
    "input_shape, kernel_shape, strides, padding",
    [
        ((4, 7, 7, 8), (4, 4, 6, 8), 2, "same"),  # the DCGAN generator's layer
        ((2, 5, 6, 3), (3, 3, 4, 3), 2, "valid"),
        ((2, 5, 5, 3), (3, 3, 2, 3), 1, "same"),
        ((2, 7, 7, 3), (3, 3, 2, 3), 2, "same"),
        ((2, 4, 5, 3), (1, 1, 2, 3), 2, "same"),  # kernel smaller than the stride
        ((2, 4, 5, 3), (1, 2, 2, 3), 2, "valid"),
        ((2, 3, 4, 2), (5, 4, 3, 2), 3, "same"),
        ((2, 3, 4, 2), (5, 4, 3, 2), 3, "valid"),
    ],
)
@pytest.mark.parametrize("function", ["conv_transpose", "conv_transpose_as_matmul"])
def test_conv_transpose_values_and_gradients_match_keras(input_shape, kernel_shape, strides, padding, function):
    x, kernel = keras.ops.convert_to_tensor(random(*input_shape)), keras.ops.convert_to_tensor(random(*kernel_shape, seed=1))
    assert_values_and_gradients_match(
        lambda x_, k_: _kernel(function)(x_, k_, strides=(strides, strides), padding=padding),
        lambda x_, k_: keras.ops.conv_transpose(x_, k_, strides=strides, padding=padding), x, kernel)


@pytest.mark.parametrize(
    "ours_class, keras_class, input_shape, kernel_shape, unsupported, message",
    [
        (Conv2D, keras.layers.Conv2D, (2, 9, 8, 3), (4, 4, 3, 6), {"groups": 3}, "groups=1"),
        (Conv2DTranspose, keras.layers.Conv2DTranspose, (2, 7, 7, 3), (4, 4, 6, 3), {"dilation_rate": 2},
         "dilation_rate=1"),
    ],
)
def test_conv_layers_are_the_keras_layers_with_their_weights(
        tmp_path, ours_class, keras_class, input_shape, kernel_shape, unsupported, message):
    kwargs = dict(filters=6, kernel_size=4, strides=2, padding="same", use_bias=True, activation="relu")
    ours, theirs = ours_class(**kwargs), keras_class(**kwargs)
    x = random(*input_shape)
    ours.build(x.shape)
    theirs.build(x.shape)
    theirs.set_weights([random(*kernel_shape, seed=3), random(6, seed=4)])
    ours.set_weights(theirs.get_weights())
    np.testing.assert_allclose(numpy(ours(x)), numpy(theirs(x)), atol=1e-5)
    model = keras.Sequential([keras.Input(input_shape[1:]), ours])
    model.save(tmp_path / "m.keras")
    reloaded = keras.saving.load_model(tmp_path / "m.keras", safe_mode=True)
    assert type(reloaded.layers[0]) is ours_class
    np.testing.assert_allclose(numpy(reloaded(x)), numpy(theirs(x)), atol=1e-5)
    with pytest.raises(ValueError, match=message):
        ours_class(3, 3, **unsupported)


@pytest.mark.parametrize("function, input_shape, kernel_shape, strides", [
    ("conv", (2, 6, 6, 3), (3, 3, 3, 1), (1, 1)),  # TensorFlow: the matmul gradients
    ("conv_transpose", (2, 5, 5, 3), (4, 4, 2, 3), (2, 2)),  # TensorFlow: the phase-kernel forward
])
def test_conv_gradient_penalty_matches_keras(function, input_shape, kernel_shape, strides):
    """The kernel gradient of a gradient-norm penalty (WGAN-GP, R1) goes through the input gradient."""
    ops = keras.ops
    x, kernel = ops.convert_to_tensor(random(*input_shape)), ops.convert_to_tensor(random(*kernel_shape, seed=1))

    def penalty_gradient(f):
        def penalty(k):
            return ops.sum(gradients.input_gradients(lambda v: ops.tanh(f(v, k)), x) ** 2)
        return numpy(gradients.input_gradients(penalty, kernel))

    reference = getattr(ops, function)
    want = penalty_gradient(lambda v, k: reference(v, k, strides=strides, padding="same"))
    got = penalty_gradient(lambda v, k: _kernel(function)(v, k, strides=strides, padding="same"))
    np.testing.assert_allclose(got, want, atol=1e-5 * np.abs(want).max())


def test_conv_layers_take_images_of_any_size():
    """A fully convolutional model on (None, None, 3) builds and matches Keras' layers at two sizes."""
    def build(transpose_class, conv_class):
        x = keras.Input((None, None, 3))
        return keras.Model(x, conv_class(1, 3, padding="same")(transpose_class(4, 4, strides=2, padding="same")(x)))

    ours, theirs = build(Conv2DTranspose, Conv2D), build(keras.layers.Conv2DTranspose, keras.layers.Conv2D)
    theirs.set_weights(ours.get_weights())
    for shape in [(2, 6, 6, 3), (2, 5, 7, 3)]:
        x = random(*shape)
        got = ours.predict(x, verbose=0)
        assert got.shape == (2, 2 * shape[1], 2 * shape[2], 1)
        np.testing.assert_allclose(got, theirs.predict(x, verbose=0), atol=1e-5)

# ------------------------------------------------------------ BatchNormalization
@pytest.mark.parametrize("shape", [(4, 5, 6, 3), (8, 5)])
@pytest.mark.parametrize("argument", ["gamma", "beta"])
def test_batch_norm_values_and_gradients_match_the_formula(shape, argument):
    ops = keras.ops
    x = ops.convert_to_tensor(random(*shape) * 3 + 1)
    gamma, beta = ops.convert_to_tensor(random(shape[-1], seed=3)), ops.convert_to_tensor(random(shape[-1], seed=4))
    axes = list(range(len(shape) - 1))

    def reference(x_, w):
        g, b = (w, beta) if argument == "gamma" else (gamma, w)
        centered = x_ - ops.mean(x_, axis=axes)
        return centered / ops.sqrt(ops.mean(centered**2, axis=axes) + 1e-3) * g + b

    def ours(x_, w):
        g, b = (w, beta) if argument == "gamma" else (gamma, w)
        return kernels.batch_norm(x_, g, b, epsilon=1e-3)[0]

    assert_values_and_gradients_match(ours, reference, x, gamma if argument == "gamma" else beta)
    _, mean, variance = kernels.batch_norm(x, gamma, beta, epsilon=1e-3)
    np.testing.assert_allclose(numpy(mean), numpy(x).mean(axis=tuple(axes)), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(numpy(variance), numpy(x).var(axis=tuple(axes)), rtol=1e-4)


@pytest.mark.skipif(keras.backend.backend() != "tensorflow", reason="TensorFlow's fused kernel and XLA switch")
@pytest.mark.parametrize("jit_compile", [False, True])
@pytest.mark.parametrize("shape", [(4, 5, 6, 3), (8, 5)])
def test_tensorflow_batch_norm_is_fused_outside_xla_only(shape, jit_compile):
    import tensorflow as tf  # pylint: disable=import-outside-toplevel

    x = tf.constant(random(*shape) * 3 + 1)
    normalize = tf.function(lambda v: kernels.batch_norm(v, None, None, epsilon=1e-3), jit_compile=jit_compile)
    graph = normalize.get_concrete_function(x).graph
    assert ("FusedBatchNormV3" in {op.type for op in graph.get_operations()}) is not jit_compile
    outputs, mean, variance = (numpy(t) for t in normalize(x))
    axes = tuple(range(len(shape) - 1))
    np.testing.assert_allclose(variance, numpy(x).var(axis=axes), rtol=1e-4)
    np.testing.assert_allclose(outputs, (numpy(x) - mean) / np.sqrt(variance + 1e-3), atol=1e-5)


@pytest.mark.parametrize("shape", [(4, 5, 6, 3), (8, 5)])
def test_batch_norm_layer_is_the_keras_layer_with_its_statistics(tmp_path, shape):
    ours, theirs = BatchNormalization(momentum=0.8), keras.layers.BatchNormalization(momentum=0.8)
    for layer in (ours, theirs):
        layer.build(shape)
        layer.set_weights([random(shape[-1], seed=seed) ** 2 + 0.5 * (seed > 5) for seed in (3, 4, 5, 6)])
    x = random(*shape) * 2 + 1
    for training in (True, True, False):
        np.testing.assert_allclose(numpy(ours(x, training=training)), numpy(theirs(x, training=training)),
                                   atol=1e-5)
        for mine, keras_weight in zip(ours.weights, theirs.weights):
            np.testing.assert_allclose(numpy(mine), numpy(keras_weight), rtol=1e-5, atol=1e-6, err_msg=mine.path)
    mask = np.array([True] * (shape[0] - 1) + [False]).reshape(shape[:1] + (1,) * (len(shape) - 2))
    mask = np.broadcast_to(mask, shape[:-1])
    np.testing.assert_allclose(numpy(ours(x, training=True, mask=mask)),  # masked: Keras' own call
                               numpy(theirs(x, training=True, mask=mask)), atol=1e-5)
    model = keras.Sequential([keras.Input(shape[1:]), ours])
    model.save(tmp_path / "m.keras")
    reloaded = keras.saving.load_model(tmp_path / "m.keras", safe_mode=True)
    assert type(reloaded.layers[0]) is BatchNormalization
    np.testing.assert_allclose(numpy(reloaded(x, training=False)), numpy(theirs(x, training=False)), atol=1e-5)
