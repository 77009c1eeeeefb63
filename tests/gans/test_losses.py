"""The adversarial losses and the gradient penalty against hand computations."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from generativa.models.base import Batch
from generativa.models.gans import losses
from generativa.registry import build_model


class LinearCritic(nn.Module):
    """f(x) = w . x + b, ignoring labels: its gradient is w everywhere."""

    def __init__(self, w: list[float], b: float = 0.3):
        super().__init__()
        self.w = nn.Parameter(torch.tensor(w))
        self.b = nn.Parameter(torch.tensor(b))

    def forward(self, x, labels=None):
        return x.flatten(1) @ self.w + self.b


def test_gradient_penalty_of_a_linear_critic_is_the_squared_norm_gap():
    critic = LinearCritic([3.0, 4.0])  # ||w|| = 5 -> (5 - 1)^2 = 16 at every interpolate
    real, fake = torch.randn(7, 2), torch.randn(7, 2)
    gp = losses.gradient_penalty(critic, real, fake)
    assert gp.item() == pytest.approx(16.0, abs=1e-5)
    # it trains the critic: d gp / d w = 2 (||w|| - 1) w / ||w||
    gp.backward()
    torch.testing.assert_close(critic.w.grad, 2 * 4.0 * torch.tensor([3.0, 4.0]) / 5.0)


def test_gradient_penalty_uses_interpolates_drawn_per_example():
    # f(x) = 0.5 ||x||^2 has gradient x, so the penalty depends on where x_hat lies.
    critic = lambda x: 0.5 * (x**2).sum(1)  # noqa: E731
    real, fake = torch.randn(5, 3), torch.randn(5, 3)
    gp = losses.gradient_penalty(critic, real, fake, generator=torch.Generator().manual_seed(3))
    eps = torch.rand(5, 1, generator=torch.Generator().manual_seed(3))
    x_hat = eps * real + (1 - eps) * fake
    expected = ((x_hat.norm(dim=1) - 1) ** 2).mean()
    assert gp.item() == pytest.approx(expected.item(), rel=1e-5)


def test_wgan_gp_discriminator_loss_matches_hand_computation_on_a_linear_critic():
    model = build_model("wgan_gp", data_shape=(2,), latent_dim=2, hidden=(8,))
    model.discriminator = LinearCritic([0.6, -0.2], b=0.1)
    real = torch.randn(16, 2)
    torch.manual_seed(11)
    out = model.discriminator_loss(Batch(real))
    torch.manual_seed(11)  # the loss drew z first from the global stream
    z = torch.randn(16, 2)
    with torch.no_grad():
        fake = model.generator(z)
    w = torch.tensor([0.6, -0.2])
    f_real, f_fake = real @ w + 0.1, fake @ w + 0.1
    gp = (w.norm() - 1) ** 2
    expected = f_fake.mean() - f_real.mean() + 10.0 * gp  # lambda = 10 [Gulrajani et al. 2017, eq. 3]
    assert out.loss.item() == pytest.approx(expected.item(), rel=1e-5)
    assert out.terms["gp"].item() == pytest.approx(gp.item(), rel=1e-5)
    assert out.terms["wasserstein"].item() == pytest.approx((f_real.mean() - f_fake.mean()).item(), rel=1e-5)


@pytest.mark.parametrize("kind", ["minimax", "non_saturating", "hinge", "wasserstein"])
def test_losses_against_their_definitions(kind):
    f_real, f_fake = torch.randn(9), torch.randn(9)
    d_real, d_fake = torch.sigmoid(f_real), torch.sigmoid(f_fake)
    d = losses.discriminator_loss(kind, f_real, f_fake)
    g = losses.generator_loss(kind, f_fake)
    if kind in ("minimax", "non_saturating"):
        expected_d = -(torch.log(d_real).mean() + torch.log(1 - d_fake).mean())  # [Goodfellow et al. 2014, eq. 1]
        expected_g = torch.log(1 - d_fake).mean() if kind == "minimax" else -torch.log(d_fake).mean()
    elif kind == "hinge":
        expected_d = F.relu(1 - f_real).mean() + F.relu(1 + f_fake).mean()
        expected_g = -f_fake.mean()
    else:
        expected_d = f_fake.mean() - f_real.mean()
        expected_g = -f_fake.mean()
    assert d.item() == pytest.approx(expected_d.item(), rel=1e-5)
    assert g.item() == pytest.approx(expected_g.item(), rel=1e-5)


def test_minimax_generator_gradient_saturates_where_non_saturating_does_not():
    # When D confidently rejects fakes (f -> -inf), d/df log(1 - sigmoid(f)) -> 0 [Goodfellow et al. 2014, Sec. 3].
    f = torch.tensor([-8.0], requires_grad=True)
    (g_minimax,) = torch.autograd.grad(losses.generator_loss("minimax", f), f)
    (g_ns,) = torch.autograd.grad(losses.generator_loss("non_saturating", f), f)
    assert abs(g_minimax.item()) < 1e-3
    assert abs(g_ns.item()) > 0.99
    assert g_minimax.item() == pytest.approx(-torch.sigmoid(torch.tensor(-8.0)).item(), rel=1e-4)
    assert math.isfinite(g_ns.item())


def test_clip_parameters_bounds_every_weight():
    net = nn.Sequential(nn.Linear(3, 5), nn.LeakyReLU(), nn.Linear(5, 1))
    losses.clip_parameters_(net.parameters(), 0.01)
    for p in net.parameters():
        assert p.abs().max().item() <= 0.01
