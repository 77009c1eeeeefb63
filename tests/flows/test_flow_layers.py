"""Every flow layer, with randomised parameters: the inverse undoes the forward map (float64, to
1e-8 unless stated), the log-determinant equals autograd's, and the two directions' log-dets cancel."""

from __future__ import annotations

import pytest
import torch

from generativa.models.flows.actnorm import ActNorm
from generativa.models.flows.base import FlowSequence, Reshape, jacobian_log_det
from generativa.models.flows.conditioners import Squeeze
from generativa.models.flows.coupling import make_coupling
from generativa.models.flows.linear import ElementwiseAffine, InvertibleConv1x1, InvertibleLinear
from generativa.models.flows.made import IAFLayer, MAFLayer
from generativa.models.flows.multiscale import LevelSpec, MultiScale, level_shapes
from generativa.models.flows.residual import ResidualBlock


@pytest.fixture(autouse=True)
def _float64():
    old = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    yield
    torch.set_default_dtype(old)


def randomise(layer, seed=0, scale=0.5):
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in layer.parameters():
            p.add_(torch.randn(p.shape, generator=g, dtype=p.dtype) * scale)
    return layer


def _image_log_det(layer, z):
    """autograd's log |det| of a map between (B, C, H, W) tensors, flattened."""
    shape = z.shape[1:]
    flat = lambda v: layer(v.view(-1, *shape))[0].reshape(v.shape[0], -1)  # noqa: E731
    return jacobian_log_det(flat, z.reshape(z.shape[0], -1))


VECTOR_LAYERS = {
    "elementwise": lambda: ElementwiseAffine(4),
    "linear": lambda: InvertibleLinear(4, seed=3),
    "coupling_affine": lambda: make_coupling((4,), "half", 0, hidden=8),
    "coupling_additive": lambda: make_coupling((5,), "half", 1, affine=False, hidden=8),
    "maf": lambda: MAFLayer(4, (16, 16), seed=1),
    "maf_reversed": lambda: MAFLayer(4, (16,), reverse=True),
    "iaf": lambda: IAFLayer(4, (16, 16), seed=2),
    "actnorm": lambda: ActNorm(4),
    "sequence": lambda: FlowSequence([make_coupling((4,), "half", 0, hidden=8), InvertibleLinear(4),
                                      make_coupling((4,), "half", 1, hidden=8)]),
}
IMAGE_LAYERS = {
    "checkerboard": lambda: make_coupling((2, 4, 4), "checkerboard", 1, hidden=8),
    "channel": lambda: make_coupling((4, 2, 2), "channel", 0, hidden=8),
    "channel_odd": lambda: make_coupling((3, 2, 2), "channel", 1, hidden=8),
    "conv1x1": lambda: InvertibleConv1x1(3, seed=5),
    "actnorm": lambda: ActNorm(3),
    "elementwise": lambda: ElementwiseAffine(3),
}


@pytest.mark.parametrize("name", sorted(VECTOR_LAYERS))
def test_vector_layers(name):
    layer = randomise(VECTOR_LAYERS[name]())
    z = torch.randn(5, 5 if name == "coupling_additive" else 4, generator=torch.Generator().manual_seed(1))
    x, ld = layer(z)
    back, ld_inv = layer.inverse(x)
    torch.testing.assert_close(back, z, rtol=0, atol=1e-8)
    torch.testing.assert_close(ld + ld_inv, torch.zeros(5), rtol=0, atol=1e-8)
    torch.testing.assert_close(ld, jacobian_log_det(lambda v: layer(v)[0], z), rtol=1e-8, atol=1e-8)
    assert ld.abs().max() > 1e-3 or name == "coupling_additive"  # the parameters really moved the map


@pytest.mark.parametrize("name", sorted(IMAGE_LAYERS))
def test_image_layers(name):
    layer = randomise(IMAGE_LAYERS[name]())
    shape = {"checkerboard": (2, 4, 4), "channel": (4, 2, 2), "channel_odd": (3, 2, 2)}.get(name, (3, 2, 2))
    z = torch.randn(3, *shape, generator=torch.Generator().manual_seed(2))
    x, ld = layer(z)
    back, ld_inv = layer.inverse(x)
    torch.testing.assert_close(back, z, rtol=0, atol=1e-8)
    torch.testing.assert_close(ld + ld_inv, torch.zeros(3), rtol=0, atol=1e-8)
    torch.testing.assert_close(ld, _image_log_det(layer, z), rtol=1e-8, atol=1e-8)


