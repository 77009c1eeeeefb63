"""Convolutional encoder and decoder backbones for any square image from 8x8 to 64x64.

The encoder is a DCGAN-style stack (Radford et al. 2015, arXiv:1511.06434): a convolution at full
resolution, then convolutions that halve the map until it is at most ``min_size`` pixels wide,
then flatten and one Linear. The decoder mirrors it: one Linear to the smallest map, then
blocks that upsample to each size of the encoder's sequence in reverse, so every image size
(including 28 and odd sizes such as 33) comes back exactly, then a last 3x3 convolution with no
activation (the model decides what the raw output means: logits, means, ...).

Sizes: ``conv_sizes(33) == [33, 17, 9, 5, 3]`` (ceil-halving), used by both; an 8x8 image with
three widths is halved twice (8 -> 4 -> 2), a 64x64 one four times (down to 4x4).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

from torch import Tensor, nn

from generativa.nn.layers import Activation, ConvBlock, Norm, Padding, check_choice

EncoderDown = Literal["stride", "maxpool", "avgpool"]
DecoderUp = Literal["transposed", "nearest", "bilinear"]


def conv_sizes(image_size: int, min_size: int = 4, min_steps: int = 0) -> list[int]:
    """Spatial sizes of a halving stack: ``[image_size, ceil(image_size/2), ...]``.

    Halves while the map is larger than ``min_size``, or fewer than ``min_steps`` halvings were made,
    never below 2x2. A stride-2 conv with an odd kernel and ``kernel_size // 2`` padding, and a 2x2
    pool with ``ceil_mode=True``, both map H to ceil(H/2), so this is the exact size sequence of
    ``ConvEncoder`` (which passes ``min_steps=len(widths) - 1``) and, reversed, of ``ConvDecoder``.

    conv_sizes(8) == [8, 4]; conv_sizes(8, min_steps=2) == [8, 4, 2]; conv_sizes(28) == [28, 14, 7, 4];
    conv_sizes(33) == [33, 17, 9, 5, 3]; conv_sizes(64) == [64, 32, 16, 8, 4].
    """
    if image_size < 1 or min_size < 1 or min_steps < 0:
        raise ValueError(
            f"need image_size >= 1, min_size >= 1, min_steps >= 0; got {image_size}, {min_size}, {min_steps}"
        )
    sizes = [image_size]
    while (sizes[-1] > min_size or len(sizes) - 1 < min_steps) and -(-sizes[-1] // 2) >= 2:
        sizes.append(-(-sizes[-1] // 2))
    return sizes


def _stage_widths(widths: Sequence[int], stages: int) -> list[int]:
    """One width per stage: ``widths`` in order, the last repeated when there are more stages."""
    if not widths:
        raise ValueError("widths must name at least one channel count")
    return [widths[min(i, len(widths) - 1)] for i in range(stages)]


def _check_padding(padding: str) -> None:
    check_choice("padding", padding, Padding)
    if padding == "none":
        raise ValueError("the encoder/decoder need size-preserving padding: 'zeros', 'circular' or 'reflect'")


class ConvEncoder(nn.Module):
    """(B, in_channels, S, S) -> (B, out_features).

    Stages: block 0 maps in_channels -> widths[0] at S x S; each next block halves the map, at least
    once per extra width (never below 2x2) and until the map is <= ``min_size``; when the image
    needs more halvings than there are widths the last width is repeated, and when it is too small
    for one halving per width the last blocks keep the size. Sizes: ``self.sizes``.
    8x8, widths (32, 64, 128): 32@8x8 -> 64@4x4 -> 128@2x2 -> Linear(512, out_features);
    64x64: 32@64 -> 64@32 -> 128@16 -> 128@8 -> 128@4 -> Linear(2048, out_features).
    ``feature_shape`` is (C, h, w) of the last map, before the flatten and Linear.
    """

    def __init__(
        self,
        in_channels: int,
        image_size: int,
        out_features: int,
        *,
        widths: Sequence[int] = (32, 64, 128),
        norm: Norm = "none",
        activation: Activation = "relu",
        down: EncoderDown = "stride",
        padding: Padding = "zeros",
        min_size: int = 4,
    ) -> None:
        super().__init__()
        check_choice("down", down, EncoderDown)
        _check_padding(padding)
        self.in_channels, self.image_size, self.out_features = in_channels, image_size, out_features
        self.sizes = conv_sizes(image_size, min_size, min_steps=len(widths) - 1)
        n_down = len(self.sizes) - 1
        stage_widths = _stage_widths(widths, max(len(widths), n_down + 1))
        blocks: list[nn.Module] = []
        channels = in_channels
        for i, width in enumerate(stage_widths):
            # no norm on the input layer [Radford et al. 2015, Sec. 3]; weight norm is harmless there
            block_norm = norm if i > 0 or norm == "weight" else "none"
            blocks.append(
                ConvBlock(
                    channels,
                    width,
                    padding=padding,
                    down=down if 1 <= i <= n_down else "none",
                    norm=block_norm,
                    activation=activation,
                )
            )
            channels = width
        self.blocks = nn.Sequential(*blocks)
        self.feature_shape: tuple[int, int, int] = (channels, self.sizes[-1], self.sizes[-1])
        self.linear = nn.Linear(channels * self.sizes[-1] ** 2, out_features)

    def features(self, x: Tensor) -> Tensor:
        """(B, C, S, S) -> (B, *feature_shape): the last feature map."""
        if x.shape[1:] != (self.in_channels, self.image_size, self.image_size):
            raise ValueError(
                f"ConvEncoder was built for inputs (B, {self.in_channels}, {self.image_size}, "
                f"{self.image_size}) but got {tuple(x.shape)}; build it with in_channels={x.shape[1]}, "
                f"image_size={x.shape[-1]}"
            )
        return self.blocks(x)

    def forward(self, x: Tensor) -> Tensor:
        return self.linear(self.features(x).flatten(1))  # (B, C, h, w) -> (B, C*h*w) -> (B, out)


class ConvDecoder(nn.Module):
    """(B, in_features) -> (B, out_channels, S, S), raw (no output activation).

    Mirrors ``ConvEncoder``: Linear to widths[0] at the smallest size, blocks that keep the size, then
    blocks that upsample to each size of ``conv_sizes(image_size)`` in reverse (exact, odd sizes
    included), then a 3x3 conv to out_channels. ``widths`` lists channels from the deepest stage out;
    when more stages are needed than widths are given, the deepest width is repeated.
    """

    def __init__(
        self,
        in_features: int,
        out_channels: int,
        image_size: int,
        *,
        widths: Sequence[int] = (128, 64, 32),
        norm: Norm = "none",
        activation: Activation = "relu",
        up: DecoderUp = "transposed",
        padding: Padding = "zeros",
        min_size: int = 4,
    ) -> None:
        super().__init__()
        check_choice("up", up, DecoderUp)
        _check_padding(padding)
        if up == "transposed" and padding != "zeros":
            raise ValueError(
                f"up='transposed' pads with zeros only; got padding={padding!r}, use up='nearest'"
            )
        self.in_features, self.out_channels, self.image_size = in_features, out_channels, image_size
        sizes = conv_sizes(image_size, min_size, min_steps=len(widths) - 1)
        n_down = len(sizes) - 1
        n_stages = max(len(widths), n_down + 1)
        # deepest first: the encoder's stage widths reversed
        stage_widths = list(reversed(_stage_widths(list(reversed(widths)), n_stages)))
        self.start_shape: tuple[int, int, int] = (stage_widths[0], sizes[-1], sizes[-1])
        self.linear = nn.Linear(in_features, stage_widths[0] * sizes[-1] ** 2)
        # target size of each block: keep the smallest size, then climb the encoder's sizes back up
        n_keep = n_stages - 1 - n_down
        self.target_sizes: list[int] = [sizes[-1]] * n_keep + list(reversed(sizes[:-1]))
        blocks = []
        for i in range(n_stages - 1):
            upsamples = i >= n_keep
            blocks.append(
                ConvBlock(
                    stage_widths[i],
                    stage_widths[i + 1],
                    padding=padding,
                    up=up if upsamples else "none",
                    norm=norm,
                    activation=activation,
                )
            )
        self.blocks = nn.ModuleList(blocks)
        self.out = nn.Conv2d(stage_widths[-1], out_channels, 3, padding=1, padding_mode=padding)

    def forward(self, z: Tensor) -> Tensor:
        if z.dim() != 2 or z.shape[1] != self.in_features:
            raise ValueError(
                f"ConvDecoder was built for inputs (B, {self.in_features}) but got {tuple(z.shape)}"
            )
        h = self.linear(z).view(-1, *self.start_shape)  # (B, D) -> (B, C, h, w)
        for block, size in zip(self.blocks, self.target_sizes):
            h = block(h, output_size=size) if block.up != "none" else block(h)
        return self.out(h)  # (B, out_channels, S, S), raw
