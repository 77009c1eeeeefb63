"""Precision and recall of generative models by k-nearest-neighbour balls
(Kynkäänniemi et al. 2019, arXiv:1904.06991), and density and coverage (Naeem et al. 2020,
arXiv:2002.09797).

Real features X (N, D), generated features Y (M, D). NND_k(x) is the distance from x to its k-th
nearest neighbour among the other points of its own set; B(x, r) the closed ball of radius r.

    manifold(X)  = union_i B(x_i, NND_k(x_i))
    precision    = 1/M sum_j 1[y_j in manifold(X)]                        [Kynkäänniemi, eq. 1-2]
    recall       = 1/N sum_i 1[x_i in manifold(Y)]
    density      = 1/(kM) sum_j sum_i 1[y_j in B(x_i, NND_k(x_i))]        [Naeem et al., eq. 3]
    coverage     = 1/N sum_i 1[exists j: y_j in B(x_i, NND_k(x_i))]       [Naeem et al., eq. 4]

Defaults follow the papers: k = 3 for precision/recall, k = 5 for density/coverage. Distances are
computed in row blocks, so memory holds (block, N) distances, never (M, N).
"""

from __future__ import annotations

import torch
from torch import Tensor


def knn_radii(x: Tensor, k: int, block: int = 1024) -> Tensor:
    """NND_k for every row of x: the distance to its k-th nearest other row, (N,)."""
    x = torch.as_tensor(x).double()
    if x.shape[0] <= k:
        raise ValueError(f"k = {k} nearest neighbours need more than {k} points, got {x.shape[0]}")
    out = torch.empty(x.shape[0], dtype=torch.float64)
    for s in range(0, x.shape[0], block):
        d = torch.cdist(x[s : s + block], x)  # (b, N)
        # the k+1 smallest include the point itself at distance 0
        out[s : s + block] = d.topk(k + 1, dim=1, largest=False).values[:, k]
    return out


def _ball_counts(points: Tensor, centres: Tensor, radii: Tensor, block: int = 1024) -> tuple[Tensor, Tensor]:
    """For each point, how many balls B(centre_i, radius_i) hold it, (M,); for each centre, whether
    any point lies in its ball, (N,) bool."""
    points, centres = points.double(), centres.double()
    per_point = torch.empty(points.shape[0], dtype=torch.long)
    centre_hit = torch.zeros(centres.shape[0], dtype=torch.bool)
    for s in range(0, points.shape[0], block):
        inside = torch.cdist(points[s : s + block], centres) <= radii.unsqueeze(0)  # (b, N)
        per_point[s : s + block] = inside.sum(dim=1)
        centre_hit |= inside.any(dim=0)
    return per_point, centre_hit


def precision_recall(real: Tensor, fake: Tensor, *, k: int = 3) -> dict[str, float]:
    """Improved precision and recall [Kynkäänniemi et al. 2019]."""
    real, fake = torch.as_tensor(real), torch.as_tensor(fake)
    real_counts, _ = _ball_counts(fake, real, knn_radii(real, k))
    fake_counts, _ = _ball_counts(real, fake, knn_radii(fake, k))
    return {
        "precision": float((real_counts > 0).double().mean()),
        "recall": float((fake_counts > 0).double().mean()),
    }


def density_coverage(real: Tensor, fake: Tensor, *, k: int = 5) -> dict[str, float]:
    """Density (may exceed 1) and coverage [Naeem et al. 2020]; both use only the real balls."""
    real, fake = torch.as_tensor(real), torch.as_tensor(fake)
    counts, covered = _ball_counts(fake, real, knn_radii(real, k))
    return {
        "density": float(counts.double().sum() / (k * fake.shape[0])),
        "coverage": float(covered.double().mean()),
    }
