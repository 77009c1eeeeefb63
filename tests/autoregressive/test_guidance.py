"""Classifier-free guidance of the autoregressive models: the "no class" token is a normalised
unconditional model, training drops labels as declared, and the guided sampler draws every value from
l(none) + w (l(y) - l(none)), replayed here from whole-network passes."""

from __future__ import annotations

import itertools
import math

import pytest
import torch

from generativa.models.autoregressive.code_transformer import CodeTransformer, CodeTransformerConfig
from generativa.models.autoregressive.gated_pixelcnn import GatedPixelCNN, GatedPixelCNNConfig
from generativa.models.base import Batch
from generativa.models.guidance import drop_labels, guided


def gated(shape=(1, 3, 3), likelihood="bernoulli", label_dropout=0.2, class_map=2, seed=0):
    torch.manual_seed(seed)
    model = GatedPixelCNN(GatedPixelCNNConfig(data_shape=shape, likelihood=likelihood, filters=8, layers=2,
                                              conditional=True, num_classes=3, class_map=class_map,
                                              label_dropout=label_dropout)).eval()
    with torch.no_grad():  # random weights everywhere, the class terms included
        for p in model.parameters():
            p.normal_(0.0, 0.3)
    return model


def test_the_no_class_token_is_a_normalised_model_of_its_own():
    model = gated()
    assert model.null_label == 3 and model.capabilities.option("guidance") is not None  # declared by every one
    x = torch.tensor(list(itertools.product([0.0, 1.0], repeat=9))).view(-1, 1, 3, 3)
    with torch.no_grad():
        lp = {y: model.log_prob(x, labels=torch.full((len(x),), y)) for y in range(4)}
    for y in range(4):
        assert abs(float(torch.logsumexp(lp[y].double(), 0))) < 1e-4
    assert not torch.allclose(lp[3], lp[0])
    # without label dropout there is no such token, and no guidance option
    plain = gated(label_dropout=0.0)
    assert plain.null_label is None
    with pytest.raises(ValueError, match=r"0\.\.2"):
        plain.log_prob(x[:2], labels=torch.tensor([3, 3]))


def test_training_drops_each_label_with_the_declared_probability():
    model = gated(label_dropout=0.3).train()
    x = (torch.rand(64, 1, 3, 3) > 0.5).float()
    labels = torch.randint(0, 3, (64,))
    torch.manual_seed(7)
    loss = model.loss(Batch(x, labels)).loss
    torch.manual_seed(7)
    dropped = torch.where(torch.rand(64) < 0.3, torch.full_like(labels, 3), labels)
    assert 0 < int((dropped == 3).sum()) < 64
    expected = -model.log_prob(x, labels=dropped).mean() / 9
    assert torch.allclose(loss, expected)
    # evaluation mode keeps every label
    model.eval()
    assert torch.allclose(model.loss(Batch(x, labels)).loss, -model.log_prob(x, labels=labels).mean() / 9)
    torch.manual_seed(0)
    share = float((drop_labels(torch.zeros(100_000, dtype=torch.long), 0.1, 9) == 9).double().mean())
    assert abs(share - 0.1) < 0.005


@pytest.mark.parametrize("likelihood,shape", [("bernoulli", (1, 3, 3)), ("categorical", (1, 2, 3))])
def test_guided_sampling_draws_each_value_from_the_guided_logits(likelihood, shape):
    """Replay: the uniforms the sampler drew, and the guided logits from two whole-network passes
    (given the class, given no class), choose exactly the sampled values."""
    model = gated(shape, likelihood)
    C, H, W = shape
    n, w = 6, 2.5
    labels = torch.tensor([0, 1, 2, 0, 1, 2])
    x = model.sample(n, generator=torch.Generator().manual_seed(4), labels=labels, guidance=w)
    u = torch.rand(n, H, W, C, generator=torch.Generator().manual_seed(4)).double()
    v = model.values(x)
    with torch.no_grad():
        cond = model.network(model.scaled(v), labels).double()
        uncond = model.network(model.scaled(v), torch.full_like(labels, 3)).double()
    logits = uncond + w * (cond - uncond)        # (n, C, K, H, W); position t sees only values before t
    for i, j, c in itertools.product(range(H), range(W), range(C)):
        step = logits[:, c, :, i, j]
        if likelihood == "bernoulli":
            want = (u[:, i, j, c] < torch.sigmoid(step[:, 0])).long()
        else:
            want = (torch.softmax(step, 1).cumsum(1) < u[:, i, j, c, None]).sum(1).clamp(max=255)
        assert torch.equal(v[:, c, i, j], want), (i, j, c)
    naive = model.sample(n, generator=torch.Generator().manual_seed(4), labels=labels, guidance=w, method="naive")
    assert torch.equal(naive, x)


