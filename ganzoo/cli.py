"""The `ganzoo` command: list | train | sample | interpolate | translate | augment | evaluate | export.

Keras reads its backend once, at import, so this module parses the command line
first, sets `KERAS_BACKEND` from `--backend`, and only then imports Keras and
the rest of ganzoo. Problems with the user's input print one line to stderr and
exit with status 2 (`--debug` shows the traceback instead).
"""

import argparse
import logging
import os
import sys

BACKENDS = ("tensorflow", "jax", "torch")
# ganzoo.export.FORMATS, repeated so that parsing the command line imports no Keras (a test checks).
FORMATS = ("saved_model", "tflite", "tflite_fp16", "tflite_dynamic", "tflite_int8")
EXIT_USAGE = 2
# Commands that train or run models at length: they keep freed memory in the process (`ganzoo.backend.memory`).
LONG_RUNNING = ("train", "evaluate", "export", "translate")


class UsageError(Exception):
    """A problem with the command line or the files it names."""


def _positive_int(text):
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a number >= 1, got {value}")
    return value


def _device_count(text):
    return "all" if text == "all" else _positive_int(text)


def _truncation(text):
    try:
        value = float(text)
    except ValueError:
        value = float("nan")
    if value != value or value in (float("inf"), float("-inf")):
        raise argparse.ArgumentTypeError(f"expected a number such as 0.7 (1: no truncation), got {text!r}")
    return value


def _labels(text):
    parts = [part.strip() for part in text.split(",")]
    if not all(parts):
        raise argparse.ArgumentTypeError(
            f"expected comma-separated class numbers or names such as 0,1,2 or cat,dog, got {text!r}")
    return [int(part) if part.lstrip("-").isdigit() else part for part in parts]


