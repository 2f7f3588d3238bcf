"""The gradient seam: how a backend-neutral `train_step` takes and applies gradients.

A GAN's `train_step` is written once, in backend-neutral Keras ops, and calls
`minimize(loss_fn, variables, optimizer)` for each of its updates. This module
provides that helper for TensorFlow (gradient tape), PyTorch (autograd) and JAX
(`jax.value_and_grad` inside a `keras.StatelessScope`), and the decorator
`stateless_train_step` that adapts a `train_step(self, data)` to the JAX
trainer's `train_step(self, state, data) -> (logs, state)` contract.

On JAX, Keras' `fit` purges variable values during an epoch and threads them
through the jitted step as `state`. The decorator maps every variable of the
model (trainable, non-trainable, all optimizer slots, metrics) to its value in
`state` inside a stateless scope, runs the neutral step (whose `assign`s are
recorded by the scope, not applied), and returns the recorded values as the new
state. Both optimizers' state is threaded because `GAN.compile` installs a
`keras.optimizers.MultiOptimizer` over them as `model.optimizer`.
"""

import functools

import keras

from ganzoo.backend import distribution

_BACKEND = keras.backend.backend()

if _BACKEND == "tensorflow":
    import tensorflow as tf
elif _BACKEND == "torch":
    import torch
elif _BACKEND == "jax":
    import jax


def accelerator():
    """The device Keras computes on, e.g. ``"cpu"`` or ``"gpu: NVIDIA H100 80GB HBM3"``."""
    if _BACKEND == "jax":
        device = jax.devices()[0]
        return device.platform if device.platform == "cpu" else f"{device.platform}: {device.device_kind}"
    if _BACKEND == "torch":
        return f"gpu: {torch.cuda.get_device_name()}" if torch.cuda.is_available() else "cpu"
    return "gpu" if tf.config.list_physical_devices("GPU") else "cpu"


def minimize(loss_fn, variables, optimizer):
    """Computes `loss_fn`'s gradients for `variables` and applies them.

    Args:
        loss_fn: Callable with no arguments returning `(loss, aux)`: a scalar
            loss tensor and a dict of tensors to pass back (for logging).
        variables: List of the `keras.Variable`s to update.
        optimizer: The `keras.optimizers.Optimizer` that owns them. Its
            `iterations` grows by one per call.

    Returns:
        The tuple `(loss, aux)` computed on the variables' values before the
        update.
    """
    variables = list(variables)
    if _BACKEND == "tensorflow":
        with tf.GradientTape() as tape:
            loss, aux = loss_fn()
            scaled = distribution.scale_loss(loss)
        grads = tape.gradient(scaled, variables)
        optimizer.apply(grads, variables)
        return loss, aux
    if _BACKEND == "torch":
        loss, aux = loss_fn()
        grads = torch.autograd.grad(
            loss, [v.value for v in variables], allow_unused=True
        )
        grads = [
            torch.zeros_like(v.value) if g is None else g
            for g, v in zip(grads, variables)
        ]
        _apply(optimizer, grads, variables)
        return loss.detach(), {k: a.detach() for k, a in aux.items()}
    if _BACKEND == "jax":
        return _jax_minimize(loss_fn, variables, optimizer)
    raise NotImplementedError(
        f"ganzoo supports the tensorflow, jax and torch backends, not {_BACKEND!r}. "
        "Set KERAS_BACKEND to one of them."
    )


def forward(fn, variables):
    """Runs `fn()` and keeps what is needed to differentiate it later.

    Together with `minimize_through`, lets one forward pass serve two
    updates: e.g. a generator batch first trains the discriminator (as a
    constant) and then, through the updated discriminator, the generator.

    Args:
        fn: Callable with no arguments returning one tensor.
        variables: The `keras.Variable`s the later gradients are taken for.

    Returns:
        `(outputs, pullback)`: `fn()`'s value, and a function mapping a
        cotangent shaped like `outputs` to the list of gradients of
        `sum(outputs * cotangent)` for `variables` (callable once).
    """
    variables = list(variables)
    if _BACKEND == "tensorflow":
        with tf.GradientTape() as tape:
            outputs = fn()
        return outputs, lambda cotangent: tape.gradient(outputs, variables, output_gradients=cotangent)
    if _BACKEND == "torch":
        outputs = fn()

        def pullback(cotangent):
            grads = torch.autograd.grad(outputs, [v.value for v in variables], cotangent, allow_unused=True)
            return [torch.zeros_like(v.value) if g is None else g for g, v in zip(grads, variables)]

        return outputs.detach(), pullback
    if _BACKEND == "jax":
        pure, assigned = _jax_pure(lambda: (fn(), {}), variables)
        values = [_current_jax_scope()[0].get_current_value(v) for v in variables]
        outputs, vjp, (_, updates) = jax.vjp(pure, values, has_aux=True)
        for variable, value in zip(assigned, updates):
            variable.assign(value)
        return outputs, lambda cotangent: vjp(cotangent)[0]
    raise NotImplementedError(f"Unsupported backend {_BACKEND!r}.")


