"""How a config's values combine: names (family, loss, dataset), builder arguments, family-specific keys.

`ganzoo.config.from_dict` calls `check_names` after the types and ranges of
each key are checked; every problem is a `ConfigError` naming its key.
"""

import difflib
import inspect

from ganzoo import arguments
from ganzoo.config import ConfigError


SET_ELSEWHERE = {"name": "name", "latent_dim": "model.latent_dim", "num_outputs": "model.num_generators",
                 "pack": "model.pack", "num_classes": "data.dataset", "input_channels": "data.dataset", "seed": "train.seed"}


# Family-specific keys: (what the families are, family names or the `ganzoo.models` tuples (upper case) of them).
_FAMILY_KEYS = {
    **dict.fromkeys(("cycle_weight", "identity_weight", "pool_size"), ("the unpaired families", ("UNPAIRED",))),
    **dict.fromkeys(("reconstruction_weight", "adversarial_weight"),
                    ("the image-to-image and anomaly families", ("IMAGE_TO_IMAGE", "ANOMALY"))),
    **dict.fromkeys(("perceptual", "perceptual_weight"), ("the image-to-image families", ("IMAGE_TO_IMAGE",))),
    "encoder_weight": ("the anomaly families", ("ANOMALY",)),
    **dict.fromkeys(("r1_interval", "pl_weight", "pl_interval", "style_mixing"), ("the StyleGAN2 family", ("stylegan2",))),
}


def check_names(config):
    """Checks names (family, loss, dataset, options), builder arguments and how values combine."""
    from ganzoo import augment, data, losses, models  # imports Keras: after the backend is chosen

    model = config.model
    _named("model.family", models.get_family, model.family)
    _named("model.loss", losses.get, model.loss)
    options = config.data.options()
    info = _named("data" if options else "data.dataset", data.info, config.data.dataset, **options)
    if model.conditional is not None and config.data.dataset.startswith(data.FOLDER_PREFIX):
        _named("data.dataset", data.folder.check, config.data.dataset, with_labels=True)
    if model.augment:
        _named("model.augment", augment.build_augmenter, model.augment)
    if config.output.metrics:
        from ganzoo.metrics import evaluate, extractors  # pylint: disable=import-outside-toplevel

        _named("output.metrics", evaluate.check_metrics, config.output.metrics)
        if info.name not in extractors.available_extractors():
            raise ConfigError(f"Key 'output.metrics' needs a dataset with shipped judges "
                              f"({', '.join(extractors.available_extractors())}), not {info.name!r}.")
    if (model.family in models.UNPAIRED) != (info.kind == "unpaired"):
        raise ConfigError(
            f"Key 'model.family' {model.family!r} and dataset {info.name!r} ({info.kind}) do not go together: "
            f"the unpaired families ({', '.join(models.UNPAIRED)}) train on two image sets, e.g. "
            "'fashion_mnist[label=7]|fashion_mnist[label=9]', unpaired:PATH or tfds:cycle_gan/<name>.")
    if model.family in models.UNPAIRED and (model.pack != 1 or model.num_generators != 1 or model.augment
                                           or model.conditional is not None or model.ema_decay is not None
                                           or model.r1_weight or model.gradient_penalty_weight
                                           or model.d_steps_per_g_step != 1 or model.d_pretrain_steps):
        raise ConfigError(f"Key 'model.family' {model.family!r} takes none of pack, num_generators, augment, "
                          "conditional, ema_decay, r1_weight, gradient_penalty_weight, d_steps_per_g_step, "
                          "d_pretrain_steps; remove them.")
    if (model.family in models.IMAGE_TO_IMAGE) != (info.kind == "pairs") and info.kind != "unpaired":
        raise ConfigError(
            f"Key 'model.family' {model.family!r} and dataset {info.name!r} ({info.kind}) do not go together: "
            f"the image-to-image families ({', '.join(models.IMAGE_TO_IMAGE)}) train on paired datasets "
            f"({', '.join(n for n in data.available() if data.info(n).kind == 'pairs')}), the others on images or points.")
    if model.family in models.IMAGE_TO_IMAGE and (model.pack != 1 or model.num_generators != 1 or model.augment
                                                  or model.conditional is not None):
        raise ConfigError(f"Key 'model.family' {model.family!r} takes no pack, num_generators, augment or "
                          "conditional; remove them.")
    for key, (what, names) in _FAMILY_KEYS.items():
        families = sum((getattr(models, name) if name.isupper() else (name,) for name in names), ())
        if getattr(model, key) is not None and model.family not in families:
            raise ConfigError(f"Key 'model.{key}' applies to {what} ({', '.join(families)}), not to "
                              f"{model.family!r}; remove it.")
    if model.family in models.ANOMALY and info.kind != "image":
        raise ConfigError(f"Key 'model.family' {model.family!r} learns one class of images; dataset {info.name!r} "
                          f"holds {info.kind}: choose the normal images, e.g. 'fashion_mnist[label=7]'.")
    if model.family in models.ANOMALY and (model.pack != 1 or model.num_generators != 1 or model.augment
                                           or model.conditional is not None or model.ema_decay is not None):
        raise ConfigError(f"Key 'model.family' {model.family!r} takes none of pack, num_generators, augment, "
                          "conditional, ema_decay; remove them.")
    if model.family == "stylegan2" and info.kind != "image":
        raise ConfigError(f"Key 'model.family' stylegan2 trains on images; dataset {info.name!r} holds "
                          f"{info.kind}: choose an image dataset, e.g. fashion_mnist_32.")
    if model.family == "stylegan2" and (model.pack != 1 or model.num_generators != 1
                                        or model.conditional is not None or model.gradient_penalty_weight
                                        or model.d_steps_per_g_step != 1 or model.d_pretrain_steps):
        raise ConfigError("Key 'model.family' stylegan2 takes none of pack, num_generators, conditional, "
                          "gradient_penalty_weight, d_steps_per_g_step, d_pretrain_steps; remove them.")
    if model.family == "stylegan2":
        _named("data.dataset", models.stylegan2.num_layers, info.shape)
    if (model.perceptual is None) != (not model.perceptual_weight):
        raise ConfigError("Key 'model.perceptual' (a feature network) and key 'model.perceptual_weight' (> 0) go "
                          "together; set both or neither.")
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
    if config.train.decay_epochs > config.train.epochs:
        raise ConfigError(f"Key 'train.decay_epochs' ({config.train.decay_epochs}) must not exceed "
                          f"'train.epochs' ({config.train.epochs}).")
    if config.data.batch_size % model.pack:
        raise ConfigError(
            f"Key 'data.batch_size' ({config.data.batch_size}) must be a multiple of "
            f"'model.pack' ({model.pack})."
        )
    networks = builders(model)
    for role, builder in networks.items():
        checked = arguments.check_arguments(builder, getattr(model, role), key=f"model.{role}",
                                            exclude=SET_ELSEWHERE, context=f" for family {model.family!r}")
        setattr(model, role, checked)
    _check_discriminator(config, networks["discriminator"])


