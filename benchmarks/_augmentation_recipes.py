"""What each recipe of `benchmarks/augmentation.py` trains its classifier on.

A recipe is data (`Recipe`); `phases` turns one into the classifier's training
phases from the seed's real images and synthetic pool.
"""

import dataclasses

import numpy as np

REAL_PER_CLASS = 100
PRETRAIN_EPOCHS = 10  # passes over the synthetic pool before fine-tuning on the real images


@dataclasses.dataclass(frozen=True)
class Recipe:
    """What a classifier trains on: `description` is the report's second column.

    The main phase passes `real_epochs` times over the real images (if `real`)
    joined with `synthetic` images per class of the pool (None: the whole pool),
    chosen first-come or, if `confident`, by the seed's real-only classifier,
    each synthetic image's loss weighted `weight`; `pretrain_epochs` passes over
    the whole pool come first. `reinit` > 0 draws the classifier's initial
    weights and batch order from another seed (a noise check: what a recipe
    that changes nothing else "gains").
    """

    description: str
    real: bool = True
    synthetic: int | None = 0
    confident: bool = False
    weight: float = 1.0
    pretrain_epochs: int = 0
    reinit: int = 0


RECIPES = {
    "real": Recipe("1 000 real images only"),
    "real_reinit_1": Recipe("real only, other initial weights and batch order (noise check)", reinit=1),
    "real_reinit_2": Recipe("real only, a third initial weights and batch order (noise check)", reinit=2),
    "synthetic_only": Recipe("the synthetic pool only (GAN-train)", real=False, synthetic=None),
    "plus_50": Recipe("real + 50 synthetic per class", synthetic=50),
    "plus_100": Recipe("real + 100 synthetic per class", synthetic=100),
    "plus_500": Recipe("real + 500 synthetic per class", synthetic=500),
    "plus_100_confident": Recipe("real + the 100 synthetic per class the real-only classifier is surest of",
                                 synthetic=100, confident=True),
    "plus_500_weight_0.2": Recipe("real + 500 synthetic per class, each synthetic image's loss weighted 0.2",
                                  synthetic=500, weight=0.2),
    "pretrain_finetune": Recipe(f"{PRETRAIN_EPOCHS} epochs on the synthetic pool, then the real images",
                                pretrain_epochs=PRETRAIN_EPOCHS),
    "pretrain_30_finetune": Recipe("30 epochs on the synthetic pool, then the real images", pretrain_epochs=30),
    # With --pool-per-class 5000: the steps of pretrain_30_finetune on a 500-per-class pool, 10x the images.
    "pretrain_3_finetune": Recipe("3 epochs on the synthetic pool, then the real images", pretrain_epochs=3),
    "pretrain_finetune_weight_0.2": Recipe(f"{PRETRAIN_EPOCHS} epochs on the synthetic pool, then real + 500 "
                                           "synthetic per class weighted 0.2", synthetic=500, weight=0.2,
                                           pretrain_epochs=PRETRAIN_EPOCHS),
}


def small_subset(x, y, seed):
    """`REAL_PER_CLASS` images of each class, drawn without replacement with `seed`."""
    rng = np.random.default_rng(seed)
    picked = np.concatenate([
        rng.choice(np.flatnonzero(y == label), REAL_PER_CLASS, replace=False)
        for label in range(int(y.max()) + 1)
    ])
    return x[picked], y[picked]


def first_per_class(x, y, k):
    """The first `k` images of every class of (x, y), in class order."""
    picked = np.concatenate([np.flatnonzero(y == label)[:k] for label in np.unique(y)])
    return x[picked], y[picked]


def most_confident_per_class(x, y, probabilities, k):
    """The `k` images of every class whose requested label gets the highest probability."""
    confidence = probabilities[np.arange(len(y)), y]
    picked = np.concatenate([
        np.flatnonzero(y == label)[np.argsort(-confidence[y == label], kind="stable")[:k]]
        for label in np.unique(y)])
    return x[picked], y[picked]


def phases(recipe, real, pool, real_model_probabilities, real_epochs):
    """The recipe's training phases: [(x, y, sample_weight or None, epochs)], trained in order."""
    spec = RECIPES[recipe]
    (x_real, y_real), (x_pool, y_pool) = real, pool
    pretrain = [(x_pool, y_pool, None, spec.pretrain_epochs)] if spec.pretrain_epochs else []
    if spec.synthetic is None:
        x_syn, y_syn = x_pool, y_pool
    elif spec.confident:
        x_syn, y_syn = most_confident_per_class(x_pool, y_pool, real_model_probabilities(x_pool), spec.synthetic)
    else:
        x_syn, y_syn = first_per_class(x_pool, y_pool, spec.synthetic)
    if not spec.real:
        return pretrain + [(x_syn, y_syn, None, real_epochs)]
    if not len(y_syn):
        return pretrain + [(x_real, y_real, None, real_epochs)]
    weights = None if spec.weight == 1.0 else np.concatenate(
        [np.ones(len(y_real), np.float32), np.full(len(y_syn), spec.weight, np.float32)])
    return pretrain + [(np.concatenate([x_real, x_syn]), np.concatenate([y_real, y_syn]), weights, real_epochs)]
