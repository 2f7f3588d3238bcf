"""Training configurations: YAML files -> validated dataclasses.

A config has five sections::

    name: dcgan_digits
    description: DCGAN on the 8x8 scikit-learn digits
    model: {family: dcgan, latent_dim: 64, loss: non_saturating, ema_decay: 0.999,
            generator: {base_filters: 32}, discriminator: {base_filters: 32}}
    data: {dataset: digits, batch_size: 64}
    train: {epochs: 200, d_learning_rate: 2.0e-4, g_learning_rate: 2.0e-4, seed: 0}
    output: {dir: runs/dcgan_digits, sample_every: 10}

Every problem (unreadable file, malformed YAML, unknown or misspelled key, wrong
type, out-of-range value, unknown model family, loss or dataset) raises
`ConfigError` with a one-line message that names the key and the fix.

The zoo configs (``ganzoo train NAME``) are found by `ganzoo.config_files`.
"""

import dataclasses
import difflib
import os
import typing
from typing import Annotated, Optional

import yaml

from ganzoo import arguments, config_files
from ganzoo.arguments import LatentSize, Length, OneOf, PackSize, Pattern

class ConfigError(ValueError):
    """A configuration problem, described in one line."""


# `name` names the run folder (runs/<name>) and the Keras model.
_NAME_RULE = "a path-safe name: up to 128 letters, digits, '_', '-' or '.', the first a letter or digit"


def _field(default=dataclasses.MISSING, *, minimum=None, maximum=None, help="", **exclusive):
    """A config field; `minimum`, `maximum`, `exclusive_minimum` and `exclusive_maximum` bound it.

    The bounds become an `arguments.Range` checked on load, as do the
    `typing.Annotated` markers of the field's type.
    """
    bounds = {"minimum": minimum, "maximum": maximum, **exclusive}
    given = any(bound is not None for bound in bounds.values())
    metadata = {"range": arguments.Range(**bounds) if given else None, "help": help}
    if isinstance(default, dict):
        return dataclasses.field(default_factory=lambda: dict(default), metadata=metadata)
    return dataclasses.field(default=default, metadata=metadata)


@dataclasses.dataclass
class ModelConfig:
    """The GAN: network family, latent size, loss and schedule."""

    family: str = _field(help="network family: dcgan, mlp, stylegan2, pix2pix or srgan (on a paired dataset), cyclegan "
                              "(on two image sets), ganomaly (an anomaly scorer, on one class of images)")
    latent_dim: LatentSize = _field(100)
    loss: str = _field("non_saturating")
    d_steps_per_g_step: int = _field(1, minimum=1, maximum=1000)
    d_pretrain_steps: int = _field(0, minimum=0, maximum=1_000_000)
    gradient_penalty_weight: float = _field(
        0.0, minimum=0.0, maximum=10_000.0, help="WGAN-GP weight (10 in the paper)")
    r1_weight: Optional[float] = _field(
        None, minimum=0.0, maximum=10_000.0, help="R1 gamma (default: the family's, 0; stylegan2 0.01)")
    ema_decay: Optional[float] = _field(
        None, exclusive_minimum=0.0, exclusive_maximum=1.0, help="EMA of generator weights, e.g. 0.999")
    augment: Optional[Annotated[list[str], Length(maximum=16)]] = _field(
        None, help="DiffAugment transforms, e.g. [translation]")
    pack: PackSize = _field(1, help="PacGAN: samples per discriminator input")
    num_generators: int = _field(1, minimum=1, maximum=64, help="MAD-GAN: a mixture of K generators")
    conditional: Optional[str] = _field(None, help="class-conditional GAN head: projection or acgan")
    classification_weight: float = _field(1.0, minimum=0.0, maximum=10_000.0, help="ACGAN class-loss weight")
    reconstruction_weight: Optional[float] = _field(
        None, minimum=0.0, maximum=1_000_000.0,
        help="image-to-image and ganomaly: weight of the pixel loss (default: the family's, pix2pix 100, srgan 1, "
             "ganomaly 50)")
    adversarial_weight: Optional[float] = _field(
        None, minimum=0.0, maximum=1_000.0,
        help="image-to-image and ganomaly: weight of the adversarial term (default pix2pix 1, srgan 1e-3, "
             "ganomaly 1; 0: SRResNet)")
    perceptual: Optional[Annotated[str, Pattern(r"fashion_mnist|vgg19:[^\x00]+", "fashion_mnist or vgg19:PATH")]] = _field(
        None, help="image-to-image: feature network of a perceptual content loss (fashion_mnist or vgg19:PATH)")
    perceptual_weight: Optional[float] = _field(
        None, minimum=0.0, maximum=1_000_000.0, help="image-to-image: weight of the perceptual content loss")
    encoder_weight: Optional[float] = _field(
        None, minimum=0.0, maximum=1_000_000.0, help="ganomaly: weight of the latent-consistency term (default 1)")
    cycle_weight: Optional[float] = _field(
        None, minimum=0.0, maximum=1_000_000.0, help="cyclegan: weight of the cycle-consistency terms (default 10)")
    identity_weight: Optional[float] = _field(
        None, minimum=0.0, maximum=1_000.0, help="cyclegan: identity terms' weight, relative to cycle_weight (0.5)")
    pool_size: Optional[int] = _field(
        None, minimum=0, maximum=10_000, help="cyclegan: translations kept in each history pool (50; 0: none)")
    r1_interval: Optional[int] = _field(None, minimum=1, maximum=10_000, help="stylegan2: steps between lazy R1 updates (16)")
    pl_weight: Optional[float] = _field(None, minimum=0.0, maximum=1_000.0, help="stylegan2: path-length weight (0: off)")
    pl_interval: Optional[int] = _field(None, minimum=1, maximum=10_000, help="stylegan2: steps between path-length updates (4)")
    style_mixing: Optional[float] = _field(None, minimum=0.0, maximum=1.0, help="stylegan2: style-mixing probability (0)")
    generator: dict = _field({}, help="keyword arguments of the family's build_generator")
    discriminator: dict = _field({}, help="keyword arguments of build_discriminator")