def builders(model):
    """The network builders whose keyword arguments `model.generator` and `model.discriminator` hold.

    Args:
        model: A `ModelConfig` of a known family.

    Returns:
        ``{"generator": function, "discriminator": function}``; their annotated
        keyword arguments, less `SET_ELSEWHERE`, are what the config may set.
    """
    from ganzoo import models  # imports Keras: after the backend is chosen

    family = models.get_family(model.family)
    generator = family.build_generator
    if model.conditional is not None:
        generator = models.conditional.build_conditional_generator
    return {"generator": generator, "discriminator": family.build_discriminator}


def _named(key, check, *args, **kwargs):
    """Calls a name check (a function raising ValueError) and names `key` in its error."""
    try:
        return check(*args, **kwargs)
    except ValueError as e:
        raise ConfigError(f"Key {key!r}: {str(e).splitlines()[0]}") from None


def _minibatch_group(config, builder):
    """The discriminator's minibatch-std group size, or 1 when it has no minibatch-std layer."""
    from ganzoo.models import stylegan2  # imports Keras: after the backend is chosen

    given = config.model.discriminator
    if not (given.get("minibatch_stddev") or builder is stylegan2.build_discriminator):  # StyleGAN2's D has it
        return 1
    return given.get("minibatch_group_size", inspect.signature(builder).parameters["minibatch_group_size"].default)


def _check_discriminator(config, builder):
    """Checks the discriminator arguments that must agree with each other and with the batch size."""
    from ganzoo.models import dcgan  # imports Keras: after the backend is chosen

    given = config.model.discriminator
    if builder is dcgan.build_discriminator:
        _named("model.discriminator", dcgan.resolve_batch_norm, given.get("batch_norm"),
               given.get("spectral_norm", False))
    group_size = _minibatch_group(config, builder)
    if group_size > 1:
        batch = config.data.batch_size // config.model.pack  # the discriminator judges packs
        if batch % min(group_size, batch):
            raise ConfigError(
                f"Key 'data.batch_size' ({config.data.batch_size}) gives discriminator batches of {batch}, "
                f"not a multiple of 'model.discriminator.minibatch_group_size' ({group_size}); use a "
                f"batch size that is a multiple of {group_size * config.model.pack}."
            )


def check_replica_batch(config, replicas):
    """Checks the part of every batch one of `replicas` TensorFlow replicas takes.

    Each replica's discriminator forms its own packs and minibatch-std groups
    from its part (on JAX the step sees one global array, and the global batch's
    checks above suffice).

    Raises:
        ConfigError: when the part does not form whole packs and groups.
    """
    pack, batch = config.model.pack, config.data.batch_size
    group = _minibatch_group(config, builders(config.model)["discriminator"])
    part = batch // replicas
    judged = part // pack
    if part % pack or not judged or judged % min(group, judged):
        raise ConfigError(
            f"Key 'data.batch_size' ({batch}) gives each of the {replicas} TensorFlow replicas {part} "
            f"examples, which do not form whole packs of {pack} and minibatch-std groups of {group}; use a "
            f"batch size that is a multiple of {replicas * pack * group}, or fewer devices.")
