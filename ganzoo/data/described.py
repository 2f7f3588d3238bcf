"""`DatasetInfo`: what `ganzoo.data.info` says about a dataset without loading it."""

from __future__ import annotations

import dataclasses


@dataclasses.dataclass(frozen=True)
class DatasetInfo:
    """Static description of a dataset.

    Attributes:
        name: The name passed to `load`.
        shape: Shape of one example: HWC for images, ``(2,)`` for points.
        num_classes: Number of label classes, or None for label-free datasets.
        num_examples: Examples per split, or None when unknown (e.g. a TFDS
            dataset that is not prepared).
        kind: ``"image"`` (values in [-1, 1]), ``"points"`` (raw coordinates),
            ``"pairs"`` (``(inputs, targets)`` images, see `ganzoo.data.pairs`;
            ``shape`` is the targets') or ``"unpaired"`` (``(a, b)`` images of
            two unpaired domains, see `ganzoo.data.unpaired`; ``shape`` is B's,
            ``num_examples`` the longer domain's count per split).
        class_names: Names of the classes in label order, when known (the
            sub-folders of a ``folder:`` dataset), else None.
        input_shape: The inputs' shape of a ``"pairs"`` dataset, domain A's
            image shape of an ``"unpaired"`` one, else None.
    """

    name: str
    shape: tuple[int, ...]
    num_classes: int | None
    num_examples: dict[str, int] | None
    kind: str
    class_names: tuple[str, ...] | None = None
    input_shape: tuple[int, ...] | None = None

    @property
    def has_labels(self) -> bool:
        """Whether ``with_labels=True`` is allowed for this dataset."""
        return self.num_classes is not None