def test_squeeze_and_reshape_are_permutations():
    x = torch.arange(2 * 1 * 4 * 4, dtype=torch.float64).view(2, 1, 4, 4)
    z, ld = Squeeze().inverse(x)
    assert z.shape == (2, 4, 2, 2) and torch.equal(z[0, :, 0, 0], torch.tensor([0.0, 1.0, 4.0, 5.0]))
    assert torch.equal(Squeeze()(z)[0], x) and torch.equal(ld, torch.zeros(2))
    r = Reshape((1, 4, 4))
    assert torch.equal(r(r.inverse(x)[0])[0], x)
    with pytest.raises(ValueError, match="even sizes"):
        Squeeze().inverse(torch.zeros(1, 1, 3, 3))


def test_multiscale_flow_round_trip_and_log_det():
    shape = (1, 4, 4)
    specs = [LevelSpec(pre=[], squeeze=True, post=[], split=True), LevelSpec(pre=[], squeeze=True, post=[], split=False)]
    shapes = level_shapes(shape, specs)
    for spec, entry in zip(specs, shapes):
        s = entry["squeezed"]
        spec.pre = [make_coupling(entry["input"], "checkerboard", 0, hidden=4)]
        spec.post = [make_coupling(s, "channel", 0, hidden=4), InvertibleConv1x1(s[0]), ActNorm(s[0])]
    flow = randomise(MultiScale(shape, specs, split_prior=True, prior_hidden=4), scale=0.3)
    z = torch.randn(2, 16, generator=torch.Generator().manual_seed(0))
    x, ld = flow(z)
    assert x.shape == (2, 1, 4, 4)
    back, ld_inv = flow.inverse(x)
    torch.testing.assert_close(back, z, rtol=0, atol=1e-8)
    torch.testing.assert_close(ld + ld_inv, torch.zeros(2), rtol=0, atol=1e-8)
    torch.testing.assert_close(ld, jacobian_log_det(lambda v: flow(v)[0].flatten(1), z), rtol=1e-7, atol=1e-7)


def test_made_outputs_depend_only_on_earlier_inputs_in_random_orders():
    from generativa.models.flows.made import MADE

    for seed in range(5):
        g = torch.Generator().manual_seed(seed)
        d = 7
        order = torch.randperm(d, generator=g)
        made = randomise(MADE(d, (32, 16), order=order, seed=seed), seed, scale=1.0)
        x = torch.randn(1, d, generator=g)
        jac = torch.autograd.functional.jacobian(made, x)[0, :, :, 0, :]  # (k, D_out, D_in)
        for i in range(d):
            for j in range(d):
                if order[j] >= order[i]:  # j is not before i in the order
                    assert torch.all(jac[:, i, j] == 0), (seed, i, j)
        earlier = [(i, j) for i in range(d) for j in range(d) if order[j] < order[i]]
        assert any(jac[:, i, j].abs().max() > 0 for i, j in earlier)  # and some do depend


def test_residual_block_inverse_and_exact_log_det():
    block = randomise(ResidualBlock(3, (16, 16), coeff=0.9, log_det="exact"), scale=1.0)
    assert block.lipschitz_bound() < 0.9 ** 3 + 1e-9
    z = torch.randn(4, 3, generator=torch.Generator().manual_seed(3))
    x, ld = block(z)  # fixed-point iteration
    back, ld_inv = block.inverse(x)
    torch.testing.assert_close(back.detach(), z, rtol=0, atol=1e-6)
    torch.testing.assert_close(ld_inv.detach(), jacobian_log_det(lambda v: block.inverse(v)[0], x.detach()),
                               rtol=1e-8, atol=1e-8)
    torch.testing.assert_close(ld + ld_inv.detach(), torch.zeros(4), rtol=0, atol=1e-8)


def test_residual_log_det_estimators_agree_with_the_exact_value():
    torch.manual_seed(0)
    block = randomise(ResidualBlock(3, (16,), coeff=0.8), scale=1.0)
    x = torch.randn(2, 3, generator=torch.Generator().manual_seed(4))
    with torch.no_grad():
        exact = block.inverse(x, log_det="exact")[1]
        series = block.inverse(x, log_det="series")[1]  # 2 terms, one Hutchinson vector
        block.terms = 12
        many = torch.stack([block.inverse(x, log_det="series")[1] for _ in range(400)]).mean(0)
        block.terms = 1
        roulette = torch.stack([block.inverse(x, log_det="roulette")[1] for _ in range(4000)]).mean(0)
    assert series.shape == exact.shape
    torch.testing.assert_close(many, exact, rtol=0, atol=0.05)      # truncation small, noise averaged
    torch.testing.assert_close(roulette, exact, rtol=0, atol=0.05)  # unbiased: the mean converges
