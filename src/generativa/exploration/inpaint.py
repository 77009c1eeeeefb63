"""Inpainting: fill a masked region by iterated reconstruction (autoencoders) or by sampling the missing
values from the model (autoregressive models, which declare the ``completion`` trait).

mask m: (1, 1, H, W) bool, True where the pixel is missing. Starting from x_0 = the known pixels with
the hole filled by ``fill`` (0.5 grey by default), repeat

    x_{t+1} = m * reconstruct(x_t) + (1 - m) * x          (the known pixels stay clamped)

for ``iterations`` passes: each pass projects the image towards the autoencoder's manifold and puts
the known pixels back, so the hole converges to a fixed point consistent with what is known.

A model with the ``completion`` trait instead draws each missing value from its conditional given the
values before it in raster order (``model.complete(x, mask)``), in one pass; ``iterations`` is unused.

Masks are written ``rect:x,y,w,h`` (left column x, top row y, width, height in pixels) or read from
a PNG the size of the image (white = missing, black = known; grey levels above 127 count as white).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from torch import Tensor

from generativa.exploration.inputs import load_run, read_images, require


def parse_mask(spec: str, shape: tuple[int, ...]) -> Tensor:
    """``rect:x,y,w,h`` -> bool (1, 1, H, W), True inside the rectangle; an error when it does not fit."""
    H, W = shape[-2], shape[-1]
    kind, _, args = spec.partition(":")
    if kind.strip().lower() != "rect":
        raise ValueError(f"unknown mask {spec!r}: write rect:x,y,w,h (or pass --mask-file PNG)")
    try:
        x, y, w, h = (int(v) for v in args.split(","))
    except ValueError:
        raise ValueError(f"mask {spec!r}: expected four integers rect:x,y,w,h, for example rect:2,2,4,3") from None
    if w < 1 or h < 1 or x < 0 or y < 0 or x + w > W or y + h > H:
        raise ValueError(
            f"mask {spec!r} does not fit a {H}x{W} image: need 0 <= x, x + w <= {W}, 0 <= y, y + h <= {H}, w, h >= 1"
        )
    mask = torch.zeros(1, 1, H, W, dtype=torch.bool)
    mask[..., y:y + h, x:x + w] = True
    return mask


def read_mask(path: str | Path, shape: tuple[int, ...]) -> Tensor:
    """A PNG mask (white = missing) -> bool (1, 1, H, W); its size must equal the image's."""
    from generativa.data.images import decode_image, grey_from_rgb

    a, _ = decode_image(Path(path))
    if a.ndim == 3:
        a = grey_from_rgb(a)
    H, W = shape[-2], shape[-1]
    if a.shape != (H, W):
        raise ValueError(f"mask file {path} is {a.shape[0]}x{a.shape[1]} but the images are {H}x{W}; draw the mask at {H}x{W}")
    mask = torch.from_numpy(np.ascontiguousarray(a > 127))[None, None]
    if not mask.any():
        raise ValueError(f"mask file {path} marks no pixel as missing (white = missing)")
    return mask


def require_inpainting(model) -> None:
    """A model that completes images (autoregressive) or reconstructs them (autoencoders, VAEs)."""
    if model.capabilities.has("completion") and model.is_image_model:
        return
    require(model, "reconstruct", "inpaint")


@torch.no_grad()
def inpaint(model, x: Tensor, mask: Tensor, *, iterations: int = 50, fill: float = 0.5, return_path: bool = False,
            generator: torch.Generator | None = None, **condition):
    """Fill ``mask`` (True = missing, broadcast over x) by iterated reconstruction with known pixels clamped,
    or, for a model with the ``completion`` trait, by sampling the missing values (``generator``, ``condition``)."""
    require_inpainting(model)
    model.check_input(x)
    if model.capabilities.has("completion"):
        filled = model.complete(x, mask.to(x.device), generator=generator, **condition)
        return (filled, torch.stack([torch.where(mask.to(x.device).expand_as(x), torch.full_like(x, fill), x), filled])
                ) if return_path else filled
    if iterations < 1:
        raise ValueError(f"iterations must be >= 1, got {iterations}")
    m = mask.to(x.device).expand_as(x)
    x_t = torch.where(m, torch.full_like(x, fill), x)
    path = [x_t]
    for _ in range(iterations):
        x_t = torch.where(m, model.reconstruct(x_t), x)  # x_{t+1} = m * r(x_t) + (1 - m) * x
        if return_path:
            path.append(x_t)
    return (x_t, torch.stack(path)) if return_path else x_t


def inpaint_run(run: str | Path, *, mask: str | None = None, mask_file: str | Path | None = None,
                input: str | Path | None = None, out: str | Path | None = None, n: int = 8, iterations: int = 50,
                resize: bool = False) -> tuple[Path, dict]:
    """The ``inpaint`` verb: rows of original, masked input, filled; returns the grid path and MSE in the hole."""
    from generativa.io.grids import save_grid

    if (mask is None) == (mask_file is None):
        raise ValueError("pass exactly one of --mask rect:x,y,w,h and --mask-file PNG")
    model, rd = load_run(run)
    require_inpainting(model)
    m = parse_mask(mask, model.data_shape) if mask is not None else read_mask(mask_file, model.data_shape)
    condition = {}
    if input is None:
        test = rd.load_data().test
        x = test.images(slice(0, n))
        if test.labels is not None:  # a conditional model completes each test image as its own class
            condition = model.condition(labels=test.labels[:n])
    else:
        x = read_images(input, model.data_shape, resize=resize)
        condition = model.default_condition(len(x))
    filled = inpaint(model, x, m, iterations=iterations, generator=torch.Generator().manual_seed(0), **condition)
    shown = torch.where(m.expand_as(x), torch.full_like(x, 0.5), x)
    out = Path(out) if out is not None else rd.path / "inpaint" / "inpaint.png"
    k = min(len(x), 8)
    save_grid(torch.cat([x[:k], shown[:k], filled[:k]]), out, nrow=k)
    me = m.expand_as(x)
    numbers = {"hole_mse": float(((filled - x)[me] ** 2).mean()), "hole_mse_fill": float(((shown - x)[me] ** 2).mean()),
               "missing_pixels": int(m.sum())}
    return out, numbers
