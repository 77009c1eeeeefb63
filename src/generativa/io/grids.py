"""Image grids as tensors and PNG files (Pillow only)."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from torch import Tensor


def make_grid(x: Tensor, nrow: int | None = None, padding: int = 1, pad_value: float = 1.0) -> Tensor:
    """(B, C, H, W) in [0, 1] -> one (C, H', W') image, ``nrow`` images per row."""
    if x.dim() != 4:
        raise ValueError(f"make_grid expects (B, C, H, W) images, got shape {tuple(x.shape)}")
    x = x.detach().float().cpu().clamp(0, 1)
    B, C, H, W = x.shape
    nrow = nrow or max(1, int(math.ceil(math.sqrt(B))))
    rows = int(math.ceil(B / nrow))
    grid = torch.full((C, rows * (H + padding) + padding, nrow * (W + padding) + padding), pad_value)
    for i in range(B):
        r, c = divmod(i, nrow)
        top, left = padding + r * (H + padding), padding + c * (W + padding)
        grid[:, top:top + H, left:left + W] = x[i]
    return grid


def to_pil(image: Tensor, scale: int = 1) -> Image.Image:
    """(C, H, W) in [0, 1] -> a PIL image, enlarged ``scale`` times with nearest neighbours."""
    arr = (image.detach().float().cpu().clamp(0, 1) * 255.0).round().to(torch.uint8)
    arr = arr.permute(1, 2, 0).numpy()
    pil = Image.fromarray(arr[:, :, 0] if arr.shape[2] == 1 else np.ascontiguousarray(arr),
                          mode="L" if arr.shape[2] == 1 else "RGB")
    if scale > 1:
        pil = pil.resize((pil.width * scale, pil.height * scale), Image.NEAREST)
    return pil


def auto_scale(height: int) -> int:
    """Enlarge small images so an 8x8 grid is still readable (aim for cells of ~64 px)."""
    return max(1, 64 // max(height, 1))


def save_grid(x: Tensor, path: str | Path, nrow: int | None = None, scale: int | None = None, *,
              root: str | Path | None = None) -> Path:
    """A PNG grid of images (B, C, H, W) in [0, 1], written atomically (never through a link below ``root``)."""
    import io

    from generativa.io.atomic import write_bytes_atomic

    path = Path(path)
    scale = auto_scale(x.shape[-2]) if scale is None else scale
    buf = io.BytesIO()
    to_pil(make_grid(x, nrow), scale).save(buf, format="PNG")
    write_bytes_atomic(path, buf.getvalue(), root=root)
    return path
