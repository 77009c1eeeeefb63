"""The in-memory dataset every source returns, and the split the trainer uses.

Images are stored as uint8 (N, C, H, W) and turned into float [0, 1] per batch; vector data
(toy1d, toy2d) as float32 (N, D). Labels are int64 (N,); factors (N, K) with names: ``shapes``
stores integer indices (int64) with the number of values of each factor in ``factor_sizes``.
Masks are uint8 (N, 1, H, W), one per image (class indices per pixel, or 0/1); captions are one
string per example. A ``DataSplits`` may carry a second, unpaired image domain (``domain_b``) for
models that translate between two sets of images.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

import torch
from torch import Tensor


@dataclass(eq=False)
class ArrayData:
    name: str
    x: Tensor
    labels: Tensor | None = None
    factors: Tensor | None = None
    factor_names: tuple[str, ...] = ()
    class_names: tuple[str, ...] = ()
    description: str = ""
    factor_sizes: tuple[int, ...] = ()  # values per factor where factors are indices (shapes)
    masks: Tensor | None = None  # uint8 (N, 1, H, W), one mask per image
    captions: tuple[str, ...] = ()  # one caption per example, or none

    def __post_init__(self) -> None:
        if self.x.dtype != torch.uint8 and not self.x.is_floating_point():
            raise TypeError(f"dataset {self.name!r}: x must be uint8 images or float vectors, got {self.x.dtype}")
        if self.x.dtype == torch.uint8 and self.x.dim() != 4:
            raise ValueError(f"dataset {self.name!r}: images must be (N, C, H, W), got {tuple(self.x.shape)}")
        n = self.x.shape[0]
        for what, t in (("labels", self.labels), ("factors", self.factors)):
            if t is not None and t.shape[0] != n:
                raise ValueError(f"dataset {self.name!r}: {what} has {t.shape[0]} rows for {n} examples")
        if self.masks is not None:
            if self.masks.dtype != torch.uint8 or self.masks.dim() != 4 or self.masks.shape[1] != 1:
                raise ValueError(f"dataset {self.name!r}: masks must be uint8 (N, 1, H, W), got "
                                 f"{self.masks.dtype} {tuple(self.masks.shape)}")
            if self.masks.shape[0] != n or (self.x.dim() == 4 and self.masks.shape[2:] != self.x.shape[2:]):
                raise ValueError(f"dataset {self.name!r}: masks have shape {tuple(self.masks.shape)} for images "
                                 f"{tuple(self.x.shape)}; one (1, H, W) mask per image")
        if self.captions and len(self.captions) != n:
            raise ValueError(f"dataset {self.name!r}: {len(self.captions)} captions for {n} examples")

    def __len__(self) -> int:
        return self.x.shape[0]

    @property
    def shape(self) -> tuple[int, ...]:
        """Shape of one example: (C, H, W) or (D,)."""
        return tuple(self.x.shape[1:])

    @property
    def is_image(self) -> bool:
        return self.x.dtype == torch.uint8

    @property
    def num_classes(self) -> int:
        if self.labels is None:
            return 0
        if self.class_names:
            return len(self.class_names)
        return int(self.labels.max().item()) + 1 if len(self.labels) else 0

    @property
    def value_range(self) -> tuple[float, float]:
        if self.is_image:
            return (0.0, 1.0)
        if self.x.numel() == 0:
            return (0.0, 0.0)
        return (float(self.x.min()), float(self.x.max()))

    def to_float(self, x: Tensor) -> Tensor:
        """uint8 images -> float [0, 1]; float data unchanged."""
        return x.float().div_(255.0) if x.dtype == torch.uint8 else x.float()

    def images(self, index: Tensor | slice | None = None) -> Tensor:
        """Examples as float (images in [0, 1])."""
        x = self.x if index is None else self.x[index]
        return self.to_float(x)

    def subset(self, index: Tensor) -> ArrayData:
        pick = lambda t: None if t is None else t[index]  # noqa: E731
        captions = tuple(self.captions[i] for i in torch.as_tensor(index).reshape(-1).tolist()) if self.captions else ()
        return ArrayData(self.name, self.x[index], pick(self.labels), pick(self.factors),
                         self.factor_names, self.class_names, self.description, self.factor_sizes,
                         pick(self.masks), captions)

    def replace_x(self, x: Tensor, description: str | None = None, *, masks: Tensor | None = None) -> ArrayData:
        """The same examples (labels, factors, masks, captions) with new pixels ``x``.

        masks: new masks to go with ``x`` when it changed size (default: keep the current ones).
        """
        return ArrayData(self.name, x, self.labels, self.factors, self.factor_names, self.class_names,
                         self.description if description is None else description, self.factor_sizes,
                         self.masks if masks is None else masks, self.captions)

    def summary(self) -> dict:
        """Shape, size, value range, labels and factors, and the content hash, as plain values."""
        return {
            "name": self.name,
            "examples": len(self),
            "shape": list(self.shape),
            "dtype": str(self.x.dtype).removeprefix("torch."),
            "value_range": list(self.value_range),
            "num_classes": self.num_classes,
            "class_names": list(self.class_names),
            "factor_names": list(self.factor_names),
            "factor_sizes": list(self.factor_sizes),
            "hash": self.content_hash(),
        }

    def content_hash(self) -> str:
        """A hash of the pixels and labels (hex, 16 characters): keys caches of feature networks."""
        h = hashlib.sha256()
        h.update(str((tuple(self.x.shape), str(self.x.dtype))).encode())
        h.update(self.x.contiguous().cpu().numpy().tobytes())
        if self.labels is not None:
            h.update(self.labels.contiguous().cpu().numpy().tobytes())
        if self.masks is not None:
            h.update(self.masks.contiguous().cpu().numpy().tobytes())
        return h.hexdigest()[:16]


@dataclass(eq=False)
class DataSplits:
    """A dataset as a fixed, seeded train/test split, with the spec that made it."""

    train: ArrayData
    test: ArrayData
    spec: str
    options: dict = field(default_factory=dict)
    domain_b: DataSplits | None = None  # a second, unpaired image domain (translation models)

    @property
    def name(self) -> str:
        return self.train.name

    @property
    def shape(self) -> tuple[int, ...]:
        return self.train.shape

    @property
    def num_classes(self) -> int:
        return max(self.train.num_classes, self.test.num_classes)

    def content_hash(self) -> str:
        parts = self.train.content_hash() + self.test.content_hash()
        if self.domain_b is not None:
            parts += self.domain_b.content_hash()
        return hashlib.sha256(parts.encode()).hexdigest()[:16]

    def summary(self) -> dict:
        """The spec, options and both splits' summaries (``ArrayData.summary``), as plain values."""
        return {"spec": self.spec, "options": dict(self.options), "hash": self.content_hash(),
                "train": self.train.summary(), "test": self.test.summary()}


def seeded_split(n: int, test_fraction: float, seed: int) -> tuple[Tensor, Tensor]:
    """A fixed permutation split: (train_index, test_index)."""
    g = torch.Generator().manual_seed(seed)
    perm = torch.randperm(n, generator=g)
    n_test = int(round(n * test_fraction))
    return perm[n_test:].sort().values, perm[:n_test].sort().values
