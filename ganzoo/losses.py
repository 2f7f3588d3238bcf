"""Adversarial losses as pure functions of discriminator logits.

Each loss comes as a pair: a discriminator loss of `(real_logits, fake_logits)`
and a generator loss of `fake_logits`, both returning a scalar to minimize.
`get(name)` returns the pair that `GAN.compile(loss=name)` uses; adding a loss
is two functions and one `register` call.
"""

import dataclasses
import difflib
from typing import Callable

from keras import ops


@dataclasses.dataclass(frozen=True)
class AdversarialLoss:
    """A named pair of discriminator and generator losses.

    Attributes:
        name: The name `GAN.compile(loss=...)` accepts.
        discriminator: `(real_logits, fake_logits) -> scalar` to minimize.
        generator: `fake_logits -> scalar` to minimize.
    """

    name: str
    discriminator: Callable
    generator: Callable


_LOSSES = {}


def register(name, *, discriminator, generator):
    """Registers an adversarial loss pair under `name` and returns it."""
    if name in _LOSSES:
        raise ValueError(f"A loss named {name!r} is already registered.")
    _LOSSES[name] = AdversarialLoss(name, discriminator, generator)
    return _LOSSES[name]


def available():
    """Returns the names of the registered losses."""
    return sorted(_LOSSES)


def get(name):
    """Returns the registered `AdversarialLoss` called `name`.

    Raises:
        ValueError: if no loss has that name (the message suggests the closest).
    """
    if isinstance(name, AdversarialLoss):
        return name
    if name not in _LOSSES:
        close = difflib.get_close_matches(str(name), _LOSSES, n=1)
        hint = f" Did you mean {close[0]!r}?" if close else ""
        raise ValueError(
            f"Unknown loss {name!r}; expected one of {available()}.{hint}"
        )
    return _LOSSES[name]


def minimax_discriminator_loss(real_logits, fake_logits):
    """Discriminator loss of the original GAN (Goodfellow et al., 2014).

    `L_D = -E[log D(x)] - E[log(1 - D(G(z)))]` with `D = sigmoid(logits)`,
    i.e. `softplus(-real_logits) + softplus(fake_logits)`, averaged: the
    binary cross-entropy of real as 1 and fake as 0.
    """
    return ops.mean(ops.softplus(-real_logits)) + ops.mean(ops.softplus(fake_logits))


def minimax_generator_loss(fake_logits):
    """Generator loss of the minimax game (Goodfellow et al., 2014).

    `L_G = E[log(1 - D(G(z)))] = -E[softplus(fake_logits)]`. Its gradient
    vanishes when the discriminator confidently rejects fakes, which is why
    the paper recommends the non-saturating form in practice.
    """
    return -ops.mean(ops.softplus(fake_logits))


def non_saturating_generator_loss(fake_logits):
    """Non-saturating generator loss (Goodfellow et al., 2014, section 3).

    `L_G = -E[log D(G(z))] = E[softplus(-fake_logits)]`: the generator
    maximises the probability of its samples being called real, which gives
    strong gradients early in training.
    """
    return ops.mean(ops.softplus(-fake_logits))


register(
    "minimax",
    discriminator=minimax_discriminator_loss,
    generator=minimax_generator_loss,
)
register(
    "non_saturating",
    discriminator=minimax_discriminator_loss,
    generator=non_saturating_generator_loss,
)
