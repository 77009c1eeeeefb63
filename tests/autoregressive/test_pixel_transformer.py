"""The transformer over pixels: causal by gradients with no blind spot, normalised over every image of
a tiny size, cached sampling (keys and values kept) equal to naive sampling."""

from __future__ import annotations

import itertools
import math

import pytest
import torch

from generativa.models.autoregressive.pixel_transformer import PixelTransformer, PixelTransformerConfig


def build(shape, likelihood="categorical", width=16):
    torch.manual_seed(0)
    model = PixelTransformer(PixelTransformerConfig(data_shape=shape, likelihood=likelihood, width=width, layers=2,
                                                    heads=2)).eval()
    with torch.no_grad():
        for p in model.parameters():
            p.normal_(0.0, 0.3)
    return model


@pytest.mark.parametrize("shape,likelihood", [((1, 4, 4), "categorical"), ((3, 3, 3), "bernoulli")])
def test_every_output_sees_exactly_the_values_before_it(shape, likelihood):
    model = build(shape, likelihood)
    C, H, W = shape
    t = (torch.arange(H)[:, None] * W + torch.arange(W)[None, :])[None] * C + torch.arange(C)[:, None, None]
    x = torch.randn(16, *shape, requires_grad=True)
    out = model.network(x)
    w = torch.randn(out.shape[2])
    for c, i, j in itertools.product(range(C), range(H), range(W)):
        (g,) = torch.autograd.grad((out[:, c, :, i, j] @ w).sum(), x, retain_graph=True)
        seen = g.abs().sum(0) != 0
        assert torch.equal(seen, t < t[c, i, j]), f"value {(c, i, j)}"


@pytest.mark.parametrize("shape,likelihood,levels", [((1, 3, 3), "bernoulli", 2), ((3, 2, 2), "bernoulli", 2),
                                                     ((1, 1, 2), "categorical", 256)])
def test_probabilities_of_all_images_sum_to_one(shape, likelihood, levels):
    model = build(shape, likelihood, width=8)
    values = torch.tensor(list(itertools.product(range(levels), repeat=math.prod(shape))))
    x = (values.float() / (levels - 1)).view(-1, *shape)
    with torch.no_grad():
        total = torch.logsumexp(model.log_prob(x).double(), 0)
    assert abs(float(total)) < 1e-4


@pytest.mark.parametrize("shape,likelihood", [((1, 4, 4), "categorical"), ((3, 3, 3), "bernoulli")])
def test_cached_sampling_and_completion_give_the_naive_images(shape, likelihood):
    model = build(shape, likelihood)
    a = model.sample(3, generator=torch.Generator().manual_seed(4))
    b = model.sample(3, generator=torch.Generator().manual_seed(4), method="naive")
    assert torch.equal(a, b)
    x = torch.rand(3, *shape)
    mask = torch.zeros(1, 1, *shape[1:], dtype=torch.bool)
    mask[..., shape[1] // 2:, :] = True
    a = model.complete(x, mask, generator=torch.Generator().manual_seed(4))
    b = model.complete(x, mask, generator=torch.Generator().manual_seed(4), method="naive")
    assert torch.equal(a, b)
    known = ~mask.expand_as(x)
    assert torch.equal(a[known], model.images(model.values(x))[known])
