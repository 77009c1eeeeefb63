"""Debiasing by latent resampling (Amini, Soleimany, Schwarting, Bhatia & Rus 2019, "Uncovering and
Mitigating Algorithmic Bias through Learned Latent Structure", AIES; DB-VAE).

A VAE's mean codes z(x) of the training set show where the data is dense. Each latent dimension i gets
a histogram density Q_i; an example is drawn with probability

    W(z(x)) ∝ prod_i 1 / (Q_i(z_i(x)) + alpha)                    [Amini et al. 2019, section 3.2]

so that rare regions of the latent space are drawn more often. alpha smooths the weights: alpha -> 0
is full inverse-density re-weighting, large alpha is close to uniform sampling. As in the paper, the
histogram densities are normalised to sum to 1 over the bins before alpha is added. ``combine="max"``
uses the largest per-dimension weight instead of the product (the MIT 6.S191 lab's variant).
"""

from __future__ import annotations

from typing import Literal

import torch
from torch import Tensor


def latent_sampling_weights(codes: Tensor, *, bins: int = 10, alpha: float = 0.01,
                            combine: Literal["product", "max"] = "product") -> Tensor:
    """Sampling probabilities (N,), summing to 1, from mean codes (N, L)."""
    if codes.dim() != 2:
        raise ValueError(f"codes must be (N, L), got shape {tuple(codes.shape)}")
    if bins < 1 or alpha < 0:
        raise ValueError(f"need bins >= 1 and alpha >= 0, got bins={bins}, alpha={alpha}")
    if combine not in ("product", "max"):
        raise ValueError(f"combine must be 'product' or 'max', got {combine!r}")
    codes = codes.detach().double().cpu()
    log_w = torch.zeros(codes.shape[0], dtype=torch.float64)
    per_dim = []
    for i in range(codes.shape[1]):
        z = codes[:, i]
        lo, hi = float(z.min()), float(z.max())
        if hi <= lo:
            per_dim.append(torch.zeros_like(z))            # a constant dimension says nothing
            continue
        index = ((z - lo) / (hi - lo) * bins).long().clamp_(0, bins - 1)
        q = torch.bincount(index, minlength=bins).double()
        q = q / q.sum()                                     # Q_i over the bins
        per_dim.append(-torch.log(q[index] + alpha))        # log 1 / (Q_i(z_i) + alpha)
    stacked = torch.stack(per_dim, 1)                       # (N, L)
    log_w = stacked.sum(1) if combine == "product" else stacked.max(1).values
    w = torch.softmax(log_w, 0)                             # normalise in log space: products of many dims
    return w.float()


ACTIVITY_THRESHOLD = 0.01  # a unit is active when Var_x(E_q[z_u|x]) > 0.01 [Burda et al. 2015, sec. 5.2]


def active_dimensions(codes: Tensor, threshold: float = ACTIVITY_THRESHOLD) -> Tensor:
    """Boolean mask (L,) of the active latent units: those whose mean code varies over the data."""
    return codes.double().var(0) > threshold


@torch.no_grad()
def debias_weights(model, data, *, bins: int = 10, alpha: float = 0.01, batch: int = 512,
                   combine: Literal["product", "max"] = "product", active_only: bool = True) -> Tensor:
    """A trained latent model and a dataset split (``ArrayData``) -> sampling probabilities (N,).

    active_only: use only the active units. Departure from the paper (whose DB-VAE is trained jointly
    with a classifier): a VAE trained alone leaves some units at the prior, and their histograms
    are of noise around 0, whose inverse would only add variance to the weights.
    """
    from generativa.exploration.latent import latent_codes

    x = data.images()
    labels = data.labels if model.capabilities.accepts("labels") else None
    codes = latent_codes(model, x, labels=labels, batch=batch)
    if active_only:
        mask = active_dimensions(codes)
        if mask.any():
            codes = codes[:, mask]
    return latent_sampling_weights(codes, bins=bins, alpha=alpha, combine=combine)


def weighted_batches(weights: Tensor, batch_size: int, num_batches: int = 1, *,
                     generator: torch.Generator | None = None) -> Tensor:
    """Indices of ``num_batches`` batches drawn with replacement by ``weights``: (num_batches, batch_size)."""
    idx = torch.multinomial(weights, num_batches * batch_size, replacement=True, generator=generator)
    return idx.view(num_batches, batch_size)


def histogram_flatness(values: Tensor, bins: int) -> float:
    """Total-variation distance between the histogram of integer ``values`` in 0..bins-1 and uniform
    (0 = perfectly even, near 1 = all mass in one bin); used to show the re-weighting evens factors out."""
    counts = torch.bincount(values.long().flatten(), minlength=bins).double()
    p = counts / counts.sum()
    return float(0.5 * (p - 1.0 / bins).abs().sum())
