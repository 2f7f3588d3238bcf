"""The bodies of `ganzoo train`, `ganzoo evaluate`, `ganzoo export` and `ganzoo interpolate` (`ganzoo.cli`
parses and dispatches)."""

import json
import os

import numpy as np

from ganzoo.cli import FORMATS, UsageError


def evaluate(args):
    """Scores a generator by both shipped judges; an image-in one on its paired dataset's test pairs, a CycleGAN
    on its unpaired dataset's two image sets."""
    from ganzoo.models import loading

    if args.json and os.path.exists(args.json):
        raise UsageError(f"--json {args.json!r} already exists; name a new file or remove it first.")
    dataset = args.dataset or loading.trained_dataset(args.model)
    if dataset is None:
        raise UsageError(f"no config.yaml beside {args.model!r} names its dataset; pass --dataset NAME.")

    from ganzoo import data
    from ganzoo.export import image_in
    from ganzoo.metrics import evaluate, extractors, paired, report as report_lib, unpaired

    if data.info(dataset).kind == "unpaired":  # CycleGAN: both directions, cycles, FID per target domain
        if args.metrics or args.inception_weights:
            raise UsageError("a CycleGAN is scored by translation accuracy, cycle error and FID on its two "
                             "image sets; drop --metrics and --inception-weights.")
        generators = [loading.load_generator(args.model, direction) for direction in ("a_to_b", "b_to_a")]
        report = unpaired.evaluate_unpaired(*generators, dataset, n=args.n)
        print(f"ganzoo: {args.model} on {report['n']['a']} A and {report['n']['b']} B {report['split']} images of "
              f"{dataset}; judges: " + ", ".join(f"{j} ({a:.1%} test accuracy)" if a else j
                                                 for j, a in report["judges"].items()))
        return _write_report(unpaired.text_table(report), report, args.json)
    generator = loading.load_generator(args.model)
    if image_in.is_image_in(generator):
        if args.metrics or args.inception_weights:
            raise UsageError("an image-in model is scored by PSNR, SSIM, FID and label accuracy on its paired "
                             "test split; drop --metrics and --inception-weights.")
        try:
            report = paired.evaluate_pairs(generator, dataset, n=args.n)
        except ValueError as e:
            raise UsageError(str(e)) from e
        print(f"ganzoo: {args.model} on the first {report['n']} test pairs of {dataset}; judges: "
              + ", ".join(f"{j} ({a:.1%} test accuracy)" if a else j for j, a in report["judges"].items()))
        return _write_report(paired.text_table(report), report, args.json)
    try:
        metrics = evaluate.check_metrics(args.metrics)
        judges = ((extractors.inception_extractor(args.inception_weights),)
                  if args.inception_weights else extractors.get_judges(dataset))
    except ValueError as e:
        raise UsageError(str(e)) from e
    try:
        report = evaluate.evaluate(generator, dataset, n=args.n, metrics=metrics, seed=args.seed,
                                   extractor=judges, verbose=0 if args.quiet else 1)
    except ValueError as e:
        raise UsageError(str(e)) from e
    names = ", ".join(f"{j['extractor']} ({j['test_accuracy']:.1%} test accuracy)"
                      if j.get("test_accuracy") else j["extractor"]
                      for j in report["judges"].values())
    print(f"ganzoo: {args.model} vs {dataset} ({report['n']} samples each); judges: {names}")
    return _write_report(report_lib.text_table(report), report, args.json)


def _write_report(lines, report, path):
    for line in lines:
        print(line)
    if path:
        folder = os.path.dirname(os.path.abspath(path))
        os.makedirs(folder, exist_ok=True)
        with open(path, "x", encoding="utf-8") as f:
            json.dump(report, f, indent=2)
        print(f"ganzoo: wrote {path}")
    return 0


