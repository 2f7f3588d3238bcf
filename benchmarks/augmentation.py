"""Does synthetic data help a classifier? Fashion-MNIST with 100 real images per class, recipe by recipe.

For each seed:

1. draw 100 training images per class (1 000 in all) from the Fashion-MNIST
   train split with that seed;
2. train a conditional GAN (`--config`, default ``cgan_fashion_mnist`` with
   DiffAugment translation and the batch size below) on those 1 000 images
   only, and draw a pool of ``--pool-per-class`` images per class from it
   (rounded to uint8 like `ganzoo augment`'s PNGs); the cGAN and the pool
   are cached under ``--cache``, so recipes and pool sizes added later reuse them;
3. for every recipe of `RECIPES` (``_augmentation_recipes.py``), train the same small CNN
   (`ganzoo.metrics.extractors.build_classifier`) from the same initial
   weights and score it on the 10 000 real test images;
4. score "GAN-test": the shipped Fashion-MNIST classifier's accuracy on the
   pool against its requested labels (a metric only; nothing trains on it).

Equal exposure to the real data: every recipe that trains on real images
passes over each of them ``--real-epochs`` times (an epoch is one pass over
the recipe's whole training set), so adding synthetic images adds steps
instead of taking passes over the real images away. Confidence filtering
uses the real-only classifier of the same seed (never the shipped one, which
saw all 60 000 training images).

Every finished (seed, recipe) is appended to ``augmentation_runs.jsonl`` and
reused by the next invocation with the same settings; the report
``augmentation.md`` / ``.json`` gives each recipe's test accuracy and its
gain over real-only, paired by seed (mean ± sample std, and per seed).

Usage::

    python benchmarks/augmentation.py [--seeds 3] [--recipes real,plus_100,...] [--gan-steps 1500] [--gan-r1 0.1]
        [--pool-per-class 500] [--real-epochs 30] [--backend tensorflow] [--out benchmarks/results]
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _augmentation_recipes import REAL_PER_CLASS, RECIPES, phases, small_subset  # noqa: E402
from _records import append_run, machine, mean_std, read_runs, utc_now  # noqa: E402

GAN_BATCH = 50  # 1 000 images -> 20 full batches per epoch
CLASSIFIER_BATCH = 64
DEFAULT_OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "results")
DEFAULT_CACHE = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "runs",
                             "augmentation_pools")


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--recipes", default=",".join(RECIPES), help="comma-separated names of RECIPES")
    parser.add_argument("--config", default="cgan_fashion_mnist", help="conditional zoo config")
    parser.add_argument("--gan-steps", type=int, default=1500, help="generator steps of the small-data cGAN")
    parser.add_argument("--gan-r1", type=float, default=None,
                        help="R1 weight of the small-data cGAN (default: the config's)")
    parser.add_argument("--gan-augment", default=None, help="comma-separated DiffAugment transforms of the "
                        "small-data cGAN, e.g. translation,flip (default: the config's, else translation)")
    parser.add_argument("--pool-per-class", type=int, default=500, help="synthetic images drawn per class")
    parser.add_argument("--real-epochs", type=int, default=30, help="passes over each real image, every recipe")
    parser.add_argument("--inits", type=int, default=1, help="classifiers per (seed, recipe), each from other "
                        "initial weights and batch order; the record is their mean accuracy")
    parser.add_argument("--backend", default="tensorflow", choices=("tensorflow", "jax", "torch"))
    parser.add_argument("--out", default=DEFAULT_OUT)
    parser.add_argument("--cache", default=DEFAULT_CACHE, help="folder of the cached synthetic pools")
    parser.add_argument("--dry-run", action="store_true", help="only rewrite the report")
    parser.add_argument("--note", default=None, help="a sentence added under the report's header")
    args = parser.parse_args(argv)
    for key in ("seeds", "gan_steps", "pool_per_class", "real_epochs", "inits"):
        if getattr(args, key) < 1:
            parser.error(f"--{key.replace('_', '-')} must be >= 1, got {getattr(args, key)}")
    args.recipes = [r for r in args.recipes.split(",") if r]
    args.gan_augment = [t for t in (args.gan_augment or "").split(",") if t] or None
    unknown = sorted(set(args.recipes) - set(RECIPES))
    if unknown or not args.recipes:
        parser.error(f"unknown recipes {unknown}; choose from {', '.join(RECIPES)}")
    too_big = [r for r in args.recipes if (RECIPES[r].synthetic or 0) > args.pool_per_class]
    if too_big:
        parser.error(f"recipes {too_big} need more than --pool-per-class {args.pool_per_class} images per class")
    if "real" not in args.recipes:
        args.recipes.insert(0, "real")  # the baseline every gain is paired with
    return args


def train_cgan(args, x, y, seed):
    """The `--config` cGAN trained on (x, y) only for `--gan-steps`, with DiffAugment (and R1 if `--gan-r1`)."""
    from ganzoo import config as config_lib  # pylint: disable=import-outside-toplevel
    from ganzoo.training.run import build_from_config  # pylint: disable=import-outside-toplevel

    config = config_lib.load(args.config)
    if config.model.conditional is None:
        raise SystemExit(f"--config {args.config!r} is not conditional; use e.g. cgan_fashion_mnist")
    # Small data: let D see augmented images so it cannot memorise the 1 000 (DiffAugment).
    model = dataclasses.replace(config.model, augment=args.gan_augment or config.model.augment or ["translation"],
                                **({} if args.gan_r1 is None else {"r1_weight": args.gan_r1}))
    config = dataclasses.replace(config, model=model, train=dataclasses.replace(config.train, seed=seed))
    gan = build_from_config(config)
    steps_per_epoch = len(x) // GAN_BATCH
    gan.fit(x, y, batch_size=GAN_BATCH, epochs=max(1, round(args.gan_steps / steps_per_epoch)), shuffle=True,
            verbose=0)
    return gan


def cgan_name(args):
    """The cache files' stem: the cGAN config, R1 weight, DiffAugment, backend and steps."""
    r1 = "" if args.gan_r1 is None else f"_r1{args.gan_r1:g}"
    augment = f"_{'+'.join(args.gan_augment)}" if args.gan_augment else ""
    return f"{args.config}{r1}{augment}_{args.backend}_steps{args.gan_steps}"