@dataclasses.dataclass
class DataConfig:
    """The training data."""

    dataset: str = _field(help="a name from ganzoo.data.available(), tfds:<name>, folder:PATH or pairs:PATH")
    batch_size: int = _field(64, minimum=1, maximum=65536)
    limit: Optional[int] = _field(None, minimum=1, maximum=10**9, help="use only the first N examples")
    image_size: Optional[list] = _field(None, help="folder:/pairs: datasets: [height, width] (default [32, 32])")
    channels: Optional[int] = _field(None, minimum=1, help="folder:/pairs: datasets: 1 (grayscale) or 3 (RGB, default)")
    resize: Optional[str] = _field(None, help="folder:/pairs: datasets: crop (default: centre-crop, then resize) or stretch")
    direction: Optional[str] = _field(None, help="pairs: datasets: a_to_b (default: A is the input) or b_to_a")
    scale: Optional[int] = _field(None, minimum=2, maximum=16,
                                  help="folder: datasets: super-resolution pairs, random image_size crops and "
                                       "their downsampling by this factor")

    def options(self):
        """The dataset options given (``image_size``, ``channels``, ``resize``, ``direction``), for `ganzoo.data`."""
        given = {"image_size": self.image_size, "channels": self.channels, "resize": self.resize,
                 "direction": self.direction, "scale": self.scale}
        return {key: value for key, value in given.items() if value is not None}


@dataclasses.dataclass
class TrainConfig:
    """Optimisation: epochs, the two Adam optimizers, the seed."""

    epochs: int = _field(10, minimum=1, maximum=1_000_000)
    steps_per_epoch: Optional[int] = _field(None, minimum=1, maximum=10_000_000)
    d_learning_rate: float = _field(2e-4, minimum=0.0, maximum=1.0)
    g_learning_rate: float = _field(2e-4, minimum=0.0, maximum=1.0)
    decay_epochs: int = _field(
        0, minimum=0, maximum=1_000_000,
        help="decay both learning rates linearly towards zero over the last N epochs (pix2pix schedule)")
    beta_1: float = _field(0.5, minimum=0.0, exclusive_maximum=1.0)
    beta_2: float = _field(0.999, minimum=0.0, exclusive_maximum=1.0)
    # Every backend's seeds are 32-bit (torch: signed); augmentation adds its transform index.
    seed: int = _field(0, minimum=0, maximum=10**9)
    checkpoint_every: Optional[int] = _field(
        None, minimum=1, maximum=10_000_000,
        help="also checkpoint every N steps inside an epoch (default: epoch ends only)")
    checkpoint_every_epochs: int = _field(
        1, minimum=1, maximum=1_000_000, help="checkpoint at every N-th epoch end (and always at the last)")
    from_preset: Optional[Annotated[str, Pattern(r"[^\x00]+", "a preset name or folder")]] = _field(
        None, help="fine-tune: start from this preset's networks (name or folder; same model section)")
    distribution: Annotated[str, OneOf("none", "data_parallel")] = _field(
        "none", help="data_parallel: one model on several devices, each step's batch split across them "
        "(JAX keras.distribution, TensorFlow MirroredStrategy; docs/distribution.md)")
    devices: Optional[int] = _field(
        None, minimum=1, maximum=65_536, help="data_parallel: how many devices (default null: all of them)")