def minimize_through(loss_fn, outputs, pullback, variables, optimizer):
    """Applies the gradients of `loss_fn(outputs)` for `variables`, given `forward`'s pullback.

    Args:
        loss_fn: Callable mapping `outputs` to `(loss, aux)` as in `minimize`.
            Other variables it reads are constants; state it assigns (e.g.
            batch-norm statistics) is kept.
        outputs, pullback: What `forward` returned.
        variables: The variables `forward` was given.
        optimizer: The optimizer that owns them.

    Returns:
        `(loss, aux)`.
    """
    (loss, aux), cotangent = _loss_and_input_gradient(loss_fn, outputs)
    _apply(optimizer, pullback(cotangent), list(variables))
    return loss, aux


def traceable(layer):
    """Returns `layer`, marked compilable on JAX (Keras image augmentation layers).

    Keras sets `supports_jit = False` on `RandomTranslation` because
    TensorFlow's projective-transform kernel has no XLA version, and `fit`
    then runs any model holding the layer without compilation. On JAX that
    means op by op, each op compiled on its own: a 4-step epoch of the test
    suite's ACGAN with translation took ~27 s. On JAX the layer is jax ops and
    traces like any other; TensorFlow and PyTorch keep Keras' setting.
    """
    if _BACKEND == "jax":
        layer.supports_jit = True
    return layer


def constant(fn):
    """`fn()` as a constant of the step: no gradient flows into it, and PyTorch records no graph for it."""
    if _BACKEND == "torch":
        with torch.no_grad():
            return fn()
    return keras.ops.stop_gradient(fn())


def _apply(optimizer, grads, variables):
    """`optimizer.apply`, outside autograd's recording on PyTorch."""
    if _BACKEND == "torch":
        with torch.no_grad():
            optimizer.apply(grads, variables)
    else:
        optimizer.apply(grads, variables)


def _loss_and_input_gradient(loss_fn, inputs):
    """`(loss_fn(inputs), d loss / d inputs)`; the gradient is zeros where the loss does not reach `inputs`.

    (A None gradient would make TensorFlow's pullback take the gradient of
    `sum(outputs)` instead, and torch raise; JAX gives zeros.)
    """
    if _BACKEND == "tensorflow":
        with tf.GradientTape() as tape:
            tape.watch(inputs)
            loss, aux = loss_fn(inputs)
            scaled = distribution.scale_loss(loss)
        return (loss, aux), tape.gradient(scaled, inputs, unconnected_gradients=tf.UnconnectedGradients.ZERO)
    if _BACKEND == "torch":
        inputs = inputs.detach().requires_grad_(True)
        loss, aux = loss_fn(inputs)
        grad = torch.autograd.grad(loss, inputs, allow_unused=True)[0] if loss.requires_grad else None
        grad = torch.zeros_like(inputs) if grad is None else grad
        return (loss.detach(), {k: a.detach() for k, a in aux.items()}), grad
    if _BACKEND == "jax":
        pure, assigned = _jax_pure(loss_fn, [])
        (loss, (aux, updates)), grad = jax.value_and_grad(
            lambda x: pure([], x), has_aux=True)(inputs)
        for variable, value in zip(assigned, updates):
            variable.assign(value)
        return (loss, aux), grad
    raise NotImplementedError(f"Unsupported backend {_BACKEND!r}.")



def input_gradients(fn, inputs):
    """Returns the gradient of `sum(fn(inputs))` with respect to `inputs`.

    The gradient stays differentiable with respect to the model's variables,
    so a penalty on its norm (WGAN-GP, R1) can be minimised inside
    `minimize`. `inputs` is treated as a constant point of evaluation: no
    gradient flows back into whatever computed it.

    Args:
        fn: Callable mapping a batch to a tensor (e.g. discriminator logits).
            It should not update state (call layers with `training=False`);
            on JAX any such update is discarded.
        inputs: The batch at which to take the gradient.

    Returns:
        A tensor shaped like `inputs`.
    """
    inputs = keras.ops.convert_to_tensor(inputs)
    if _BACKEND == "tensorflow":
        inputs = tf.stop_gradient(inputs)
        with tf.GradientTape() as tape:
            tape.watch(inputs)
            outputs = fn(inputs)
        return tape.gradient(outputs, inputs)
    if _BACKEND == "torch":
        inputs = inputs.detach().requires_grad_(True)
        (grads,) = torch.autograd.grad(fn(inputs).sum(), inputs, create_graph=True)
        return grads
    if _BACKEND == "jax":
        # Inside a train step, read the step's traced state and discard updates.
        mapping = None
        if _JAX_SCOPES:
            scope, all_variables = _JAX_SCOPES[-1]
            mapping = [(v, scope.get_current_value(v)) for v in all_variables]

        def summed(x):
            if mapping is None:
                return jax.numpy.sum(fn(x))
            with keras.StatelessScope(state_mapping=mapping):
                return jax.numpy.sum(fn(x))

        return jax.grad(summed)(jax.lax.stop_gradient(inputs))
    raise NotImplementedError(f"Unsupported backend {_BACKEND!r}.")


