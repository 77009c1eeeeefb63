"""PixelCNN and Gated PixelCNN: the properties that define them, each checked against an independent
computation (autograd for the receptive field, brute-force enumeration for the normalisation, the
whole-network pass for the incremental one)."""

from __future__ import annotations

import itertools
import math

import pytest
import torch

from generativa.models.autoregressive.gated_pixelcnn import GatedPixelCNN, GatedPixelCNNConfig
from generativa.models.autoregressive.pixel_rnn import PixelRNN, PixelRNNConfig
from generativa.models.autoregressive.pixelcnn import PixelCNN, PixelCNNConfig
from generativa.models.base import Batch
from generativa.nn.masked import MaskedConv2d, causal_mask, channel_groups
from generativa.training.config import TrainConfig
from generativa.training.trainer import Trainer

MODELS = {"pixelcnn": (PixelCNN, PixelCNNConfig), "gated_pixelcnn": (GatedPixelCNN, GatedPixelCNNConfig),
          "pixel_rnn": (PixelRNN, PixelRNNConfig)}


def build(name, shape, likelihood="categorical", filters=12, layers=3, seed=0, **kw):
    cls, config = MODELS[name]
    torch.manual_seed(seed)
    model = cls(config(data_shape=shape, likelihood=likelihood, filters=filters, layers=layers, **kw)).eval()
    with torch.no_grad():  # random weights everywhere (biases too), so that nothing passes by being zero
        for p in model.parameters():
            p.normal_(0.0, 0.3)
    return model


def raster_index(shape):
    """t of each value (C, H, W): pixels in raster order, channels inside a pixel."""
    C, H, W = shape
    return (torch.arange(H)[:, None] * W + torch.arange(W)[None, :])[None] * C + torch.arange(C)[:, None, None]


def dependence(model, shape, labels=None):
    """For every value t, which input values its logits depend on (autograd over 64 random images)."""
    C, H, W = shape
    x = torch.randn(64, *shape, requires_grad=True)
    out = model.network(x, labels)                                    # (64, C, K, H, W)
    w = torch.randn(out.shape[2])                                     # a random projection of the K logits
    seen = torch.zeros(C, H, W, C, H, W, dtype=torch.bool)
    for c, i, j in itertools.product(range(C), range(H), range(W)):
        (g,) = torch.autograd.grad((out[:, c, :, i, j] @ w).sum(), x, retain_graph=True)
        seen[c, i, j] = g.abs().sum(0) != 0
    return seen


def test_mask_a_and_b_follow_the_channel_order():
    groups = torch.arange(3)  # R, G, B
    a = causal_mask(groups, groups, (2, 3), (1, 1), "A")
    b = causal_mask(groups, groups, (2, 3), (1, 1), "B")
    assert (a[:, :, 0] == 1).all() and (a[:, :, 1, 0] == 1).all()      # the row above, and the pixel to the left
    assert (a[:, :, 1, 2] == 0).all() and (b[:, :, 1, 2] == 0).all()   # never the pixel to the right
    assert a[:, :, 1, 1].tolist() == [[0, 0, 0], [1, 0, 0], [1, 1, 0]]  # R sees nothing of its pixel, B sees R, G
    assert b[:, :, 1, 1].tolist() == [[1, 0, 0], [1, 1, 0], [1, 1, 1]]
    assert channel_groups(6, 3).tolist() == [0, 0, 1, 1, 2, 2]
    with pytest.raises(ValueError, match="multiple of 3"):
        channel_groups(8, 3)


def test_masked_conv_window_is_the_convolution_at_one_pixel():
    conv = MaskedConv2d(2, 4, 5, "B")
    x = torch.randn(3, 2, 7, 9)
    full = conv(x)
    padded = torch.nn.functional.pad(x, (2, 2, 2, 0))
    i, j = 4, 6
    assert torch.allclose(conv.window(padded[:, :, i:i + 3, j:j + 5]), full[:, :, i, j], atol=1e-6)


CASES = [((1, 6, 6), "categorical"), ((3, 4, 4), "bernoulli"), ((3, 3, 3), "categorical")]


