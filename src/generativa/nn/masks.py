"""Label maps: the semantic classes of an instance mask, one definition for the ``cells`` data, the
U-Net's training targets and the segmentation metrics.

instances: (..., H, W) integer ids, 0 = background. Semantic classes: 0 background, 1 cell, 2 border,
a cell pixel whose up, down, left or right neighbour has another id (the image edge does not count).
"""

from __future__ import annotations

import torch
from torch import Tensor

BACKGROUND, CELL, BORDER = 0, 1, 2


def semantic_from_instances(instances: Tensor) -> Tensor:
    """Instance ids (..., H, W) -> classes (..., H, W) uint8: 0 background, 1 cell, 2 border."""
    m = instances.long()
    border = torch.zeros_like(m, dtype=torch.bool)
    border[..., 1:, :] |= m[..., 1:, :] != m[..., :-1, :]
    border[..., :-1, :] |= m[..., :-1, :] != m[..., 1:, :]
    border[..., :, 1:] |= m[..., :, 1:] != m[..., :, :-1]
    border[..., :, :-1] |= m[..., :, :-1] != m[..., :, 1:]
    inside = m > 0
    out = inside.to(torch.uint8) * CELL
    out[inside & border] = BORDER
    return out