def _parser():
    parser = argparse.ArgumentParser(
        prog="ganzoo", description="Train and sample GANs on TensorFlow, JAX or PyTorch."
    )
    parser.add_argument(
        "--backend",
        choices=BACKENDS,
        help="Keras backend (default: $KERAS_BACKEND, else tensorflow)",
    )
    parser.add_argument("--debug", action="store_true", help="show tracebacks of errors")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    commands.add_parser("list", help="list zoo configs, model families, datasets and losses")

    train = commands.add_parser("train", help="train a GAN from a YAML config")
    train.add_argument("config", help="a YAML file or the name of a zoo config (ganzoo list names them)")
    train.add_argument("--epochs", type=_positive_int, help="override train.epochs")
    train.add_argument("--steps-per-epoch", type=_positive_int, help="override train.steps_per_epoch")
    train.add_argument("--out", help="run directory (default: output.dir or runs/<name>)")
    train.add_argument("--force", action="store_true", help="overwrite a run directory that holds a run")
    train.add_argument("--resume", action="store_true",
                       help="continue the run in the run directory from its newest checkpoint")
    train.add_argument("--quiet", action="store_true", help="no progress bars")
    train.add_argument("--tensorboard", action="store_true",
                       help="write TensorBoard event files to <run>/tb (sets output.tensorboard)")
    train.add_argument("--from-preset", metavar="NAME",
                       help="fine-tune: start from this preset's networks (sets train.from_preset)")
    train.add_argument("--distribution", choices=("none", "data_parallel"),
                       help="data_parallel: train on several devices (sets train.distribution)")
    train.add_argument("--devices", type=_device_count, metavar="N|all",
                       help="how many devices data_parallel uses (sets train.devices; default all)")

    sample = commands.add_parser("sample", help="write a grid of samples from a trained model")
    sample.add_argument("model", help="a preset name or folder, a run directory, gan.keras or generator.keras")
    sample.add_argument("--n", type=_positive_int,
                        help="number of samples (default 64, or one per label given)")
    sample.add_argument("--labels", type=_labels,
                        help="conditional models: one class for all samples, or one per sample, e.g. 0,1,2 "
                             "(or class names of a model trained on a folder, e.g. cat,dog)")
    sample.add_argument("--seed", type=int, default=0, help="latent seed (default 0)")
    sample.add_argument("--out", required=True, help="PNG file to write")
    sample.add_argument("--truncation", type=_truncation, metavar="PSI",
                        help="StyleGAN2: truncation psi towards the average w (e.g. 0.7; default 1: none)")

    interpolate = commands.add_parser(
        "interpolate", help="write images along a line between two latents (StyleGAN2: a line in W)")
    interpolate.add_argument("model", help="a preset name or folder, a run directory, gan.keras or generator.keras")
    interpolate.add_argument("--out", required=True, help="strip.png (one row) or anim.gif (an animation)")
    interpolate.add_argument("--steps", type=_positive_int, default=8, help="images along the line (default 8)")
    interpolate.add_argument("--seed", type=int, default=0, help="seed of the two end latents (default 0)")
    interpolate.add_argument("--truncation", type=_truncation, metavar="PSI", help="StyleGAN2: truncation psi")
    interpolate.add_argument("--force", action="store_true", help="replace an existing --out file")

    translate = commands.add_parser(
        "translate", help="run an image-in model (pix2pix, srgan, cyclegan) on an image file or a folder of images")
    translate.add_argument("model", help="a preset name or folder, a run directory, gan.keras or generator.keras")
    translate.add_argument("input", help="an image file or a folder of images (png, jpg, bmp, gif)")
    translate.add_argument("--out", required=True, help="folder to create; outputs keep the input file names")
    translate.add_argument("--force", action="store_true", help="replace a non-empty --out")
    translate.add_argument("--direction", help="CycleGAN models: a_to_b (default) or b_to_a")

    score = commands.add_parser(
        "score", help="anomaly scores of an image file or a folder of images (GANomaly, f-AnoGAN), as a CSV")
    score.add_argument("model", help="a preset name or folder, a run directory or the scorer's .keras file")
    score.add_argument("input", help="an image file or a folder of images (png, jpg, bmp, gif)")
    score.add_argument("--out", required=True, help="CSV file to write: file, score, flagged (one row per image)")
    score.add_argument("--kind", help="which score (default: the model's): GANomaly latent or reconstruction; "
                                      "f-AnoGAN izif, image or features")
    score.add_argument("--force", action="store_true", help="replace an existing --out file")

    augment = commands.add_parser(
        "augment", help="write a labelled synthetic dataset (one folder per class) from a conditional model"
    )
    augment.add_argument("model", help="a preset name or folder, a run directory, gan.keras or generator.keras")
    augment.add_argument("--per-class", type=_positive_int, required=True, help="images per class")
    augment.add_argument("--out", required=True, help="folder to create (must not exist or be empty)")
    augment.add_argument("--seed", type=int, default=0, help="latent seed; class k uses seed + k (default 0)")
    augment.add_argument("--force", action="store_true", help="replace a non-empty --out")

    evaluate = commands.add_parser(
        "evaluate", help="score a trained generator against a dataset by both shipped judges, "
                         "beside each one's real-data floor"
    )
    evaluate.add_argument("model", help="a preset name or folder, a run directory, gan.keras or generator.keras")
    evaluate.add_argument("--dataset", help="dataset to compare with (default: the run's config)")
    evaluate.add_argument("--n", type=_positive_int, default=10_000,
                          help="samples and real images to compare (default 10000, capped by the test split)")
    evaluate.add_argument("--metrics", nargs="+", metavar="METRIC",
                          help="fid kid is precision_recall density_coverage class_balance per_class "
                               "(default: all)")
    evaluate.add_argument("--seed", type=int, default=0, help="latent and subset seed (default 0)")
    evaluate.add_argument("--json", help="also write the report to this JSON file (must not exist)")
    evaluate.add_argument("--inception-weights", metavar="H5",
                          help="judge by Inception-V3 features from this notop weights file instead "
                               "(never downloaded)")
    evaluate.add_argument("--quiet", action="store_true", help="no progress bar")

    export = commands.add_parser(
        "export", help="export a generator to SavedModel and TFLite, checked against Keras"
    )
    export.add_argument("model", help="a preset name or folder, a run directory, gan.keras or generator.keras")
    export.add_argument("--out", required=True, help="folder to create (must not exist or be empty)")
    export.add_argument("--formats", default=",".join(FORMATS),
                        help=f"comma-separated, from {','.join(FORMATS)} (default: all)")
    export.add_argument("--uint8", action="store_true", help="output uint8 pixels [0, 255]")
    export.add_argument("--zoo-entry", action="store_true",
                        help="from a run directory: also write the preset, samples.png, "
                             "metrics.json and MODEL_CARD.md (what exported/<name>/ ships)")
    export.add_argument("--inputs", metavar="DATASET",
                        help="image-in models: paired (or, for CycleGAN, unpaired) dataset whose real inputs "
                             "check parity and calibrate int8 (default: the run's or preset's dataset)")
    export.add_argument("--direction", help="CycleGAN models: the generator to export, a_to_b (default) or b_to_a")
    export.add_argument("--truncation", type=_truncation, metavar="PSI",
                        help="StyleGAN2: bake this truncation psi into the exported files")
    export.add_argument("--force", action="store_true", help="replace a non-empty --out")
    export.add_argument("--quiet", action="store_true", help="no progress bar")

    # The backend flag also works after the command (`ganzoo train X --backend jax`).
    for sub in (train, sample, interpolate, translate, score, augment, evaluate, export):
        sub.add_argument("--backend", choices=BACKENDS, default=argparse.SUPPRESS, help=argparse.SUPPRESS)
        sub.add_argument("--debug", action="store_true", default=argparse.SUPPRESS, help=argparse.SUPPRESS)
    return parser