def test_guidance_one_is_the_conditional_model_and_zero_the_unconditional_one():
    model = gated()
    labels = torch.tensor([0, 1, 2, 2])
    g = lambda: torch.Generator().manual_seed(1)  # noqa: E731
    assert torch.equal(model.sample(4, generator=g(), labels=labels, guidance=1.0),
                       model.sample(4, generator=g(), labels=labels))
    assert torch.equal(model.sample(4, generator=g(), labels=labels, guidance=0.0),
                       model.sample(4, generator=g(), labels=torch.full((4,), 3)))
    # completion is guided too, and keeps the known values
    x = (torch.rand(4, 1, 3, 3) > 0.5).float()
    mask = torch.zeros(1, 1, 3, 3, dtype=torch.bool)
    mask[..., 1:, :] = True
    done = model.complete(x, mask, generator=g(), labels=labels, guidance=3.0)
    assert torch.equal(done[..., :1, :], x[..., :1, :])


def test_the_config_sets_the_default_scale_and_errors_say_what_to_do():
    model = gated()
    labels = torch.tensor([0, 1])
    g = lambda: torch.Generator().manual_seed(2)  # noqa: E731
    scaled = GatedPixelCNN(GatedPixelCNNConfig(**{**model.config.__dict__, "guidance": 3.0})).eval()
    scaled.load_state_dict(model.state_dict())
    assert torch.equal(scaled.sample(2, generator=g(), labels=labels),
                       model.sample(2, generator=g(), labels=labels, guidance=3.0))
    with pytest.raises(ValueError, match="label_dropout > 0"):
        gated(label_dropout=0.0).sample(2, labels=labels, guidance=2.0)
    with pytest.raises(ValueError, match=r"label_dropout must lie in \[0, 1\)"):
        gated(label_dropout=1.0)
    with pytest.raises(ValueError, match="guidance must be >= 0"):
        model.sample(2, labels=labels, guidance=-1.0)


def test_guided_code_transformer_replays_from_the_full_pass_and_caches_exactly():
    torch.manual_seed(0)
    model = CodeTransformer(CodeTransformerConfig(data_shape=(1, 8, 8), width=32, layers=2, heads=4,
                                                  conditional=True, num_classes=3, label_dropout=0.2)).eval()
    assert model.null_label == 3 and model.capabilities.option("guidance") is not None  # declared by every one
    labels, w, n = torch.tensor([0, 1, 2, 1]), 2.0, 4
    codes = model.sample_codes(n, generator=torch.Generator().manual_seed(6), labels=labels, guidance=w)
    naive = model.sample_codes(n, generator=torch.Generator().manual_seed(6), labels=labels, guidance=w,
                               method="naive")
    assert torch.equal(codes, naive)
    flat = codes.flatten(1)
    u = torch.rand(n, model.L, generator=torch.Generator().manual_seed(6)).double()
    with torch.no_grad():
        cond = model.logits(torch.cat([model.K + labels[:, None], flat[:, :-1]], 1)).double()
        uncond = model.logits(torch.cat([torch.full((n, 1), model.K + 3), flat[:, :-1]], 1)).double()
    cdf = torch.softmax(guided(cond, uncond, w), -1).cumsum(-1)
    assert torch.equal(flat, (cdf < u[..., None]).sum(-1).clamp(max=model.K - 1))
    # the loss drops labels in training mode only
    x = torch.rand(8, 1, 8, 8)
    batch = Batch(x, torch.zeros(8, dtype=torch.long))
    model.train()
    torch.manual_seed(3)
    a = model.loss(batch).loss
    torch.manual_seed(3)
    dropped = torch.where(torch.rand(8) < 0.2, torch.full((8,), 3), torch.zeros(8, dtype=torch.long))
    assert torch.allclose(a, model.eval().loss(Batch(x, dropped)).loss)
    assert math.isfinite(float(a.detach()))


def test_a_default_scale_is_ignored_unconditionally_and_refused_without_no_class():
    from generativa.registry import get_preset

    preset = get_preset("gated_pixelcnn_mnist")
    assert preset.config.guidance == 1.5 and not preset.config.conditional
    torch.manual_seed(0)
    small = dict(data_shape=(1, 4, 4), filters=4, layers=1, guidance=1.5)
    plain = GatedPixelCNN(GatedPixelCNNConfig(**small)).eval()          # unconditional: sampled at w = 1
    assert plain.sample(2, generator=torch.Generator().manual_seed(0)).shape == (2, 1, 4, 4)
    with pytest.raises(ValueError, match="label_dropout > 0"):
        GatedPixelCNN(GatedPixelCNNConfig(**small, conditional=True, num_classes=3))
    with pytest.raises(ValueError, match="label_dropout > 0"):
        CodeTransformer(CodeTransformerConfig(data_shape=(1, 8, 8), width=32, layers=1, heads=4, conditional=True,
                                              num_classes=3, guidance=2.0))