def stateless_train_step(step_fn):
    """Adapts `train_step(self, data) -> logs` to the backend's trainer.

    On PyTorch the step is returned unchanged; on TensorFlow its batch norms
    use the global batch's statistics under a MirroredStrategy
    (`distribution.synchronized_batch_norm`). On JAX the
    returned function has the signature `(self, state, data)` Keras' JAX
    trainer calls, and returns `(logs, new_state)`.

    Args:
        step_fn: A model method that updates the model in place through
            `minimize` and `Variable.assign`, and returns a dict of logs.

    Returns:
        The train step to install as `keras.Model.train_step`.
    """
    return _stateless(step_fn, _state_groups)


def stateless_test_step(step_fn):
    """`stateless_train_step` for `test_step(self, data) -> logs` (no optimizer state)."""
    return _stateless(step_fn, _test_state_groups)


def _stateless(step_fn, groups_of):
    if _BACKEND == "tensorflow":
        @functools.wraps(step_fn)
        def tf_step(self, data):
            with distribution.synchronized_batch_norm(self):  # global statistics under replicas
                return distribution.reducible_logs(step_fn(self, data))

        return tf_step
    if _BACKEND != "jax":
        return step_fn

    @functools.wraps(step_fn)
    def jax_step(self, state, data):
        groups = groups_of(self)
        mapping = []
        for group, values in zip(groups, state):
            mapping.extend(zip(group, values))
        with keras.StatelessScope(state_mapping=mapping) as scope:
            _JAX_SCOPES.append((scope, [v for group in groups for v in group]))
            try:
                logs = step_fn(self, data)
            finally:
                _JAX_SCOPES.pop()
        new_state = tuple(
            [scope.get_current_value(v) for v in group] for group in groups
        )
        return logs, new_state

    return jax_step


# The stack of (outer stateless scope, all model variables) of JAX steps in flight.
_JAX_SCOPES = []


def _state_groups(model):
    # The order of Keras' JAX trainer state: see JAXTrainer._get_jax_state.
    return (
        model.trainable_variables,
        model.non_trainable_variables,
        model.optimizer.variables,
        model.metrics_variables,
    )


def _test_state_groups(model):
    # The order of Keras' JAX trainer state in `test_step`.
    return (model.trainable_variables, model.non_trainable_variables, model.metrics_variables)


def _current_jax_scope():
    if not _JAX_SCOPES:
        raise RuntimeError(
            "ganzoo's gradient helpers on JAX must run inside a train step decorated "
            "with ganzoo.backend.gradients.stateless_train_step."
        )
    return _JAX_SCOPES[-1]


def _jax_pure(fn, variables):
    """`fn(*args) -> (value, aux)` as a pure function of `variables`' values.

    Returns `(pure, assigned)`: `pure(values, *args)` returns
    `(value, (aux, updates))`, where `updates` are the new values of the
    other variables `fn` assigned (batch-norm statistics, seed-generator
    state, spectral-normalization vectors), and `assigned` (filled while
    tracing) lists those variables. Every variable but `variables` keeps its
    current value in the step. Layers must not assign the variables being
    differentiated (ganzoo's SpectralNormalization does not).
    """
    outer, all_variables = _current_jax_scope()
    differentiated = {id(v) for v in variables}
    others = [v for v in all_variables if id(v) not in differentiated]
    other_values = [outer.get_current_value(v) for v in others]
    assigned = []

    def pure(values, *args):
        mapping = list(zip(variables, values)) + list(zip(others, other_values))
        with keras.StatelessScope(state_mapping=mapping) as inner:
            before_call = [inner.get_current_value(v) for v in others]
            _JAX_SCOPES.append((inner, all_variables))
            try:
                value, aux = fn(*args)
            finally:
                _JAX_SCOPES.pop()
        assigned.clear()
        updates = []
        for v, before in zip(others, before_call):
            after = inner.get_current_value(v)
            if after is not before:
                assigned.append(v)
                updates.append(after)
        return value, (aux, updates)

    return pure, assigned


def _jax_minimize(loss_fn, variables, optimizer):
    outer, _ = _current_jax_scope()
    pure, assigned = _jax_pure(loss_fn, variables)
    values = [outer.get_current_value(v) for v in variables]
    (loss, (aux, updates)), grads = jax.value_and_grad(pure, has_aux=True)(values)
    for variable, value in zip(assigned, updates):
        variable.assign(value)
    optimizer.apply(grads, variables)
    return loss, aux
