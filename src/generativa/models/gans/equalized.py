"""Layers of the progressive and the style-based GANs (Karras et al. 2018, arXiv:1710.10196; 2019,
arXiv:1812.04948; 2020, arXiv:1912.04958), and the discriminator they share.

* Equalised learning rate [Karras et al. 2018, Sec. 4.1]: weights are stored as w ~ N(0, 1) and
  scaled at every forward pass by c = gain / sqrt(fan_in), the constant of He et al. (2015)'s
  initialisation. The effective weights c w therefore start at the He scale (std sqrt(2 / fan_in)
  for gain sqrt(2)), and an adaptive optimiser, which normalises each parameter's step, moves every
  layer at the same speed relative to its scale.
* Pixel normalisation [Sec. 4.2]: each pixel's feature vector divided by its root mean square.
* Minibatch standard deviation [Sec. 3]: the standard deviation of every feature over a group of
  examples, averaged to one number per group and appended as a constant feature map, so the
  discriminator sees the variety of a batch.
* ``ProgressiveDiscriminator``: the discriminator of Karras et al. 2018 (Table 2), scaled down:
  per resolution a 1x1 "fromRGB", two 3x3 convolutions and a 2x2 average pool; at the lowest
  resolution the minibatch standard deviation, a 3x3 convolution and two dense layers. It evaluates
  the first ``stage + 1`` resolutions, fading the newest one in with alpha [Sec. 2, Fig. 2]; the
  style-based generator's discriminator is the same network at its last stage (alpha = 1).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from generativa.models.gans.networks import dcgan_levels

LEAKY_SLOPE = 0.2  # [Karras et al. 2018, Sec. A.1]
HE_GAIN = math.sqrt(2.0)  # He et al. 2015 for (leaky) ReLU layers


def resolutions(size: int) -> tuple[int, ...]:
    """The resolutions a growing network passes through, lowest first: halve ``size`` while the result
    stays an integer of at least 4 (28 -> 7, 14, 28; 32 -> 4, 8, 16, 32; 8 -> 4, 8)."""
    s0, n_up = dcgan_levels(size)
    return tuple(s0 * 2**k for k in range(n_up + 1))


def stage_widths(widths: tuple[int, ...], n_stages: int, owner: str) -> tuple[int, ...]:
    """Channels per stage, lowest resolution first, from ``widths`` given full resolution first."""
    if len(widths) < n_stages:
        raise ValueError(f"{owner}: widths={tuple(widths)} names {len(widths)} resolutions but the images need "
                         f"{n_stages} (full resolution first); give {n_stages} widths")
    return tuple(reversed(tuple(widths)[:n_stages]))


class EqualizedLinear(nn.Module):
    """y = x (c W)^T + b with W ~ N(0, 1) and c = gain / sqrt(fan_in) [Karras et al. 2018, Sec. 4.1]."""

    def __init__(self, in_features: int, out_features: int, *, gain: float = HE_GAIN, bias_init: float = 0.0):
        super().__init__()
        self.weight = nn.Parameter(torch.randn(out_features, in_features))
        self.bias = nn.Parameter(torch.full((out_features,), float(bias_init)))
        self.scale = gain / math.sqrt(in_features)

    def effective_weight(self) -> Tensor:
        return self.weight * self.scale

    def forward(self, x: Tensor) -> Tensor:
        return F.linear(x, self.effective_weight(), self.bias)


class EqualizedConv2d(nn.Module):
    """A stride-1, same-padded convolution with the equalised learning rate (c = gain / sqrt(C_in k^2))."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int, *, gain: float = HE_GAIN,
                 bias: bool = True):
        super().__init__()
        self.weight = nn.Parameter(torch.randn(out_channels, in_channels, kernel_size, kernel_size))
        self.bias = nn.Parameter(torch.zeros(out_channels)) if bias else None
        self.scale = gain / math.sqrt(in_channels * kernel_size * kernel_size)
        self.padding = kernel_size // 2

    def effective_weight(self) -> Tensor:
        return self.weight * self.scale

    def forward(self, x: Tensor) -> Tensor:
        return F.conv2d(x, self.effective_weight(), self.bias, padding=self.padding)


def pixel_norm(x: Tensor, eps: float = 1e-8) -> Tensor:
    """x / sqrt(mean over features of x^2 + eps), per pixel (or per vector) [Karras et al. 2018, eq. in Sec. 4.2]."""
    return x * torch.rsqrt(x.pow(2).mean(dim=1, keepdim=True) + eps)


