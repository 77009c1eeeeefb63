"""Kernel Inception Distance (Bińkowski et al. 2018, arXiv:1801.01401).

The unbiased estimator of the squared maximum mean discrepancy [Gretton et al. 2012, eq. 3]
between real features X (m, D) and generated features Y (n, D), with the cubic polynomial kernel

    k(x, y) = (x . y / D + 1)^3                                       [Bińkowski et al. 2018, sec. 4]

    MMD^2_u = 1/(m(m-1)) sum_{i != j} k(x_i, x_j) + 1/(n(n-1)) sum_{i != j} k(y_i, y_j)
              - 2/(mn) sum_{i, j} k(x_i, y_j)

averaged over ``n_subsets`` random subsets of ``subset_size`` from each side (the reference code's
100 subsets of 1000), which bounds memory to (subset_size, subset_size) kernels. Unbiased: it can be
negative, and averages zero when X and Y come from one distribution.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor


def polynomial_kernel(x: Tensor, y: Tensor, degree: int = 3, gamma: float | None = None, coef0: float = 1.0) -> Tensor:
    """k(x, y) = (gamma x . y + coef0)^degree with gamma = 1 / D by default."""
    gamma = 1.0 / x.shape[1] if gamma is None else gamma
    return (gamma * (x @ y.T) + coef0) ** degree


def mmd2_unbiased(x: Tensor, y: Tensor, degree: int = 3) -> Tensor:
    """The unbiased MMD^2 between two feature samples (float64 inside)."""
    x, y = x.double(), y.double()
    m, n = x.shape[0], y.shape[0]
    if m < 2 or n < 2:
        raise ValueError(f"MMD needs at least 2 vectors on each side, got {m} and {n}")
    k_xx = polynomial_kernel(x, x, degree)
    k_yy = polynomial_kernel(y, y, degree)
    k_xy = polynomial_kernel(x, y, degree)
    sum_xx = k_xx.sum() - k_xx.diagonal().sum()  # i != j
    sum_yy = k_yy.sum() - k_yy.diagonal().sum()
    return sum_xx / (m * (m - 1)) + sum_yy / (n * (n - 1)) - 2.0 * k_xy.mean()


@dataclass(frozen=True)
class KIDResult:
    mean: float
    std: float
    n_subsets: int
    subset_size: int


def kid(
    real_features: Tensor,
    fake_features: Tensor,
    *,
    n_subsets: int = 100,
    subset_size: int = 1000,
    generator: torch.Generator | None = None,
) -> KIDResult:
    """KID as the mean (and standard deviation) of MMD^2_u over random subsets.

    The subset size is capped at the smaller sample size (and said so in the result).
    """
    real_features = torch.as_tensor(real_features)
    fake_features = torch.as_tensor(fake_features)
    size = min(subset_size, real_features.shape[0], fake_features.shape[0])
    if generator is None:
        generator = torch.Generator().manual_seed(0)
    values = []
    for _ in range(n_subsets):
        i = torch.randperm(real_features.shape[0], generator=generator)[:size]
        j = torch.randperm(fake_features.shape[0], generator=generator)[:size]
        values.append(mmd2_unbiased(real_features[i], fake_features[j]))
    v = torch.stack(values)
    std = float(v.std()) if n_subsets > 1 else 0.0
    return KIDResult(float(v.mean()), std, n_subsets, size)
