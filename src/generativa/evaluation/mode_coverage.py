"""Mode coverage of a generator, read through the dataset's classifier.

The classifier labels every generated image; the class histogram of the samples, q, is compared
with that of the data, p (the test split's labels):

    covered = share of classes c with q_c >= min_fraction       (min_fraction default: 1 / (4 C),
                                                                 a quarter of the uniform share)
    KL(q || p) = sum_c q_c log(q_c / p_c)                        nats; 0 when the histograms agree

A mode-collapsed GAN that draws only a few digits has low coverage and a large KL even when its
images are sharp (as in the mode-counting protocol of Metz et al. 2017, arXiv:1611.02163).
"""

from __future__ import annotations

import torch
from torch import Tensor


def class_histogram(labels: Tensor, num_classes: int) -> Tensor:
    """Share of each class among integer labels, (C,) float64 summing to 1."""
    labels = torch.as_tensor(labels).long()
    counts = torch.bincount(labels, minlength=num_classes).double()
    return counts / counts.sum().clamp_min(1.0)


def mode_coverage(
    sample_labels: Tensor,
    data_labels: Tensor,
    num_classes: int,
    *,
    min_fraction: float | None = None,
) -> dict[str, float]:
    """Coverage (share of classes reaching ``min_fraction`` of the samples) and KL(q || p) in nats."""
    if num_classes < 1:
        raise ValueError(f"mode coverage needs labelled data (num_classes >= 1), got {num_classes}")
    threshold = 1.0 / (4 * num_classes) if min_fraction is None else min_fraction
    q = class_histogram(sample_labels, num_classes)
    p = class_histogram(data_labels, num_classes)
    if bool(((q > 0) & (p == 0)).any()):
        # a class absent from the data but present in the samples: KL is infinite, say which
        missing = torch.nonzero((q > 0) & (p == 0)).flatten().tolist()
        kl = float("inf")
        note = f"classes {missing} occur in the samples but not in the data"
    else:
        mask = q > 0
        kl = float((q[mask] * (q[mask] / p[mask]).log()).sum())
        note = ""
    out = {
        "mode_coverage": float((q >= threshold).double().mean()),
        "class_kl": kl,
        "min_fraction": threshold,
    }
    if note:
        out["note"] = note  # type: ignore[assignment]
    return out
