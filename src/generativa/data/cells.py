"""``cells``: procedural microscope-like images of touching cells, for segmentation.

After the ISBI 2012 electron-microscopy and the light-microscopy cell images U-Net was shown on
(Ronneberger, Fischer & Brox 2015, arXiv:1505.04597, sec. 4): light cells with dark membranes,
of varied sizes and shapes, many of them touching, on an unevenly lit, noisy background.

Each image is drawn from its own seeded stream, as a pure function of (seed, index, size, options):

* cells: ``density`` cells on average (Poisson) in a 64x64 image, each a star-shaped blob
  r(theta) = r0 * (1 + e cos 2(theta - phi) + a cos 3(theta - psi)) (an ellipse-like outline with a
  wobble), r0 from 4.5 to 9 pixels at 64x64; a larger image is a wider field of somewhat larger
  cells: radii grow with sqrt(size / 64) and the count with size / 64, so the share of the image
  the cells cover stays the same (a 256x256 image: 56 cells of radius 9 to 18 on average);
* touching: with probability ``touching`` a new cell is placed against an earlier one (its centre at
  0.75-0.95 of the two radii from it, so the two overlap and share an edge); otherwise where it
  touches nothing, when such a place is found in 20 tries;
* where cells overlap, a pixel belongs to the cell it is deepest in (smallest r / r(theta)), so
  touching cells meet along one curve, as in a power diagram;
* rendering: background ~0.3 with texture; cell interiors ~0.55-0.8 with texture and a darker
  nucleus; membranes (the border pixels below) dark; a Gaussian blur of 0.7 pixels (at 64x64, growing
  with the radii),
  uneven illumination (a random plane and bump, +-25%) and Gaussian noise (sigma 0.04).

Masks (``ArrayData.masks``, uint8 (N, 1, H, W)) are the **instance masks**: 0 background, 1..K the
cells (K <= 255). The **semantic mask** is a function of them, ``semantic_from_instances``:
0 background, 1 cell, 2 border (a cell pixel with a 4-neighbour outside its cell: another cell or
the background), so it never disagrees with the instances. The rendered membranes are exactly
these border pixels.
"""

from __future__ import annotations

import math

import numpy as np
import torch
from torch import Tensor

from generativa.data.base import ArrayData, DataSplits
from generativa.data.errors import DataError
from generativa.nn.masks import BACKGROUND, BORDER, CELL, semantic_from_instances  # noqa: F401  (re-exported)

MIN_SIZE, MAX_SIZE = 32, 512
CLASS_NAMES: tuple[str, ...] = ("background", "cell", "border")
MAX_CELLS = 255  # instance ids are uint8


def touching_pairs(instances: np.ndarray | Tensor) -> set[tuple[int, int]]:
    """The pairs (i, j), i < j, of instances of one image (H, W) that touch: a pixel of i and a
    pixel of j are 4-neighbours."""
    m = np.asarray(instances.cpu() if isinstance(instances, Tensor) else instances).astype(np.int64)
    pairs: set[tuple[int, int]] = set()
    for a, b in ((m[1:, :], m[:-1, :]), (m[:, 1:], m[:, :-1])):
        sel = (a != b) & (a > 0) & (b > 0)
        lo, hi = np.minimum(a[sel], b[sel]), np.maximum(a[sel], b[sel])
        pairs.update(zip(lo.tolist(), hi.tolist()))
    return pairs


def _smooth_noise(rng: np.random.Generator, size: int, sigma: float) -> np.ndarray:
    from scipy.ndimage import gaussian_filter

    n = gaussian_filter(rng.standard_normal((size, size)), sigma, mode="wrap")
    return n / max(float(n.std()), 1e-8)


