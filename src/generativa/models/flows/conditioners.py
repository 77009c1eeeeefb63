"""The plain networks a coupling layer is handed (STYLE.md section 2: the network approximates, the
flow owns the probability), and the squeeze that trades resolution for channels.

* ``conv_conditioner``: 3x3 conv -> ReLU -> 1x1 conv -> ReLU -> 3x3 conv, the network of Glow's
  coupling layers (Kingma & Dhariwal 2018, arXiv:1807.03039, section 3.3); its last convolution is
  zero at initialisation, so the coupling starts as the identity.
* ``mlp_conditioner``: an MLP for vectors, last layer zero at initialisation.
* ``Squeeze``: (B, C, H, W) -> (B, 4C, H/2, W/2), each 2x2 block of pixels becomes 4 channels
  (Dinh et al. 2016, arXiv:1605.08803, section 3.6); a permutation, so log_det = 0.
"""

from __future__ import annotations

from torch import Tensor, nn

from generativa.models.flows.base import FlowLayer
from generativa.nn import MLP


def _zero(layer: nn.Module) -> nn.Module:
    nn.init.zeros_(layer.weight)
    if layer.bias is not None:
        nn.init.zeros_(layer.bias)
    return layer


def conv_conditioner(in_ch: int, out_ch: int, hidden: int) -> nn.Module:
    """(B, in_ch, H, W) -> (B, out_ch, H, W), zero at initialisation."""
    return nn.Sequential(
        nn.Conv2d(in_ch, hidden, 3, padding=1), nn.ReLU(),
        nn.Conv2d(hidden, hidden, 1), nn.ReLU(),
        _zero(nn.Conv2d(hidden, out_ch, 3, padding=1)),
    )


def mlp_conditioner(in_dim: int, out_dim: int, hidden: tuple[int, ...]) -> nn.Module:
    """(B, in_dim) -> (B, out_dim), zero at initialisation."""
    net = MLP(in_dim, hidden, out_dim)
    _zero(net.net[-2] if isinstance(net.net[-1], nn.Identity) else net.net[-1])
    return net


class Squeeze(FlowLayer):
    """Space to depth: forward (B, 4C, H/2, W/2) -> (B, C, H, W) is the *unsqueeze* (data side is the
    larger image); ``inverse`` squeezes. Sizes must be even."""

    def forward(self, z: Tensor) -> tuple[Tensor, Tensor]:
        b, c4, h, w = z.shape
        c = c4 // 4
        x = z.view(b, c, 2, 2, h, w).permute(0, 1, 4, 2, 5, 3).reshape(b, c, 2 * h, 2 * w)
        return x, z.new_zeros(b)

    def inverse(self, x: Tensor) -> tuple[Tensor, Tensor]:
        b, c, h, w = x.shape
        if h % 2 or w % 2:
            raise ValueError(f"squeezing needs even sizes, got {h}x{w}; pad or resize the images (data.size=...)")
        z = x.view(b, c, h // 2, 2, w // 2, 2).permute(0, 1, 3, 5, 2, 4).reshape(b, 4 * c, h // 2, w // 2)
        return z, x.new_zeros(b)
