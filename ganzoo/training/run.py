"""Training from a `Config`: data, model, callbacks and the run directory.

A run directory holds `gan.keras` (the whole GAN with both optimizers),
`generator.keras`, `config.yaml`, `history.json`, `loss.png` and `samples/`;
runs on the 2-D mixtures also hold `metrics.json` with the mode coverage of
2 500 samples.
"""

import datetime
import json
import logging
import math
import os
import platform
import shutil

import keras
import yaml
from keras import ops

from ganzoo import callbacks, data, metrics, models, plots
from ganzoo.models import learning_rates
from ganzoo.backend import distribution, gradients
from ganzoo.training import checkpoint, fine_tune

logger = logging.getLogger(__name__)

CLASSES_FILE = "classes.json"
RUN_FILES = ("gan.keras", "generator.keras", "history.json", "config.yaml", checkpoint.FOLDER)


# What a resumed run may change: train longer, checkpoint more often, lower a learning rate, move to
# more or fewer devices (the global batch, hence the update, stays the same).
RESUME_MAY_CHANGE = ("epochs", "decay_epochs", "checkpoint_every", "checkpoint_every_epochs", "d_learning_rate",
                     "g_learning_rate", "from_preset", "distribution", "devices")


class RunDirectoryError(ValueError):
    """The run directory cannot be used (it holds a run, or is a file)."""


def check_run_dir(path, *, force=False):
    """Raises `RunDirectoryError` if `path` is a file or already holds a run (unless `force`)."""
    if os.path.exists(path) and not os.path.isdir(path):
        raise RunDirectoryError(f"Output path {path!r} is a file; choose a directory with --out.")
    existing = [f for f in RUN_FILES if os.path.exists(os.path.join(path, f))]
    if existing and not force:
        raise RunDirectoryError(
            f"{path!r} already holds a run ({', '.join(existing)}); choose another --out, "
            "pass --resume to continue it, or --force to overwrite it."
        )


def build_from_config(config, sample_shape=None):
    """Builds the compiled GAN of `config` for its dataset's sample shape (or `sample_shape`)."""
    info = data.info(config.data.dataset, **config.data.options())
    model = config.model
    gan = models.build_gan(
        model.family,
        tuple(sample_shape or info.shape),
        latent_dim=model.latent_dim,
        generator=model.generator,
        discriminator=model.discriminator,
        d_steps_per_g_step=model.d_steps_per_g_step,
        d_pretrain_steps=model.d_pretrain_steps,
        gradient_penalty_weight=model.gradient_penalty_weight,
        ema_decay=model.ema_decay,
        augment=model.augment,
        pack=model.pack,
        num_generators=model.num_generators,
        **({} if model.r1_weight is None else {"r1_weight": model.r1_weight}),  # left out: the family's default
        **conditional_kwargs(config, info),
        seed=config.train.seed,
        name=config.name,
    )
    train = config.train
    gan.compile(
        d_optimizer=keras.optimizers.Adam(
            train.d_learning_rate, beta_1=train.beta_1, beta_2=train.beta_2
        ),
        g_optimizer=keras.optimizers.Adam(
            train.g_learning_rate, beta_1=train.beta_1, beta_2=train.beta_2
        ),
        loss=model.loss,
    )
    return gan


def conditional_kwargs(config, info):
    """The `build_gan` arguments of a conditional, image-to-image or unpaired config ({} for the others)."""
    if config.model.family in models.UNPAIRED:  # weights left out take the family's defaults
        given = {key: getattr(config.model, key) for key in ("cycle_weight", "identity_weight", "pool_size")}
        return {"input_shape": info.input_shape, **{k: v for k, v in given.items() if v is not None}}
    if config.model.family in models.IMAGE_TO_IMAGE:  # weights left out take the family's defaults
        weights = {key: getattr(config.model, key)
                   for key in ("reconstruction_weight", "adversarial_weight", "perceptual", "perceptual_weight")}
        return {"input_shape": info.input_shape, **{k: v for k, v in weights.items() if v is not None}}
    if config.model.family in models.ANOMALY:  # weights left out take the family's defaults (1, 50, 1)
        given = {key: getattr(config.model, key) for key in ("reconstruction_weight", "adversarial_weight",
                                                               "encoder_weight")}
        return {k: v for k, v in given.items() if v is not None}
    if config.model.family == "stylegan2":  # the lazy regularisers and mixing left out take the family's defaults
        given = {key: getattr(config.model, key) for key in ("r1_interval", "pl_weight", "pl_interval", "style_mixing")}
        return {k: v for k, v in given.items() if v is not None}
    if config.model.conditional is None:
        return {}
    return {
        "conditional": config.model.conditional,
        "num_classes": info.num_classes,
        "classification_weight": config.model.classification_weight,
    }


