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
import time

import keras
import yaml
from keras import ops

from ganzoo import callbacks, data, metrics, models
from ganzoo.training import step

logger = logging.getLogger(__name__)

RUN_FILES = ("gan.keras", "generator.keras", "history.json", "config.yaml")


class RunDirectoryError(ValueError):
    """The run directory cannot be used (it holds a run, or is a file)."""


def check_run_dir(path, *, force=False):
    """Raises `RunDirectoryError` if `path` is a file or already holds a run (unless `force`)."""
    if os.path.exists(path) and not os.path.isdir(path):
        raise RunDirectoryError(f"Output path {path!r} is a file; choose a directory with --out.")
    existing = [f for f in RUN_FILES if os.path.exists(os.path.join(path, f))]
    if existing and not force:
        raise RunDirectoryError(
            f"{path!r} already holds a run ({', '.join(existing)}); choose another --out "
            "or pass --force to overwrite it."
        )


def build_from_config(config):
    """Builds the compiled GAN of `config` for its dataset's sample shape."""
    info = data.info(config.data.dataset)
    model = config.model
    gan = models.build_gan(
        model.family,
        info.shape,
        latent_dim=model.latent_dim,
        generator=model.generator,
        discriminator=model.discriminator,
        d_steps_per_g_step=model.d_steps_per_g_step,
        d_pretrain_steps=model.d_pretrain_steps,
        gradient_penalty_weight=model.gradient_penalty_weight,
        r1_weight=model.r1_weight,
        ema_decay=model.ema_decay,
        augment=model.augment,
        pack=model.pack,
        num_generators=model.num_generators,
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
    """The `build_gan` arguments of a conditional config ({} for an unconditional one)."""
    if config.model.conditional is None:
        return {}
    return {
        "conditional": config.model.conditional,
        "num_classes": info.num_classes,
        "classification_weight": config.model.classification_weight,
    }


def write_run_facts(out, gan, seconds):
    """Writes ``run.json``: how long `fit` took, where, on which backend, for how many steps."""
    facts = {
        "fit_seconds": round(seconds, 1),
        "generator_steps": int(ops.convert_to_numpy(gan.g_optimizer.iterations)),
        "discriminator_steps": int(ops.convert_to_numpy(gan.d_optimizer.iterations)),
        "backend": keras.backend.backend(),
        "keras": keras.__version__,
        "machine": f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores",
        "accelerator": step.accelerator(),
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
    }
    with open(os.path.join(out, "run.json"), "w", encoding="utf-8") as f:
        json.dump(facts, f, indent=1)


def train(config, *, force=False, verbose="auto"):
    """Trains the GAN described by `config` and fills its run directory.

    Args:
        config: A validated `ganzoo.config.Config`.
        force: Overwrite a run directory that already holds a run.
        verbose: Keras progress-bar mode passed to `fit`.

    Returns:
        `(gan, history)`: the trained GAN and the `keras.callbacks.History`.
    """
    out = config.run_dir
    check_run_dir(out, force=force)
    keras.utils.set_random_seed(config.train.seed)
    info = data.info(config.data.dataset)
    dataset = data.load(
        config.data.dataset,
        batch_size=config.data.batch_size,
        seed=config.train.seed,
        limit=config.data.limit,
        with_labels=config.model.conditional is not None,
    )
    if config.train.steps_per_epoch:
        dataset = dataset.repeat()  # a fixed step count must never run out of batches
    gan = build_from_config(config)

    os.makedirs(out, exist_ok=True)
    centers = data.mode_centers(config.data.dataset) if info.kind == "points" else None
    start = time.perf_counter()
    history = gan.fit(
        dataset,
        epochs=config.train.epochs,
        steps_per_epoch=config.train.steps_per_epoch,
        shuffle=False,  # the tf.data pipeline shuffles; Keras would warn otherwise
        callbacks=[
            callbacks.SampleGrid(
                os.path.join(out, "samples"),
                every=config.output.sample_every,
                n=config.output.samples,
                centers=centers,
            ),
            callbacks.HistoryJSON(os.path.join(out, "history.json")),
            callbacks.LossCurve(os.path.join(out, "loss.png")),
        ],
        verbose=verbose,
    )
    seconds = time.perf_counter() - start
    write_run_facts(out, gan, seconds)
    gan.save(os.path.join(out, "gan.keras"))
    gan.sampling_generator.save(os.path.join(out, "generator.keras"))
    with open(os.path.join(out, "config.yaml"), "w", encoding="utf-8") as f:
        yaml.safe_dump(config.to_dict(), f, sort_keys=False)
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
