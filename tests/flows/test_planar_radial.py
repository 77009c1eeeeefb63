"""Planar and radial flow layers: log-determinants against autograd, inverses, the invertibility constraint."""

import pytest
import torch

from generativa.models.flows.base import FlowSequence, jacobian_log_det
from generativa.models.flows.planar import PlanarFlow
from generativa.models.flows.radial import RadialFlow


def randomise(layer, seed, scale=2.0):
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in layer.parameters():
            p.copy_(torch.randn(p.shape, generator=g, dtype=p.dtype) * scale)
    return layer


@pytest.fixture(autouse=True)
def _float64():
    old = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    yield
    torch.set_default_dtype(old)


@pytest.mark.parametrize("cls", [PlanarFlow, RadialFlow])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_log_det_matches_autograd_jacobian(cls, seed):
    layer = randomise(cls(5), seed)
    z = torch.randn(6, 5, generator=torch.Generator().manual_seed(100 + seed)) * 2
    _, log_det = layer(z)
    reference = jacobian_log_det(layer, z)
    torch.testing.assert_close(log_det, reference, atol=1e-8, rtol=1e-8)


@pytest.mark.parametrize("cls", [PlanarFlow, RadialFlow])
def test_inverse_undoes_forward(cls):
    layer = randomise(cls(4), 3)
    z = torch.randn(32, 4, generator=torch.Generator().manual_seed(0)) * 3
    x, log_det = layer(z)
    z_back, log_det_inv = layer.inverse(x)
    torch.testing.assert_close(z_back, z, atol=1e-7, rtol=1e-7)
    torch.testing.assert_close(log_det_inv, -log_det, atol=1e-7, rtol=1e-7)


def test_planar_invertibility_constraint_is_enforced():
    layer = PlanarFlow(3)
    with torch.no_grad():  # raw parameters that violate w^T u >= -1 by a wide margin
        layer.w.copy_(torch.tensor([1.0, 0.0, 0.0]))
        layer.u.copy_(torch.tensor([-5.0, 0.0, 0.0]))
    assert (layer.w @ layer.u).item() < -1
    assert (layer.w @ layer.u_hat()).item() > -1
    # so the map is monotone along w: no two inputs on the line collide and det > 0 everywhere
    t = torch.linspace(-6, 6, 400).unsqueeze(-1) * layer.w
    x, log_det = layer(t)
    assert torch.all(torch.diff(x[:, 0]) > 0)
    assert torch.isfinite(log_det).all()


def test_radial_constraint_beta_at_least_minus_alpha():
    layer = RadialFlow(2)
    with torch.no_grad():
        layer.beta_raw.fill_(-30.0)
    alpha, beta = layer.alpha_beta()
    assert beta.item() >= -alpha.item()


def test_sequence_sums_log_dets_and_inverts():
    flow = FlowSequence([randomise(PlanarFlow(3), s) if s % 2 else randomise(RadialFlow(3), s) for s in range(4)])
    z = torch.randn(5, 3, generator=torch.Generator().manual_seed(7))
    x, log_det = flow(z)
    torch.testing.assert_close(log_det, jacobian_log_det(flow, z), atol=1e-8, rtol=1e-8)
    z_back, log_det_inv = flow.inverse(x)
    torch.testing.assert_close(z_back, z, atol=1e-6, rtol=1e-6)
    torch.testing.assert_close(log_det_inv, -log_det, atol=1e-6, rtol=1e-6)