def write_run_facts(out, gan, seconds, devices=1):
    """Writes ``run.json``: how long `fit` took, where, on which backend and devices, for how many steps."""
    facts = {
        "fit_seconds": round(seconds, 1),
        "generator_steps": int(ops.convert_to_numpy(gan.g_optimizer.iterations)),
        "discriminator_steps": int(ops.convert_to_numpy(gan.d_optimizer.iterations)),
        "backend": keras.backend.backend(),
        "keras": keras.__version__,
        "machine": f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores",
        "accelerator": gradients.accelerator(),
        "devices": devices,
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
    }
    with open(os.path.join(out, "run.json"), "w", encoding="utf-8") as f:
        json.dump(facts, f, indent=1)


def check_resumable(config, run_dir):
    """The newest checkpoint of `run_dir` as ``(state, keras_path)``, checked against `config`.

    Raises:
        RunDirectoryError: If there is no complete checkpoint, or the run was
            started from a config that differs in more than its epoch count.
    """
    found = checkpoint.latest(run_dir)
    if found is None:
        raise RunDirectoryError(
            f"{run_dir!r} holds no complete checkpoint to resume; train without --resume "
            "(add --force to start over in that folder)."
        )
    saved_path = os.path.join(run_dir, "config.yaml")
    if os.path.isfile(saved_path):
        with open(saved_path, encoding="utf-8") as f:
            saved = yaml.safe_load(f) or {}
        mine = config.to_dict()
        for part in (saved, mine):
            for key in RESUME_MAY_CHANGE:
                part.get("train", {}).pop(key, None)
        differ = sorted(
            f"{section}.{key}" for section in set(saved) | set(mine)
            if isinstance(saved.get(section), dict) and isinstance(mine.get(section), dict)
            for key in set(saved[section]) | set(mine[section])
            if saved[section].get(key) != mine[section].get(key) and section != "output"
        )
        if differ:
            raise RunDirectoryError(
                f"{run_dir!r} was trained with a different config ({', '.join(differ[:4])} "
                f"differ); resume with the same config (only train.{', train.'.join(RESUME_MAY_CHANGE)} "
                "may change) or choose a new --out."
            )
    finished = all(os.path.isfile(os.path.join(run_dir, name)) for name in ("gan.keras", "run.json"))
    if found[0]["epoch"] >= config.train.epochs and finished:  # else: killed after its last checkpoint
        raise RunDirectoryError(
            f"{run_dir!r} already has {found[0]['epoch']} epochs, as many as the config's "
            f"{config.train.epochs}; pass a larger --epochs to train further."
        )
    return found


def train(config, *, force=False, resume=False, verbose="auto"):
    """Trains the GAN described by `config` and fills its run directory.

    Every ``train.checkpoint_every_epochs``-th epoch end (default every one, always the
    last) and every ``train.checkpoint_every`` steps write an atomic checkpoint to ``checkpoints/``; a non-finite loss or weight stops
    training and raises `checkpoint.TrainingDiverged`, keeping the last good
    checkpoint and writing its generator to ``generator.keras``.

    Args:
        config: A validated `ganzoo.config.Config`.
        force: Overwrite a run directory that already holds a run.
        resume: Continue the run in ``config.run_dir`` from its newest
            checkpoint up to ``config.train.epochs`` epochs.
        verbose: Keras progress-bar mode passed to `fit`.

    Returns:
        `(gan, history)`: the trained GAN and its per-epoch history columns.

    Raises:
        DistributionError: if ``train.distribution`` cannot run here (torch,
            too few devices); ConfigError if the batch does not split evenly
            over the devices (on TensorFlow: into whole packs and minibatch-std
            groups on every replica), or devices are given without a distribution.
    """
    from ganzoo import config_checks  # pylint: disable=import-outside-toplevel
    from ganzoo.config import ConfigError  # pylint: disable=import-outside-toplevel

    if config.train.devices and config.train.distribution == "none":
        raise ConfigError(
            f"train.devices ({config.train.devices}) applies to data-parallel training only; set "
            "train.distribution: data_parallel (--distribution data_parallel), or drop it (--devices all).")
    with distribution.scope(config.train.distribution, config.train.devices or "all") as devices:
        if config.data.batch_size % devices:
            raise ConfigError(
                f"data.batch_size {config.data.batch_size} does not split evenly over {devices} devices; "
                f"make it a multiple of {devices} (each device takes an equal part of every batch).")
        if distribution.splits_the_step(devices):
            config_checks.check_replica_batch(config, devices)
        return _train(config, force=force, resume=resume, verbose=verbose, devices=devices)