def main(argv=None):
    """Entry point of the `ganzoo` console script. Returns the exit status."""
    args = _parser().parse_args(argv)
    if args.backend:
        os.environ["KERAS_BACKEND"] = args.backend
    from ganzoo.backend import environment  # no Keras: checked before Keras loads

    try:
        environment.kernel_mode()
    except ValueError as error:
        print(f"ganzoo: error: {error}", file=sys.stderr)
        return EXIT_USAGE
    if args.command in LONG_RUNNING:
        from ganzoo.backend import memory  # before Keras starts its threads

        memory.keep_freed_memory()
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    logging.getLogger("tensorflow").setLevel(logging.WARNING)  # ganzoo's progress, not tf.distribute's INFO lines
    from ganzoo.training.checkpoint import TrainingDiverged

    try:
        return _run(args)
    except TrainingDiverged as e:
        if args.debug:
            raise
        print(f"ganzoo: error: {' '.join(str(e).split())}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("ganzoo: interrupted", file=sys.stderr)
        return 130
    except Exception as e:  # noqa: BLE001 - user-facing errors become one line
        if args.debug or not _is_user_error(e):
            raise
        message = " ".join(str(e).split()) or type(e).__name__
        print(f"ganzoo: error: {message}", file=sys.stderr)
        return EXIT_USAGE


def _is_user_error(error):
    from ganzoo.backend.distribution import DistributionError
    from ganzoo.config import ConfigError
    from ganzoo.data import DatasetError
    from ganzoo.export import ExportError
    from ganzoo.metrics.extractors import ExtractorError
    from ganzoo.models.loading import ModelFileError
    from ganzoo.presets import PresetError
    from ganzoo.synthetic import SyntheticDataError
    from ganzoo.training.run import RunDirectoryError
    from ganzoo.translate import ImageInputError

    return isinstance(error, (UsageError, ConfigError, DatasetError, RunDirectoryError, ModelFileError,
                              ExportError, ExtractorError, PresetError, SyntheticDataError, ImageInputError,
                              DistributionError))


def _run(args):
    if args.command == "list":
        return _list()
    if args.command == "train":
        from ganzoo import cli_commands

        return cli_commands.train(args)
    if args.command == "evaluate":
        from ganzoo import cli_commands

        return cli_commands.evaluate(args)
    if args.command == "export":
        from ganzoo.data import streams

        if not streams.tensorflow_available():
            raise UsageError(
                "ganzoo export needs TensorFlow, which is not installed (it writes SavedModel and TFLite "
                "files); install it with `pip install tensorflow-cpu` or `pip install ganzoo[tensorflow]`, "
                "or export on a machine that has it (training and sampling work without it).")
        from ganzoo import cli_commands

        return cli_commands.export(args)
    if args.command == "augment":
        return _augment(args)
    if args.command == "score":
        from ganzoo import cli_commands

        return cli_commands.score(args)
    if args.command == "interpolate":
        from ganzoo import cli_commands

        return cli_commands.interpolate(args)
    if args.command == "translate":
        from ganzoo.translate import translate_files

        written = translate_files(args.model, args.input, args.out, overwrite=args.force, direction=args.direction)
        print(f"ganzoo: wrote {len(written)} output image(s) to {args.out}")
        return 0
    return _sample(args)


def _list():
    from ganzoo import config, config_files, data, losses, models

    print("Zoo configs (ganzoo train NAME):")
    for name in config_files.zoo_config_names():
        entry = config.load(name)
        print(f"  {name:<24} {entry.model.family:<6} {entry.data.dataset:<14} {entry.description}")
    print(f"Model families: {', '.join(sorted(models.FAMILIES))}")
    print(f"Datasets: {', '.join(data.available())}, tfds:<name>, folder:PATH")
    print(f"Losses: {', '.join(losses.available())}")
    return 0


def _sample(args):
    if not args.out.lower().endswith(".png"):
        raise UsageError(f"--out must name a .png file, got {args.out!r}.")
    if os.path.isdir(args.out):
        raise UsageError(f"--out {args.out!r} is a directory; name a .png file.")
    from ganzoo import plots
    from ganzoo.models import sampling

    generator = _load_generator(args.model, args.truncation)
    labels = _class_numbers(args.model, args.labels)
    n = args.n or (len(labels) if labels and len(labels) > 1 else 64)
    if labels is not None and len(labels) == 1:
        labels = labels[0]  # one class for every sample
    try:
        samples = sampling.generate(generator, n, labels=labels, seed=args.seed)
    except ValueError as e:
        raise UsageError(f"--labels: {e}") from e
    if samples.ndim == 2 and samples.shape[-1] == 2:
        plots.scatter_plot(samples, args.out, title=f"{n} samples, seed {args.seed}")
    else:
        plots.save_image_grid(samples, args.out)
    print(f"ganzoo: wrote {n} samples to {args.out}")
    return 0


def _augment(args):
    from ganzoo import synthetic

    generator = _load_generator(args.model)
    manifest = synthetic.write_labelled_dataset(
        generator, args.out, per_class=args.per_class, seed=args.seed, source=args.model,
        overwrite=args.force,
    )
    print(f"ganzoo: wrote {args.per_class} images x {manifest['num_classes']} classes to {args.out} "
          f"(read it with keras.utils.image_dataset_from_directory)")
    return 0


def _class_numbers(model_path, labels):
    """`labels` with class names replaced by their numbers (names come from the run or preset)."""
    names = [label for label in labels or [] if isinstance(label, str)]
    if not names:
        return labels
    from ganzoo import presets
    from ganzoo.training import run

    if presets.find_preset(model_path) is not None:
        classes = presets.read_metadata(model_path).get("class_names")
    else:
        classes = run.read_class_names(model_path if os.path.isdir(model_path) else os.path.dirname(model_path))
    if not classes:
        raise UsageError(
            f"--labels {names[0]!r}: {model_path!r} has no class names (it was not trained on a folder "
            "of class sub-folders); give class numbers such as 0,1,2.")
    unknown = [name for name in names if name not in classes]
    if unknown:
        raise UsageError(f"--labels: unknown class {unknown[0]!r}; the classes are {', '.join(classes)}.")
    return [classes.index(label) if isinstance(label, str) else label for label in labels]


def _load_generator(model_path, truncation=None):
    """The sampling generator of a run directory, gan.keras or generator.keras (StyleGAN2: truncated by psi)."""
    from ganzoo.models import loading, style_sampling

    generator = loading.load_generator(model_path)
    if truncation is None:
        return generator
    if not style_sampling.is_style_generator(generator):
        raise UsageError(f"--truncation applies to StyleGAN2 models; {model_path!r} is not one: drop it.")
    return style_sampling.with_truncation(generator, truncation)


if __name__ == "__main__":
    sys.exit(main())