def trained_cgan(args, seed, x_real, y_real):
    """The seed's small-data cGAN, its training seconds and generator steps; cached, so any pool size reuses it."""
    import ganzoo  # pylint: disable=import-outside-toplevel
    import keras  # pylint: disable=import-outside-toplevel

    path = os.path.join(args.cache, f"{cgan_name(args)}_seed{seed}.keras")
    if os.path.exists(path) and os.path.exists(path + ".json"):
        with open(path + ".json", encoding="utf-8") as f:
            facts = json.load(f)
        return ganzoo.load_model(path), facts["seconds"], facts["generator_steps"]
    start = time.perf_counter()
    keras.utils.set_random_seed(seed)
    gan = train_cgan(args, x_real, y_real, seed)
    seconds = time.perf_counter() - start
    steps = int(keras.ops.convert_to_numpy(gan.g_optimizer.iterations))
    os.makedirs(args.cache, exist_ok=True)
    gan.save(path)
    with open(path + ".json", "w", encoding="utf-8") as f:
        json.dump({"seconds": seconds, "generator_steps": steps}, f)
    return gan, seconds, steps


def synthetic_pool(args, seed, x_real, y_real):
    """The seed's cGAN pool {x uint8-rounded floats, y, gan_test, gan_seconds, gan_generator_steps}, cached."""
    path = os.path.join(args.cache, f"{cgan_name(args)}_pool{args.pool_per_class}_seed{seed}.npz")
    if os.path.exists(path):
        with np.load(path) as f:
            pool = {k: f[k] for k in f.files}
        pool["x"] = pool["x"].astype(np.float32) / 127.5 - 1.0
        return pool
    from ganzoo.metrics import extractors, scores  # pylint: disable=import-outside-toplevel
    from ganzoo.plots import to_uint8  # pylint: disable=import-outside-toplevel

    gan, seconds, steps = trained_cgan(args, seed, x_real, y_real)
    y = np.repeat(np.arange(int(y_real.max()) + 1), args.pool_per_class).astype(np.int32)
    pixels = to_uint8(gan.generate(len(y), labels=y, seed=1000 + seed))
    x = pixels.astype(np.float32) / 127.5 - 1.0
    pool = {"x": x, "y": y, "gan_seconds": np.float64(seconds), "gan_generator_steps": np.int64(steps),
            "gan_test": np.float64(scores.label_accuracy(
                extractors.get_extractor("fashion_mnist").probabilities(x), y))}
    np.savez(path + ".tmp.npz", **{**pool, "x": pixels})
    os.replace(path + ".tmp.npz", path)
    return pool


