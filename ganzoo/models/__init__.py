"""GAN models: the `GAN` training loop and the network families it trains."""

import difflib

from ganzoo.models import cyclegan, dcgan, fanogan, ganomaly, mlp, pix2pix, srgan, stylegan2
from ganzoo.models.base import GAN
from ganzoo.models.cyclegan import CycleGAN
from ganzoo.models.ganomaly import GANomaly
from ganzoo.models.conditional import ConditionalGAN, build_conditional_gan
from ganzoo.models.image_to_image import ImageToImageGAN
from ganzoo.models.mixture import MixtureGAN, build_mixture_generator
from ganzoo.models.stylegan2 import StyleGAN2

# A family is a module with build_generator(sample_shape, *, latent_dim, ...)
# and build_discriminator(sample_shape, ...).
FAMILIES = {"cyclegan": cyclegan, "dcgan": dcgan, "ganomaly": ganomaly, "mlp": mlp, "pix2pix": pix2pix,
            "srgan": srgan, "stylegan2": stylegan2}
# Families whose generator maps an image to an image: they train on paired datasets.
IMAGE_TO_IMAGE = ("pix2pix", "srgan")
# Families that translate between two unpaired image sets.
UNPAIRED = ("cyclegan",)
# Families that learn one class of images and score how unlike it an image is (`ganzoo score`).
ANOMALY = ("ganomaly",)
# GAN arguments the unpaired families do not take, at their defaults.
_NOT_FOR_UNPAIRED = {"d_steps_per_g_step": 1, "d_pretrain_steps": 0, "gradient_penalty_weight": 0.0,
                     "r1_weight": 0.0, "ema_decay": None, "augment": None, "pack": 1}


def get_family(name):
    """Returns the module of the network family `name` ("dcgan", "mlp")."""
    if name not in FAMILIES:
        close = difflib.get_close_matches(str(name), FAMILIES, n=1)
        hint = f" Did you mean {close[0]!r}?" if close else ""
        raise ValueError(
            f"Unknown model family {name!r}; expected one of {sorted(FAMILIES)}.{hint}"
        )
    return FAMILIES[name]


def build_gan(
    family,
    sample_shape,
    *,
    latent_dim,
    generator=None,
    discriminator=None,
    num_generators=1,
    conditional=None,
    num_classes=None,
    input_shape=None,
    **gan_kwargs,
):
    """Builds a `GAN` of a registered family for samples of `sample_shape`.

    Args:
        family: "dcgan" or "mlp".
        sample_shape: Shape of one sample (H, W, C) or (D,).
        latent_dim: Size of the latent vector.
        generator: Extra keyword arguments of the family's `build_generator`.
        discriminator: Extra keyword arguments of its `build_discriminator`.
        num_generators: K > 1 builds a `MixtureGAN` (MAD-GAN) of K generators
            and a (K + 1)-way discriminator.
        conditional: "projection" or "acgan" builds a `ConditionalGAN` with
            that discriminator head (family "dcgan" only).
        num_classes: Classes of a conditional GAN.
        input_shape: Image-to-image families (`IMAGE_TO_IMAGE`): the inputs'
            shape (their `latent_dim` is ignored); builds an `ImageToImageGAN`.
            Unpaired families (`UNPAIRED`): domain A's image shape (`sample_shape`
            is B's); builds a `CycleGAN`.
        **gan_kwargs: Arguments of `GAN` (d_steps_per_g_step, pack, seed, ...);
            `pack` is also passed to the discriminator builder.

    Returns:
        An uncompiled `GAN`.
    """
    module = get_family(family)
    if family in UNPAIRED:
        for key, default in _NOT_FOR_UNPAIRED.items():
            if gan_kwargs.pop(key, default) not in (default, [], ()):
                raise ValueError(f"`{key}` does not apply to family {family!r}; leave it at {default!r}.")
        if input_shape is None or conditional is not None or num_generators != 1:
            raise ValueError(f"family {family!r} translates between two image sets: give input_shape (domain "
                             "A's images), no conditional head and one generator.")
        return cyclegan.build_cyclegan(input_shape, sample_shape, generator=generator,
                                       discriminator=discriminator, **gan_kwargs)
    if family in IMAGE_TO_IMAGE:
        if input_shape is None or conditional is not None or num_generators != 1:
            raise ValueError(f"family {family!r} maps images to images: give input_shape (a paired "
                             "dataset's inputs), no conditional head and one generator.")
        if module is srgan:
            return srgan.build_srgan(sample_shape, input_shape=input_shape, generator=generator,
                                     discriminator=discriminator, **gan_kwargs)
        return module.build_pix2pix(sample_shape, input_channels=input_shape[-1], generator=generator,
                                    discriminator=discriminator, **gan_kwargs)
    if family in ANOMALY:
        if conditional is not None or num_generators != 1 or input_shape is not None:
            raise ValueError(f"family {family!r} learns one class of images: give no conditional head, "
                             "num_generators or input_shape.")
        return ganomaly.build_ganomaly(sample_shape, latent_dim=latent_dim, generator=generator,
                                       discriminator=discriminator, **gan_kwargs)
    if module is stylegan2:
        if conditional is not None or num_generators != 1 or input_shape is not None:
            raise ValueError("family 'stylegan2' is unconditional with one generator: give no conditional head, "
                             "num_generators or input_shape.")
        return stylegan2.build_stylegan2(sample_shape, latent_dim=latent_dim, generator=generator,
                                         discriminator=discriminator, **gan_kwargs)
    if conditional is not None:
        if module is not dcgan or num_generators != 1:
            raise ValueError(
                f"conditional GANs use the dcgan family with one generator, got family {family!r} "
                f"and num_generators={num_generators}."
            )
        if num_classes is None:
            raise ValueError("a conditional GAN needs num_classes; use a dataset with labels.")
        return build_conditional_gan(
            sample_shape, latent_dim=latent_dim, num_classes=num_classes, head=conditional,
            generator=generator, discriminator=discriminator, **gan_kwargs,
        )
    discriminator = dict(discriminator or {})
    if gan_kwargs.get("pack", 1) != 1:
        discriminator["pack"] = gan_kwargs["pack"]  # D's input holds `pack` samples
    if num_generators > 1:
        return MixtureGAN(
            build_mixture_generator(
                module, sample_shape, latent_dim=latent_dim, num_generators=num_generators,
                **(generator or {}),
            ),
            module.build_discriminator(sample_shape, num_outputs=num_generators + 1, **discriminator),
            latent_dim=latent_dim,
            num_generators=num_generators,
            **gan_kwargs,
        )
    return GAN(
        module.build_generator(sample_shape, latent_dim=latent_dim, **(generator or {})),
        module.build_discriminator(sample_shape, **discriminator),
        latent_dim=latent_dim,
        **gan_kwargs,
    )


__all__ = ["ANOMALY", "GAN", "GANomaly", "ganomaly", "fanogan", "StyleGAN2", "stylegan2", "ConditionalGAN", "CycleGAN", "UNPAIRED", "cyclegan", "ImageToImageGAN", "MixtureGAN", "pix2pix", "srgan", "build_conditional_gan", "FAMILIES", "build_gan", "get_family", "IMAGE_TO_IMAGE", "dcgan", "mlp"]