def render_cells(size: int, rng: np.random.Generator, *, density: float = 14.0,
                 touching: float = 0.5) -> tuple[np.ndarray, np.ndarray]:
    """One image: (grey uint8 (size, size), instance ids uint8 (size, size))."""
    from scipy.ndimage import gaussian_filter

    scale = math.sqrt(size / 64.0)  # cell radii grow with the square root of the side, the count with the side,
    count = min(MAX_CELLS, int(rng.poisson(density * scale * scale)))  # so the covered fraction stays the same
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float64)
    cells: list[tuple[float, float, float, float, float, float, float]] = []  # cy, cx, r0, e, phi, a, psi
    for _ in range(count):
        r0 = rng.uniform(4.5, 9.0) * scale
        shape = (rng.uniform(0.0, 0.25), rng.uniform(0, math.pi), rng.uniform(0.0, 0.08), rng.uniform(0, 2 * math.pi))
        if cells and rng.random() < touching:
            cy0, cx0, r1 = cells[int(rng.integers(len(cells)))][:3]
            angle = rng.uniform(0, 2 * math.pi)
            dist = (r0 + r1) * rng.uniform(0.75, 0.95)
            cy, cx = cy0 + dist * math.sin(angle), cx0 + dist * math.cos(angle)
        else:
            for _try in range(20):
                cy, cx = rng.uniform(0, size), rng.uniform(0, size)
                if all(math.hypot(cy - c[0], cx - c[1]) > 1.15 * (r0 + c[2]) for c in cells):
                    break
        cells.append((cy, cx, r0, *shape))
    depth = np.full((size, size), np.inf)  # r / r(theta) of the cell a pixel belongs to
    ids = np.zeros((size, size), np.int64)
    for k, (cy, cx, r0, e, phi, a, psi) in enumerate(cells, start=1):
        dy, dx = yy - cy, xx - cx
        theta = np.arctan2(dy, dx)
        outline = r0 * (1 + e * np.cos(2 * (theta - phi)) + a * np.cos(3 * (theta - psi)))
        q = np.hypot(dy, dx) / outline
        take = (q < 1.0) & (q < depth)
        depth[take], ids[take] = q[take], k
    # drop slivers (a cell almost covered by its neighbours) and number the rest 1..K
    areas = np.bincount(ids.ravel(), minlength=len(cells) + 1)
    keep = areas >= max(6, int(10 * scale * scale))
    keep[0] = False
    new_id = np.zeros(len(cells) + 1, np.int64)
    new_id[keep] = np.arange(1, int(keep.sum()) + 1)
    ids = new_id[ids]

    semantic = semantic_from_instances(torch.from_numpy(ids)).numpy()
    image = 0.3 + 0.05 * _smooth_noise(rng, size, 1.5 * scale)
    tone = np.concatenate([[0.0], rng.uniform(0.55, 0.8, int(keep.sum()))])
    texture = 0.04 * _smooth_noise(rng, size, 0.8 * scale)
    inside = ids > 0
    image[inside] = (tone[ids] + texture)[inside]
    for k, (cy, cx, r0, *_rest) in enumerate(cells, start=1):  # nuclei: darker, off-centre
        if not keep[k]:
            continue
        ny, nx = cy + rng.uniform(-0.25, 0.25) * r0, cx + rng.uniform(-0.25, 0.25) * r0
        nucleus = (np.hypot(yy - ny, xx - nx) < 0.35 * r0) & (ids == new_id[k])
        image[nucleus] -= 0.12
    image[semantic == BORDER] = 0.1 + 0.05 * rng.random(int((semantic == BORDER).sum()))
    image = gaussian_filter(image, 0.7 * scale)
    gy, gx = rng.uniform(-1, 1, 2)
    by, bx = rng.uniform(0, size, 2)
    light = gy * (yy / size - 0.5) + gx * (xx / size - 0.5) + np.exp(-((yy - by) ** 2 + (xx - bx) ** 2) / (2 * (0.4 * size) ** 2))
    light = 1.0 + 0.25 * (light - light.mean()) / max(float(np.abs(light - light.mean()).max()), 1e-8)
    image = image * light + 0.04 * rng.standard_normal((size, size))
    return (np.clip(image, 0, 1) * 255 + 0.5).astype(np.uint8), ids.astype(np.uint8)


def cells_data(count: int, *, size: int, seed: int, offset: int, density: float, touching: float,
               name: str = "cells") -> ArrayData:
    """``count`` images, image i drawn from the stream (seed, offset + i)."""
    x = np.zeros((count, 1, size, size), np.uint8)
    masks = np.zeros((count, 1, size, size), np.uint8)
    for i in range(count):
        rng = np.random.default_rng([seed, offset + i])
        x[i, 0], masks[i, 0] = render_cells(size, rng, density=density, touching=touching)
    desc = f"cells {size}x{size} (density {density:g} per 64x64, touching {touching:g}), instance masks"
    return ArrayData(name, torch.from_numpy(x), masks=torch.from_numpy(masks), description=desc)


def load_cells(n: int = 2000, n_test: int = 200, size: int = 64, seed: int = 0, density: float = 14.0,
               touching: float = 0.5) -> DataSplits:
    """``n`` training and ``n_test`` test images (disjoint streams) with their instance masks."""
    if not MIN_SIZE <= size <= MAX_SIZE:
        raise DataError(f"cells: size={size} is outside {MIN_SIZE}..{MAX_SIZE}; pass data.size=64 (or up to 512)")
    if n < 1 or n_test < 0:
        raise DataError(f"cells needs n >= 1 and n_test >= 0, got n={n}, n_test={n_test}")
    if density <= 0 or not 0 <= touching <= 1:
        raise DataError(f"cells needs density > 0 and touching in [0, 1], got density={density}, touching={touching}")
    common = dict(size=size, seed=seed, density=density, touching=touching)
    train = cells_data(n, offset=0, **common)
    test = cells_data(n_test, offset=1 << 30, **common)
    options = {"n": n, "n_test": n_test, **common}
    return DataSplits(train, test, "cells", options)
