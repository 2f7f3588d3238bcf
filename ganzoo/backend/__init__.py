"""The backend package: the only part of ganzoo that branches on the Keras backend.

* `ganzoo.backend.gradients`: the gradient seam a backend-neutral `train_step`
  calls (`minimize`, `forward`, `minimize_through`, `input_gradients`,
  `stateless_train_step`, `constant`, `traceable`, `accelerator`).
* `ganzoo.backend.kernels`: convolution, transposed convolution and batch norm
  in the form each backend trains fastest on a CPU, Keras' ops elsewhere, and
  the switch that turns the custom forms off (``GANZOO_KERNELS=keras``);
  `matmul` and `tf_kernels` hold their forms.
* `ganzoo.backend.distribution`: data-parallel training on the backends'
  own engines (`keras.distribution` on JAX, `tf.distribute` on TensorFlow)
  and what a step needs under TensorFlow replicas (`scale_loss`,
  `per_sample`, `on_global_batch`, `global_mean`, synchronized batch norms).
* `ganzoo.backend.environment`: the ``GANZOO_KERNELS`` switch, read without
  importing Keras (the ``ganzoo`` command checks it first).
* `ganzoo.backend.memory`: the glibc setting a training process applies
  (`keep_freed_memory`); importing ganzoo never applies it.

Nothing here imports another ganzoo package, and importing this package
imports nothing: `memory` must be importable before Keras starts its threads.
"""