@pytest.mark.parametrize("name", MODELS)
@pytest.mark.parametrize("shape,likelihood", CASES)
def test_no_output_depends_on_its_own_or_a_later_value(name, shape, likelihood):
    model = build(name, shape, likelihood)
    seen = dependence(model, shape)
    t = raster_index(shape)
    for c, i, j in itertools.product(*map(range, shape)):
        later = t >= t[c, i, j]
        assert not seen[c, i, j][later].any(), f"value {(c, i, j)} depends on itself or a later value"


def test_pixelcnn_and_row_lstm_miss_earlier_pixels_and_gated_pixelcnn_does_not():
    shape = (1, 6, 6)
    t = raster_index(shape)
    for name in MODELS:
        seen = dependence(build(name, shape, layers=3), shape)
        unseen = [(i, j) for i, j in itertools.product(range(6), range(6))
                  if (~seen[0, i, j][t < t[0, i, j]]).any()]
        if name in ("pixelcnn", "pixel_rnn"):
            # the pixel at (1, 0) sees the row above only 3 pixels to the right (the 7 x 7 mask-A layer; the
            # 3 x 3 mask-B layers only reach further right through pixels that are themselves to the left;
            # the Row LSTM's triangle widens by one pixel a row, from pixels of row 0 that see only their left)
            assert (1, 0) in unseen and seen[0, 1, 0, 0, 0, 3] and not seen[0, 1, 0, 0, 0, 4:].any()
        else:
            assert unseen == [], f"gated_pixelcnn misses earlier pixels at {unseen}"


def _all_images(shape, levels):
    values = torch.tensor(list(itertools.product(range(levels), repeat=math.prod(shape))))
    return (values.float() / (levels - 1)).view(-1, *shape)


@pytest.mark.parametrize("name", MODELS)
@pytest.mark.parametrize("shape,likelihood,levels", [((1, 3, 3), "bernoulli", 2), ((3, 2, 2), "bernoulli", 2),
                                                     ((1, 1, 2), "categorical", 256)])
def test_probabilities_of_all_images_sum_to_one(name, shape, likelihood, levels):
    model = build(name, shape, likelihood, filters=6 if shape[0] == 3 else 4, layers=2)
    x = _all_images(shape, levels)
    with torch.no_grad():
        total = torch.logsumexp(model.log_prob(x).double(), 0)
    assert abs(float(total)) < 1e-4, f"log sum P = {float(total)}"


@pytest.mark.parametrize("class_map", [0, 2])
def test_conditional_gated_pixelcnn_is_normalised_for_every_class(class_map):
    model = build("gated_pixelcnn", (1, 3, 3), "bernoulli", filters=4, layers=2, conditional=True, num_classes=3,
                  class_map=class_map)
    x = _all_images((1, 3, 3), 2)
    with torch.no_grad():
        per_class = [model.log_prob(x, labels=torch.full((len(x),), y)) for y in range(3)]
    for lp in per_class:
        assert abs(float(torch.logsumexp(lp.double(), 0))) < 1e-4
    assert not torch.allclose(per_class[0], per_class[1])  # the label changes the model


@pytest.mark.parametrize("name", MODELS)
@pytest.mark.parametrize("shape,likelihood", CASES)
def test_cached_sampling_gives_the_naive_images(name, shape, likelihood):
    model = build(name, shape, likelihood)
    a = model.sample(4, generator=torch.Generator().manual_seed(5), method="cached")
    b = model.sample(4, generator=torch.Generator().manual_seed(5), method="naive")
    assert torch.equal(a, b)
    levels = 2 if likelihood == "bernoulli" else 256
    assert torch.equal(a * (levels - 1), torch.round(a * (levels - 1)))  # on the discrete values


