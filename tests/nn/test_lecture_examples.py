"""The lecture's small examples of down- and upsampling, exactly, through ``ConvBlock``: 2x2 pooling
of a 4x4 map, and 2x2 -> 4x4 by nearest neighbour, bilinear interpolation, max unpooling at the
remembered positions and a transposed convolution (whose overlapping windows add up)."""

import torch

from generativa.nn.lecture import POOL_INPUT as POOL_IN
from generativa.nn.lecture import UPSAMPLE_INPUT as X
from generativa.nn.lecture import resampling_examples
from generativa.nn.lecture import resampling_only as _ones


def test_pooling_and_strided_convolution_of_a_4x4_map():
    assert _ones(down="maxpool")(POOL_IN).tolist() == [[[[6.0, 8.0], [3.0, 4.0]]]]
    assert _ones(down="avgpool")(POOL_IN).tolist() == [[[[3.25, 5.25], [2.0, 2.0]]]]
    # a 1x1 convolution with stride 2 keeps every other pixel
    assert _ones(down="stride")(POOL_IN).tolist() == [[[[1.0, 2.0], [3.0, 1.0]]]]


def test_nearest_neighbour_2x2_to_4x4():
    assert _ones(up="nearest")(X).tolist() == [[[[1, 1, 2, 2], [1, 1, 2, 2], [3, 3, 4, 4], [3, 3, 4, 4]]]]


def test_bilinear_2x2_to_4x4():
    # pixel centres at (i + 0.5) / 2 - 0.5 of the input (align_corners=False), clamped at the border
    expected = [[1.0, 1.25, 1.75, 2.0], [1.5, 1.75, 2.25, 2.5], [2.5, 2.75, 3.25, 3.5], [3.0, 3.25, 3.75, 4.0]]
    assert _ones(up="bilinear")(X).tolist() == [[expected]]


def test_max_unpooling_puts_each_value_where_the_maximum_was():
    _, indices = _ones(down="maxpool", return_indices=True)(POOL_IN)  # maxima at (1,1), (1,3), (2,0), (3,3)
    out = _ones(up="unpool")(X, indices=indices)
    assert out.tolist() == [[[[0, 0, 0, 0], [0, 1, 0, 2], [3, 0, 0, 0], [0, 0, 0, 4]]]]


def test_transposed_convolution_2x2_to_4x4():
    # kernel 2, stride 2: each input pixel paints its own 2x2 block, weighted by the kernel
    block = _ones(up="transposed", kernel_size=2)
    with torch.no_grad():
        block.conv.weight.copy_(torch.tensor([[[[1.0, 2.0], [3.0, 4.0]]]]))
    assert block(X).tolist() == [[[[1, 2, 2, 4], [3, 4, 6, 8], [3, 6, 4, 8], [9, 12, 12, 16]]]]
    # kernel 3, stride 2, padding 1: neighbouring 3x3 windows overlap and add up (the checkerboard)
    out = _ones(up="transposed", kernel_size=3)(X, output_size=4)
    assert out.tolist() == [[[[1, 3, 2, 2], [4, 10, 6, 6], [3, 7, 4, 4], [3, 7, 4, 4]]]]


def test_the_figure_draws_the_pinned_numbers():
    panels = dict(resampling_examples())
    assert panels["max pooling 2x2"].tolist() == [[[[6.0, 8.0], [3.0, 4.0]]]]
    assert panels["nearest neighbour"].tolist() == [[[[1, 1, 2, 2], [1, 1, 2, 2], [3, 3, 4, 4], [3, 3, 4, 4]]]]
    assert len(panels) == 8 and all(t.dim() == 4 for t in panels.values())
