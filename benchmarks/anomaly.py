"""One-class Fashion-MNIST anomaly detection: GAN scorers against baselines, AUROC per class.

The protocol of Golan & El-Yaniv (2018) and the papers before it: for each
class c of the ten, train on the train split's images of class c only (6 000,
the "normal" class), score all 10 000 test images, and take the AUROC with the
test images of class c as normal and the other 9 000 as anomalies
(`sklearn.metrics.roc_auc_score`). Methods, run side by side:

* ``ganomaly``: `ganzoo.models.ganomaly` (the paper's weights 1 / 50 / 1, BCE,
  Adam 2e-4 / 0.5, latent 100, DCGAN networks of ``--filters``), scored by the
  latent distance (the paper's score) and, from the same model, by its
  reconstruction error (``ganomaly_rec``);
* ``fanogan``: `ganzoo.models.fanogan`: the zoo's ``wgan_gp_fashion_mnist``
  config (the paper's WGAN-GP; ``--fanogan-gan``) trained on the class for
  ``--epochs``, then frozen, and an encoder (the same DCGAN encoder) trained
  izif for ``--epochs`` (Adam 1e-4 / 0.5); scored by image + feature residual
  (kappa 1);
* ``autoencoder``: the same encoder and decoder trained as a plain
  convolutional autoencoder on the L1 reconstruction (the same optimizer,
  batches and epochs), scored by its reconstruction error;
* ``ocsvm``: scikit-learn's `OneClassSVM` (RBF, ``gamma="scale"``, ``nu=0.1``)
  on raw pixels, fit on a seeded draw of ``--ocsvm-train`` of the class's
  images (the kernel method is deterministic: the seed varies the draw).

Every finished (method, class, seed) is appended to ``anomaly_runs.jsonl`` and
skipped on the next invocation with the same settings, so the run resumes
where it stopped. The report ``anomaly.md`` / ``.json`` gives mean ± sample std
over the seeds per class, the mean over classes, training seconds, the
machine, and the published rows beside them.

Usage::

    python benchmarks/anomaly.py [--seeds 3] [--classes 0-9] [--methods ganomaly,fanogan,autoencoder,ocsvm]
        [--epochs 15] [--backend tensorflow] [--out benchmarks/results]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _records import append_run, machine, mean_std, read_runs, utc_now  # noqa: E402

METHODS = ("ganomaly", "fanogan", "autoencoder", "ocsvm")
# Columns of the table: GANomaly gives two scores from one model.
COLUMNS = {"ganomaly": "GANomaly (latent)", "ganomaly_rec": "GANomaly (reconstruction)", "fanogan": "f-AnoGAN (izif)",
           "autoencoder": "conv autoencoder", "ocsvm": "OC-SVM (raw pixels)"}
CLASSES = ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot")
BATCH = 64
LATENT = 100
DEFAULT_OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "results")


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--classes", default="0-9", help="e.g. 0-9, or 7,9")
    parser.add_argument("--methods", default=",".join(METHODS))
    parser.add_argument("--epochs", type=int, default=15, help="epochs of the GAN and the autoencoder")
    parser.add_argument("--filters", type=int, default=32, help="base filters of every DCGAN network")
    parser.add_argument("--fanogan-gan", default="wgan_gp_fashion_mnist", help="zoo config of f-AnoGAN's GAN")
    parser.add_argument("--ocsvm-train", type=int, default=4000, help="normal images the OC-SVM is fit on")
    parser.add_argument("--train-limit", type=int, default=None,
                        help="train on the first N images of the class only (quick looks and tests; default: all)")
    parser.add_argument("--test-limit", type=int, default=None,
                        help="score the first N test images only (tests; default: all 10 000)")
    parser.add_argument("--backend", default="tensorflow", choices=("tensorflow", "jax", "torch"))
    parser.add_argument("--out", default=DEFAULT_OUT)
    parser.add_argument("--dry-run", action="store_true", help="only rewrite the report")
    args = parser.parse_args(argv)
    try:
        if "-" in args.classes:
            low, high = (int(v) for v in args.classes.split("-"))
            args.classes = list(range(low, high + 1))
        else:
            args.classes = [int(v) for v in args.classes.split(",")]
    except ValueError:
        parser.error(f"--classes takes a range such as 0-9 or a list such as 7,9, got {args.classes!r}")
    if not args.classes or not set(args.classes) <= set(range(10)):
        parser.error("--classes must name classes among 0..9")
    args.methods = [m.strip() for m in args.methods.split(",") if m.strip()]
    unknown = sorted(set(args.methods) - set(METHODS))
    if unknown or not args.methods:
        parser.error(f"--methods takes names among {', '.join(METHODS)}, got {unknown or 'none'}")
    for key in ("seeds", "epochs", "filters", "ocsvm_train", "train_limit", "test_limit"):
        if getattr(args, key) is not None and getattr(args, key) < 1:
            parser.error(f"--{key.replace('_', '-')} must be >= 1, got {getattr(args, key)}")
    return args


def settings(args, method):
    common = {"method": method, "backend": args.backend, "train_limit": args.train_limit,
              **({"test_limit": args.test_limit} if args.test_limit else {})}
    if method == "ocsvm":
        return {**common, "train_images": args.ocsvm_train, "nu": 0.1, "gamma": "scale"}
    if method == "fanogan":
        return {**common, "epochs": args.epochs, "filters": args.filters, "gan": args.fanogan_gan, "batch": BATCH,
                "encoder_learning_rate": 1e-4, "kappa": 1.0}
    return {**common, "epochs": args.epochs, "filters": args.filters, "latent": LATENT, "batch": BATCH,
            "learning_rate": 2e-4, "beta_1": 0.5}


def auroc(scores, is_anomaly):
    from sklearn.metrics import roc_auc_score  # pylint: disable=import-outside-toplevel

    return float(roc_auc_score(is_anomaly, scores))


def run_ganomaly(args, x, seed, x_test):
    import keras  # pylint: disable=import-outside-toplevel

    from ganzoo.models import ganomaly  # pylint: disable=import-outside-toplevel

    keras.utils.set_random_seed(seed)
    model = ganomaly.build_ganomaly(x.shape[1:], latent_dim=LATENT, generator={"base_filters": args.filters},
                                    discriminator={"base_filters": args.filters}, seed=seed)
    model.compile(d_optimizer=keras.optimizers.Adam(2e-4, beta_1=0.5),
                  g_optimizer=keras.optimizers.Adam(2e-4, beta_1=0.5))
    start = time.perf_counter()
    model.fit(x, batch_size=BATCH, epochs=args.epochs, shuffle=True, verbose=0)
    seconds = time.perf_counter() - start
    return seconds, {"ganomaly": model.score(x_test, kind="latent"),
                     "ganomaly_rec": model.score(x_test, kind="reconstruction")}


def run_fanogan(args, x, seed, x_test):
    import dataclasses  # pylint: disable=import-outside-toplevel

    import keras  # pylint: disable=import-outside-toplevel

    from ganzoo import config as config_lib  # pylint: disable=import-outside-toplevel
    from ganzoo.models import fanogan  # pylint: disable=import-outside-toplevel
    from ganzoo.training.run import build_from_config  # pylint: disable=import-outside-toplevel

    keras.utils.set_random_seed(seed)
    config = config_lib.load(args.fanogan_gan)
    config = dataclasses.replace(config, train=dataclasses.replace(config.train, seed=seed))
    gan = build_from_config(config, sample_shape=x.shape[1:])
    start = time.perf_counter()
    gan.fit(x, batch_size=BATCH, epochs=args.epochs, shuffle=True, verbose=0)
    scorer = fanogan.build_fanogan(gan, base_filters=args.filters)
    scorer.compile(optimizer=keras.optimizers.Adam(1e-4, beta_1=0.5))
    scorer.fit(x, batch_size=BATCH, epochs=args.epochs, shuffle=True, verbose=0)
    seconds = time.perf_counter() - start
    return seconds, {"fanogan": scorer.score(x_test)}


def run_autoencoder(args, x, seed, x_test):
    import keras  # pylint: disable=import-outside-toplevel

    from ganzoo.models import dcgan  # pylint: disable=import-outside-toplevel

    keras.utils.set_random_seed(seed)
    shape = x.shape[1:]
    images = keras.Input(shape)
    encoder = dcgan.build_discriminator(shape, base_filters=args.filters, num_outputs=LATENT, name="encoder")
    decoder = dcgan.build_generator(shape, latent_dim=LATENT, base_filters=args.filters, name="decoder")
    model = keras.Model(images, decoder(encoder(images)))
    model.compile(optimizer=keras.optimizers.Adam(2e-4, beta_1=0.5), loss="mae")
    start = time.perf_counter()
    model.fit(x, x, batch_size=BATCH, epochs=args.epochs, shuffle=True, verbose=0)
    seconds = time.perf_counter() - start
    reconstructions = model.predict(x_test, batch_size=500, verbose=0)
    return seconds, {"autoencoder": np.abs(reconstructions - x_test).reshape(len(x_test), -1).mean(axis=1)}


def run_ocsvm(args, x, seed, x_test):
    from sklearn.svm import OneClassSVM  # pylint: disable=import-outside-toplevel

    rng = np.random.default_rng(seed)
    picked = rng.choice(len(x), min(args.ocsvm_train, len(x)), replace=False)
    start = time.perf_counter()
    svm = OneClassSVM(kernel="rbf", gamma="scale", nu=0.1).fit(x[picked].reshape(len(picked), -1))
    seconds = time.perf_counter() - start
    # decision_function is high inside the normal region: its negative is the anomaly score.
    return seconds, {"ocsvm": -svm.decision_function(x_test.reshape(len(x_test), -1))}


RUNNERS = {"ganomaly": run_ganomaly, "fanogan": run_fanogan, "autoencoder": run_autoencoder, "ocsvm": run_ocsvm}


def report(args, runs, info):
    """Writes anomaly.md / anomaly.json from the recorded runs of these settings."""
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    from anomaly_published import PUBLISHED_MEANS, PUBLISHED_NOTE, PUBLISHED_PER_CLASS  # pylint: disable=import-outside-toplevel

    table, summary = {}, {}
    for run in runs:
        for column, value in run["auroc"].items():
            table.setdefault(column, {}).setdefault(run["class"], []).append(value)
    columns = [c for c in COLUMNS if c in table]
    lines = [
        "# One-class Fashion-MNIST: AUROC (%) per normal class",
        "",
        f"- machine: {info['cpu']}, {info['cores']} cores, {info['platform']}; backend {args.backend}, "
        f"Keras {info['keras']}",
        f"- runs from {min(r['date'] for r in runs)} to {max(r['date'] for r in runs)} (UTC); "
        f"settings per method in anomaly.json",
        "",
        "Train on the normal class's 6 000 train images only; score the 10 000 test images; AUROC with "
        "that class normal and the other nine anomalous. Each cell: mean ± sample std over the seeds "
        "(n = the seeds recorded). Training seconds: mean per run.",
        "",
        "| class | " + " | ".join(COLUMNS[c] for c in columns) + " |",
        "| --- |" + " --- |" * len(columns),
    ]
    for label in range(10):
        if not any(label in table[c] for c in columns):
            continue
        cells = []
        for c in columns:
            values = [100 * v for v in table[c].get(label, [])]
            cells.append(f"{mean_std(values)[0]:.1f} ± {mean_std(values)[1]:.1f} (n={len(values)})"
                         if values else "–")
        lines.append(f"| {label} {CLASSES[label]} | " + " | ".join(cells) + " |")
    for c in columns:
        per_class = [np.mean(v) * 100 for v in table[c].values()]
        seeds = {}
        for run in runs:
            if c in run["auroc"]:
                seeds.setdefault(run["seed"], []).append(100 * run["auroc"][c])
        summary[c] = {"mean_over_classes": float(np.mean(per_class)), "classes": len(per_class),
                      "per_seed_means": {s: float(np.mean(v)) for s, v in sorted(seeds.items())}}
    lines.append("| **mean over classes** | " + " | ".join(
        f"**{summary[c]['mean_over_classes']:.1f}** ({summary[c]['classes']} classes)" for c in columns) + " |")
    common = sorted(set.intersection(*(set(table[c]) for c in columns)))
    if 0 < len(common) < 10:  # a fair row while the methods cover different classes
        lines.append(f"| mean over the {len(common)} classes every column has | " + " | ".join(
            f"{np.mean([np.mean(table[c][k]) for k in common]) * 100:.1f}" for c in columns) + " |")
        for c in columns:
            summary[c]["mean_over_common_classes"] = float(np.mean([np.mean(table[c][k]) for k in common]) * 100)
    seconds = {}
    for run in runs:
        seconds.setdefault(run["method"], []).append(run["train_seconds"])
    lines += ["", "Training seconds per run (mean): " + ", ".join(
        f"{m} {np.mean(v):.0f} s" for m, v in seconds.items()), "", "## Published (Fashion-MNIST, same protocol)", "",
        PUBLISHED_NOTE, "", "| | " + " | ".join(PUBLISHED_MEANS) + " |", "| --- |" + " --- |" * len(PUBLISHED_MEANS)]
    for label in range(10):
        lines.append(f"| {label} {CLASSES[label]} | " + " | ".join(
            f"{PUBLISHED_PER_CLASS[name][label]:.1f}" if name in PUBLISHED_PER_CLASS else "–"
            for name in PUBLISHED_MEANS) + " |")
    lines.append("| **mean** | " + " | ".join(f"**{v:.1f}**" for v in PUBLISHED_MEANS.values()) + " |")
    os.makedirs(args.out, exist_ok=True)
    path = os.path.join(args.out, "anomaly.md")
    with open(path, "w", encoding="utf-8") as f:
        f.write("\n".join(lines) + "\n")
    with open(os.path.join(args.out, "anomaly.json"), "w", encoding="utf-8") as f:
        json.dump({"settings": {m: settings(args, m) for m in args.methods}, "machine": info, "summary": summary,
                   "runs": runs}, f, indent=1)
    return path, summary


def matching_runs(args, runs_path):
    """The recorded runs of the asked methods with the settings asked."""
    return [r for r in read_runs(runs_path) if r["method"] in args.methods
            and r["settings"] == settings(args, r["method"])]


def main(argv=None):
    args = parse_args(argv)
    os.environ["KERAS_BACKEND"] = args.backend
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    from ganzoo import data  # pylint: disable=import-outside-toplevel

    info = machine()
    runs_path = os.path.join(args.out, "anomaly_runs.jsonl")
    recorded = matching_runs(args, runs_path)
    done = {(r["method"], r["class"], r["seed"]) for r in recorded}
    todo = [] if args.dry_run else [(m, c, s) for s in range(args.seeds) for c in args.classes for m in args.methods
                                    if (m, c, s) not in done]
    print(f"anomaly: {len(todo)} runs to do, {len(done)} recorded in {runs_path}", flush=True)
    if todo:
        x_train, y_train = data.load_arrays("fashion_mnist", "train", with_labels=True)
        x_test, y_test = data.load_arrays("fashion_mnist", "test", with_labels=True, limit=args.test_limit)
    for method, label, seed in todo:
        seconds, scores = RUNNERS[method](args, x_train[y_train == label][:args.train_limit], seed, x_test)
        run = {"method": method, "class": label, "seed": seed, "train_seconds": round(seconds, 1),
               "auroc": {column: auroc(s, y_test != label) for column, s in scores.items()},
               "settings": settings(args, method),
               "date": utc_now()}
        append_run(runs_path, run)
        print(f"{method} class {label} seed {seed}: " + ", ".join(
            f"{k} {100 * v:.1f}" for k, v in run["auroc"].items()) + f" ({seconds:.0f} s)", flush=True)
    # Re-read: another invocation (say --classes 5-9 beside --classes 0-4) may have appended runs meanwhile.
    recorded = matching_runs(args, runs_path)
    if not recorded:
        raise SystemExit(f"no runs recorded in {runs_path} with these settings; run without --dry-run")
    path, summary = report(args, recorded, info)
    print("mean AUROC over classes: " + ", ".join(
        f"{COLUMNS[c]} {s['mean_over_classes']:.1f}" for c, s in summary.items()) + f"; wrote {path}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
