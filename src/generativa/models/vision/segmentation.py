"""What U-Net's training adds to a segmentation network (Ronneberger, Fischer & Brox 2015,
arXiv:1505.04597): the weight map of the loss, the joint augmentation of image and masks, and
instances from a predicted semantic mask.

* Weight map [sec. 3, eq. 2]: w(x) = w_c(x) + w_0 exp(-(d_1(x) + d_2(x))^2 / (2 sigma^2)), with
  w_c the class-balancing weight of x's class, d_1 and d_2 the distances from x to the nearest and the
  second-nearest cell (0 inside a cell for that cell), from the instance mask. The paper uses
  w_0 = 10 and sigma ~ 5 pixels. Computed on the CPU with SciPy's exact Euclidean distance transform.
* Augmentation [sec. 3.1]: random displacement vectors on a coarse g x g grid (the paper: 3 x 3,
  standard deviation 10 pixels), interpolated smoothly (bicubic) to a per-pixel field; the image is read
  back bilinearly, the masks by nearest neighbour, the weight map bilinearly, all with one field, so
  they stay aligned. Plus random flips and rotations by multiples of 90 degrees.
* Targets: from instance ids, the semantic classes 0 background, 1 cell, 2 border (a cell pixel with a
  4-neighbour of another id), the same definition as the ``cells`` dataset's
  (``nn.masks.semantic_from_instances``, the one definition).
* Instances: the connected components (4-connectivity) of the pixels predicted ``cell``, each then
  grown by up to ``grow`` pixels into the pixels predicted ``border`` next to it, so a predicted
  instance covers its own border ring as the ground-truth instances do.

Shapes: instances (H, W) integer ids (0 = background); semantic (H, W) class indices.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

from generativa.nn.masks import BACKGROUND, BORDER, CELL, semantic_from_instances  # noqa: F401  (re-exported)


def class_balance(semantic: np.ndarray, classes: int) -> np.ndarray:
    """w_c(x) for one image: each present class weighted by 1 / (C' * its pixel frequency), C' the
    number of classes present, so the weights average to 1 over the image and every present class
    carries the same total weight [Ronneberger et al. 2015, sec. 3: 'to balance the class frequencies']."""
    counts = np.bincount(semantic.ravel().astype(np.int64), minlength=classes).astype(np.float64)
    present = counts > 0
    w = np.zeros(classes)
    w[present] = semantic.size / (present.sum() * counts[present])
    return w[semantic.astype(np.int64)]


def border_term(instances: np.ndarray, w0: float, sigma: float) -> np.ndarray:
    """w_0 exp(-(d_1 + d_2)^2 / (2 sigma^2)) per pixel; 0 where the image has fewer than two cells."""
    from scipy.ndimage import distance_transform_edt

    ids = [int(i) for i in np.unique(instances) if i != 0]
    if len(ids) < 2 or w0 == 0:
        return np.zeros(instances.shape)
    d = np.stack([distance_transform_edt(instances != k) for k in ids])  # (K, H, W): distance to cell k
    d.partition(1, axis=0)  # d[0] <= d[1] <= the rest, per pixel
    return w0 * np.exp(-((d[0] + d[1]) ** 2) / (2 * sigma**2))


def weight_map(semantic: np.ndarray, instances: np.ndarray | None, *, classes: int, w0: float, sigma: float,
               balance: bool = True) -> np.ndarray:
    """The paper's weight map for one image (float32 (H, W)); ``instances`` None leaves out the
    border term (masks that are classes only), ``balance`` False puts w_c = 1."""
    w = class_balance(semantic, classes) if balance else np.ones(semantic.shape)
    if instances is not None:
        w = w + border_term(instances, w0, sigma)
    return w.astype(np.float32)


# -- augmentation ----------------------------------------------------------------------------------
def coarse_elastic_field(batch: int, height: int, width: int, std: float, grid: int = 3, *,
                         generator: torch.Generator | None = None) -> Tensor:
    """Displacements in pixels (B, 2, H, W) (dy, dx): N(0, std^2) on a grid x grid lattice over the
    image, bicubic in between [Ronneberger et al. 2015, sec. 3.1]."""
    coarse = torch.randn(batch, 2, grid, grid, generator=generator) * std
    return F.interpolate(coarse, size=(height, width), mode="bicubic", align_corners=True)


def warp(x: Tensor, field: Tensor, mode: str = "bilinear") -> Tensor:
    """Read x (B, C, H, W) at (y + dy, x + dx); outside the image the values are mirrored, so the
    border is never filled with a constant (mode: bilinear for images and weights, nearest for masks)."""
    B, _, H, W = x.shape
    ys = torch.arange(H, dtype=torch.float32, device=x.device).view(1, H, 1)
    xs = torch.arange(W, dtype=torch.float32, device=x.device).view(1, 1, W)
    sy, sx = ys + field[:, 0].to(x.device), xs + field[:, 1].to(x.device)
    grid = torch.stack((2 * sx / max(W - 1, 1) - 1, 2 * sy / max(H - 1, 1) - 1), dim=-1)
    out = F.grid_sample(x.float(), grid, mode=mode, padding_mode="reflection", align_corners=True)
    return out.to(x.dtype)


def augment_jointly(x: Tensor, masks: list[Tensor], weights: Tensor | None, *, elastic_std: float,
                    elastic_grid: int, flip: bool, rotate: bool,
                    generator: torch.Generator | None = None) -> tuple[Tensor, list[Tensor], Tensor | None]:
    """The same random flips, rotations and elastic deformation of images x (B, C, H, W), integer masks
    (B, H, W) (nearest neighbour) and weight maps (B, H, W) (bilinear). Square images for rotations."""
    B, _, H, W = x.shape
    draws = torch.rand(B, 3, generator=generator)  # flip left-right, flip up-down, quarter turns
    field = coarse_elastic_field(B, H, W, elastic_std, elastic_grid, generator=generator) if elastic_std > 0 else None

    def geometric(t: Tensor) -> Tensor:  # (B, C, H, W)
        if flip:
            t = torch.where(draws[:, 0].view(B, 1, 1, 1).to(t.device) < 0.5, t.flip(-1), t)
            t = torch.where(draws[:, 1].view(B, 1, 1, 1).to(t.device) < 0.5, t.flip(-2), t)
        if rotate and H == W:
            turns = (draws[:, 2] * 4).long().clamp(max=3)
            t = torch.stack([torch.rot90(t[i], int(turns[i]), dims=(-2, -1)) for i in range(B)])
        return t

    x = geometric(x)
    masks = [geometric(m[:, None])[:, 0] for m in masks]
    weights = None if weights is None else geometric(weights[:, None])[:, 0]
    if field is not None:
        x = warp(x, field).clamp(0.0, 1.0)
        masks = [warp(m[:, None].float(), field, mode="nearest")[:, 0].round().to(m.dtype) for m in masks]
        if weights is not None:
            weights = warp(weights[:, None], field)[:, 0]
    return x, masks, weights


# -- instances ------------------------------------------------------------------------------------
def instances_from_semantic(semantic: np.ndarray | Tensor, *, cell: int = 1, border: int = 2,
                            grow: int = 2) -> np.ndarray:
    """Instance ids (H, W) int32 from a semantic mask: components of ``cell`` pixels, grown into
    neighbouring ``border`` pixels by up to ``grow`` steps."""
    from scipy.ndimage import grey_dilation, label

    s = np.asarray(semantic.cpu() if isinstance(semantic, Tensor) else semantic)
    ids, _ = label(s == cell)  # 4-connectivity (SciPy's default structure)
    free = s == border
    for _ in range(grow):
        grown = grey_dilation(ids, footprint=np.array([[0, 1, 0], [1, 1, 1], [0, 1, 0]], bool))
        take = free & (ids == 0) & (grown > 0)
        if not take.any():
            break
        ids[take] = grown[take]
    return ids.astype(np.int32)
