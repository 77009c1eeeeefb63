"""Mode coverage on the Gaussian-mixture toys (ring of 8, grid of 25), measured in data space.

The protocol of the mode-collapse papers (Metz et al. 2017, Unrolled GANs, arXiv:1611.02163;
Srivastava et al. 2017, VEEGAN, arXiv:1705.07761, Sec. 5.1): each generated point is assigned to
its nearest mode centre c_k; it is *high quality* when it lies within 3 standard deviations of it,

    ||x - c_k||_2 <= 3 sigma,

and a mode is *covered* when at least ``min_fraction`` of all samples are high-quality samples
of that mode. The default ``min_fraction`` is 1 / (4 K), a quarter of a mode's fair share, the
same rule as the classifier-based ``evaluation.mode_coverage`` for image classes.

Reported: ``modes_covered`` (of ``modes``), ``high_quality`` (share of samples within 3 sigma of
some mode) and the per-mode counts, so a collapse onto a few modes is visible at a glance.
"""

from __future__ import annotations

import torch
from torch import Tensor


def toy_mode_coverage(
    samples: Tensor,
    centres: Tensor,
    std: float,
    *,
    sigmas: float = 3.0,
    min_fraction: float | None = None,
) -> dict:
    """samples (N, D), centres (K, D), std of each mode -> coverage summary (plain Python values)."""
    if samples.dim() != 2 or centres.dim() != 2 or samples.shape[1] != centres.shape[1]:
        raise ValueError(
            f"samples (N, D) and centres (K, D) must share D; got {tuple(samples.shape)} and {tuple(centres.shape)}"
        )
    if std <= 0:
        raise ValueError(f"std must be > 0, got {std}")
    n, k = samples.shape[0], centres.shape[0]
    if n == 0:
        raise ValueError("no samples to measure")
    x = samples.detach().to("cpu", torch.float64)
    c = centres.detach().to("cpu", torch.float64)
    dist = torch.cdist(x, c)  # (N, K)
    nearest_dist, nearest = dist.min(dim=1)
    good = nearest_dist <= sigmas * std  # (N,) high-quality samples
    counts = torch.bincount(nearest[good], minlength=k)  # (K,)
    threshold = 1.0 / (4 * k) if min_fraction is None else min_fraction
    min_count = threshold * n
    return {
        "modes": k,
        "modes_covered": int((counts >= min_count).sum()),
        "high_quality": float(good.double().mean()),
        "counts": counts.tolist(),
        "min_fraction": threshold,
        "samples": n,
        "sigmas": sigmas,
    }


def toy_mode_coverage_for(data: str, samples: Tensor, **options) -> dict:
    """``toy_mode_coverage`` with the centres and std of a named toy (``toy2d:ring8``, ``grid25``)."""
    from generativa.data.toy import toy_modes

    centres, std = toy_modes(data)
    return toy_mode_coverage(samples, centres, std, **options)