def _train(config, *, force, resume, verbose, devices):
    out = config.run_dir
    found = check_resumable(config, out) if resume else None
    if not resume:
        check_run_dir(out, force=force)
    info = data.info(config.data.dataset, **config.data.options())
    train_config = config.train

    def stream(start_batch):
        return data.epoch_stream(
            config.data.dataset, batch_size=config.data.batch_size, seed=train_config.seed,
            limit=config.data.limit, with_labels=config.model.conditional is not None,
            start_batch=start_batch, **config.data.options(),
        )

    _, per_epoch = stream(0)  # loads the data first: a missing dataset fails before any write
    if found is None:
        keras.utils.set_random_seed(train_config.seed)
        gan = build_from_config(config)
        if train_config.from_preset:
            fine_tune.start_from_preset(gan, train_config.from_preset)
        state = {"epoch": 0, "step": 0, "history": {}, "partial_logs": {}, "fit_seconds": 0.0}
        if force:
            shutil.rmtree(os.path.join(out, checkpoint.FOLDER), ignore_errors=True)
    else:
        state, path = found
        gan = keras.saving.load_model(path, safe_mode=True)
        if state["epoch"] < train_config.epochs:  # (a finished run keeps its last rates)
            gan.d_optimizer.learning_rate = train_config.d_learning_rate
            gan.g_optimizer.learning_rate = train_config.g_learning_rate
        logger.info("Resuming %s from %s (epoch %d, step %d)", out, path, state["epoch"], state["step"])
    checkpoint.clean_partial(out)
    os.makedirs(out, exist_ok=True)
    _write_config(config, out)
    if info.class_names and config.model.conditional is not None:
        write_class_names(out, info.class_names)
    if found is not None:  # history.json may hold epochs newer than the checkpoint
        callbacks.write_history(state["history"], os.path.join(out, "history.json"))

    steps = train_config.steps_per_epoch or per_epoch
    epoch, step = state["epoch"], state["step"]
    saver = checkpoint.Checkpointer(
        out, steps_per_epoch=steps, history=state["history"], every_steps=train_config.checkpoint_every,
        every_epochs=train_config.checkpoint_every_epochs, last_epoch=train_config.epochs,
        first_epoch=epoch, first_step=step, partial_logs=state["partial_logs"], seconds=state["fit_seconds"],
    )
    centers = data.mode_centers(config.data.dataset) if info.kind == "points" else None
    # Image-to-image runs show the same held-out inputs, their outputs and targets each time.
    held_out = "test" if "test" in (info.num_examples or {}) else "train"  # a pairs: folder may have no test/
    shown = None  # unpaired runs show A and B images, their translations and reconstructions
    if info.kind in ("pairs", "unpaired"):
        shown = data.load_arrays(config.data.dataset, held_out, **config.data.options(),
                                 limit=max(1, config.output.samples // (2 if info.kind == "unpaired" else 1)))
    elif config.model.family in models.ANOMALY:  # held-out normal images, reconstructions, error maps
        images, _ = data.load_arrays(config.data.dataset, held_out, **config.data.options(),
                                     limit=config.output.samples)
        shown = (images, images)
    fit_callbacks = [
        checkpoint.MergePartialEpoch(saver),
        callbacks.SampleGrid(os.path.join(out, "samples"), every=config.output.sample_every,
                             n=config.output.samples, centers=centers, pairs=shown),
    ]
    if config.output.metrics:  # before TensorBoard and the checkpointer, which record its scores
        fit_callbacks.append(callbacks.MetricCallback(
            config.data.dataset, config.output.metrics, every=config.output.metrics_every,
            n=config.output.metrics_n, seed=config.train.seed))
    if config.output.tensorboard:
        from ganzoo import tensorboard  # pylint: disable=import-outside-toplevel

        fit_callbacks += tensorboard.callbacks(os.path.join(out, "tb"), every=config.output.sample_every,
                                               n=config.output.samples, centers=centers, pairs=shown)
    if train_config.decay_epochs:  # schedules G's rate; GAN.fit's KeepRateRatio keeps D's in ratio
        fit_callbacks.append(keras.callbacks.LearningRateScheduler(learning_rates.linear_decay(
            train_config.g_learning_rate, train_config.epochs, train_config.decay_epochs)))
    fit_callbacks.append(saver)
    # A part-done epoch first finishes its remaining steps, then whole epochs follow.
    legs = [(epoch, epoch + 1, steps - step)] if step else []
    legs.append((epoch + bool(step), train_config.epochs, steps))
    for first, last, leg_steps in legs:
        if first >= last or saver.diverged:
            continue
        dataset, _ = stream(first * steps + (step if first == epoch else 0))
        gan.fit(dataset, initial_epoch=first, epochs=last, steps_per_epoch=leg_steps,
                shuffle=False, callbacks=fit_callbacks, verbose=verbose)
        saver.first_step = 0  # later epochs start at their first step
    if epoch >= train_config.epochs:  # a run killed after its last checkpoint: only its final files are due
        gan.recompute_ema_statistics()
    history = saver.history
    if history:
        plots.plot_history(history, os.path.join(out, "loss.png"))
    if saver.diverged:
        kept = _keep_last_good(out)
        raise checkpoint.TrainingDiverged(
            f"training diverged: {saver.diverged}; "
            + (f"the last good checkpoint is {kept} and its generator {os.path.join(out, 'generator.keras')}; "
               "lower the learning rates and continue with --resume, or add a regulariser (r1_weight)."
               if kept else "no checkpoint was written before it; lower the learning rates or add a "
               "regulariser (r1_weight, gradient_penalty_weight).")
        )
    write_run_facts(out, gan, saver.fit_seconds(), devices)
    gan.save(os.path.join(out, "gan.keras"))
    gan.sampling_generator.save(os.path.join(out, "generator.keras"))
    if info.kind == "points":
        coverage = metrics.evaluate_mode_coverage(
            gan, config.data.dataset, n=2500, seed=config.train.seed
        )
        scores = coverage.as_dict()
        if not math.isfinite(scores["reverse_kl"]):
            scores["reverse_kl"] = None  # no high-quality sample: JSON has no infinity
        with open(os.path.join(out, "metrics.json"), "w", encoding="utf-8") as f:
            json.dump({"mode_coverage": scores}, f, indent=1)
        logger.info(
            "Mode coverage of 2500 samples: %d/%d modes, %.1f %% high quality, reverse KL %.4f",
            coverage.modes_covered, coverage.num_modes, 100 * coverage.high_quality,
            coverage.reverse_kl,
        )
    logger.info("Run written to %s", out)
    return gan, history


def write_class_names(out, class_names):
    """Writes ``classes.json``: the class names of a labelled folder, in label order."""
    with open(os.path.join(out, CLASSES_FILE), "w", encoding="utf-8") as f:
        json.dump(list(class_names), f, indent=1)


def read_class_names(run_dir):
    """The class names a run in `run_dir` was trained with, or None."""
    path = os.path.join(run_dir, CLASSES_FILE)
    if not os.path.isfile(path):
        return None
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def _write_config(config, out):
    path = os.path.join(out, "config.yaml")
    with open(path + ".tmp", "w", encoding="utf-8") as f:
        yaml.safe_dump(config.to_dict(), f, sort_keys=False)
    os.replace(path + ".tmp", path)


def _keep_last_good(out):
    """Writes the generator of the newest good checkpoint to ``generator.keras`` (if any)."""
    found = checkpoint.latest(out)
    if found is None:
        return None
    gan = keras.saving.load_model(found[1], safe_mode=True)
    gan.sampling_generator.save(os.path.join(out, "generator.keras"))
    return found[1]
