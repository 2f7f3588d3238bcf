"""Runs ganzoo on N virtual CPU devices, for tests/test_distribution.py.

The devices must exist before the backend starts, hence a subprocess:

* ``KERAS_BACKEND=jax|tensorflow python tests/virtual_devices.py N step OUT.npz
  1 2 4``: for every device count, builds tiny models of `FAMILIES` (DCGAN,
  pix2pix; on TensorFlow also DCGAN with DiffAugment and StyleGAN2; same seed) inside `distribution.scope`, trains one step on the same global
  batch with SGD (the weight change is the gradient times the learning rate,
  free of Adam's amplification of rounding noise) and saves the logged losses
  and every weight's change to OUT.npz. (On TensorFlow give one count above 1 per
  process: two MirroredStrategies of different sizes in one process number
  their collective ops alike and collide.)
* ``python tests/virtual_devices.py N cli ARGS... [";;" ARGS...]``: ``ganzoo ARGS...``, then each
  further command in the same process (one backend start for several runs), stopping at the first
  that fails.
* ``python tests/virtual_devices.py 1 host OUT.npz``: two steps of the tiny
  DCGAN, data-parallel over the processes that ``KERAS_DISTRIBUTION_*``
  describe (JAX multi-host, here on loopback), or alone without them;
  process 0 saves the changes.
"""

import json
import os
import sys
import time

DEVICES = int(sys.argv[1])
BACKEND = os.environ.get("KERAS_BACKEND", "tensorflow")
if BACKEND == "jax":
    os.environ["XLA_FLAGS"] = f"--xla_force_host_platform_device_count={DEVICES}"
elif BACKEND == "tensorflow":
    import tensorflow as tf

    tf.config.set_logical_device_configuration(
        tf.config.list_physical_devices("CPU")[0], [tf.config.LogicalDeviceConfiguration()] * DEVICES)

import keras  # noqa: E402
import numpy as np  # noqa: E402

from ganzoo.backend import distribution  # noqa: E402
from ganzoo.models import GAN, dcgan, pix2pix, stylegan2  # noqa: E402

BATCH = 16  # 4 per device on 4 devices: a whole minibatch-std group (StyleGAN2) on each
# On JAX the step is traced once for the global batch, so the two (batch norm; image to image)
# suffice; TensorFlow's replicas run the per-replica draws of DiffAugment and StyleGAN2 (its pix2pix
# check passed too and was dropped for the test budget: no per-replica code of its own).
FAMILIES = ("dcgan", "pix2pix") if BACKEND == "jax" else ("dcgan", "dcgan_augment", "stylegan2")


def build(family):
    keras.utils.set_random_seed(0)
    if family.startswith("dcgan"):  # dcgan_augment: DiffAugment's per-sample draws too
        augment = ["translation", "flip"] if family == "dcgan_augment" else None
        gan = GAN(dcgan.build_generator((8, 8, 1), latent_dim=4, base_filters=4),
                  dcgan.build_discriminator((8, 8, 1), base_filters=4), latent_dim=4, seed=0, ema_decay=0.9,
                  augment=augment)
    elif family == "stylegan2":  # lazy R1 and path length on step 0, style mixing, noise inputs, mean w
        gan = stylegan2.build_stylegan2((8, 8, 1), latent_dim=4, r1_weight=0.1, pl_weight=2.0, style_mixing=0.5,
                                        ema_decay=0.9, seed=0, generator={"w_dim": 4, "base_filters": 4,
                                                                          "max_filters": 8},
                                        discriminator={"base_filters": 4, "max_filters": 8})
    else:
        gan = pix2pix.build_pix2pix((8, 8, 1), generator={"base_filters": 4, "dropout": 0.0},
                                    discriminator={"base_filters": 4}, seed=0)
    gan.compile(d_optimizer=keras.optimizers.SGD(0.1), g_optimizer=keras.optimizers.SGD(0.1))
    return gan


def batch(family, steps=1):
    """`steps` global batches of BATCH examples, as a dataset."""
    import tensorflow as tf  # noqa: E402  (tf.data feeds every backend here, as in ganzoo.data)

    rng = np.random.default_rng(0)
    images = rng.uniform(-1, 1, (BATCH * steps, 8, 8, 1)).astype("float32")
    examples = images if family.startswith(("dcgan", "stylegan2")) else (images[:, ::-1].copy(), images)
    return tf.data.Dataset.from_tensor_slices(examples).batch(BATCH)


def spread(variable):
    """On how many devices `variable` lives: a JAX array's sharding, a TensorFlow mirrored variable's copies."""
    value = variable.value
    if BACKEND == "jax":
        return len(value.sharding.device_set)
    return len(getattr(value, "values", (value,)))


def step(family, devices, kind=None, steps=1, count=None):
    kind = kind or ("data_parallel" if devices > 1 else "none")
    with distribution.scope(kind, count or devices):
        gan = build(family)
        before = [keras.ops.convert_to_numpy(w) for w in gan.weights]
        history = gan.fit(batch(family, steps), epochs=1, verbose=0).history
        after = [keras.ops.convert_to_numpy(w) for w in gan.weights]
    results = {f"{family}/{devices}/loss/{k}": np.float64(v[-1]) for k, v in history.items()}
    results[f"{family}/{devices}/spread"] = np.int64(spread(gan.generator.trainable_variables[0]))
    for i, (b, a) in enumerate(zip(before, after)):
        results[f"{family}/{devices}/delta/{i:03d}"] = (a.astype("float64") - b.astype("float64"))
    return results


if __name__ == "__main__":
    if sys.argv[2] == "cli":
        from ganzoo import cli  # noqa: E402

        commands, status = [[]], 0
        for arg in sys.argv[3:]:
            commands.append([]) if arg == ";;" else commands[-1].append(arg)
        for command in commands:
            status = cli.main(command)
            if status:
                break
        sys.exit(status)
    found = {}
    if sys.argv[2] == "host":  # one process of KERAS_DISTRIBUTION_NUM_PROCESSES, or alone without it
        several = int(os.environ.get("KERAS_DISTRIBUTION_NUM_PROCESSES", "1")) > 1 or "TF_CONFIG" in os.environ
        # Each of several processes trains on all its devices (one here): a count is for one host only.
        found = step("dcgan", 1, kind="data_parallel" if several else "none", steps=2, count="all")
        rank = os.environ.get("KERAS_DISTRIBUTION_PROCESS_ID") or (
            json.loads(os.environ["TF_CONFIG"])["task"]["index"] if "TF_CONFIG" in os.environ else 0)
        if int(rank) == 0:
            np.savez(sys.argv[3], **found)
        sys.exit(0)
    counts = [int(n) for n in sys.argv[4:]]
    for family in FAMILIES:
        for devices in counts:
            if devices <= 2 or family in ("dcgan", "pix2pix"):  # (the per-replica draws: on 2 devices, for time)
                started = time.perf_counter()
                found.update(step(family, devices))
                print(f"{family} on {devices}: {time.perf_counter() - started:.1f} s", flush=True)
    np.savez(sys.argv[3], **found)
    print(f"wrote {len(found)} arrays for {', '.join(map(str, counts))} devices on {BACKEND}")
