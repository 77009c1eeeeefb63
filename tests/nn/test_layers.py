"""ConvBlock, ResidualBlock, norms and activations: shapes over every option, and what each option does."""

from __future__ import annotations

import itertools

import pytest
import torch
from torch import nn
from torch.nn.utils import parametrize

from generativa.nn import ConvBlock, ResidualBlock, group_count, make_activation, make_norm

PADDINGS = ["zeros", "circular", "reflect", "none"]
DOWNS = ["none", "stride", "maxpool", "avgpool"]
UPS = ["none", "nearest", "bilinear", "transposed", "unpool"]
NORMS = ["batch", "layer", "group", "weight", "none"]
ACTIVATIONS = ["relu", "leaky_relu", "silu", "gelu", "tanh", "sigmoid", "elu", "none"]


def expected_size(size: int, padding: str, down: str, up: str, k: int = 3) -> int:
    """Independent statement of the size rules in docs/building_blocks.md."""
    shrink = k - 1 if padding == "none" else 0
    if up == "transposed":
        return 2 * size + 1 if padding == "none" else 2 * size - 1  # (S-1)*2 - 2p + k
    if up in ("nearest", "bilinear", "unpool"):
        size *= 2
    if down == "stride":
        return (size - k) // 2 + 1 if padding == "none" else -(-size // 2)
    size -= shrink
    if down in ("maxpool", "avgpool"):
        return -(-size // 2)
    return size


def invalid(padding: str, down: str, up: str) -> bool:
    return (down != "none" and up != "none") or (up == "transposed" and padding in ("circular", "reflect"))


@pytest.mark.parametrize("padding,down,up", list(itertools.product(PADDINGS, DOWNS, UPS)))
def test_conv_block_shapes_every_option(padding, down, up):
    torch.manual_seed(0)
    if invalid(padding, down, up):
        with pytest.raises(ValueError, match="ConvBlock either|pads with|zeros only"):
            ConvBlock(3, 8, padding=padding, down=down, up=up)
        return
    # every norm at an odd and an even size; activations act elementwise, so each is paired with a norm
    cases = [(size, norm, ACTIVATIONS[i]) for i, norm in enumerate(NORMS) for size in (8, 9)]
    cases += [(9, "none", activation) for activation in ACTIVATIONS[len(NORMS) :]]
    for size, norm, activation in cases:
        block = ConvBlock(3, 16, padding=padding, down=down, up=up, norm=norm, activation=activation)
        x = torch.randn(2, 3, size, size)
        indices = None
        if up == "unpool":  # indices of a 2x2 max pooling of a (2 size) map
            _, indices = torch.nn.functional.max_pool2d(
                torch.randn(2, 3, 2 * size, 2 * size), 2, 2, return_indices=True
            )
        y = block(x, indices=indices)
        s = expected_size(size, padding, down, up)
        assert y.shape == (2, 16, s, s), (size, norm, activation)
        assert block.output_size(size) == s
        assert torch.isfinite(y).all()


def test_valid_padding_shrinks_by_kernel_minus_one():
    for k in (1, 3, 5):
        y = ConvBlock(1, 4, kernel_size=k, padding="none")(torch.randn(1, 1, 11, 11))
        assert y.shape[-2:] == (11 - (k - 1), 11 - (k - 1))
    y = ConvBlock(1, 4, padding="zeros")(torch.randn(1, 1, 11, 11))
    assert y.shape[-2:] == (11, 11)


def _left_neighbour_block(padding: str) -> ConvBlock:
    """A 3x3 conv whose output at (i, j) is the input at (i, j - 1)."""
    block = ConvBlock(1, 1, padding=padding, activation="none")
    with torch.no_grad():
        block.conv.weight.zero_()
        block.conv.weight[0, 0, 1, 0] = 1.0  # cross-correlation: weight[.., 1, 0] reads x[i, j - 1]
        block.conv.bias.zero_()
    return block


def test_circular_padding_wraps_around():
    x = torch.arange(16.0).view(1, 1, 4, 4)
    y = _left_neighbour_block("circular")(x)
    assert torch.equal(y[0, 0, :, 1:], x[0, 0, :, :-1])
    assert torch.equal(y[0, 0, :, 0], x[0, 0, :, -1])  # column 0 sees the last column: [3, 7, 11, 15]
    assert y[0, 0, :, 0].tolist() == [3.0, 7.0, 11.0, 15.0]


def test_reflect_and_zero_padding_at_the_border():
    x = torch.arange(16.0).view(1, 1, 4, 4)
    assert _left_neighbour_block("reflect")(x)[0, 0, :, 0].tolist() == [1.0, 5.0, 9.0, 13.0]
    assert _left_neighbour_block("zeros")(x)[0, 0, :, 0].tolist() == [0.0, 0.0, 0.0, 0.0]


def _identity_1x1(**options) -> ConvBlock:
    block = ConvBlock(1, 1, kernel_size=1, activation="none", **options)
    with torch.no_grad():
        block.conv.weight.fill_(1.0)
        block.conv.bias.zero_()
    return block


@pytest.mark.parametrize("size", [4, 5])
def test_unpool_puts_values_back_at_the_argmax(size):
    torch.manual_seed(1)
    x = torch.randn(2, 1, size, size)
    pooled, indices = _identity_1x1(down="maxpool", return_indices=True)(x)
    out = _identity_1x1(up="unpool")(pooled, indices=indices, output_size=size)
    assert out.shape == x.shape
    expected = torch.zeros_like(x)
    for b, i, j in itertools.product(range(2), range(0, size, 2), range(0, size, 2)):
        window = x[b, 0, i : i + 2, j : j + 2]  # ceil_mode: the last window may be 1 wide
        r, c = divmod(int(window.argmax()), window.shape[1])
        expected[b, 0, i + r, j + c] = window.max()
    assert torch.equal(out, expected)
    assert int((out != 0).sum()) == pooled.numel()


def test_unpool_without_indices_says_how():
    with pytest.raises(ValueError, match="return_indices=True"):
        ConvBlock(4, 4, up="unpool")(torch.randn(1, 4, 3, 3))
    with pytest.raises(ValueError, match="needs down='maxpool'"):
        ConvBlock(4, 4, down="stride", return_indices=True)


@pytest.mark.parametrize(
    "option,value", [("padding", "same"), ("down", "conv"), ("up", "pixelshuffle"), ("norm", "instance")]
)
def test_unknown_choice_lists_valid_values(option, value):
    with pytest.raises(ValueError, match=rf"{option}='{value}' is not a valid choice; expected one of '"):
        ConvBlock(2, 2, **{option: value})
    with pytest.raises(ValueError, match="'relu', 'leaky_relu'"):
        make_activation("swish")


@pytest.mark.parametrize("up", ["none", "transposed"])
def test_weight_norm_reparametrises_the_conv(up):
    block = ConvBlock(3, 5, norm="weight", up=up)
    assert parametrize.is_parametrized(block.conv, "weight")
    assert isinstance(block.norm, nn.Identity)
    out_dim = 1 if up == "transposed" else 0
    g = block.conv.parametrizations.weight.original0  # one gain per output channel
    v = block.conv.parametrizations.weight.original1
    assert g.numel() == 5 and g.shape[out_dim] == 5
    dims = [d for d in range(4) if d != out_dim]
    assert torch.allclose(
        block.conv.weight, g * v / torch.linalg.vector_norm(v, dim=dims, keepdim=True), atol=1e-6
    )
    with torch.no_grad():  # scaling v leaves the weight unchanged [Salimans & Kingma 2016, eq. 2]
        before = block.conv.weight.clone()
        v.mul_(3.0)
    assert torch.allclose(block.conv.weight, before, atol=1e-6)


def test_layer_norm_is_group_norm_with_one_group():
    norm = make_norm("layer", 6)
    assert isinstance(norm, nn.GroupNorm) and norm.num_groups == 1
    y = ConvBlock(2, 6, norm="layer", activation="none")(torch.randn(3, 2, 5, 5) * 4 + 2)
    flat = y.flatten(1)  # each example normalised over (C, H, W)
    assert torch.allclose(flat.mean(1), torch.zeros(3), atol=1e-5)
    assert torch.allclose(flat.var(1, unbiased=False), torch.ones(3), atol=1e-3)
    assert isinstance(make_norm("layer", 6, spatial=False), nn.LayerNorm)


def test_group_norm_uses_a_divisor_of_the_channels():
    assert group_count(12, 8) == 6 and group_count(32, 8) == 8 and group_count(7, 8) == 7
    assert group_count(5, 4) == 1
    norm = ConvBlock(3, 12, norm="group", groups_for_norm=8).norm
    assert isinstance(norm, nn.GroupNorm) and norm.num_groups == 6
    assert isinstance(make_norm("batch", 4), nn.BatchNorm2d)


def test_activation_values():
    x = torch.tensor([-2.0, 0.0, 3.0])
    assert make_activation("relu")(x).tolist() == [0.0, 0.0, 3.0]
    assert torch.allclose(make_activation("leaky_relu")(x), torch.tensor([-0.4, 0.0, 3.0]))
    assert torch.allclose(make_activation("sigmoid")(x), torch.sigmoid(x))
    assert torch.allclose(
        make_activation("elu")(x), torch.tensor([torch.expm1(torch.tensor(-2.0)).item(), 0, 3])
    )
    assert torch.equal(make_activation("none")(x), x)


@pytest.mark.parametrize("up", ["nearest", "bilinear", "transposed"])
def test_upsampling_reaches_an_exact_odd_size(up):
    block = ConvBlock(4, 4, up=up)
    assert block(torch.randn(1, 4, 9, 9), output_size=17).shape[-2:] == (17, 17)
    assert block(torch.randn(1, 4, 9, 9), output_size=18).shape[-2:] == (18, 18)


def test_transposed_too_large_output_size_raises():
    with pytest.raises(ValueError, match="cannot reach output_size"):
        ConvBlock(4, 4, up="transposed")(torch.randn(1, 4, 4, 4), output_size=12)


@pytest.mark.parametrize("norm", NORMS)
def test_gradients_reach_every_parameter(norm):
    torch.manual_seed(0)
    blocks = nn.Sequential(
        ConvBlock(3, 8, norm=norm, down="stride"),
        ResidualBlock(8, norm=norm),
        ConvBlock(8, 3, norm=norm, up="nearest", activation="tanh"),
    )
    x = torch.randn(4, 3, 8, 8)
    blocks(x).square().mean().backward()
    for name, p in blocks.named_parameters():
        assert p.grad is not None and torch.isfinite(p.grad).all(), name
        assert p.grad.abs().sum() > 0, name


def test_residual_block_is_identity_plus_branch():
    block = ResidualBlock(4, norm="none", activation="none")
    x = torch.randn(2, 4, 6, 6)
    with torch.no_grad():
        block.conv2.conv.weight.zero_()
        block.conv2.conv.bias.zero_()
    assert torch.equal(block(x), x)  # F(x) = 0 leaves only the identity path


def test_residual_block_projection_and_valid_padding():
    block = ResidualBlock(4, out_channels=8, norm="batch")
    assert isinstance(block.shortcut, nn.Conv2d) and block.shortcut.kernel_size == (1, 1)
    assert block(torch.randn(2, 4, 6, 6)).shape == (2, 8, 6, 6)
    assert ResidualBlock(4, padding="none")(torch.randn(2, 4, 9, 9)).shape == (2, 4, 5, 5)
    assert ResidualBlock(4, padding="circular", norm="group")(torch.randn(2, 4, 5, 5)).shape == (2, 4, 5, 5)


def test_kernel_4_gives_dcgan_sizes():
    assert ConvBlock(3, 8, kernel_size=4, down="stride")(torch.randn(1, 3, 8, 8)).shape[-2:] == (4, 4)
    up = ConvBlock(3, 8, kernel_size=4, up="transposed")
    assert up(torch.randn(1, 3, 4, 4)).shape[-2:] == (8, 8) and up.output_size(4) == 8
    assert up(torch.randn(1, 3, 4, 4), output_size=7).shape[-2:] == (7, 7)
    assert ConvBlock(3, 8, kernel_size=4)(torch.randn(1, 3, 8, 8)).shape[-2:] == (7, 7)


def test_size_arguments_on_the_wrong_block_raise():
    with pytest.raises(ValueError, match="only for upsampling"):
        ConvBlock(2, 2)(torch.randn(1, 2, 4, 4), output_size=8)
    with pytest.raises(ValueError, match="only for up='unpool'"):
        ConvBlock(2, 2, up="nearest")(
            torch.randn(1, 2, 4, 4), indices=torch.zeros(1, 2, 4, 4, dtype=torch.long)
        )
