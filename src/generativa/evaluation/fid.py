"""Fréchet Inception Distance (Heusel et al. 2017, arXiv:1706.08500).

Features of real images ~ N(mu_1, S_1), of generated images ~ N(mu_2, S_2) (fitted, not assumed);

    FID = |mu_1 - mu_2|^2 + tr(S_1 + S_2 - 2 (S_1 S_2)^{1/2})          [Heusel et al. 2017, eq. 6]

Everything is accumulated and computed in float64. The statistics stream: a ``GaussianStats``
takes feature batches one at a time (Chan et al.'s pairwise update of mean and scatter), so
memory holds one (D, D) matrix, never the feature matrix of every image.

tr((S_1 S_2)^{1/2}) is the sum of the square roots of the eigenvalues of S_1 S_2, which equal
those of the symmetric positive semi-definite S_1^{1/2} S_2 S_1^{1/2}; two symmetric
eigendecompositions (``numpy.linalg.eigh``) give it exactly, without the iterative, complex-valued
``scipy.linalg.sqrtm`` of the reference implementation.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import Tensor


def _as_float64(features: Tensor | np.ndarray) -> np.ndarray:
    if isinstance(features, Tensor):
        features = features.detach().to("cpu", torch.float64).numpy()
    features = np.asarray(features, dtype=np.float64)
    if features.ndim != 2:
        raise ValueError(f"features must be a (N, D) matrix, got shape {features.shape}")
    return features


class GaussianStats:
    """Streaming mean and covariance of (N, D) feature batches, in float64.

    ``update`` merges each batch's mean and centred scatter into the running ones
    (Chan, Golub & LeVeque 1979), which is as accurate as the two-pass formula.
    """

    def __init__(self, dim: int | None = None):
        self.n = 0
        self.dim = dim
        self.mean: np.ndarray | None = None
        self.scatter: np.ndarray | None = None  # sum of (f - mean)(f - mean)^T, (D, D)

    def update(self, features: Tensor | np.ndarray) -> GaussianStats:
        f = _as_float64(features)
        if f.shape[0] == 0:
            return self
        if self.dim is None:
            self.dim = f.shape[1]
        if f.shape[1] != self.dim:
            raise ValueError(f"feature batch has {f.shape[1]} dimensions, earlier batches had {self.dim}")
        m = f.shape[0]
        batch_mean = f.mean(axis=0)
        centred = f - batch_mean
        batch_scatter = centred.T @ centred
        if self.n == 0:
            self.mean, self.scatter, self.n = batch_mean, batch_scatter, m
            return self
        n = self.n
        delta = batch_mean - self.mean
        total = n + m
        self.mean = self.mean + delta * (m / total)
        self.scatter = self.scatter + batch_scatter + np.outer(delta, delta) * (n * m / total)
        self.n = total
        return self

    @property
    def cov(self) -> np.ndarray:
        """Unbiased sample covariance (divides by N - 1, as numpy.cov and the reference FID code)."""
        if self.n < 2:
            raise ValueError(f"a covariance needs at least 2 feature vectors, got {self.n}")
        return self.scatter / (self.n - 1)

    @classmethod
    def of(cls, features: Tensor | np.ndarray, batch_size: int = 4096) -> GaussianStats:
        stats = cls()
        for i in range(0, len(features), batch_size):
            stats.update(features[i : i + batch_size])
        return stats

    def to_dict(self) -> dict:
        return {"n": self.n, "mean": self.mean.tolist(), "cov": self.cov.tolist()}


def sqrtm_psd(a: np.ndarray) -> np.ndarray:
    """Square root of a symmetric positive semi-definite matrix by eigendecomposition.

    Eigenvalues below zero (round-off) are set to zero.
    """
    a = np.asarray(a, dtype=np.float64)
    a = (a + a.T) / 2.0
    w, v = np.linalg.eigh(a)
    w = np.clip(w, 0.0, None)
    return (v * np.sqrt(w)) @ v.T


def trace_sqrt_product(s1: np.ndarray, s2: np.ndarray) -> float:
    """tr((S_1 S_2)^{1/2}) for symmetric PSD S_1, S_2: the eigenvalues of S_1 S_2 are those of
    S_1^{1/2} S_2 S_1^{1/2} (similar matrices when S_1 is invertible, by continuity otherwise)."""
    root1 = sqrtm_psd(s1)
    middle = root1 @ np.asarray(s2, dtype=np.float64) @ root1
    w = np.linalg.eigvalsh((middle + middle.T) / 2.0)
    return float(np.sqrt(np.clip(w, 0.0, None)).sum())


def sqrtm_product(s1: np.ndarray, s2: np.ndarray) -> np.ndarray:
    """The principal square root of S_1 S_2 (S_1 positive definite, S_2 PSD):

        (S_1 S_2)^{1/2} = S_1^{1/2} (S_1^{1/2} S_2 S_1^{1/2})^{1/2} S_1^{-1/2}

    (square it to check). Only the trace enters FID; this full matrix is for tests and teaching.
    """
    root1 = sqrtm_psd(s1)
    w, v = np.linalg.eigh((np.asarray(s1, dtype=np.float64) + np.asarray(s1, dtype=np.float64).T) / 2.0)
    if w.min() <= 0:
        raise ValueError("sqrtm_product needs S_1 positive definite (its smallest eigenvalue is <= 0)")
    inv_root1 = (v / np.sqrt(w)) @ v.T
    return root1 @ sqrtm_psd(root1 @ s2 @ root1) @ inv_root1


def frechet_distance(mu1: np.ndarray, s1: np.ndarray, mu2: np.ndarray, s2: np.ndarray) -> float:
    """Squared Fréchet (2-Wasserstein) distance between N(mu1, s1) and N(mu2, s2) [eq. 6]."""
    mu1, mu2 = np.asarray(mu1, np.float64), np.asarray(mu2, np.float64)
    s1, s2 = np.asarray(s1, np.float64), np.asarray(s2, np.float64)
    if mu1.shape != mu2.shape or s1.shape != s2.shape:
        raise ValueError(f"statistics do not match: means {mu1.shape} vs {mu2.shape}, covariances {s1.shape} vs {s2.shape}")
    diff = mu1 - mu2
    value = diff @ diff + np.trace(s1) + np.trace(s2) - 2.0 * trace_sqrt_product(s1, s2)
    return float(max(value, 0.0))  # round-off can give -1e-12 for identical statistics


def fid_from_stats(real: GaussianStats, fake: GaussianStats) -> float:
    return frechet_distance(real.mean, real.cov, fake.mean, fake.cov)


def fid(real_features: Tensor | np.ndarray, fake_features: Tensor | np.ndarray) -> float:
    """FID between two (N, D) feature matrices (any N >= 2 each)."""
    return fid_from_stats(GaussianStats.of(real_features), GaussianStats.of(fake_features))
