"""``toy1d`` and ``toy2d``: small seeded vector datasets, float32 (N, D).

    toy1d:gaussian      N(1, 0.5^2)
    toy1d:mixture       3 equal Gaussians at -3, 0, 3, std 0.4
    toy2d:ring8         8 equal Gaussians on a circle of radius 2, std 0.02 (Metz et al. 2017,
                        Unrolled GANs, arXiv:1611.02163, Sec. 3.1)
    toy2d:grid25        25 equal Gaussians on the grid {-4, -2, 0, 2, 4}^2, std 0.05 (Srivastava et
                        al. 2017, VEEGAN, arXiv:1705.07761)
    toy2d:moons         two interleaved half circles, noise std 0.05, centred and scaled by 2
    toy2d:spirals       two interleaved spirals, scaled by 1/3, noise std 0.1 (FFJORD, arXiv:1810.01367)
    toy2d:checkerboard  uniform on the 8 dark squares of a 4x4 board over [-4, 4]^2 (as in FFJORD)

The Gaussian mixtures expose their mode centres and std (``toy_modes``) for mode coverage ("a
sample within 3 std of a centre covers that mode") and their exact density (``toy_log_prob``);
the checkerboard's density (1/32 on its support) is exact too. Labels: the mixture component, the
moon or the spiral arm each point came from; none for ``gaussian`` and ``checkerboard``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import Tensor

from generativa.data.base import ArrayData, DataSplits
from generativa.data.errors import DataError


@dataclass(frozen=True)
class GaussianMixture:
    """Equal-weight isotropic Gaussian mixture: centres (K, D), one std."""

    centres: tuple[tuple[float, ...], ...]
    std: float

    def centre_tensor(self) -> Tensor:
        return torch.tensor(self.centres, dtype=torch.float32)

    def sample(self, n: int, generator: torch.Generator) -> tuple[Tensor, Tensor]:
        centres = self.centre_tensor()
        k = torch.randint(len(centres), (n,), generator=generator)
        x = centres[k] + self.std * torch.randn(n, centres.shape[1], generator=generator)
        return x, k

    def log_prob(self, x: Tensor) -> Tensor:
        """log p(x) = logsumexp_k log N(x; c_k, std^2 I) - log K, in nats, (N, D) -> (N,)."""
        centres = self.centre_tensor().to(device=x.device, dtype=torch.float64)
        x64 = x.to(torch.float64)
        d = centres.shape[1]
        sq = ((x64.unsqueeze(1) - centres.unsqueeze(0)) ** 2).sum(-1)  # (N, K)
        log_n = -0.5 * sq / self.std**2 - d * math.log(self.std) - 0.5 * d * math.log(2 * math.pi)
        return (torch.logsumexp(log_n, dim=1) - math.log(len(centres))).to(x.dtype)


_RING8 = GaussianMixture(tuple((2 * math.cos(2 * math.pi * i / 8), 2 * math.sin(2 * math.pi * i / 8))
                               for i in range(8)), 0.02)
_GRID25 = GaussianMixture(tuple((float(a), float(b)) for a in range(-4, 5, 2) for b in range(-4, 5, 2)), 0.05)

MIXTURES: dict[str, GaussianMixture] = {
    "toy1d:gaussian": GaussianMixture(((1.0,),), 0.5),
    "toy1d:mixture": GaussianMixture(((-3.0,), (0.0,), (3.0,)), 0.4),
    "toy2d:ring8": _RING8,
    "toy2d:grid25": _GRID25,
}

DESCRIPTIONS: dict[str, str] = {
    "toy1d:gaussian": "1-D Gaussian N(1, 0.5^2)",
    "toy1d:mixture": "1-D mixture of 3 Gaussians at -3, 0, 3 (std 0.4)",
    "toy2d:ring8": "2-D ring of 8 Gaussians (radius 2, std 0.02)",
    "toy2d:grid25": "2-D 5x5 grid of Gaussians (spacing 2, std 0.05)",
    "toy2d:moons": "2-D two interleaved half circles",
    "toy2d:spirals": "2-D two interleaved spirals",
    "toy2d:checkerboard": "2-D uniform on a 4x4 checkerboard's 8 squares over [-4, 4]^2",
}
TOY_NAMES: tuple[str, ...] = tuple(DESCRIPTIONS)


def _full_name(name: str) -> str:
    if name in DESCRIPTIONS:
        return name
    for full in TOY_NAMES:
        if full.split(":")[1] == name:
            return full
    raise DataError(f"unknown toy dataset {name!r}; choose one of {', '.join(TOY_NAMES)}")


def toy_modes(name: str) -> tuple[Tensor, float]:
    """Mode centres (K, D) float32 and the std of each mode, for the Gaussian-mixture toys."""
    full = _full_name(name)
    if full not in MIXTURES:
        raise DataError(f"{full} is not a Gaussian mixture and has no modes; "
                        f"mixtures are {', '.join(MIXTURES)}")
    mixture = MIXTURES[full]
    return mixture.centre_tensor(), mixture.std


def toy_log_prob(name: str, x: Tensor) -> Tensor:
    """Exact log density (nats, (N,)) of the mixtures and the checkerboard at points x (N, D)."""
    full = _full_name(name)
    if full in MIXTURES:
        return MIXTURES[full].log_prob(x)
    if full == "toy2d:checkerboard":
        # Support: [-4, 4)^2 where floor(x / 2) + floor(y / 2) is even; area 8 * 4 = 32.
        cell = torch.floor(x / 2)
        inside = ((x >= -4) & (x < 4)).all(dim=1) & ((cell[:, 0] + cell[:, 1]) % 2 == 0)
        return torch.where(inside, torch.full_like(x[:, 0], -math.log(32.0)),
                           torch.full_like(x[:, 0], -math.inf))
    raise DataError(f"{full} has no closed-form density; exact densities: "
                    f"{', '.join([*MIXTURES, 'toy2d:checkerboard'])}")


def toy_sample(name: str, n: int, *, generator: torch.Generator | None = None) -> tuple[Tensor, Tensor | None]:
    """Draw n points (N, D) float32 and their labels (component, moon, arm) or None."""
    full = _full_name(name)
    g = generator if generator is not None else torch.Generator().manual_seed(0)
    if full in MIXTURES:
        x, k = MIXTURES[full].sample(n, g)
        return x, (None if full == "toy1d:gaussian" else k)
    if full == "toy2d:moons":
        # Two half circles as in scikit-learn's make_moons, centred ((0.5, 0.25)) and scaled by 2.
        k = torch.randint(2, (n,), generator=g)
        t = torch.rand(n, generator=g) * math.pi
        outer = torch.stack([torch.cos(t), torch.sin(t)], 1)
        inner = torch.stack([1 - torch.cos(t), 0.5 - torch.sin(t)], 1)
        x = torch.where(k.unsqueeze(1) == 0, outer, inner)
        x = (x - torch.tensor([0.5, 0.25]) + 0.05 * torch.randn(n, 2, generator=g)) * 2.0
        return x, k
    if full == "toy2d:spirals":
        # FFJORD's "2spirals": radius grows with angle t, t = sqrt(u) * 3 pi; arm 1 is arm 0 rotated by pi.
        k = torch.randint(2, (n,), generator=g)
        t = torch.sqrt(torch.rand(n, generator=g)) * 3 * math.pi
        arm = torch.stack([-torch.cos(t) * t, torch.sin(t) * t], 1) + 0.5 * torch.rand(n, 2, generator=g)
        arm = torch.where(k.unsqueeze(1) == 0, arm, -arm)
        x = arm / 3.0 + 0.1 * torch.randn(n, 2, generator=g)
        return x, k
    if full == "toy2d:checkerboard":
        x1 = torch.rand(n, generator=g) * 4 - 2
        x2 = torch.rand(n, generator=g) - torch.randint(2, (n,), generator=g) * 2.0
        x2 = x2 + torch.floor(x1) % 2
        return torch.stack([x1, x2], 1) * 2.0, None
    raise AssertionError(full)


def load_toy(name: str, n: int = 10000, n_test: int = 2000, seed: int = 0) -> DataSplits:
    """Seeded train (n) and test (n_test) draws, independent of each other."""
    full = _full_name(name)
    if n < 1 or n_test < 0:
        raise DataError(f"{full} needs n >= 1 and n_test >= 0, got n={n}, n_test={n_test}")
    g = torch.Generator().manual_seed(seed)
    x, y = toy_sample(full, n + n_test, generator=g)
    x = x.float().contiguous()

    def part(sl: slice) -> ArrayData:
        return ArrayData(full, x[sl], None if y is None else y[sl], description=DESCRIPTIONS[full])

    return DataSplits(part(slice(0, n)), part(slice(n, n + n_test)), full,
                      {"n": n, "n_test": n_test, "seed": seed})
