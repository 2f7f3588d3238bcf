"""Trains image-to-image zoo configs briefly and scores them on the test split.

For each config (default: the three image-to-image zoo configs) it runs `ganzoo train` in this
process for ``--epochs`` x ``--steps-per-epoch`` steps (a short sanity run; the shipped entries train
their configs in full), then translates the test split's inputs and prints `ganzoo.metrics.paired`
scores: PSNR and SSIM (tf.image) against the targets, beside the bicubic enlargement for
super-resolution; FID and label accuracy by the domain's two shipped judges, beside the same for
the targets themselves where that is a floor (label accuracy). Results go to
``<out>/image_to_image.json`` and are printed as a table with the machine, backend and wall time.

Usage::

    python benchmarks/image_to_image.py [--configs srresnet_fashion_mnist_x4 ...] [--epochs 1]
        [--steps-per-epoch 200] [--n 10000] [--backend jax] [--out runs/bench_image_to_image]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time

CONFIGS = ("srresnet_fashion_mnist_x4", "srgan_fashion_mnist_x4", "pix2pix_fashion_mnist_edges")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--configs", nargs="+", default=list(CONFIGS))
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--steps-per-epoch", type=int, default=200)
    parser.add_argument("--n", type=int, default=10_000, help="test pairs scored")
    parser.add_argument("--backend", default=os.environ.get("KERAS_BACKEND", "tensorflow"))
    parser.add_argument("--out", default="runs/bench_image_to_image")
    args = parser.parse_args(argv)
    os.environ["KERAS_BACKEND"] = args.backend

    import keras  # pylint: disable=import-outside-toplevel
    import numpy as np  # pylint: disable=import-outside-toplevel

    import ganzoo  # pylint: disable=import-outside-toplevel
    from ganzoo import config as config_lib  # pylint: disable=import-outside-toplevel
    from ganzoo.data import pairs  # pylint: disable=import-outside-toplevel
    from ganzoo.metrics import extractors, paired  # pylint: disable=import-outside-toplevel
    from ganzoo.training import run  # pylint: disable=import-outside-toplevel

    results = []
    for name in args.configs:
        config = config_lib.load(name)
        config.train.epochs, config.train.steps_per_epoch = args.epochs, args.steps_per_epoch
        config.output.dir = os.path.join(args.out, name)
        start = time.perf_counter()
        run.train(config, force=True, verbose=0)
        seconds = time.perf_counter() - start
        gan = ganzoo.load_model(os.path.join(config.output.dir, "gan.keras"))
        dataset = config.data.dataset
        inputs, targets, labels = pairs.load_pair_arrays(dataset, "test", limit=args.n)
        outputs = gan.translate(inputs, batch_size=500)
        judges = extractors.get_judges(pairs.DOMAIN[dataset])
        super_resolution = inputs.shape[1:3] != targets.shape[1:3]
        baseline = paired.bicubic(inputs, targets.shape[1:3]) if super_resolution else None
        scores = paired.score_pairs(outputs, targets, labels=labels, judges=judges, baseline=baseline)
        if gan.ema_generator is not None:  # the EMA lags the raw weights early in training: show both
            raw = np.concatenate([keras.ops.convert_to_numpy(gan.generator(inputs[i:i + 500], training=False))
                                  for i in range(0, len(inputs), 500)])
            scores.update({f"{key}_raw_generator": value for key, value in paired.psnr_ssim(raw, targets).items()})
        floor = paired.score_pairs(targets, targets, labels=labels, judges=judges)
        scores.update({f"{key}_targets": value for key, value in floor.items() if key.startswith("label_accuracy")})
        results.append({"config": name, "steps": args.epochs * args.steps_per_epoch, "train_seconds": round(seconds, 1),
                        "scores": scores})
        print(f"{name}: {args.epochs * args.steps_per_epoch} steps in {seconds:.0f} s; "
              + ", ".join(f"{k} {v:.4g}" if isinstance(v, float) else f"{k} {v}" for k, v in sorted(scores.items())),
              flush=True)
    facts = {"machine": f"{platform.machine()}, {os.cpu_count()} cores", "backend": args.backend,
             "python": sys.version.split()[0], "numpy": np.__version__, "results": results}
    os.makedirs(args.out, exist_ok=True)
    with open(os.path.join(args.out, "image_to_image.json"), "w", encoding="utf-8") as f:
        json.dump(facts, f, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
