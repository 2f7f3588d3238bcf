"""`ganzoo.backend.kernels`: CPU-tuned forms on a CPU only, and one switch that turns them all off."""

import os
import subprocess
import sys

import keras
import numpy as np
import pytest

from ganzoo import cli
from ganzoo.backend import gradients, kernels

BACKEND = keras.backend.backend()

# Per backend, the custom form each call below is computed by on a CPU (module, attribute).
CUSTOM_FORMS = {
    "tensorflow": {"conv": ("tf_kernels", "conv_to_few_channels"),
                   "conv_transpose": ("tf_kernels", "conv_transpose"),
                   "batch_norm": ("tf_kernels", "batch_norm")},
    "jax": {"conv": ("kernels", "conv_as_matmul"),
            "conv_transpose": ("kernels", "conv_transpose_as_matmul")},
    "torch": {"conv": ("kernels", "_torch_conv"),
              "conv_transpose": ("kernels", "_torch_conv_transpose"),
              "batch_norm": ("kernels", "_torch_batch_norm")},
}[BACKEND]


def _random(*shape, seed=0):
    return np.random.default_rng(seed).standard_normal(shape).astype("float32")


def _numpy(x):
    return keras.ops.convert_to_numpy(x)


# One call of each kernel on the DCGAN's shapes (tiny): the output layer's stride-1 convolution
# to one channel, a strided "same" transposed convolution, a batch norm of images.
X_CONV, K_CONV = _random(2, 6, 6, 4), _random(3, 3, 4, 1, seed=1)
X_TRANSPOSE, K_TRANSPOSE = _random(2, 4, 4, 3), _random(4, 4, 2, 3, seed=1)
X_NORM, GAMMA, BETA = _random(4, 5, 5, 3) * 2 + 1, _random(3, seed=3), _random(3, seed=4)
CALLS = {
    "conv": (lambda x, w: kernels.conv(x, w, strides=(1, 1), padding="same"), X_CONV, K_CONV),
    "conv_transpose": (lambda x, w: kernels.conv_transpose(x, w, strides=(2, 2), padding="same"),
                       X_TRANSPOSE, K_TRANSPOSE),
    "batch_norm": (lambda x, g: kernels.batch_norm(x, g, keras.ops.convert_to_tensor(BETA), epsilon=1e-3)[0],
                   X_NORM, GAMMA),
}


@pytest.fixture
def spies(monkeypatch):
    """Wraps each custom form of this backend; the returned set names those called."""
    modules = {"kernels": kernels, "tf_kernels": getattr(kernels, "tf_kernels", None)}
    called = set()
    for name, (module, attribute) in CUSTOM_FORMS.items():
        original = getattr(modules[module], attribute)

        def spy(*args, _name=name, _original=original, **kwargs):
            called.add(_name)
            return _original(*args, **kwargs)

        monkeypatch.setattr(modules[module], attribute, spy)
    return called


def _run(name):
    fn, x, w = CALLS[name]
    return fn(keras.ops.convert_to_tensor(x), keras.ops.convert_to_tensor(w))


@pytest.mark.parametrize("name", sorted(CALLS))
def test_on_a_cpu_the_custom_form_runs(spies, name):
    assert kernels.kernel_mode() == "auto" and kernels.computes_on_cpu(keras.ops.convert_to_tensor(X_CONV))
    _run(name)
    assert spies == ({name} if name in CUSTOM_FORMS else set())


@pytest.mark.parametrize("name", sorted(CALLS))
def test_off_a_cpu_keras_op_runs(spies, monkeypatch, name):
    monkeypatch.setattr(kernels, "computes_on_cpu", lambda inputs: False)  # as on a GPU or TPU
    _run(name)
    assert spies == set()


@pytest.mark.parametrize("name", sorted(CALLS))
def test_the_switch_turns_every_custom_form_off(spies, name):
    with kernels.keras_kernels():
        assert kernels.kernel_mode() == "keras"
        _run(name)
    assert spies == set()
    assert kernels.kernel_mode() == "auto"


@pytest.mark.parametrize("name", sorted(CALLS))
def test_switched_off_the_values_and_gradients_are_the_same(name):
    fn, x, w = CALLS[name]
    x, w = keras.ops.convert_to_tensor(x), keras.ops.convert_to_tensor(w)
    cotangent = keras.ops.convert_to_tensor(_random(*fn(x, w).shape, seed=5))

    def values_and_gradients():
        return [_numpy(fn(x, w)),
                _numpy(gradients.input_gradients(lambda v: fn(v, w) * cotangent, x)),
                _numpy(gradients.input_gradients(lambda v: fn(x, v) * cotangent, w))]

    custom = values_and_gradients()
    with kernels.keras_kernels():
        reference = values_and_gradients()
    for what, got, want in zip(("values", "input gradient", "kernel gradient"), custom, reference):
        np.testing.assert_allclose(got, want, atol=1e-4 * max(1.0, np.abs(want).max()), err_msg=what)


def test_set_kernel_mode_returns_the_previous_mode_and_checks_its_argument():
    assert kernels.set_kernel_mode("keras") == "auto"
    try:
        assert kernels.kernel_mode() == "keras"
        with pytest.raises(ValueError, match="kernel mode 'fast'"):
            kernels.set_kernel_mode("fast")
    finally:
        assert kernels.set_kernel_mode(None) == "keras"
    assert kernels.kernel_mode() == "auto"


def test_the_environment_variable_sets_the_mode(monkeypatch):
    monkeypatch.setenv("GANZOO_KERNELS", "keras")
    assert kernels.kernel_mode() == "keras"
    monkeypatch.setenv("GANZOO_KERNELS", "fastest")
    with pytest.raises(ValueError, match="GANZOO_KERNELS='fastest' is not a kernel mode"):
        kernels.kernel_mode()


def test_a_bad_environment_value_is_one_line_exit_2_from_the_cli(monkeypatch, capsys):
    monkeypatch.setenv("GANZOO_KERNELS", "fastest")
    assert cli.main(["list"]) == cli.EXIT_USAGE
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "GANZOO_KERNELS='fastest'" in err and "'keras'" in err


def test_a_layer_in_a_fresh_process_with_the_switch_off_runs_keras_op():
    # The variable is read when a kernel is traced: a whole process can be switched off.
    code = ("from ganzoo.backend import kernels\n"
            "from ganzoo.layers import Conv2D\n"
            "import numpy as np\n"
            "kernels.conv_as_matmul = kernels._torch_conv = None  # each would fail if called\n"
            "if hasattr(kernels, 'tf_kernels'): kernels.tf_kernels.conv_to_few_channels = None\n"
            "print(kernels.kernel_mode(), tuple(Conv2D(1, 3, padding='same')(np.ones((1, 4, 4, 2), 'float32')).shape))")
    env = {**os.environ, "GANZOO_KERNELS": "keras", "KERAS_BACKEND": BACKEND}
    result = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=300,
                            check=True)
    assert result.stdout.split()[-5:] == ["keras", "(1,", "4,", "4,", "1)"]
