"""``shapes``: dSprites-like procedural sprites with their generative factors.

After dSprites (Matthey, Higgins, Hassabis & Lerchner 2017, https://github.com/deepmind/dsprites-dataset),
used by beta-VAE (Higgins et al. 2017) and the disentanglement literature (e.g. MIG, Chen et al. 2018,
arXiv:1802.04942). Five independent factors, each on a fixed grid of values:

    factor        values                                   index range
    shape         square, ellipse, heart                   0..2
    scale         linspace(0.5, 1.0, 6)                    0..5
    orientation   linspace(0, 2*pi, 40)  (radians)         0..39
    pos_x         linspace(0, 1, 32)  (0 = left)           0..31
    pos_y         linspace(0, 1, 32)  (0 = top)            0..31

3 * 6 * 40 * 32 * 32 = 737,280 combinations. As in dSprites, orientation includes both 0 and
2*pi (the first and last index draw the same sprite), and a square repeats every pi/2, an ellipse
every pi: orientation is not identifiable from pixels alone; metrics should know this.

Rendering is a pure function of the factor indices and the image size: each sprite is a signed
distance function (SDF) in its own frame, rotated counter-clockwise on screen by ``orientation``,
scaled and moved; a pixel's value is the sprite's coverage of that pixel, estimated on a
``supersample x supersample`` grid of sub-pixel points, each with a linear ramp one sub-pixel wide
across the boundary (anti-aliasing). Same factors and size -> the same pixels.

``factors`` in the returned datasets are the integer indices (int64, (N, 5)); ``factor_values``
turns them into the values above. ``labels`` are the shape index.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import torch
from torch import Tensor

from generativa.data.base import ArrayData, DataSplits
from generativa.data.errors import DataError
from generativa.data.factors import FactorGrid

SHAPE_NAMES: tuple[str, ...] = ("square", "ellipse", "heart")
FACTOR_NAMES: tuple[str, ...] = ("shape", "scale", "orientation", "pos_x", "pos_y")
FACTOR_SIZES: tuple[int, ...] = (3, 6, 40, 32, 32)
GRID = FactorGrid("shapes", FACTOR_NAMES, FACTOR_SIZES)
NUM_COMBINATIONS = GRID.num_combinations  # 737,280

MIN_SIZE, MAX_SIZE = 16, 64

# Geometry in image units (the image is the unit square). A sprite at scale 1 has half-size
# HALF_SIZE: the square's half side, the ellipse's semi-major axis. The centre moves over
# [MARGIN, 1 - MARGIN], MARGIN being the largest sprite's radius (the square's half diagonal at
# scale 1, rotated 45 degrees), so no sprite leaves the frame.
HALF_SIZE = 0.15
MARGIN = HALF_SIZE * math.sqrt(2.0)
ELLIPSE_MINOR = 0.5  # semi-minor / semi-major axis of the ellipse
# Heart: a square of half diagonal HEART_H rotated 45 degrees (a diamond) with two discs of radius
# HEART_H / sqrt(2) centred on its two upper edges; shifted down by HEART_SHIFT so its bounding box
# is centred. Its width is 2.41 * HEART_H, its height 2.21 * HEART_H.
HEART_H = 0.9
HEART_SHIFT = -0.1036 * HEART_H


def _grid_values() -> tuple[Tensor, ...]:
    """The value of each index of each factor (float64)."""
    return (
        torch.arange(3, dtype=torch.float64),
        torch.linspace(0.5, 1.0, 6, dtype=torch.float64),
        torch.linspace(0.0, 2.0 * math.pi, 40, dtype=torch.float64),
        torch.linspace(0.0, 1.0, 32, dtype=torch.float64),
        torch.linspace(0.0, 1.0, 32, dtype=torch.float64),
    )


def factor_values(factors: Tensor) -> Tensor:
    """Integer factor indices (N, 5) -> their values (N, 5) float32.

    Columns: shape index (0, 1, 2), scale in [0.5, 1], orientation in radians [0, 2*pi],
    pos_x and pos_y in [0, 1].
    """
    factors = check_factors(factors)
    grids = _grid_values()
    cols = [grids[k][factors[:, k]] for k in range(len(FACTOR_NAMES))]
    return torch.stack(cols, dim=1).float()


def check_factors(factors: Tensor | Sequence[Sequence[int]]) -> Tensor:
    """Validate factor indices: int64 (N, 5), each column within its range."""
    return GRID.check(factors)


def flat_index(factors: Tensor) -> Tensor:
    """Factor indices (N, 5) -> position in the full grid (N,), in [0, 737280), C order."""
    return GRID.flat_index(factors)


def factors_from_flat(index: Tensor) -> Tensor:
    """Position in the full grid (N,) -> factor indices (N, 5) int64 (inverse of ``flat_index``)."""
    return GRID.from_flat(index)


def sample_factors(
    n: int,
    *,
    generator: torch.Generator | None = None,
    weights: Mapping[str, Sequence[float] | Tensor] | None = None,
    fixed: Mapping[str, int] | None = None,
) -> Tensor:
    """Draw ``n`` factor combinations (N, 5) int64, each factor independently.

    weights: per factor, unnormalised probabilities of its values (length = the factor's number of
        values); factors not named are uniform. E.g. ``{"pos_x": torch.linspace(1, 0.05, 32)}`` for a
        dataset skewed to the left.
    fixed: factors held at one index (``{"shape": 2}``: all hearts), as the beta-VAE metric
        (Higgins et al. 2017, Sec. 3) needs.
    Draws are with replacement, so combinations can repeat.
    """
    return GRID.sample(n, generator=generator, weights=weights, fixed=fixed)


# --- signed distance functions, in the sprite's own frame (units of HALF_SIZE * scale) -------------


def _sdf_box(px: Tensor, py: Tensor) -> Tensor:
    """Square of half side 1 (Quilez's box SDF: exact)."""
    qx, qy = px.abs() - 1.0, py.abs() - 1.0
    outside = torch.sqrt(qx.clamp(min=0) ** 2 + qy.clamp(min=0) ** 2)
    return outside + torch.maximum(qx, qy).clamp(max=0)


def _sdf_ellipse(px: Tensor, py: Tensor) -> Tensor:
    """Ellipse with semi-axes (1, ELLIPSE_MINOR): the first-order approximation k0 (k0 - 1) / k1.

    k0 = |p / r|, k1 = |p / r^2| (Quilez); exact on the boundary, where the coverage ramp reads it.
    """
    b = ELLIPSE_MINOR
    k0 = torch.sqrt(px**2 + (py / b) ** 2)
    k1 = torch.sqrt(px**2 + (py / (b * b)) ** 2).clamp(min=1e-9)
    return k0 * (k0 - 1.0) / k1


def _sdf_heart(px: Tensor, py: Tensor) -> Tensor:
    """Union of a diamond and two discs on its upper edges (y up); min of SDFs is exact outside."""
    h = HEART_H
    y = py - HEART_SHIFT
    # Diamond |x| + |y| <= h, as a box of half side h / sqrt(2) rotated by 45 degrees.
    s = 1.0 / math.sqrt(2.0)
    u, v = (px + y) * s, (y - px) * s
    d = _sdf_box(u / (h * s), v / (h * s)) * (h * s)
    r = h * s  # disc radius = half the diamond's side
    for cx in (-h / 2, h / 2):
        disc = torch.sqrt((px - cx) ** 2 + (y - h / 2) ** 2) - r
        d = torch.minimum(d, disc)
    return d


_SDFS = (_sdf_box, _sdf_ellipse, _sdf_heart)


def render_shapes(factors: Tensor, *, size: int = 32, supersample: int = 2, chunk: int = 256) -> Tensor:
    """Render sprites from factor indices (N, 5) -> uint8 images (N, 1, size, size) on the CPU.

    Deterministic: the pixels depend only on the factors, ``size`` and ``supersample``. Each sprite
    is evaluated in a window of W x W pixels around it (W = 2 * MARGIN * size + 3, about 0.45 of the
    image side) and pasted into a black image: the rest of the image is exactly 0.
    """
    check_size(size)
    if supersample < 1:
        raise DataError(f"supersample must be >= 1, got {supersample}")
    factors = check_factors(factors).cpu()
    values = factor_values(factors)
    n, k = len(factors), supersample
    radius = MARGIN * size  # the largest sprite's reach from its centre, in pixels
    window = min(size, math.ceil(2 * radius + 3))  # covers centre +- (radius + 1) from a rounded origin
    fine = window * k
    sub = (torch.arange(fine, dtype=torch.float32) + 0.5) / k  # sub-pixel centres in window pixels, (fine,)
    ramp = 1.0 / (size * k)  # the anti-aliasing ramp is one sub-pixel wide (image units)
    offsets = torch.arange(window)
    out = torch.zeros(n, 1, size, size, dtype=torch.uint8)
    for start in range(0, n, chunk):
        v = values[start:start + chunk]
        b = len(v)
        shape, scale, theta = factors[start:start + chunk, 0], v[:, 1], v[:, 2]
        cx = MARGIN + v[:, 3] * (1.0 - 2.0 * MARGIN)  # sprite centre, image units (x right, y down)
        cy = MARGIN + v[:, 4] * (1.0 - 2.0 * MARGIN)
        ox = torch.round(cx * size - window / 2).clamp(0, size - window).long()  # window origin, pixels
        oy = torch.round(cy * size - window / 2).clamp(0, size - window).long()
        xs = (ox.view(b, 1) + sub.view(1, fine)) / size  # sample points, image units, (B, fine)
        ys = (oy.view(b, 1) + sub.view(1, fine)) / size
        half = (HALF_SIZE * scale).view(b, 1, 1)
        # Offsets from the sprite centre with y up: (B, 1, fine) and (B, fine, 1).
        dx = xs.view(b, 1, fine) - cx.view(b, 1, 1)
        dy = cy.view(b, 1, 1) - ys.view(b, fine, 1)
        cos, sin = torch.cos(theta).view(b, 1, 1), torch.sin(theta).view(b, 1, 1)
        # Rotate the sample points by -theta (the sprite by +theta, counter-clockwise on screen).
        px = (cos * dx + sin * dy) / half  # (B, fine, fine)
        py = (cos * dy - sin * dx) / half
        d = torch.empty(b, fine, fine)
        for s, sdf in enumerate(_SDFS):
            pick = shape == s
            if bool(pick.all()):
                d = sdf(px, py) * half  # back to image units
            elif bool(pick.any()):
                d[pick] = sdf(px[pick], py[pick]) * half[pick]
        coverage = (0.5 - d / ramp).clamp_(0.0, 1.0)  # (B, fine, fine)
        if k > 1:
            coverage = torch.nn.functional.avg_pool2d(coverage.unsqueeze(1), k).squeeze(1)  # (B, W, W)
        rows = oy.view(b, 1, 1) + offsets.view(1, window, 1)
        cols = ox.view(b, 1, 1) + offsets.view(1, 1, window)
        batch = torch.arange(start, start + b).view(b, 1, 1)
        out[batch, 0, rows, cols] = coverage.mul_(255.0).round_().to(torch.uint8)
    return out


def check_size(size: int) -> int:
    if not isinstance(size, int) or isinstance(size, bool) or not MIN_SIZE <= size <= MAX_SIZE:
        raise DataError(f"shapes size must be an integer from {MIN_SIZE} to {MAX_SIZE}, got {size!r}; "
                        f"pass e.g. size=32 (data.size=32 on the command line)")
    return size


def shapes_data(factors: Tensor, *, size: int = 32, name: str = "shapes", supersample: int = 2) -> ArrayData:
    """An ``ArrayData`` of the sprites with these factor indices: labels = shape, factors = indices."""
    factors = check_factors(factors)
    x = render_shapes(factors, size=size, supersample=supersample)
    return ArrayData(name, x, factors[:, 0].clone(), factors, FACTOR_NAMES, SHAPE_NAMES,
                     description=f"dSprites-like sprites {size}x{size}, factors {', '.join(FACTOR_NAMES)}",
                     factor_sizes=FACTOR_SIZES)


def load_shapes(
    n: int = 20000,
    n_test: int = 2000,
    size: int = 32,
    seed: int = 0,
    factor_weights: Mapping[str, Sequence[float]] | None = None,
) -> DataSplits:
    """A seeded random subset of the 737,280 combinations: ``n`` train and ``n_test`` test images.

    Without ``factor_weights`` train and test are distinct combinations drawn uniformly without
    replacement. With them, the train factors are drawn independently from those weights (with
    replacement; see ``sample_factors``) and the test split stays uniform, the setting of a
    debiasing experiment.
    """
    check_size(size)
    if n < 1 or n_test < 0:
        raise DataError(f"shapes needs n >= 1 and n_test >= 0, got n={n}, n_test={n_test}")
    g = torch.Generator().manual_seed(seed)
    train_factors, test_factors = GRID.split(n, n_test, generator=g, weights=factor_weights)
    options = {"n": n, "n_test": n_test, "size": size, "seed": seed, "factor_weights": factor_weights}
    return DataSplits(shapes_data(train_factors, size=size), shapes_data(test_factors, size=size),
                      "shapes", options)