def test_cached_logits_equal_the_whole_network_pass():
    """The incremental network, fed a given image pixel by pixel, gives the full pass's logits."""
    for name, labels, class_map in (("pixelcnn", None, 0), ("gated_pixelcnn", torch.tensor([0, 2]), 0),
                                    ("gated_pixelcnn", torch.tensor([1, 2]), 2), ("pixel_rnn", None, 0)):
        kw = {"conditional": True, "num_classes": 3, "class_map": class_map} if labels is not None else {}
        model = build(name, (3, 4, 5), "categorical", **kw)
        x = torch.rand(2, 3, 4, 5)
        x_in = model.scaled(model.values(x))
        with torch.no_grad():
            full = model.network(x_in, labels)
            P = model.pad
            x_pad = torch.zeros(2, 3, 4 + P, 5 + 2 * P)
            x_pad[:, :, P:, P:P + 5] = x_in
            cache = model.start_cache(x_pad, labels)
            for i, j in itertools.product(range(4), range(5)):
                assert torch.allclose(model.logits_at(cache, i, j), full[:, :, :, i, j], atol=1e-4)


@pytest.mark.parametrize("class_map", [0, 3])
def test_conditional_cached_logits_equal_the_whole_network_for_every_label(class_map):
    """The sampler's class terms are the network's: for each label, on one image, the same logits at every
    pixel; and the label changes them (the class vector, and with a class map the place too)."""
    model = build("gated_pixelcnn", (1, 5, 4), "categorical", conditional=True, num_classes=4, class_map=class_map)
    x_in = model.scaled(model.values(torch.rand(1, 1, 5, 4))).expand(4, -1, -1, -1)
    labels = torch.arange(4)
    P = model.pad
    with torch.no_grad():
        full = model.network(x_in, labels)                                          # (4, 1, 256, 5, 4)
        x_pad = torch.zeros(4, 1, 5 + P, 4 + 2 * P)
        x_pad[:, :, P:, P:P + 4] = x_in
        cache = model.start_cache(x_pad, labels)
        cached = torch.stack([torch.stack([model.logits_at(cache, i, j) for j in range(4)], -1)
                              for i in range(5)], -2)
    assert torch.allclose(cached, full, atol=1e-4)
    for y in range(1, 4):
        assert (full[y] - full[0]).abs().amax() > 0.1, f"label {y} gives label 0's logits"


def test_class_terms_start_at_zero():
    """At init the label changes nothing: the class terms begin at zero (not at N(0, 1) offsets that
    training must undo), and training then makes the label matter."""
    torch.manual_seed(0)
    for class_map in (0, 2):
        model = GatedPixelCNN(GatedPixelCNNConfig(data_shape=(1, 6, 6), filters=8, layers=2, conditional=True,
                                                  num_classes=3, class_map=class_map))
        x = torch.rand(3, 1, 6, 6)
        with torch.no_grad():
            per_class = [model.log_prob(x, labels=torch.full((3,), y)) for y in range(3)]
        assert torch.equal(per_class[0], per_class[1]) and torch.equal(per_class[0], per_class[2])
        optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
        model.loss(Batch(x, torch.tensor([0, 1, 2]))).loss.backward()
        optimizer.step()
        with torch.no_grad():
            assert not torch.equal(model.log_prob(x, labels=torch.zeros(3)), model.log_prob(x, labels=torch.ones(3)))


@pytest.mark.parametrize("name", MODELS)
def test_completion_keeps_the_known_values_and_matches_naive(name):
    model = build(name, (1, 5, 5), "categorical")
    x = torch.rand(3, 1, 5, 5)
    mask = torch.zeros(1, 1, 5, 5, dtype=torch.bool)
    mask[..., 3:, :] = True                                   # the bottom rows are missing
    mask[..., 1, 2] = True                                    # and one pixel in the middle
    a = model.complete(x, mask, generator=torch.Generator().manual_seed(2))
    b = model.complete(x, mask, generator=torch.Generator().manual_seed(2), method="naive")
    assert torch.equal(a, b)
    known = ~mask.expand_as(x)
    assert torch.equal(a[known], torch.round(x[known] * 255) / 255)
    assert not torch.equal(a[~known], torch.round(x[~known] * 255) / 255)


