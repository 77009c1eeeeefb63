"""The lecture's small resampling examples, in one place for the tests that pin their numbers and the
figure that draws them (docs/building_blocks.md): 2x2 pooling of a 4x4 map, and 2x2 -> 4x4 by
nearest neighbour, bilinear interpolation, max unpooling at the remembered positions and a
transposed convolution (whose overlapping windows add up), all through ``ConvBlock``.
"""

from __future__ import annotations

import torch
from torch import Tensor

from generativa.nn.layers import ConvBlock

UPSAMPLE_INPUT = torch.tensor([[[[1.0, 2.0], [3.0, 4.0]]]])   # the 2x2 input of every upsampling example
POOL_INPUT = torch.tensor([[[[1.0, 1.0, 2.0, 4.0],
                              [5.0, 6.0, 7.0, 8.0],
                              [3.0, 2.0, 1.0, 0.0],
                              [1.0, 2.0, 3.0, 4.0]]]])


def resampling_only(**options) -> ConvBlock:
    """A one-channel block whose convolution is all ones with no bias, so only the resampling is seen."""
    block = ConvBlock(1, 1, kernel_size=options.pop("kernel_size", 1), activation="none", **options)
    with torch.no_grad():
        block.conv.weight.fill_(1.0)
        block.conv.bias.zero_()
    return block


@torch.no_grad()
def resampling_examples() -> list[tuple[str, Tensor]]:
    """(title, (1, 1, h, w) map) of every example, inputs included, in the figure's order."""
    pooled, indices = resampling_only(down="maxpool", return_indices=True)(POOL_INPUT)
    x = UPSAMPLE_INPUT
    return [
        ("4x4 input", POOL_INPUT), ("max pooling 2x2", pooled),
        ("average pooling 2x2", resampling_only(down="avgpool")(POOL_INPUT)),
        ("2x2 input", x), ("nearest neighbour", resampling_only(up="nearest")(x)),
        ("bilinear", resampling_only(up="bilinear")(x)),
        ("max unpooling (positions\nof the max pooling)", resampling_only(up="unpool")(x, indices=indices)),
        ("transposed conv 3x3, stride 2\n(all-ones kernel)",
         resampling_only(up="transposed", kernel_size=3)(x, output_size=4)),
    ]
