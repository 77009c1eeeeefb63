"""Likelihood in nats per example and bits per dimension, with the dequantisation stated.

The convention (Theis, van den Oord & Bethge 2016, arXiv:1511.01844, sec. 3.1; Dinh et al. 2017):
8-bit images have 256 levels per dimension. A continuous model of x in [0, 1]^D with density p
scores the discrete image through uniform dequantisation, u ~ U[0, 1/256)^D:

    log P(x_discrete) >= E_u[ log p(x + u) ] - D log 256                     (Jensen)

so a continuous density on [0, 1]^D is turned into a (bound on the) probability of the 256-level
image by subtracting D log 256 nats. Discrete models (PixelCNN's 256-way softmax) give
log P(x_discrete) directly. ``generativa`` models return from ``log_prob`` the log-probability of the
discrete image in nats (flows dequantise and subtract D log 256 inside); models whose value is a
lower bound (VAEs, diffusion) say so through ``log_prob_is_bound``, and the protocol records it.

    NLL (nats / example) = -log P(x)
    bits / dim           = NLL / (D ln 2)

Vector data (toy1d, toy2d) is continuous: its NLL is a density, in nats, and has no bits/dim.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor

LEVELS = 256
DEQUANTISATION = (
    "uniform dequantisation of 256 levels: log P(x) = log p(x + u) - D log 256 with u ~ U[0, 1/256)^D "
    "for continuous densities on [0, 1]; discrete models give log P(x) directly"
)


def bits_per_dim(nll_nats: float | Tensor, dims: int) -> float | Tensor:
    """Nats per example -> bits per dimension: NLL / (D ln 2)."""
    return nll_nats / (dims * math.log(2.0))


def discrete_log_prob(continuous_log_prob: Tensor, dims: int, levels: int = LEVELS) -> Tensor:
    """log p(x + u) of a density on [0, 1]^D -> log P of the discrete image: - D log(levels)."""
    return continuous_log_prob - dims * math.log(levels)


def likelihood_summary(log_prob: Tensor, dims: int, *, is_image: bool, is_bound: bool) -> dict:
    """Mean NLL (nats / example), its standard error, and bits/dim for images."""
    log_prob = torch.as_tensor(log_prob).double().flatten()
    nll = -log_prob
    out: dict = {
        "nll_nats": float(nll.mean()),
        "nll_nats_stderr": float(nll.std() / math.sqrt(nll.numel())) if nll.numel() > 1 else 0.0,
        "log_prob_is_bound": bool(is_bound),
    }
    if is_image:
        out["bits_per_dim"] = float(bits_per_dim(nll.mean(), dims))
        out["dequantisation"] = DEQUANTISATION
    else:
        out["dequantisation"] = "none: continuous vector data, NLL is a density in nats"
    return out
