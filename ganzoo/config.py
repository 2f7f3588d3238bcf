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

The zoo configs (``ganzoo train NAME``) are the YAML files of the checkout's
``zoo_configs/``; a wheel installs the same files as data into
``<prefix>/share/ganzoo/zoo_configs``. `zoo_config_dir` finds them, in the
order of `zoo_config_dirs`: the checkout's folder beside the ``ganzoo``
package (a source checkout or an editable install), then that share folder
under the installation prefixes (the environment's, the user scheme's for
``pip install --user``, and those above the installed package for
``pip install --prefix``).
"""

import dataclasses
import difflib
import inspect
import os
import sys
import sysconfig
import typing
from typing import Optional

import yaml

_CHECKOUT_ZOO_CONFIGS = os.path.join(
    os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "zoo_configs")
_SHARED_ZOO_CONFIGS = os.path.join("share", "ganzoo", "zoo_configs")  # setup.cfg [options.data_files]


def zoo_config_dirs():
    """The folders searched for zoo configs, in order.

    Returns:
        Folder paths (they need not exist): the checkout's ``zoo_configs/``,
        then ``share/ganzoo/zoo_configs`` under each installation prefix.
    """
    prefixes = [sysconfig.get_path("data"), sys.prefix]
    try:
        prefixes.append(sysconfig.get_path("data", sysconfig.get_preferred_scheme("user")))
    except (KeyError, ValueError):  # no user scheme on this platform
        pass
    # pip install --prefix P: the package is in P/lib/pythonX.Y/site-packages (P/Lib/... on Windows).
    site = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    if os.path.basename(site) in ("site-packages", "dist-packages"):
        prefixes += [os.path.normpath(os.path.join(site, *[os.pardir] * up)) for up in (3, 2)]
    folders = [_CHECKOUT_ZOO_CONFIGS]
    for prefix in prefixes:
        folder = os.path.join(prefix, _SHARED_ZOO_CONFIGS)
        if prefix and folder not in folders:
            folders.append(folder)
    return folders


def zoo_config_dir():
    """The folder of the zoo configs.

    Returns:
        The first of `zoo_config_dirs` that exists, or None when none does.
    """
    return next((folder for folder in zoo_config_dirs() if os.path.isdir(folder)), None)


class ConfigError(ValueError):
    """A configuration problem, described in one line."""


def _field(default=dataclasses.MISSING, *, minimum=None, help=""):
    metadata = {"minimum": minimum, "help": help}
    if isinstance(default, dict):
        return dataclasses.field(default_factory=lambda: dict(default), metadata=metadata)
    return dataclasses.field(default=default, metadata=metadata)


@dataclasses.dataclass
class ModelConfig:
    """The GAN: network family, latent size, loss and schedule."""

    family: str = _field(help="network family: dcgan or mlp")
    latent_dim: int = _field(100, minimum=1)
    loss: str = _field("non_saturating")
    d_steps_per_g_step: int = _field(1, minimum=1)
    d_pretrain_steps: int = _field(0, minimum=0)
    gradient_penalty_weight: float = _field(0.0, minimum=0.0, help="WGAN-GP weight (10 in the paper)")
    r1_weight: float = _field(0.0, minimum=0.0, help="R1 gamma")
    ema_decay: Optional[float] = _field(None, minimum=0.0, help="EMA of generator weights, e.g. 0.999")
    augment: Optional[list] = _field(None, help="DiffAugment transforms, e.g. [translation]")
    pack: int = _field(1, minimum=1, help="PacGAN: samples per discriminator input")
    num_generators: int = _field(1, minimum=1, help="MAD-GAN: a mixture of K generators")
    conditional: Optional[str] = _field(None, help="class-conditional GAN head: projection or acgan")
    classification_weight: float = _field(1.0, minimum=0.0, help="ACGAN class-loss weight")
    generator: dict = _field({}, help="keyword arguments of the family's build_generator")
    discriminator: dict = _field({}, help="keyword arguments of build_discriminator")


@dataclasses.dataclass
class DataConfig:
    """The training data."""

    dataset: str = _field(help="a name from ganzoo.data.available() or tfds:<name>")
    batch_size: int = _field(64, minimum=1)
    limit: Optional[int] = _field(None, minimum=1, help="use only the first N examples")


@dataclasses.dataclass
class TrainConfig:
    """Optimisation: epochs, the two Adam optimizers, the seed."""

    epochs: int = _field(10, minimum=1)
    steps_per_epoch: Optional[int] = _field(None, minimum=1)
    d_learning_rate: float = _field(2e-4, minimum=0.0)
    g_learning_rate: float = _field(2e-4, minimum=0.0)
    beta_1: float = _field(0.5, minimum=0.0)
    beta_2: float = _field(0.999, minimum=0.0)
    seed: int = _field(0, minimum=0)
    checkpoint_every: Optional[int] = _field(
        None, minimum=1, help="also checkpoint every N steps inside an epoch (default: epoch ends only)")
    checkpoint_every_epochs: int = _field(
        1, minimum=1, help="checkpoint at every N-th epoch end (and always at the last)")


@dataclasses.dataclass
class OutputConfig:
    """Where and how often results are written."""

    dir: Optional[str] = _field(None, help="run directory; default runs/<name>")
    sample_every: int = _field(1, minimum=1, help="epochs between sample grids")
    samples: int = _field(64, minimum=1, help="samples per grid")
    tensorboard: bool = _field(
        False, help="write TensorBoard event files to <run>/tb: scalars per step and epoch, sample grids")


@dataclasses.dataclass
class Config:
    """A whole training configuration (one zoo entry)."""

    name: str = _field()
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
    folder = zoo_config_dir()
    if folder is None:
        where = ", ".join(repr(f) for f in zoo_config_dirs())
        raise ConfigError(
            f"Config file {name_or_path!r} not found, and no zoo configs were found (looked in {where}); "
            "give a YAML file's path or reinstall ganzoo."
        )
    candidate = os.path.join(folder, f"{name_or_path}.yaml")
    if os.sep not in name_or_path and os.path.isfile(candidate):
        return candidate
    names = zoo_config_names()
    close = difflib.get_close_matches(os.path.splitext(os.path.basename(name_or_path))[0], names, n=1)
    hint = f" Did you mean {close[0]!r}?" if close else f" Zoo configs: {', '.join(names)}."
    raise ConfigError(f"Config file {name_or_path!r} not found.{hint}")


def zoo_config_names():
    """Names of the YAML configs in `zoo_config_dir()`."""
    folder = zoo_config_dir()
    if folder is None:
        return []
    return sorted(f[:-5] for f in os.listdir(folder) if f.endswith(".yaml"))


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
    config = _build(Config, raw, "")
    _check_names(config)
    return config


def _build(cls, raw, prefix):
    section = prefix.rstrip(".") or "the config"
    if not isinstance(raw, dict):
        raise ConfigError(f"{section} must be a mapping of keys to values, got {_describe(raw)}.")
    fields = {f.name: f for f in dataclasses.fields(cls)}
    hints = typing.get_type_hints(cls)
    for key in raw:
        if key not in fields:
            close = difflib.get_close_matches(str(key), fields, n=1)
            hint = f" Did you mean '{prefix}{close[0]}'?" if close else (
                f" Valid keys: {', '.join(fields)}."
            )
            raise ConfigError(f"Unknown key '{prefix}{key}'.{hint}")
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
            values[name] = _check_value(key, raw[name], hint, field.metadata.get("minimum"))
    return cls(**values)


def _check_value(key, value, hint, minimum):
    optional = typing.get_origin(hint) is typing.Union and type(None) in typing.get_args(hint)
    kind = next(a for a in typing.get_args(hint) if a is not type(None)) if optional else hint
    if value is None:
        if optional:
            return None
        raise ConfigError(f"Key {key!r} must not be empty (null).")
    if kind is float and isinstance(value, str):
        try:  # YAML 1.1 reads 2e-4 (no dot) as a string
            value = float(value)
        except ValueError:
            pass
    expected = {int: "an integer", float: "a number", str: "a string", dict: "a mapping",
                list: "a list", bool: "true or false"}[kind]
    if kind is bool:
        ok = isinstance(value, bool)
    elif kind is float:
        ok = isinstance(value, (int, float)) and not isinstance(value, bool)
    else:
        ok = isinstance(value, kind) and not isinstance(value, bool)
    if not ok:
        raise ConfigError(f"Key {key!r} must be {expected}, got {_describe(value)}.")
    if minimum is not None and value < minimum:
        raise ConfigError(f"Key {key!r} must be >= {minimum}, got {value!r}.")
    return float(value) if kind is float else value


def _describe(value):
    return f"{value!r} ({type(value).__name__})"


def _check_names(config):
    """Checks family, loss, dataset, options and builder arguments against what exists."""
    from ganzoo import augment, data, losses, models  # imports Keras: after the backend is chosen

    model = config.model
    try:
        family = models.get_family(model.family)
        losses.get(model.loss)
        info = data.info(config.data.dataset)
        if model.augment:
            augment.build_augmenter(model.augment)
    except ValueError as e:
        raise ConfigError(str(e).splitlines()[0]) from None
    if model.ema_decay is not None and not 0.0 < model.ema_decay < 1.0:
        raise ConfigError(f"Key 'model.ema_decay' must be in (0, 1), e.g. 0.999; got {model.ema_decay!r}.")
    if model.family == "dcgan" and info.kind != "image":
        raise ConfigError(
            f"Key 'model.family' dcgan builds image networks, but dataset {info.name!r} holds "
            f"{info.kind}; use family mlp for 2-D points or an image dataset."
        )
    if model.augment and info.kind != "image":
        raise ConfigError(f"Key 'model.augment' applies to images; {info.name!r} holds {info.kind}.")
    if model.num_generators > 1 and (model.pack != 1 or model.loss != "non_saturating"):
        raise ConfigError(
            "Key 'model.num_generators' > 1 (MAD-GAN) uses its own multi-class loss and no "
            "packing: leave 'model.loss' at non_saturating and 'model.pack' at 1."
        )
    builders = (("generator", family.build_generator), ("discriminator", family.build_discriminator))
    excluded = ("name", "latent_dim", "num_outputs")
    if model.conditional is not None:
        if model.conditional not in models.conditional.HEADS:
            close = difflib.get_close_matches(str(model.conditional), models.conditional.HEADS, n=1)
            hint = f" Did you mean {close[0]!r}?" if close else ""
            raise ConfigError(
                f"Key 'model.conditional' must be one of {list(models.conditional.HEADS)}, "
                f"got {model.conditional!r}.{hint}"
            )
        if model.family != "dcgan" or model.num_generators != 1 or model.pack != 1:
            raise ConfigError(
                "Key 'model.conditional' needs 'model.family: dcgan', one generator and no packing."
            )
        if info.num_classes is None:
            raise ConfigError(
                f"Key 'model.conditional' needs a dataset with labels; {info.name!r} has none."
            )
        builders = (("generator", models.conditional.build_conditional_generator),
                    ("discriminator", family.build_discriminator))
        excluded += ("num_classes", "pack")
    if config.data.batch_size % model.pack:
        raise ConfigError(
            f"Key 'data.batch_size' ({config.data.batch_size}) must be a multiple of "
            f"'model.pack' ({model.pack})."
        )
    for role, builder in builders:
        accepted = [
            p.name
            for p in inspect.signature(builder).parameters.values()
            if p.kind is p.KEYWORD_ONLY and p.name not in excluded
        ]
        for key in getattr(config.model, role):
            if key not in accepted:
                close = difflib.get_close_matches(key, accepted, n=1)
                hint = f" Did you mean {close[0]!r}?" if close else f" Valid: {', '.join(accepted)}."
                raise ConfigError(
                    f"Unknown key 'model.{role}.{key}' for family {config.model.family!r}.{hint}"
                )
