"""Does synthetic data help a classifier? Fashion-MNIST with 100 real images per class.

For each seed:

1. draw 100 training images per class (1 000 in all) from the Fashion-MNIST
   train split with that seed;
2. train a conditional GAN (`--config`, default ``cgan_fashion_mnist`` with
   DiffAugment translation and the batch size below) on those 1 000 images only;
3. draw ``--synthetic-per-class`` images per class from it (`ganzoo.synthetic`);
4. train the same small CNN (`ganzoo.metrics.extractors.build_classifier`,
   the architecture of the shipped extractor) for the same number of steps on
   (a) the 1 000 real images, (b) real + synthetic, (c) synthetic only
   ("GAN-train"), and score each on the 10 000 real test images;
5. score "GAN-test": the shipped Fashion-MNIST classifier's accuracy on
   conditional samples against their requested labels.

Every finished seed is appended to ``augmentation_runs.jsonl`` and reused on
the next invocation with the same settings (so the run resumes); the report
``augmentation.md`` / ``.json`` gives mean ± sample std over the seeds, the
machine and the wall time.

Usage::

    python benchmarks/augmentation.py [--seeds 3] [--gan-steps 1500] [--backend tensorflow]
        [--synthetic-per-class 500] [--classifier-steps 600] [--out benchmarks/results]
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime
import json
import os
import sys
import time

import numpy as np

REAL_PER_CLASS = 100
GAN_BATCH = 50  # 1 000 images -> 20 full batches per epoch
CLASSIFIER_BATCH = 64
ARMS = {
    "a_real": "(a) 1 000 real images",
    "b_real_plus_synthetic": "(b) real + synthetic",
    "c_synthetic_only": "(c) synthetic only (GAN-train)",
}
DEFAULT_OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "results")


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--config", default="cgan_fashion_mnist", help="conditional zoo config")
    parser.add_argument("--gan-steps", type=int, default=1500, help="generator steps of the small-data cGAN")
    parser.add_argument("--synthetic-per-class", type=int, default=500)
    parser.add_argument("--classifier-steps", type=int, default=600, help="optimizer steps of every classifier")
    parser.add_argument("--backend", default="tensorflow", choices=("tensorflow", "jax", "torch"))
    parser.add_argument("--out", default=DEFAULT_OUT)
    parser.add_argument("--dry-run", action="store_true", help="only rewrite the report")
    parser.add_argument("--note", default=None, help="a sentence added under the report's header")
    args = parser.parse_args(argv)
    for key in ("seeds", "gan_steps", "synthetic_per_class", "classifier_steps"):
        if getattr(args, key) < 1:
            parser.error(f"--{key.replace('_', '-')} must be >= 1, got {getattr(args, key)}")
    return args


def small_subset(x, y, seed):
    """`REAL_PER_CLASS` images of each class, drawn without replacement with `seed`."""
    rng = np.random.default_rng(seed)
    picked = np.concatenate([
        rng.choice(np.flatnonzero(y == label), REAL_PER_CLASS, replace=False)
        for label in range(int(y.max()) + 1)
    ])
    return x[picked], y[picked]


def train_cgan(config_name, x, y, seed, steps):
    """A conditional GAN of `config_name` trained on (x, y) only, with DiffAugment translation."""
    from ganzoo import config as config_lib  # pylint: disable=import-outside-toplevel
    from ganzoo.training.run import build_from_config  # pylint: disable=import-outside-toplevel

    config = config_lib.load(config_name)
    if config.model.conditional is None:
        raise SystemExit(f"--config {config_name!r} is not conditional; use e.g. cgan_fashion_mnist")
    # Small data: let D see translated images so it cannot memorise the 1 000 (DiffAugment).
    model = dataclasses.replace(config.model, augment=config.model.augment or ["translation"])
    config = dataclasses.replace(config, model=model, train=dataclasses.replace(config.train, seed=seed))
    gan = build_from_config(config)
    steps_per_epoch = len(x) // GAN_BATCH
    gan.fit(x, y, batch_size=GAN_BATCH, epochs=max(1, round(steps / steps_per_epoch)), shuffle=True, verbose=0)
    return gan, config


def train_classifier(x, y, x_test, y_test, seed, steps):
    """The shipped extractor's CNN trained for `steps` Adam steps on (x, y); returns test accuracy."""
    import keras  # pylint: disable=import-outside-toplevel

    from ganzoo.metrics import extractors  # pylint: disable=import-outside-toplevel

    keras.utils.set_random_seed(seed)
    model = extractors.build_classifier(x.shape[1:], int(y_test.max()) + 1, seed=seed)
    model.compile(optimizer=keras.optimizers.Adam(1e-3), loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    steps_per_epoch = int(np.ceil(len(x) / CLASSIFIER_BATCH))
    epochs = max(1, round(steps / steps_per_epoch))
    model.fit(x, y, batch_size=CLASSIFIER_BATCH, epochs=epochs, shuffle=True, verbose=0)
    return float(model.evaluate(x_test, y_test, batch_size=500, verbose=0)[1])


def run_seed(args, seed, x_train, y_train, x_test, y_test):
    import keras  # pylint: disable=import-outside-toplevel

    from ganzoo.metrics import extractors, scores  # pylint: disable=import-outside-toplevel
    from ganzoo.plots import to_uint8  # pylint: disable=import-outside-toplevel

    start = time.perf_counter()
    keras.utils.set_random_seed(seed)
    x_real, y_real = small_subset(x_train, y_train, seed)
    gan, _ = train_cgan(args.config, x_real, y_real, seed, args.gan_steps)
    gan_seconds = time.perf_counter() - start
    classes = int(y_test.max()) + 1
    y_synthetic = np.repeat(np.arange(classes), args.synthetic_per_class).astype(np.int32)
    x_synthetic = gan.generate(len(y_synthetic), labels=y_synthetic, seed=1000 + seed)
    # Synthetic images go through the same uint8 rounding as `ganzoo augment`'s PNGs.
    x_synthetic = to_uint8(x_synthetic).astype(np.float32) / 127.5 - 1.0
    gan_test = scores.label_accuracy(extractors.get_extractor("fashion_mnist").probabilities(x_synthetic),
                                     y_synthetic)
    accuracy = {
        "a_real": train_classifier(x_real, y_real, x_test, y_test, seed, args.classifier_steps),
        "b_real_plus_synthetic": train_classifier(
            np.concatenate([x_real, x_synthetic]), np.concatenate([y_real, y_synthetic]),
            x_test, y_test, seed, args.classifier_steps),
        "c_synthetic_only": train_classifier(x_synthetic, y_synthetic, x_test, y_test, seed,
                                             args.classifier_steps),
    }
    return {
        "seed": seed,
        "accuracy": accuracy,
        "gan_test": gan_test,
        "gan_generator_steps": int(keras.ops.convert_to_numpy(gan.g_optimizer.iterations)),
        "gan_seconds": round(gan_seconds, 1),
        "seconds": round(time.perf_counter() - start, 1),
    }


def settings(args):
    return {"config": args.config, "gan_steps": args.gan_steps, "backend": args.backend,
            "synthetic_per_class": args.synthetic_per_class, "classifier_steps": args.classifier_steps,
            "real_per_class": REAL_PER_CLASS,
            # Runs before GAN.fit re-estimated the EMA generator's batch-norm statistics differ.
            "ema_statistics": "re-estimated"}


def mean_std(values):
    values = np.asarray(values, dtype=float)
    return float(values.mean()), float(values.std(ddof=1)) if len(values) > 1 else 0.0


def report(args, runs, info):
    lines = [
        "# Augmentation benchmark: Fashion-MNIST with 100 real images per class",
        "",
        f"- machine: {info['cpu']}, {info['cores']} cores, {info['platform']}",
        f"- backend: {args.backend}, Keras {info['keras']}, Python {info['python']}",
        f"- settings: {json.dumps(settings(args))}",
        f"- seeds: {sorted(r['seed'] for r in runs)}; wall time of the runs: "
        f"{sum(r['seconds'] for r in runs):.0f} s (cGAN training {sum(r['gan_seconds'] for r in runs):.0f} s)",
        f"- runs from {min(r['date'] for r in runs)} to {max(r['date'] for r in runs)} (UTC)",
        *([f"- note: {args.note}"] if args.note else []),
        "",
        "Protocol: per seed, 100 train images per class are drawn; a conditional GAN "
        f"({args.config}, DiffAugment translation, batch {GAN_BATCH}) trains on them only; "
        f"{args.synthetic_per_class} images per class are drawn from it; the same CNN "
        f"(ganzoo.metrics.extractors.build_classifier) trains {args.classifier_steps} Adam steps "
        f"(batch {CLASSIFIER_BATCH}) on each training set and is scored on the 10 000 real test "
        "images. GAN-test: the shipped Fashion-MNIST classifier (91.7 % on real test images) on "
        "the synthetic images against their requested labels. Mean ± sample std over seeds.",
        "",
        "| training set | test accuracy (%) | per seed |",
        "| --- | --- | --- |",
    ]
    summary = {}
    for key, label in ARMS.items():
        values = [100 * r["accuracy"][key] for r in runs]
        summary[key] = mean_std(values)
        lines.append(f"| {label} | {summary[key][0]:.2f} ± {summary[key][1]:.2f} | "
                     f"{', '.join(f'{v:.2f}' for v in values)} |")
    gains = [100 * (r["accuracy"]["b_real_plus_synthetic"] - r["accuracy"]["a_real"]) for r in runs]
    gan_tests = [100 * r["gan_test"] for r in runs]
    summary["gain_b_minus_a"] = mean_std(gains)
    summary["gan_test"] = mean_std(gan_tests)
    lines += [
        "",
        f"(b) - (a), paired by seed: **{summary['gain_b_minus_a'][0]:+.2f} ± "
        f"{summary['gain_b_minus_a'][1]:.2f} points** (per seed: {', '.join(f'{g:+.2f}' for g in gains)}).",
        "",
        f"GAN-test of the small-data cGANs: {summary['gan_test'][0]:.1f} ± {summary['gan_test'][1]:.1f} % "
        f"(per seed: {', '.join(f'{g:.1f}' for g in gan_tests)}).",
        "",
    ]
    os.makedirs(args.out, exist_ok=True)
    md = os.path.join(args.out, "augmentation.md")
    with open(md, "w", encoding="utf-8") as f:
        f.write("\n".join(lines))
    with open(os.path.join(args.out, "augmentation.json"), "w", encoding="utf-8") as f:
        json.dump({"settings": settings(args), "machine": info, "runs": runs, "summary": summary}, f, indent=1)
    return md, summary


def main(argv=None):
    args = parse_args(argv)
    os.environ["KERAS_BACKEND"] = args.backend
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    from mode_collapse import machine  # pylint: disable=import-outside-toplevel

    from ganzoo import data  # pylint: disable=import-outside-toplevel

    info = machine()
    runs_path = os.path.join(args.out, "augmentation_runs.jsonl")
    recorded = []
    if os.path.exists(runs_path):
        with open(runs_path, encoding="utf-8") as f:
            recorded = [json.loads(line) for line in f if line.strip()]
    recorded = [r for r in recorded if r["settings"] == settings(args)]
    done = {r["seed"] for r in recorded}
    todo = [] if args.dry_run else [s for s in range(args.seeds) if s not in done]
    print(f"augmentation: {len(todo)} seeds to run, {len(done)} recorded in {runs_path}", flush=True)
    if todo:
        x_train, y_train = data.load_arrays("fashion_mnist", "train", with_labels=True)
        x_test, y_test = data.load_arrays("fashion_mnist", "test", with_labels=True)
    for seed in todo:
        run = run_seed(args, seed, x_train, y_train, x_test, y_test)
        run.update(settings=settings(args), date=datetime.datetime.now(datetime.timezone.utc)
                   .isoformat(timespec="seconds"))
        os.makedirs(args.out, exist_ok=True)
        with open(runs_path, "a", encoding="utf-8") as f:
            f.write(json.dumps(run) + "\n")
        recorded.append(run)
        print(f"seed {seed}: " + ", ".join(f"{k} {100 * v:.2f} %" for k, v in run["accuracy"].items())
              + f", GAN-test {100 * run['gan_test']:.1f} %, {run['seconds']:.0f} s", flush=True)
    if not recorded:
        raise SystemExit(f"no runs recorded in {runs_path} with these settings; run without --dry-run")
    path, summary = report(args, recorded, info)
    print(f"(b) - (a): {summary['gain_b_minus_a'][0]:+.2f} ± {summary['gain_b_minus_a'][1]:.2f} points; "
          f"wrote {path}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