def export(args):
    """Exports a generator (or, with --zoo-entry, a run as a whole zoo entry)."""
    formats = [f.strip() for f in args.formats.split(",") if f.strip()]
    unknown = [f for f in formats if f not in FORMATS]
    if unknown or not formats:
        raise UsageError(f"unknown format(s) {unknown or formats}; choose from {','.join(FORMATS)}.")
    if os.path.isdir(args.out) and os.listdir(args.out) and not args.force:
        raise UsageError(f"--out {args.out!r} exists and is not empty; pass --force or name a new folder.")

    if args.zoo_entry:
        from ganzoo.export import entry

        if args.uint8 or len(formats) != len(FORMATS):
            raise UsageError("--zoo-entry writes every format as float32; drop --formats and --uint8.")
        metadata = entry.build_entry(args.model, args.out, overwrite=args.force,
                                     verbose=0 if args.quiet else 1)
        print(f"ganzoo: wrote zoo entry {metadata['name']} to {args.out}")
        return 0

    from ganzoo.export import export_generator, export_scorer
    from ganzoo.models import loading

    model = loading.load_whole(args.model)
    if callable(getattr(model, "scorer_model", None)):  # an anomaly scorer: images in, scores out
        if args.uint8 or args.direction or args.truncation:
            raise UsageError("an anomaly scorer exports images -> scores; drop --uint8, --direction and --truncation.")
        inputs = args.inputs or loading.trained_dataset(args.model)
        if inputs is None:
            raise UsageError("a scorer's export is checked and int8-calibrated on real normal images, and this "
                             "one's dataset is not known; pass --inputs DATASET, e.g. 'fashion_mnist[label=7]'.")
        metadata = export_scorer(model, args.out, inputs=inputs, formats=formats, overwrite=args.force)
    else:
        metadata = export_generator(args.model, args.out, formats=formats, uint8_output=args.uint8,
                                    overwrite=args.force, inputs=args.inputs, direction=args.direction,
                                    truncation=args.truncation)
    for name, facts in metadata["formats"].items():
        parity = facts["parity"]
        print(f"  {facts['path']:<28} {facts['size_bytes'] / 1024:>8.0f} KiB  max abs error "
              f"{parity['max_abs_error']:.2g}{' (gated)' if parity['gated'] else ''}")
    condition = metadata["condition"]
    inputs = "images " + str(metadata["input"]["shape"]) if metadata["latent_dim"] is None else "z" if condition is None else (
        f"z and {condition['name']} (int32, 0..{condition['num_values'] - 1}: {condition['meaning']})")
    print(f"ganzoo: exported {len(metadata['formats'])} formats to {args.out}; signature "
          f"{metadata['signature']!r} takes {inputs}")
    return 0



def score(args):
    """Scores an image file or a folder's images with an anomaly scorer; writes file, score, flagged per image."""
    import csv
    import tempfile

    from ganzoo.export.scorer import scorer_of
    from ganzoo.translate import read_images

    if os.path.exists(args.out) and (os.path.isdir(args.out) or not args.force):
        raise UsageError(f"--out {args.out!r} already exists; pass --force to replace the file or name a new one.")
    model = scorer_of(args.model)
    paths, images = read_images(args.input, shape=model.image_shape)
    try:
        scores = model.score(images, kind=args.kind)
    except ValueError as e:  # an unknown --kind
        raise UsageError(str(e)) from None
    threshold = model.threshold
    folder = os.path.dirname(os.path.abspath(args.out))
    os.makedirs(folder, exist_ok=True)
    handle, staging = tempfile.mkstemp(prefix=".scores-", suffix=".csv", dir=folder)
    try:
        with os.fdopen(handle, "w", newline="", encoding="utf-8") as f:
            writer = csv.writer(f)
            writer.writerow(["file", "score", "flagged"])
            for path, value in zip(paths, scores):
                writer.writerow([os.path.basename(path), f"{value:.6g}",
                                 "" if threshold is None else int(value > threshold)])
        os.replace(staging, args.out)
    finally:
        if os.path.exists(staging):
            os.remove(staging)
    flagged = ("no threshold saved (calibrate the model to flag)" if threshold is None else
               f"{int(np.sum(scores > threshold))} flagged above {threshold:.4g} (chosen for a "
               f"{model.threshold_fpr:.0%} false-positive rate on normal images)")
    print(f"ganzoo: scored {len(scores)} image(s) with {model.name} ({args.kind or model.score_kind}); "
          f"{flagged}; wrote {args.out}")
    return 0


