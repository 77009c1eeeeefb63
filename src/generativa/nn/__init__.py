"""Shared building blocks: conv blocks, residual blocks, norms, activations, MLP, conv encoder/decoder.

See docs/building_blocks.md for every option and what it does.
"""

from generativa.nn.backbones import ConvDecoder, ConvEncoder, conv_sizes
from generativa.nn.layers import (
    ConvBlock,
    ResidualBlock,
    apply_weight_norm,
    check_choice,
    group_count,
    make_activation,
    make_norm,
)
from generativa.nn.mlp import MLP

__all__ = [
    "MLP",
    "ConvBlock",
    "ConvDecoder",
    "ConvEncoder",
    "ResidualBlock",
    "apply_weight_norm",
    "check_choice",
    "conv_sizes",
    "group_count",
    "make_activation",
    "make_norm",
]
