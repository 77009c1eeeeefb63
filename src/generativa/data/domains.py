"""Two unpaired image domains from one dataset (the data option ``domains=``), for translation models.

A rule splits every split (train and test) into domain A (the ``DataSplits`` itself) and domain B
(its ``domain_b``); an image lands in one domain only, so the two sets are unpaired:

* ``thickness``: thin vs thick strokes. The ink of an image (the sum of its grey levels) below the
  median ink of its class is A (thin), the rest B (thick); per class, so both domains hold every
  class in equal shares and a translation cannot change the class to change the ink.
* ``slant``: upright vs slanted. The shear of an image, mu_11 / mu_02 from its central moments
  (how far the column drifts per row), below the median |shear| of its class is A (upright), the rest B.
* ``factor:NAME=V``: images whose factor NAME (``shapes``, ``faces``) equals V are A, every other
  value B (``factor:glasses=0``: faces without vs with glasses); ``factor:NAME=V,W``: V is A, W is B,
  other values dropped (``factor:shape=0,1``: squares vs ellipses).
"""

from __future__ import annotations

import torch
from torch import Tensor

from generativa.data.base import ArrayData, DataSplits
from generativa.data.errors import DataError

RULES = ("thickness", "slant", "factor:NAME=V[,W]")


def ink(x: Tensor) -> Tensor:
    """Sum of grey levels per image, (N,), from (N, C, H, W) uint8 or float."""
    return x.float().flatten(1).sum(1)


def shear(x: Tensor) -> Tensor:
    """mu_11 / mu_02 per image: the slope of column against row of the ink, (N,) (0 = upright)."""
    g = x.float().mean(1)                                  # (N, H, W)
    N, H, W = g.shape
    rows = torch.arange(H, dtype=torch.float32).view(1, H, 1)
    cols = torch.arange(W, dtype=torch.float32).view(1, 1, W)
    mass = g.sum((1, 2)).clamp_min(1e-6)
    r0 = (g * rows).sum((1, 2)) / mass
    c0 = (g * cols).sum((1, 2)) / mass
    dr, dc = rows - r0.view(N, 1, 1), cols - c0.view(N, 1, 1)
    return (g * dr * dc).sum((1, 2)) / (g * dr * dr).sum((1, 2)).clamp_min(1e-6)


def _below_class_median(score: Tensor, labels: Tensor | None) -> Tensor:
    """True where the score is below the median of the example's class (of all examples without labels)."""
    out = torch.zeros(len(score), dtype=torch.bool)
    groups = [torch.arange(len(score))] if labels is None else [
        (labels == k).nonzero().squeeze(1) for k in labels.unique()]
    for idx in groups:
        if len(idx):
            out[idx] = score[idx] < score[idx].median()
    return out


def _factor_rule(rule: str, d: ArrayData, spec: str) -> tuple[Tensor, Tensor]:
    body = rule.removeprefix("factor:")
    name, eq, values = body.partition("=")
    if not eq or name not in d.factor_names:
        raise DataError(f"data spec {spec!r}: domains={rule!r} must be factor:NAME=V or factor:NAME=V,W with NAME one "
                        f"of the dataset's factors ({', '.join(d.factor_names) or 'it has none'})")
    try:
        picked = [int(v) for v in values.split(",")]
    except ValueError:
        raise DataError(f"data spec {spec!r}: domains={rule!r}: the factor values must be integers") from None
    if len(picked) not in (1, 2):
        raise DataError(f"data spec {spec!r}: domains={rule!r} names {len(picked)} values; give V (V vs the rest) or V,W")
    f = d.factors[:, d.factor_names.index(name)].long()
    a = f == picked[0]
    b = (f != picked[0]) if len(picked) == 1 else (f == picked[1])
    return a, b


def masks_for(rule: str, d: ArrayData, spec: str) -> tuple[Tensor, Tensor]:
    """(in A, in B), boolean (N,), for one split."""
    if rule == "thickness":
        thin = _below_class_median(ink(d.x), d.labels)
        return thin, ~thin
    if rule == "slant":
        upright = _below_class_median(shear(d.x).abs(), d.labels)
        return upright, ~upright
    if rule.startswith("factor:"):
        return _factor_rule(rule, d, spec)
    raise DataError(f"data spec {spec!r}: domains={rule!r}; use one of {', '.join(RULES)}")


def split_domains(splits: DataSplits, rule: str) -> DataSplits:
    """The dataset as domain A with domain B attached (``domain_b``), both train and test split."""
    if not splits.train.is_image:
        raise DataError(f"data spec {splits.spec!r} holds vectors; domains= splits images only")
    parts = {}
    for name, d in (("train", splits.train), ("test", splits.test)):
        a, b = masks_for(rule, d, splits.spec)
        parts[name] = (d.subset(a.nonzero().squeeze(1)), d.subset(b.nonzero().squeeze(1)))
        if len(d) and (not a.any() or not b.any()):
            raise DataError(f"data spec {splits.spec!r}: domains={rule!r} leaves the {name} split's domain "
                            f"{'A' if not a.any() else 'B'} empty; choose other values")
    second = DataSplits(parts["train"][1], parts["test"][1], splits.spec + f"#{rule}:b", dict(splits.options))
    return DataSplits(parts["train"][0], parts["test"][0], splits.spec, dict(splits.options), domain_b=second)