@dataclasses.dataclass
class OutputConfig:
    """Where and how often results are written."""

    dir: Optional[Annotated[str, Pattern(r"[^\x00]*", "a path without NUL characters")]] = _field(
        None, help="run directory; default runs/<name>")
    sample_every: int = _field(1, minimum=1, maximum=1_000_000, help="epochs between sample grids")
    samples: int = _field(64, minimum=1, maximum=10_000, help="samples per grid")
    tensorboard: bool = _field(
        False, help="write TensorBoard event files to <run>/tb: scalars per step and epoch, sample grids")
    metrics: Optional[Annotated[list[str], Length(1, 8)]] = _field(
        None, help="score samples while training, e.g. [fid], per judge into history.json and TensorBoard")
    metrics_every: int = _field(1, minimum=1, maximum=1_000_000, help="epochs between metric scores")
    metrics_n: int = _field(1000, minimum=10, maximum=50_000, help="samples (and real images) per score")


@dataclasses.dataclass
class Config:
    """A whole training configuration (one zoo entry)."""

    name: Annotated[str, Pattern(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,127}", _NAME_RULE)] = _field()
    model: ModelConfig = _field()
    data: DataConfig = _field()
    description: str = _field("")
    train: TrainConfig = dataclasses.field(default_factory=TrainConfig)
    output: OutputConfig = dataclasses.field(default_factory=OutputConfig)

    @property
    def run_dir(self):
        """The run directory: `output.dir`, else `runs/<name>`."""
        return self.output.dir or os.path.join("runs", self.name)

    def to_dict(self):
        """Returns the config as plain data (what `from_dict` reads)."""
        return dataclasses.asdict(self)


def resolve_path(name_or_path):
    """Returns the file of a config given as a path or a zoo config name.

    Raises:
        ConfigError: if neither a file nor a zoo config of that name exists.
    """
    if os.path.isfile(name_or_path):
        return name_or_path
    folder = config_files.zoo_config_dir()
    if folder is None:
        where = ", ".join(repr(f) for f in config_files.zoo_config_dirs())
        raise ConfigError(
            f"Config file {name_or_path!r} not found, and no zoo configs were found (looked in {where}); "
            "give a YAML file's path or reinstall ganzoo."
        )
    candidate = os.path.join(folder, f"{name_or_path}.yaml")
    if os.sep not in name_or_path and os.path.isfile(candidate):
        return candidate
    names = config_files.zoo_config_names()
    close = difflib.get_close_matches(os.path.splitext(os.path.basename(name_or_path))[0], names, n=1)
    hint = f" Did you mean {close[0]!r}?" if close else f" Zoo configs: {', '.join(names)}."
    raise ConfigError(f"Config file {name_or_path!r} not found.{hint}")


def load(name_or_path):
    """Reads and validates a YAML config (a path or a zoo config name).

    Returns:
        A validated `Config`.

    Raises:
        ConfigError: on any problem, with a one-line message.
    """
    path = resolve_path(name_or_path)
    try:
        with open(path, encoding="utf-8") as f:
            raw = yaml.safe_load(f)
    except OSError as e:
        raise ConfigError(f"Cannot read config {path!r}: {e.strerror}.") from None
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(e, "problem", None) or "invalid YAML"
        raise ConfigError(f"{path}: malformed YAML{where}: {problem}.") from None
    try:
        return from_dict(raw)
    except ConfigError as e:
        raise ConfigError(f"{path}: {e}") from None


def from_dict(raw):
    """Builds a validated `Config` from plain data (e.g. parsed YAML)."""
    try:
        config = _build(Config, raw, "")
        from ganzoo import config_checks  # pylint: disable=import-outside-toplevel

        config_checks.check_names(config)
    except arguments.ArgumentError as e:
        raise ConfigError(str(e)) from None
    return config


def _build(cls, raw, prefix):
    section = f"Key {prefix.rstrip('.')!r}" if prefix else "the config"
    if not isinstance(raw, dict):
        raise ConfigError(f"{section} must be a mapping of keys to values, got {arguments.describe(raw)}.")
    fields = {f.name: f for f in dataclasses.fields(cls)}
    hints = typing.get_type_hints(cls, include_extras=True)
    for key in raw:
        if key not in fields:
            close = difflib.get_close_matches(str(key), fields, n=1)
            hint = f" Did you mean '{prefix}{close[0]}'?" if close else (
                f" Valid keys: {', '.join(fields)}."
            )
            raise ConfigError(f"Unknown key {prefix + str(key)!r}.{hint}")
    values = {}
    for name, field in fields.items():
        key = prefix + name
        if name not in raw:
            if field.default is dataclasses.MISSING and field.default_factory is dataclasses.MISSING:
                raise ConfigError(f"Missing required key {key!r}.")
            continue
        hint = hints[name]
        if dataclasses.is_dataclass(hint):
            values[name] = _build(hint, raw[name], key + ".")
        else:
            bounds = field.metadata.get("range")
            values[name] = arguments.check_value(key, raw[name], hint, (bounds,) if bounds else ())
    return cls(**values)
