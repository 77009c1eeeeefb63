"""Grids of discrete generative factors: validating, enumerating and sampling factor indices.

A procedural dataset (``shapes``, ``faces``) is a pure function of K factors, each an integer
index into a fixed list of values (the factor's size). ``FactorGrid`` holds the names and sizes
and does what such datasets share: check an index array (N, K), convert between indices and the
position in the full grid (C order, the last factor changing fastest), and draw factors
independently, uniformly or from per-factor weights (a biased training set), or fixed (the
beta-VAE metric, Higgins et al. 2017, Sec. 3).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import torch
from torch import Tensor

from generativa.data.errors import DataError


@dataclass(frozen=True)
class FactorGrid:
    dataset: str  # named in error messages
    names: tuple[str, ...]
    sizes: tuple[int, ...]

    @property
    def num_combinations(self) -> int:
        return math.prod(self.sizes)

    def check(self, factors: Tensor | Sequence[Sequence[int]]) -> Tensor:
        """Validate factor indices: int64 (N, K), each column within its range."""
        factors = torch.as_tensor(factors)
        if factors.is_floating_point() or factors.dtype == torch.bool:
            raise DataError(f"{self.dataset} factors must be integer indices, got dtype {factors.dtype}; "
                            "use factors_from_flat or sample_factors to make them")
        k = len(self.names)
        if factors.dim() != 2 or factors.shape[1] != k:
            raise DataError(f"{self.dataset} factors must be (N, {k}) with columns {self.names}, "
                            f"got shape {tuple(factors.shape)}")
        factors = factors.long()
        if len(factors):
            for j, (name, size) in enumerate(zip(self.names, self.sizes)):
                lo, hi = int(factors[:, j].min()), int(factors[:, j].max())
                if lo < 0 or hi >= size:
                    raise DataError(f"{self.dataset} factor {name!r} takes indices 0..{size - 1}, got {lo}..{hi}")
        return factors

    def flat_index(self, factors: Tensor) -> Tensor:
        """Factor indices (N, K) -> position in the full grid (N,), C order."""
        factors = self.check(factors)
        index = torch.zeros(len(factors), dtype=torch.long)
        for j, size in enumerate(self.sizes):
            index = index * size + factors[:, j]
        return index

    def from_flat(self, index: Tensor) -> Tensor:
        """Position in the full grid (N,) -> factor indices (N, K) int64 (inverse of ``flat_index``)."""
        index = torch.as_tensor(index, dtype=torch.long).clone()
        total = self.num_combinations
        if len(index) and (int(index.min()) < 0 or int(index.max()) >= total):
            raise DataError(f"{self.dataset} grid index must be in [0, {total}), "
                            f"got {int(index.min())}..{int(index.max())}")
        cols = []
        for size in reversed(self.sizes):
            cols.append(index % size)
            index = index // size
        return torch.stack(cols[::-1], dim=1)

    def sample(
        self,
        n: int,
        *,
        generator: torch.Generator | None = None,
        weights: Mapping[str, Sequence[float] | Tensor] | None = None,
        fixed: Mapping[str, int] | None = None,
    ) -> Tensor:
        """Draw ``n`` combinations (N, K) int64, each factor independently and with replacement.

        weights: per factor, unnormalised probabilities of its values (as many as the factor has);
            factors not named are uniform.
        fixed: factors held at one index.
        """
        weights = dict(weights or {})
        fixed = dict(fixed or {})
        for key in list(weights) + list(fixed):
            if key not in self.names:
                raise DataError(f"unknown {self.dataset} factor {key!r}; factors are {', '.join(self.names)}")
        cols = []
        for name, size in zip(self.names, self.sizes):
            if name in fixed:
                value = int(fixed[name])
                if not 0 <= value < size:
                    raise DataError(f"{self.dataset} factor {name!r} takes indices 0..{size - 1}, got fixed={value}")
                cols.append(torch.full((n,), value, dtype=torch.long))
            elif name in weights:
                w = torch.as_tensor(weights[name], dtype=torch.float64).flatten()
                if (w.numel() != size or bool((w < 0).any()) or not bool(torch.isfinite(w).all())
                        or float(w.sum()) <= 0):
                    raise DataError(f"weights for {self.dataset} factor {name!r} must be {size} finite non-negative "
                                    f"numbers with a positive sum, got {w.numel()} values")
                cols.append(torch.multinomial(w, n, replacement=True, generator=generator))
            else:
                cols.append(torch.randint(size, (n,), generator=generator))
        return torch.stack(cols, dim=1) if cols else torch.zeros(n, 0, dtype=torch.long)

    def split(self, n: int, n_test: int, *, generator: torch.Generator,
              weights: Mapping[str, Sequence[float]] | None = None) -> tuple[Tensor, Tensor]:
        """(train, test) factors for a procedural dataset.

        Without ``weights`` both are distinct combinations drawn uniformly without replacement
        (so no test image is in the training set). With them, the training factors are drawn
        independently from those weights (with replacement) and the test split stays uniform:
        the setting of a debiasing experiment.
        """
        total = self.num_combinations
        if weights is None and n + n_test > total:
            raise DataError(f"{self.dataset} has {total} combinations; n + n_test = {n + n_test} is more; "
                            "lower n or n_test")
        perm = torch.randperm(total, generator=generator)
        test = self.from_flat(perm[:n_test].sort().values)
        if weights is None:
            return self.from_flat(perm[n_test:n_test + n].sort().values), test
        return self.sample(n, generator=generator, weights=weights), test
