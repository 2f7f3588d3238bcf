"""Fine-tuning: a run that starts from a shipped preset's networks instead of fresh ones.

``ganzoo train CONFIG --from-preset NAME`` (or ``train.from_preset: NAME`` in
the config) builds the config's GAN, then copies the preset's generator,
discriminator and EMA generator weights into it (a generator-only preset's
generator and EMA generator; the config's discriminator stays as built). The optimizers start fresh at
the config's learning rates (lower ones than the preset was trained with are
the usual choice). The config's model section must build the same networks
as the preset's: copy it from the preset's ``metadata.json``
(``training_config.model``). In Python the same is
``gan = ganzoo.from_preset(NAME); gan.fit(ganzoo.data.load("folder:PATH", ...))``,
which also keeps the preset's optimizer state.
"""

from ganzoo import presets


def _mismatch(role, mine, theirs):
    """The first difference between two networks' weight lists, in words, or None."""
    if len(mine.weights) != len(theirs.weights):
        return f"its {role} has {len(theirs.weights)} weight tensors, the config's {len(mine.weights)}"
    for a, b in zip(mine.weights, theirs.weights):
        if tuple(a.shape) != tuple(b.shape):
            return f"{role} weight {a.path!r} is {tuple(b.shape)} in the preset, {tuple(a.shape)} here"
    return None


def start_from_preset(gan, name):
    """Copies the networks of preset `name` into the freshly built `gan`.

    Raises:
        PresetError: When the preset is missing, or its networks differ from
            the config's (e.g. another image size, class count or width).
    """
    preset = presets.from_preset(name)
    pairs = [("generator", gan.generator, preset.generator)]
    if presets.read_metadata(name).get("training_state", True):  # a generator-only preset's D is untrained
        pairs.append(("discriminator", gan.discriminator, preset.discriminator))
    if gan.ema_generator is not None:
        pairs.append(("EMA generator", gan.ema_generator, preset.ema_generator or preset.generator))
    for role, mine, theirs in pairs:
        problem = _mismatch(role, mine, theirs)
        if problem:
            raise presets.PresetError(
                f"cannot fine-tune from preset {name!r}: {problem}; give the config the preset's model "
                "section (metadata.json, training_config.model) and its image size and classes"
            )
    for _, mine, theirs in pairs:
        for a, b in zip(mine.weights, theirs.weights):
            a.assign(b)
    return gan