def minibatch_stddev(x: Tensor, group_size: int = 4) -> Tensor:
    """Append one feature map: the standard deviation of each feature and pixel over a group of examples,
    averaged over features and pixels [Karras et al. 2018, Sec. 3]. (B, C, H, W) -> (B, C + 1, H, W).

    Groups are ``group_size`` consecutive examples (the largest divisor of B that is at most
    ``group_size``), so the output of one example depends only on its group."""
    B, C, H, W = x.shape
    g = max(d for d in range(1, min(group_size, B) + 1) if B % d == 0)
    y = x.float().reshape(B // g, g, C, H, W)
    y = (y.var(dim=1, unbiased=False) + 1e-8).sqrt().mean(dim=(1, 2, 3))   # (B / g,)
    y = y.repeat_interleave(g).to(x.dtype).view(B, 1, 1, 1).expand(B, 1, H, W)
    return torch.cat([x, y], dim=1)


def upsample(x: Tensor, factor: int = 2) -> Tensor:
    """Nearest-neighbour upsampling (each pixel repeated factor x factor times)."""
    return x if factor == 1 else F.interpolate(x, scale_factor=factor, mode="nearest")


def downsample(x: Tensor, factor: int = 2) -> Tensor:
    """Average pooling by ``factor`` (the inverse of ``upsample`` on a constant block)."""
    while factor > 1:
        x, factor = F.avg_pool2d(x, 2), factor // 2
    return x


def fade(old: Tensor, new: Tensor, alpha: float) -> Tensor:
    """(1 - alpha) old + alpha new [Karras et al. 2018, Fig. 2]: exactly ``old`` at alpha = 0 (0 * new
    adds nothing) and exactly ``new`` at alpha = 1."""
    return (1.0 - alpha) * old + alpha * new


def lrelu(x: Tensor) -> Tensor:
    return F.leaky_relu(x, LEAKY_SLOPE)


class _DownBlock(nn.Module):
    """conv 3x3 -> lrelu -> conv 3x3 -> lrelu -> 2x2 average pool: resolution s to s / 2."""

    def __init__(self, c_in: int, c_out: int):
        super().__init__()
        self.conv1 = EqualizedConv2d(c_in, c_in, 3)
        self.conv2 = EqualizedConv2d(c_in, c_out, 3)

    def forward(self, h: Tensor) -> Tensor:
        return downsample(lrelu(self.conv2(lrelu(self.conv1(h)))))


class _OutputBlock(nn.Module):
    """Minibatch stddev -> conv 3x3 -> lrelu -> dense -> lrelu -> dense to one critic value [Table 2]."""

    def __init__(self, channels: int, size: int, group_size: int):
        super().__init__()
        self.group_size = group_size
        self.conv = EqualizedConv2d(channels + 1, channels, 3)
        self.dense = EqualizedLinear(channels * size * size, channels)
        self.out = EqualizedLinear(channels, 1, gain=1.0)

    def forward(self, h: Tensor) -> Tensor:
        h = lrelu(self.conv(minibatch_stddev(h, self.group_size)))
        return self.out(lrelu(self.dense(h.flatten(1)))).squeeze(1)   # (B,)


class ProgressiveDiscriminator(nn.Module):
    """D(x, stage, alpha) -> (B,) for images at ``sizes[stage]`` pixels, ``channels`` channels.

    sizes: resolutions lowest first; widths: channels per resolution, lowest first."""

    def __init__(self, channels: int, sizes: tuple[int, ...], widths: tuple[int, ...], *, group_size: int = 4):
        super().__init__()
        self.sizes = tuple(sizes)
        self.from_rgb = nn.ModuleList(EqualizedConv2d(channels, w, 1) for w in widths)
        self.blocks = nn.ModuleList(
            [_OutputBlock(widths[0], sizes[0], group_size)]
            + [_DownBlock(widths[k], widths[k - 1]) for k in range(1, len(sizes))])

    def forward(self, x: Tensor, stage: int | None = None, alpha: float = 1.0) -> Tensor:
        stage = len(self.sizes) - 1 if stage is None else stage
        if x.shape[-1] != self.sizes[stage]:
            raise ValueError(f"the discriminator at stage {stage} takes {self.sizes[stage]}x{self.sizes[stage]} "
                             f"images, got {x.shape[-2]}x{x.shape[-1]}")
        h = lrelu(self.from_rgb[stage](x))
        if stage > 0:
            h = self.blocks[stage](h)
            if alpha < 1.0:  # the new block fades in over the previous resolution's input path
                h = fade(lrelu(self.from_rgb[stage - 1](downsample(x))), h, alpha)
            for k in range(stage - 1, 0, -1):
                h = self.blocks[k](h)
        return self.blocks[0](h)