def test_log_prob_is_in_nats_of_the_discrete_image():
    model = build("gated_pixelcnn", (1, 4, 4), "categorical")
    x = torch.rand(2, 1, 4, 4)
    per_value = model.log_prob_map(x)
    assert per_value.shape == (2, 1, 4, 4) and (per_value <= 0).all()
    assert torch.allclose(model.log_prob(x), per_value.flatten(1).sum(1))
    # values that round to the same level have the same probability
    assert torch.allclose(model.log_prob(x), model.log_prob(torch.round(x * 255) / 255))
    caps = model.capabilities
    assert caps.log_prob == "exact" and "nats per image" in caps.likelihood_convention


def test_errors_say_what_to_do():
    with pytest.raises(ValueError, match="conditional=true needs labelled data"):
        GatedPixelCNN(GatedPixelCNNConfig(conditional=True, num_classes=0))
    with pytest.raises(ValueError, match="multiple of 3"):
        PixelCNN(PixelCNNConfig(data_shape=(3, 8, 8), filters=32))
    model = GatedPixelCNN(GatedPixelCNNConfig(conditional=True, num_classes=3))
    with pytest.raises(ValueError, match=r"labels must lie in 0..2"):
        model.sample(2, labels=torch.tensor([0, 5]))


def test_training_on_digits_learns_the_data():
    """100 steps on the 8x8 digits take the bits per dimension well below the uniform 8."""
    from generativa.data import load_data

    data = load_data("digits")
    model = GatedPixelCNN(GatedPixelCNNConfig(data_shape=(1, 8, 8), filters=32, layers=2))
    config = TrainConfig(steps=100, batch_size=64, lr=3e-3, progress=False, log_every=0, sample_every=0,
                         checkpoint_every=0, seed=0)
    import tempfile

    with tempfile.TemporaryDirectory() as folder:
        Trainer(model, data, config, folder).fit()
    x = data.test.images(slice(0, 200))
    with torch.no_grad():
        bpd = -model.log_prob(x).mean() / (64 * math.log(2))
    assert bpd < 3.0, f"bits/dim {float(bpd):.2f} after 100 steps"



def test_the_inpaint_verb_completes_with_the_model():
    from generativa.exploration.inpaint import inpaint

    model = build("gated_pixelcnn", (1, 5, 5))
    x = torch.rand(2, 1, 5, 5)
    mask = torch.zeros(1, 1, 5, 5, dtype=torch.bool)
    mask[..., 3:, :] = True
    filled = inpaint(model, x, mask, generator=torch.Generator().manual_seed(0))
    assert torch.equal(filled, model.complete(x, mask, generator=torch.Generator().manual_seed(0)))


def test_row_lstm_with_one_pixel_kernels_is_an_lstm_down_every_column():
    """With 1 x 1 row kernels the Row LSTM's recurrence is PyTorch's LSTM run down each column (its
    weights copied into our gate order o, f, i, g)."""
    from generativa.models.autoregressive.pixel_rnn import RowLSTM

    torch.manual_seed(0)
    Fm, B, H, W = 4, 2, 5, 3
    ours = RowLSTM(Fm, 1, colors=1)
    ref = torch.nn.LSTM(Fm, Fm)
    blocks = dict(zip("ifgo", range(4)))                       # PyTorch's order
    ih, hh = ref.weight_ih_l0.view(4, Fm, Fm), ref.weight_hh_l0.view(4, Fm, Fm)
    b = (ref.bias_ih_l0 + ref.bias_hh_l0).view(4, Fm)
    order = [blocks[g] for g in "ofig"]
    with torch.no_grad():
        ours.input_to_state.weight.copy_(ih[order].reshape(4 * Fm, Fm, 1, 1))
        ours.input_to_state.bias.copy_(b[order].reshape(-1))
        ours.state_to_state.weight.copy_(hh[order].reshape(4 * Fm, Fm, 1))
        ours.state_to_state.bias.zero_()
        x = torch.randn(B, Fm, H, W)
        out = ours(x)
        expected, _ = ref(x.permute(2, 0, 3, 1).reshape(H, B * W, Fm))
    assert torch.allclose(out, expected.view(H, B, W, Fm).permute(1, 3, 0, 2), atol=1e-6)
