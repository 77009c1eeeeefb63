"""The VAE's math: closed-form KL, reparameterisation, likelihoods, the flow posterior's density."""

import math

import pytest
import torch
from torch.distributions import Bernoulli, Normal, kl_divergence

from generativa.models.vae.flow_vae import FlowVAE, FlowVAEConfig
from generativa.models.vae.vae import (
    VAE,
    VAEConfig,
    bits_per_dim,
    kl_to_standard_normal,
    log_normal_diag,
    reparameterize,
)


def test_kl_matches_torch_distributions():
    g = torch.Generator().manual_seed(0)
    mu, log_var = torch.randn(7, 5, generator=g) * 2, torch.randn(7, 5, generator=g)
    q = Normal(mu, torch.exp(0.5 * log_var))
    expected = kl_divergence(q, Normal(torch.zeros_like(mu), torch.ones_like(mu))).sum(-1)
    torch.testing.assert_close(kl_to_standard_normal(mu, log_var), expected, rtol=1e-5, atol=1e-5)


def test_kl_is_zero_exactly_when_q_is_the_prior():
    zero = torch.zeros(3, 4)
    assert torch.equal(kl_to_standard_normal(zero, zero), torch.zeros(3))
    for mu, log_var in [(zero + 1e-2, zero), (zero, zero + 1e-2), (zero, zero - 1e-2)]:
        assert (kl_to_standard_normal(mu, log_var) > 0).all()


def test_reparameterisation_uses_sigma_exp_half_log_var_and_the_generator():
    mu = torch.full((1, 1), 1.0)
    log_var = torch.full((1, 1), math.log(9.0))  # sigma = 3; the slide bug 0.5 * exp(log_var) gives 4.5
    z = reparameterize(mu, log_var, generator=torch.Generator().manual_seed(0), n=40000)
    assert abs(z.std().item() - 3.0) < 0.05
    assert abs(z.mean().item() - 1.0) < 0.05
    a = reparameterize(mu, log_var, generator=torch.Generator().manual_seed(5))
    b = reparameterize(mu, log_var, generator=torch.Generator().manual_seed(5))
    assert torch.equal(a, b)


def test_log_normal_diag_matches_torch():
    g = torch.Generator().manual_seed(1)
    z, mu, log_var = (torch.randn(4, 3, generator=g) for _ in range(3))
    expected = Normal(mu, torch.exp(0.5 * log_var)).log_prob(z).sum(-1)
    torch.testing.assert_close(log_normal_diag(z, mu, log_var), expected)


def test_bernoulli_and_gaussian_likelihoods_match_torch():
    g = torch.Generator().manual_seed(2)
    x_binary = (torch.rand(3, 1, 8, 8, generator=g) > 0.5).float()
    logits = torch.randn(3, 1, 8, 8, generator=g)
    bern = VAE(VAEConfig(latent_dim=2, widths=(8,)))
    expected = Bernoulli(logits=logits).log_prob(x_binary).flatten(1).sum(-1)
    torch.testing.assert_close(bern.log_likelihood(x_binary, logits), expected)

    gauss = VAE(VAEConfig(latent_dim=2, widths=(8,), likelihood="gaussian", sigma=0.3))
    x = torch.rand(3, 1, 8, 8, generator=g)
    expected = Normal(torch.sigmoid(logits), 0.3).log_prob(x).flatten(1).sum(-1)
    torch.testing.assert_close(gauss.log_likelihood(x, logits), expected)


def test_learned_sigma_is_a_parameter_and_fixed_sigma_is_not():
    learned = VAE(VAEConfig(latent_dim=2, widths=(8,), likelihood="gaussian", learn_sigma=True))
    fixed = VAE(VAEConfig(latent_dim=2, widths=(8,), likelihood="gaussian"))
    assert any(p is learned.log_sigma for p in learned.parameters())
    assert not any(p is fixed.log_sigma for p in fixed.parameters())
    from generativa.models.base import Batch

    learned.loss(Batch(torch.rand(4, 1, 8, 8))).loss.backward()
    assert learned.log_sigma.grad is not None and learned.log_sigma.grad.abs() > 0


def test_bits_per_dim():
    assert bits_per_dim(64 * math.log(2.0), (1, 8, 8)) == pytest.approx(1.0)


def test_flow_posterior_density_matches_change_of_variables():
    """log q_K(z_K|x) from the model equals log q_0(f^{-1}(z_K)) + log|det df^{-1}/dz_K|."""
    torch.manual_seed(0)
    model = FlowVAE(FlowVAEConfig(latent_dim=3, widths=(8,), flow="radial", num_flows=3)).double()
    with torch.no_grad():
        for p in model.flows.parameters():
            p.normal_(0, 1.0)
    x = torch.rand(4, 1, 8, 8, dtype=torch.float64)
    z, log_q = model.sample_posterior(x, 2, generator=torch.Generator().manual_seed(0))
    z0, log_det_inv = model.flows.inverse(z.reshape(-1, 3))
    mu, log_var = model.posterior(x)
    expected = log_normal_diag(z0.view(2, 4, 3), mu, log_var) + log_det_inv.view(2, 4)
    torch.testing.assert_close(log_q, expected, rtol=1e-7, atol=1e-7)


def test_flow_vae_without_layers_is_the_vae():
    torch.manual_seed(0)
    flow = FlowVAE(FlowVAEConfig(latent_dim=3, widths=(8,), num_flows=0))
    vae = VAE(VAEConfig(latent_dim=3, widths=(8,)))
    vae.load_state_dict(flow.state_dict())
    x = torch.rand(5, 1, 8, 8)
    a = flow.log_weights(x, 3, generator=torch.Generator().manual_seed(1))
    b = vae.log_weights(x, 3, generator=torch.Generator().manual_seed(1))
    torch.testing.assert_close(a, b)


def test_bf16_autocast_keeps_the_probability_math_in_fp32():
    from generativa.models.base import Batch

    torch.manual_seed(0)
    model = VAE(VAEConfig(latent_dim=4, widths=(16, 32)))
    x = torch.rand(8, 1, 8, 8)
    torch.manual_seed(1)
    full = model.loss(Batch(x))
    torch.manual_seed(1)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        half = model.loss(Batch(x))
        mu, log_var = model.posterior(x)
    assert half.loss.dtype == torch.float32 and mu.dtype == torch.float32 and log_var.dtype == torch.float32
    assert abs(half.loss.item() - full.loss.item()) < 0.02 * abs(full.loss.item())


def test_vector_data_takes_a_gaussian_mlp_vae():
    from generativa.models.base import Batch

    with pytest.raises(ValueError, match="gaussian"):
        VAE(VAEConfig(data_shape=(2,), architecture="mlp"))
    model = VAE(VAEConfig(data_shape=(2,), architecture="mlp", likelihood="gaussian", hidden=(16,), latent_dim=2))
    x = torch.randn(5, 2) * 4  # outside [0, 1]: the mean is not squashed
    assert torch.isfinite(model.loss(Batch(x)).loss)
    out = model.decoder_output(torch.zeros(1, 2))
    torch.testing.assert_close(model.decode(torch.zeros(1, 2)), out)