def train_classifier(training_phases, seed, num_classes):
    """The shipped extractor's CNN, from the seed's initial weights, fit phase by phase; returns it and its steps."""
    import keras  # pylint: disable=import-outside-toplevel

    from ganzoo.metrics import extractors  # pylint: disable=import-outside-toplevel

    keras.utils.set_random_seed(seed)
    model = extractors.build_classifier(training_phases[0][0].shape[1:], num_classes, seed=seed)
    model.compile(optimizer=keras.optimizers.Adam(1e-3), loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    for x, y, weights, epochs in training_phases:
        model.fit(x, y, sample_weight=weights, batch_size=CLASSIFIER_BATCH, epochs=epochs, shuffle=True, verbose=0)
    return model, int(keras.ops.convert_to_numpy(model.optimizer.iterations))


def run_recipes(args, seed, todo, x_train, y_train, x_test, y_test):
    """Trains and scores the seed's `todo` recipes (the real-only one first); yields one record each."""
    real = small_subset(x_train, y_train, seed)
    pool_start = time.perf_counter()
    pool = synthetic_pool(args, seed, *real)
    pool_seconds = time.perf_counter() - pool_start
    classes = int(y_test.max()) + 1
    cache = {}

    def real_model_probabilities(x):
        if "real" not in cache:
            cache["real"] = train_classifier(phases("real", real, (pool["x"], pool["y"]), None, args.real_epochs),
                                             seed, classes)[0]
        return cache["real"].predict(x, batch_size=500, verbose=0)

    for recipe in todo:
        start = time.perf_counter()
        training_phases = phases(recipe, real, (pool["x"], pool["y"]), real_model_probabilities, args.real_epochs)
        accuracies = []
        for init in range(args.inits):  # init i: the classifier's weights and batch order from seed + 1000 i
            model, steps = train_classifier(training_phases, seed + 1000 * (RECIPES[recipe].reinit + init), classes)
            if recipe == "real" and init == 0:
                cache["real"] = model
            accuracies.append(float(model.evaluate(x_test, y_test, batch_size=500, verbose=0)[1]))
        yield {"seed": seed, "recipe": recipe, "accuracy": float(np.mean(accuracies)), "classifier_steps": steps,
               **({"accuracies": accuracies} if args.inits > 1 else {}),
               "training_images": int(sum(len(p[1]) for p in training_phases)),
               "seconds": round(time.perf_counter() - start, 1), "pool_seconds": round(pool_seconds, 1),
               "gan_test": float(pool["gan_test"]), "gan_seconds": round(float(pool["gan_seconds"]), 1),
               "gan_generator_steps": int(pool["gan_generator_steps"])}
        pool_seconds = 0.0  # counted once per seed


def settings(args):
    return {"config": args.config, "gan_steps": args.gan_steps, "gan_r1": args.gan_r1, "backend": args.backend,
            "pool_per_class": args.pool_per_class, "real_epochs": args.real_epochs,
            "real_per_class": REAL_PER_CLASS, "classifier_batch": CLASSIFIER_BATCH,
            **({"gan_augment": args.gan_augment} if args.gan_augment else {}),
            **({"inits": args.inits} if args.inits > 1 else {})}


def summarize(runs):
    """{recipe: {seeds, accuracy (mean, std), gain over real-only paired by seed (mean, std), per seed}}."""
    by = {(r["recipe"], r["seed"]): r for r in runs}
    summary = {}
    for recipe in [r for r in RECIPES if any(k[0] == r for k in by)]:
        seeds = sorted(s for (name, s) in by if name == recipe)
        paired = [s for s in seeds if ("real", s) in by]
        accuracy = [100 * by[recipe, s]["accuracy"] for s in seeds]
        gains = [100 * (by[recipe, s]["accuracy"] - by["real", s]["accuracy"]) for s in paired]
        summary[recipe] = {"seeds": seeds, "accuracy": mean_std(accuracy), "per_seed": accuracy,
                           "gain": mean_std(gains) if gains else None, "gains": gains,
                           "classifier_steps": int(np.median([by[recipe, s]["classifier_steps"] for s in seeds]))}
    return summary


def describe(group_settings):
    """A section title from a settings dict: the cGAN, the pool and the passes over the real images."""
    r1 = "" if group_settings.get("gan_r1") is None else f", R1 {group_settings['gan_r1']:g}"
    r1 += f", DiffAugment {'+'.join(group_settings['gan_augment'])}" if "gan_augment" in group_settings else ""
    return (f"cGAN {group_settings['config']}{r1}, {group_settings['gan_steps']} generator steps; pool "
            f"{group_settings['pool_per_class']} per class; {group_settings['real_epochs']} passes over the real "
            f"images; {group_settings.get('inits', 1)} classifier(s) per seed and recipe; {group_settings['backend']}")


def section(group_settings, runs):
    """The markdown lines of one settings group, its summary and its best recipe (or None)."""
    summary = summarize(runs)
    seeds = sorted({r["seed"] for r in runs})
    gan = {r["seed"]: r for r in runs}
    gan_tests = [100 * gan[s]["gan_test"] for s in seeds]
    # Only a recipe paired on every seed of the section can be its best (one lucky seed is not a result);
    # the noise checks change nothing but the classifier's start, so they are never a recipe's win.
    candidates = [r for r in summary if r != "real" and summary[r]["gains"] and not RECIPES[r].reinit]
    most = max((len(summary[r]["gains"]) for r in candidates), default=0)
    best = max((r for r in candidates if len(summary[r]["gains"]) == most), default=None,
               key=lambda r: summary[r]["gain"][0])
    lines = [
        f"## {describe(group_settings)}", "",
        f"- settings: {json.dumps(group_settings)}",
        f"- seeds: {seeds}; classifier training {sum(r['seconds'] for r in runs):.0f} s, cGAN training "
        f"{sum(gan[s]['gan_seconds'] for s in seeds):.0f} s (the sums over runs)",
        f"- runs from {min(r['date'] for r in runs)} to {max(r['date'] for r in runs)} (UTC)", "",
        "| recipe | trains on | seeds | classifier steps | test accuracy (%) | gain over real only (points) "
        "| gain per seed |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    for recipe, row in summary.items():
        gain = "" if recipe == "real" or not row["gain"] else f"{row['gain'][0]:+.2f} ± {row['gain'][1]:.2f}"
        name = f"**{recipe}** (best)" if recipe == best else recipe
        lines.append(f"| {name} | {RECIPES[recipe].description} | {len(row['seeds'])} | {row['classifier_steps']} | "
                     f"{row['accuracy'][0]:.2f} ± {row['accuracy'][1]:.2f} | {gain} | "
                     f"{', '.join(f'{g:+.2f}' for g in row['gains']) if recipe != 'real' else ''} |")
    lines += ["", f"GAN-test of the small-data cGANs: {np.mean(gan_tests):.1f} % (per seed: "
              f"{', '.join(f'{g:.1f}' for g in gan_tests)}).", ""]
    spreads = [100 * np.std(r["accuracies"], ddof=1) for r in runs if len(r.get("accuracies", [])) > 1]
    if spreads:
        lines += [f"Each cell averages {len(runs[0]['accuracies'])} classifiers from different initial weights and "
                  f"batch order; their accuracies spread by {np.median(spreads):.2f} points (sample std, median "
                  f"over the {len(spreads)} cells).", ""]
    noise = [g for r in summary if RECIPES[r].reinit for g in summary[r]["gains"]]
    if noise:
        lines += [f"Noise check: the real-only classifier from other initial weights and batch order moves by "
                  f"{np.sqrt(np.mean(np.square(noise))):.2f} points (root mean square of {len(noise)} paired "
                  "differences); a recipe's gain within that is not evidence.", ""]
    if best:
        lines += [f"Best recipe here: **{best}**, {summary[best]['gain'][0]:+.2f} ± {summary[best]['gain'][1]:.2f} "
                  f"points over real only ({len(summary[best]['gains'])} seeds, paired).", ""]
    return lines, summary, best


def report(args, runs, info):
    """Writes augmentation.md / .json: one section per settings group recorded, the current one first."""
    groups = {}
    for run in runs:
        groups.setdefault(json.dumps(run["settings"], sort_keys=True), []).append(run)
    current = json.dumps(settings(args), sort_keys=True)
    order = sorted(groups, key=lambda key: (key != current, min(r["date"] for r in groups[key])))
    lines = [
        "# Augmentation benchmark: Fashion-MNIST with 100 real images per class",
        "",
        f"- machine: {info['cpu']}, {info['cores']} cores, {info['platform']}",
        f"- Keras {info['keras']}, Python {info['python']}",
        *([f"- note: {args.note}"] if args.note else []),
        "",
        "Protocol: per seed, 100 train images per class are drawn; a conditional GAN (DiffAugment "
        f"translation, batch {GAN_BATCH}) trains on them only; a pool of images per class is drawn from it. "
        "For each recipe the same CNN (ganzoo.metrics.extractors.build_classifier, Adam 1e-3, batch "
        f"{CLASSIFIER_BATCH}) trains from the same initial weights (or the same K starts, averaged, where a "
        "section says K classifiers) so that every real image is seen the same number of times (an epoch is "
        "one pass over the recipe's training set), and is scored on the 10 000 real test images. "
        "Gains are paired by seed against the real-only classifier. GAN-test: the shipped "
        "Fashion-MNIST classifier (91.7 % on real test images) on the pool against its requested labels. "
        "One section per setting of the cGAN and the classifier: the last invocation's first, then oldest first.",
        "",
    ]
    sections = {}
    for key in order:
        section_lines, summary, best = section(json.loads(key), groups[key])
        lines += section_lines
        sections[key] = {"settings": json.loads(key), "summary": summary, "best": best}
    os.makedirs(args.out, exist_ok=True)
    md = os.path.join(args.out, "augmentation.md")
    with open(md, "w", encoding="utf-8") as f:
        f.write("\n".join(lines))
    with open(os.path.join(args.out, "augmentation.json"), "w", encoding="utf-8") as f:
        json.dump({"machine": info, "runs": runs, "sections": list(sections.values())}, f, indent=1)
    return md, sections


def main(argv=None):
    args = parse_args(argv)
    os.environ["KERAS_BACKEND"] = args.backend
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    from ganzoo import data  # pylint: disable=import-outside-toplevel

    info = machine()
    runs_path = os.path.join(args.out, "augmentation_runs.jsonl")
    recorded = [r for r in read_runs(runs_path) if "recipe" in r]  # every settings group gets its section
    done = {(r["seed"], r["recipe"]) for r in recorded if r["settings"] == settings(args)}
    todo = {} if args.dry_run else {
        s: [r for r in args.recipes if (s, r) not in done] for s in range(args.seeds)}
    todo = {s: recipes for s, recipes in todo.items() if recipes}
    print(f"augmentation: {sum(map(len, todo.values()))} runs to do, {len(done)} recorded in {runs_path}",
          flush=True)
    if todo:
        x_train, y_train = data.load_arrays("fashion_mnist", "train", with_labels=True)
        x_test, y_test = data.load_arrays("fashion_mnist", "test", with_labels=True)
    for seed, recipes in todo.items():
        for run in run_recipes(args, seed, recipes, x_train, y_train, x_test, y_test):
            run.update(settings=settings(args), date=utc_now())
            append_run(runs_path, run)
            recorded.append(run)
            print(f"seed {seed} {run['recipe']}: {100 * run['accuracy']:.2f} % ({run['classifier_steps']} steps, "
                  f"{run['seconds']:.0f} s), GAN-test {100 * run['gan_test']:.1f} %", flush=True)
    if not recorded:
        raise SystemExit(f"no runs recorded in {runs_path} with these settings; run without --dry-run")
    path, sections = report(args, recorded, info)
    current = sections.get(json.dumps(settings(args), sort_keys=True), {"best": None})
    best, summary = current["best"], current.get("summary")
    if best:
        print(f"best recipe {best}: {summary[best]['gain'][0]:+.2f} ± {summary[best]['gain'][1]:.2f} points over "
              f"real only; wrote {path}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
