"""Flow density models: the whole map inverts, log_prob is the change of variables (against autograd),
densities integrate to 1, a linear flow fitted to Gaussian data reaches the closed-form NLL, samples
stay finite at every temperature by construction, residual blocks keep their Lipschitz bound."""

from __future__ import annotations

import math

import pytest
import torch

from generativa.models.flows.base import jacobian_log_det, log_standard_normal
from generativa.registry import build_model, get_preset

VECTOR_MODELS = {
    "nice": {"hidden": (16, 16)}, "realnvp": {"coupling_width": 16}, "maf": {"hidden": (16, 16)},
    "iaf": {"hidden": (16, 16)},
    "planar": {"layer": "planar", "num_layers": 4}, "radial": {"layer": "radial", "num_layers": 4},
    "residual_flow": {"num_blocks": 3, "hidden": (16, 16)},
}


def _build(key: str, seed: int = 0, scale: float = 0.3, **extra):
    name = "flow" if key in ("planar", "radial") else key
    torch.manual_seed(seed)
    model = build_model(name, **{**VECTOR_MODELS.get(key, {}), **extra}).double()
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in model.parameters():
            p.add_(torch.randn(p.shape, generator=g, dtype=p.dtype) * scale)
    return model.eval()


@pytest.mark.parametrize("key", sorted(VECTOR_MODELS))
def test_log_prob_is_the_change_of_variables(key):
    model = _build(key)
    x = torch.randn(4, 2, dtype=torch.float64, generator=torch.Generator().manual_seed(1)) * 1.5
    with torch.no_grad():
        lp = model.log_prob(x)
        z = model.encode(x)
    back = model.decode(z)
    torch.testing.assert_close(back, x, rtol=0, atol=1e-6)
    reference = log_standard_normal(z) + jacobian_log_det(lambda v: model.flow.inverse(v)[0], x)
    torch.testing.assert_close(lp, reference, rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("key", sorted(VECTOR_MODELS))
def test_the_density_integrates_to_the_share_of_samples_in_the_region(key):
    """The density summed over a grid on [-8, 8]^2 equals the share of the model's own samples that
    land there (1 where the mass is inside): density and sampler agree, and the density is normalised."""
    model = _build(key, seed=2, scale=0.15)
    h = 0.06
    axis = torch.arange(-8.0, 8.0 + h / 2, h, dtype=torch.float64)
    grid = torch.cartesian_prod(axis, axis)
    with torch.no_grad():
        mass = sum(float(model.log_prob(chunk).exp().sum()) for chunk in grid.split(20000)) * h * h
        x = model.sample(20000, generator=torch.Generator().manual_seed(0))
    inside = float((x.abs() <= 8 + h / 2).all(1).double().mean())
    assert inside > 0.85
    assert mass == pytest.approx(inside, abs=0.015), f"{key}: density mass {mass}, samples inside {inside}"


@pytest.mark.parametrize("name", ["glow", "realnvp"])
def test_image_flows_invert_and_their_log_det_is_autograds(name):
    torch.manual_seed(0)
    model = build_model(name, data_shape=(1, 4, 4), **({"depth": 2, "coupling_width": 8} if name == "glow" else
                                                      {"couplings": 2, "coupling_width": 8})).double()
    g = torch.Generator().manual_seed(3)
    with torch.no_grad():
        for p in model.parameters():
            p.add_(torch.randn(p.shape, generator=g, dtype=p.dtype) * 0.3)
    z = torch.randn(2, 16, dtype=torch.float64, generator=g)
    w, ld = model.flow(z)
    back, ld_inv = model.flow.inverse(w)
    torch.testing.assert_close(back, z, rtol=0, atol=1e-8)
    torch.testing.assert_close(ld, jacobian_log_det(lambda v: model.flow(v)[0].flatten(1), z), rtol=1e-7, atol=1e-7)
    torch.testing.assert_close(ld + ld_inv, torch.zeros(2, dtype=torch.float64), rtol=0, atol=1e-8)


def test_a_linear_flow_fitted_to_gaussian_data_reaches_the_closed_form_nll():
    g = torch.Generator().manual_seed(0)
    a = torch.tensor([[1.5, 0.0], [0.9, 0.4]], dtype=torch.float64)
    x = torch.randn(4000, 2, generator=g, dtype=torch.float64) @ a.T + torch.tensor([1.0, -2.0], dtype=torch.float64)
    cov = torch.cov(x.T, correction=0)
    closed_form = 0.5 * (2 * math.log(2 * math.pi * math.e) + float(torch.logdet(cov)))  # the MLE Gaussian's NLL
    torch.manual_seed(0)
    model = build_model("flow", layer="linear", num_layers=1).double()
    opt = torch.optim.LBFGS(model.parameters(), lr=1.0, max_iter=500, line_search_fn="strong_wolfe")

    def closure():
        opt.zero_grad()
        loss = -model.log_prob(x).mean()
        loss.backward()
        return loss

    opt.step(closure)
    with torch.no_grad():
        nll = float(-model.log_prob(x).mean())
    assert nll == pytest.approx(closed_form, abs=1e-6)


@pytest.mark.parametrize("name", ["glow", "realnvp"])
def test_samples_are_finite_at_every_temperature(name, digits):
    """The couplings' scales are bounded both ways, so sampling expands no more than the density
    direction contracts: a model that gives finite likelihoods to the data gives finite samples."""
    from generativa.models.base import Batch

    preset = get_preset(f"{name}_digits")
    torch.manual_seed(0)
    model = build_model(name, preset.config)
    g = torch.Generator().manual_seed(1)
    with torch.no_grad():
        for p in model.parameters():
            p.add_(torch.randn(p.shape, generator=g) * 0.2)  # every coupling and 1x1 conv away from identity
        if model.capabilities.data_init:
            model.data_init(Batch(digits.train.images(slice(0, 256))))
        assert torch.isfinite(model.log_prob(digits.test.images(slice(0, 64)))).all()
    model.eval()
    for t in (0.5, 0.6, 0.7, 0.8, 0.9, 1.0):
        x = model.sample(2000, generator=torch.Generator().manual_seed(2), temperature=t)
        assert torch.isfinite(x).all() and x.min() >= 0 and x.max() <= 1, t


def test_residual_blocks_keep_their_lipschitz_bound_while_training():
    torch.manual_seed(0)
    model = build_model("residual_flow", num_blocks=2, hidden=(32, 32), coeff=0.9)
    opt = torch.optim.Adam(model.parameters(), lr=0.05)
    x = torch.randn(128, 2) * torch.tensor([3.0, 0.3])
    for _ in range(20):
        opt.zero_grad()
        (-model.log_prob(x).mean()).backward()
        opt.step()
    bounds = model.lipschitz_bounds()
    assert len(bounds) == 2 and all(b <= 0.9 ** 3 + 1e-6 for b in bounds)