def interpolate(args):
    """Writes `--steps` images between two seeded latents: a PNG strip or an animated GIF.

    A StyleGAN2 generator is walked along the straight line in W between the
    latents' w (truncated by `--truncation`); any other latent generator along
    the straight line between the latents themselves.
    """
    kind = os.path.splitext(args.out)[1].lower()
    if kind not in (".png", ".gif"):
        raise UsageError(f"--out must name a .png (a strip) or .gif (an animation) file, got {args.out!r}.")
    if os.path.isdir(args.out) or (os.path.exists(args.out) and not args.force):
        raise UsageError(f"--out {args.out!r} exists; pass --force to replace it or name a new file.")
    if args.steps < 2:
        raise UsageError(f"--steps must be at least 2 (the two ends), got {args.steps}.")
    import numpy as np

    from ganzoo import plots
    from ganzoo.models import loading, sampling, style_sampling

    generator = loading.load_generator(args.model)
    if len(generator.inputs) != 1 or len(generator.inputs[0].shape) != 2:
        raise UsageError(f"{args.model!r} does not generate from latents alone (a conditional or image-in "
                         "model); interpolate an unconditional generator.")
    start, end = sampling.latents(2, int(generator.inputs[0].shape[-1]), seed=args.seed)
    if style_sampling.is_style_generator(generator):
        images = style_sampling.interpolate(generator, start, end, args.steps, truncation=1.0 if args.truncation is None else args.truncation)
    elif args.truncation is not None:
        raise UsageError(f"--truncation applies to StyleGAN2 models; {args.model!r} is not one: drop it.")
    else:
        t = np.linspace(0.0, 1.0, args.steps, dtype="float32")[:, None]
        images = sampling.run(generator, (1 - t) * start + t * end)
    if kind == ".png":
        plots.save_image_grid(images, args.out, columns=args.steps)
    else:
        frames = [plots.image_grid(image[None], columns=1) for image in images]
        frames += frames[-2:0:-1]  # there and back again
        frames[0].save(plots.ensure_parent(args.out), save_all=True, append_images=frames[1:], duration=120,
                       loop=0)
    print(f"ganzoo: wrote {args.steps} images from seed {args.seed}'s two latents to {args.out}")
    return 0


def train(args):
    """`ganzoo train`: the config with the command line's overrides, checked before the slow part."""
    from ganzoo.training import run

    config = _train_config(args)
    if args.resume and args.force:
        raise UsageError("--resume continues a run and --force replaces it; pass one of them.")
    if config.output.tensorboard:
        from ganzoo import tensorboard

        if tensorboard.unavailable():
            raise UsageError(tensorboard.unavailable() + ".")
    # Check before the slow part, so a bad output path fails at once.
    if args.resume:
        run.check_resumable(config, config.run_dir)
    else:
        run.check_run_dir(config.run_dir, force=args.force)

    import keras

    verb = "resuming" if args.resume else "training"
    print(f"ganzoo: {verb} {config.name} on the {keras.backend.backend()} backend -> {config.run_dir}")
    gan, history = run.train(config, force=args.force, resume=args.resume,
                             verbose=0 if args.quiet else "auto")
    last = {k: round(float(v[-1]), 4) for k, v in history.items() if k != "epoch"}
    print(f"ganzoo: done, {config.train.epochs} epochs; last epoch {last}; wrote {config.run_dir}")
    return 0


def _train_config(args):
    """The config `args.config` names, with --epochs, --steps-per-epoch, --from-preset, --distribution,
    --devices, --out and --tensorboard applied."""
    import dataclasses

    from ganzoo import config as config_lib

    config = config_lib.load(args.config)
    train = config.train
    if args.epochs:
        if args.epochs < train.decay_epochs:
            raise UsageError(f"--epochs {args.epochs} is fewer than the config's train.decay_epochs "
                             f"({train.decay_epochs}); pass --epochs {train.decay_epochs} or more, or lower "
                             "train.decay_epochs.")
        train = dataclasses.replace(train, epochs=args.epochs)
    if args.steps_per_epoch:
        train = dataclasses.replace(train, steps_per_epoch=args.steps_per_epoch)
    if args.from_preset:
        train = dataclasses.replace(train, from_preset=args.from_preset)
    if args.distribution:
        train = dataclasses.replace(train, distribution=args.distribution)
    if args.devices:
        train = dataclasses.replace(train, devices=None if args.devices == "all" else args.devices)
    if train.from_preset:
        from ganzoo import presets

        if presets.find_preset(train.from_preset) is None:
            presets.from_preset(train.from_preset)  # raises PresetError, naming the folders searched
    output = dataclasses.replace(config.output, dir=args.out) if args.out else config.output
    if args.tensorboard:
        output = dataclasses.replace(output, tensorboard=True)
    return dataclasses.replace(config, train=train, output=output)
