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


def wasserstein_discriminator_loss(real_logits, fake_logits):
    """Critic loss of the Wasserstein GAN (Arjovsky et al., 2017).

    `L_D = E[D(G(z))] - E[D(x)]`: the critic's outputs are unbounded scores,
    and minimising this maximises the critic's estimate of the Wasserstein-1
    distance. It needs a Lipschitz constraint on the critic: a gradient
    penalty (Gulrajani et al., 2017) or spectral normalization.
    """
    return ops.mean(fake_logits) - ops.mean(real_logits)


def wasserstein_generator_loss(fake_logits):
    """Generator loss of the Wasserstein GAN: `L_G = -E[D(G(z))]`."""
    return -ops.mean(fake_logits)


def least_squares_discriminator_loss(real_logits, fake_logits):
    """Discriminator loss of LSGAN (Mao et al., 2017), with a = 0, b = c = 1.

    `L_D = 1/2 E[(D(x) - 1)^2] + 1/2 E[D(G(z))^2]`: squared errors to the
    real label 1 and the fake label 0 on raw outputs, which penalise samples
    far from the decision boundary even when they are classified correctly.
    """
    return 0.5 * ops.mean(ops.square(real_logits - 1.0)) + 0.5 * ops.mean(
        ops.square(fake_logits)
    )


def least_squares_generator_loss(fake_logits):
    """Generator loss of LSGAN: `L_G = 1/2 E[(D(G(z)) - 1)^2]`."""
    return 0.5 * ops.mean(ops.square(fake_logits - 1.0))


def hinge_discriminator_loss(real_logits, fake_logits):
    """Hinge discriminator loss (Lim & Ye, 2017; Miyato et al., 2018).

    `L_D = E[max(0, 1 - D(x))] + E[max(0, 1 + D(G(z)))]`: only samples
    inside the margin contribute, as in a support vector machine. Used with
    spectral normalization in SNGAN and BigGAN. Its generator loss is the
    Wasserstein one, `L_G = -E[D(G(z))]`.
    """
    return ops.mean(ops.relu(1.0 - real_logits)) + ops.mean(ops.relu(1.0 + fake_logits))


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
register(
    "wasserstein",
    discriminator=wasserstein_discriminator_loss,
    generator=wasserstein_generator_loss,
)
register(
    "least_squares",
    discriminator=least_squares_discriminator_loss,
    generator=least_squares_generator_loss,
)
register(
    "hinge",
    discriminator=hinge_discriminator_loss,
    generator=wasserstein_generator_loss,
)
