"""MLP, ConvEncoder, ConvDecoder and conv_sizes: exact shapes for every supported size, sizes pinned."""

from __future__ import annotations

import itertools

import pytest
import torch
from torch import nn

from generativa.nn import MLP, ConvDecoder, ConvEncoder, conv_sizes


def test_conv_sizes_pinned():
    assert conv_sizes(8) == [8, 4]
    assert conv_sizes(8, min_steps=2) == [8, 4, 2]
    assert conv_sizes(28) == [28, 14, 7, 4]
    assert conv_sizes(33) == [33, 17, 9, 5, 3]
    assert conv_sizes(64) == [64, 32, 16, 8, 4]
    assert conv_sizes(64, min_size=2) == [64, 32, 16, 8, 4, 2]
    assert conv_sizes(3, min_steps=5) == [3, 2]  # never below 2x2
    with pytest.raises(ValueError):
        conv_sizes(0)


@pytest.mark.parametrize("size,channels", list(itertools.product([8, 16, 28, 32, 33, 64], [1, 3])))
def test_encoder_decoder_round_trip_shapes(size, channels):
    torch.manual_seed(0)
    x = torch.rand(2, channels, size, size)
    for down, up in zip(["stride", "maxpool", "avgpool"], ["transposed", "nearest", "bilinear"]):
        encoder = ConvEncoder(channels, size, 10, widths=(8, 16), down=down)
        decoder = ConvDecoder(10, channels, size, widths=(16, 8), up=up)
        z = encoder(x)
        assert z.shape == (2, 10)
        assert encoder.features(x).shape == (2, *encoder.feature_shape)
        assert 2 <= encoder.feature_shape[1] <= 4  # the last map is 2x2 to 4x4
        assert decoder(z).shape == x.shape
    assert [s for s in decoder.target_sizes] == list(reversed(encoder.sizes[:-1]))


def test_default_autoencoder_on_8x8_is_small_and_halves_twice():
    encoder, decoder = ConvEncoder(1, 8, 16), ConvDecoder(16, 1, 8)
    assert encoder.sizes == [8, 4, 2] and encoder.feature_shape == (128, 2, 2)
    n_params = sum(p.numel() for m in (encoder, decoder) for p in m.parameters())
    assert n_params == 202_129  # docs/building_blocks.md quotes this number
    downs = [b.down for b in encoder.blocks]
    assert downs == ["none", "stride", "stride"]


def test_more_halvings_than_widths_repeats_the_last_width():
    encoder = ConvEncoder(3, 64, 8, widths=(16, 32))
    assert encoder.sizes == [64, 32, 16, 8, 4]
    assert [b.out_ch for b in encoder.blocks] == [16, 32, 32, 32, 32]
    decoder = ConvDecoder(8, 3, 64, widths=(32, 16))
    assert [b.out_ch for b in decoder.blocks] == [32, 32, 32, 16]
    assert decoder(torch.randn(2, 8)).shape == (2, 3, 64, 64)


def test_small_image_with_many_widths_keeps_the_size_in_the_last_blocks():
    encoder = ConvEncoder(1, 8, 4, widths=(8, 16, 32, 64))
    assert encoder.sizes == [8, 4, 2]
    assert [b.down for b in encoder.blocks] == ["none", "stride", "stride", "none"]
    decoder = ConvDecoder(4, 1, 8, widths=(64, 32, 16, 8))
    assert [b.up for b in decoder.blocks] == ["none", "transposed", "transposed"]
    assert decoder(encoder(torch.rand(3, 1, 8, 8))).shape == (3, 1, 8, 8)


@pytest.mark.parametrize("norm", ["batch", "layer", "group", "weight", "none"])
def test_autoencoder_gradients_flow_and_a_step_helps(norm):
    torch.manual_seed(0)
    encoder, decoder = ConvEncoder(1, 8, 8, norm=norm), ConvDecoder(8, 1, 8, norm=norm)
    params = [*encoder.parameters(), *decoder.parameters()]
    x = torch.rand(16, 1, 8, 8)
    loss = (decoder(encoder(x)) - x).square().mean()
    loss.backward()
    for p in params:
        assert p.grad is not None and torch.isfinite(p.grad).all() and p.grad.abs().sum() > 0
    optimizer = torch.optim.Adam(params, lr=1e-3)
    for _ in range(5):
        optimizer.zero_grad()
        step_loss = (decoder(encoder(x)) - x).square().mean()
        step_loss.backward()
        optimizer.step()
    assert (decoder(encoder(x)) - x).square().mean() < loss


