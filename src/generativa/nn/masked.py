"""Masked convolutions for autoregressive image models (van den Oord, Kalchbrenner & Kavukcuoglu 2016,
arXiv:1601.06759, section 3.4; van den Oord et al. 2016b, arXiv:1606.05328, section 2.2).

Order: pixels in raster order (row by row, left to right), and inside a pixel the colour channels in
order (R before G before B) [PixelRNN, section 2.1]. A k x k convolution keeps only the weights that
look at pixels before the centre; at the centre itself the channels are split into ``colors`` groups
(the first third of the feature maps belongs to R, the next to G, ...) and

* mask A (the first layer, which sees the image): group g_out sees input groups g_in < g_out, so an
  output never sees its own value;
* mask B (every later layer): g_in <= g_out, a feature of group g may use the group-g features
  computed at the same pixel (which themselves never saw the value of channel g).

The weights that are always masked (the rows below the centre) are not stored: a ``square`` kernel
is kept as its (k//2 + 1) x k upper part and padded on the top, left and right only; a ``row`` kernel
(the horizontal stack of Gated PixelCNN) is 1 x (k//2 + 1), the centre and the pixels to its left.

``window`` computes the output at one position from the input window around it (the incremental
sampler's per-pixel work); ``forward`` is the usual convolution over the whole image.
"""

from __future__ import annotations

from typing import Literal

import torch
from torch import Tensor, nn
from torch.nn import functional as F

MaskType = Literal["A", "B"]
Region = Literal["square", "row"]


def channel_groups(channels: int, colors: int) -> Tensor:
    """The colour group of each of ``channels`` feature maps: contiguous blocks, (channels,) int64.

    With ``channels == colors`` (the image itself) channel c is group c."""
    if colors < 1 or channels % colors:
        raise ValueError(f"{channels} feature maps cannot be split into {colors} colour groups; "
                         f"use a multiple of {colors} (filters=...)")
    return torch.arange(channels, device="cpu") * colors // channels


def causal_mask(out_groups: Tensor, in_groups: Tensor, kernel: tuple[int, int], centre: tuple[int, int],
                mask_type: MaskType) -> Tensor:
    """(out, in, kh, kw) of 0/1: 1 before the centre in raster order, the channel rule at the centre."""
    if mask_type not in ("A", "B"):
        raise ValueError(f"mask_type must be 'A' (first layer) or 'B' (later layers), got {mask_type!r}")
    kh, kw = kernel
    rows = torch.arange(kh, device="cpu")[:, None]
    cols = torch.arange(kw, device="cpu")[None, :]
    before = (rows < centre[0]) | ((rows == centre[0]) & (cols < centre[1]))   # (kh, kw)
    at = (rows == centre[0]) & (cols == centre[1])
    if mask_type == "A":
        allowed = in_groups[None, :] < out_groups[:, None]                    # (out, in)
    else:
        allowed = in_groups[None, :] <= out_groups[:, None]
    mask = before[None, None] | (at[None, None] & allowed[:, :, None, None])
    return mask.float()


class MaskedConv2d(nn.Module):
    """A causal k x k (``square``) or 1 x k (``row``) convolution; output (B, out, H, W) at every pixel.

    in_groups / out_groups: colour group of each channel (default: ``channel_groups(n, colors)``)."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int, mask_type: MaskType, *,
                 colors: int = 1, region: Region = "square", in_groups: Tensor | None = None,
                 out_groups: Tensor | None = None, bias: bool = True):
        super().__init__()
        if kernel_size < 1 or kernel_size % 2 == 0:
            raise ValueError(f"kernel_size must be odd and >= 1, got {kernel_size}")
        if region not in ("square", "row"):
            raise ValueError(f"region must be 'square' or 'row', got {region!r}")
        p = kernel_size // 2
        self.p = p
        self.region = region
        self.kernel = (p + 1, kernel_size) if region == "square" else (1, p + 1)
        self.centre = (p, p) if region == "square" else (0, p)
        # (left, right, top, bottom) so that the output keeps the input's size
        self.padding = (p, p, p, 0) if region == "square" else (p, 0, 0, 0)
        in_groups = channel_groups(in_channels, colors) if in_groups is None else in_groups.cpu()
        out_groups = channel_groups(out_channels, colors) if out_groups is None else out_groups.cpu()
        if in_groups.numel() != in_channels or out_groups.numel() != out_channels:
            raise ValueError("in_groups / out_groups need one group per channel")
        self.weight = nn.Parameter(torch.empty(out_channels, in_channels, *self.kernel))
        self.bias = nn.Parameter(torch.zeros(out_channels)) if bias else None
        self.register_buffer("mask", causal_mask(out_groups, in_groups, self.kernel, self.centre, mask_type))
        fan_in = max(int(self.mask.sum(dim=(1, 2, 3)).max()), 1)          # the weights actually used
        nn.init.normal_(self.weight, std=(1.0 / fan_in) ** 0.5)

    def masked_weight(self) -> Tensor:
        return self.weight * self.mask

    def forward(self, x: Tensor) -> Tensor:
        return F.conv2d(F.pad(x, self.padding), self.masked_weight(), self.bias)

    def window(self, x: Tensor) -> Tensor:
        """The output at one position from its input window (B, in, kh, kw) -> (B, out)."""
        return F.conv2d(x, self.masked_weight(), self.bias).flatten(1)


def shift_down(x: Tensor) -> Tensor:
    """Move (B, C, H, W) one row down, zeros in row 0: row i then holds what row i - 1 held."""
    return F.pad(x, (0, 0, 1, 0))[:, :, :-1]