def test_decoder_output_is_raw():
    decoder = ConvDecoder(4, 1, 8)
    with torch.no_grad():
        decoder.out.bias.fill_(-5.0)  # no sigmoid/tanh after the last conv: negative values survive
    assert decoder(torch.zeros(2, 4)).max() < 0


def test_wrong_inputs_say_what_to_build():
    with pytest.raises(ValueError, match="in_channels=3, image_size=16"):
        ConvEncoder(1, 8, 4)(torch.rand(1, 3, 16, 16))
    with pytest.raises(ValueError, match=r"\(B, 4\)"):
        ConvDecoder(4, 1, 8)(torch.rand(1, 5))
    with pytest.raises(ValueError, match="'stride', 'maxpool', 'avgpool'"):
        ConvEncoder(1, 8, 4, down="none")
    with pytest.raises(ValueError, match="'transposed', 'nearest', 'bilinear'"):
        ConvDecoder(4, 1, 8, up="unpool")
    with pytest.raises(ValueError, match="size-preserving"):
        ConvEncoder(1, 8, 4, padding="none")


def test_circular_encoder_decoder():
    encoder = ConvEncoder(1, 16, 4, padding="circular")
    decoder = ConvDecoder(4, 1, 16, padding="circular", up="nearest")
    assert decoder(encoder(torch.rand(2, 1, 16, 16))).shape == (2, 1, 16, 16)


def test_mlp_shapes_norms_and_final_activation():
    torch.manual_seed(0)
    x = torch.randn(8, 1, 8, 8)  # images are flattened
    for norm in ("none", "batch", "layer", "weight"):
        mlp = MLP(64, [32, 16], 10, norm=norm, activation="gelu", dropout=0.1)
        assert mlp(x).shape == (8, 10)
    probs = MLP(5, [7], 3, final_activation="sigmoid")(torch.randn(4, 5))
    assert ((probs > 0) & (probs < 1)).all()
    assert MLP(5, [], 2)(torch.randn(3, 5)).shape == (3, 2)  # no hidden layer: one Linear
    layer_norms = [m for m in MLP(5, [7, 7], 2, norm="layer").modules() if isinstance(m, nn.LayerNorm)]
    assert len(layer_norms) == 2
    with pytest.raises(ValueError, match="in_features=5"):
        MLP(5, [4], 2)(torch.randn(3, 6))
    with pytest.raises(ValueError, match="'none', 'batch', 'layer', 'weight'"):
        MLP(5, [4], 2, norm="group")


def test_mlp_dropout_only_in_training():
    torch.manual_seed(0)
    mlp = MLP(16, [256], 4, dropout=0.5)
    x = torch.randn(2, 16)
    mlp.eval()
    assert torch.equal(mlp(x), mlp(x))
    mlp.train()
    assert not torch.equal(mlp(x), mlp(x))


@pytest.mark.parametrize("up", ["transposed", "nearest"])
def test_decoder_hits_every_size_from_4_to_64(up):
    for size in range(4, 65):
        encoder = ConvEncoder(1, size, 2, widths=(2, 4))
        decoder = ConvDecoder(2, 1, size, widths=(4, 2), up=up)
        assert decoder(torch.zeros(1, 2)).shape == (1, 1, size, size), size
        assert encoder.feature_shape[1] <= 4 and len(decoder.target_sizes) == len(encoder.sizes) - 1


def test_weight_norm_model_survives_deepcopy_and_state_dict():
    import copy

    torch.manual_seed(0)
    encoder = ConvEncoder(3, 16, 4, norm="weight", widths=(8, 16))
    twin = copy.deepcopy(encoder)  # what an EMA copy does
    fresh = ConvEncoder(3, 16, 4, norm="weight", widths=(8, 16))
    fresh.load_state_dict(encoder.state_dict())
    x = torch.rand(2, 3, 16, 16)
    assert torch.equal(encoder(x), twin(x)) and torch.equal(encoder(x), fresh(x))
    assert any("parametrizations.weight.original0" in k for k in encoder.state_dict())
