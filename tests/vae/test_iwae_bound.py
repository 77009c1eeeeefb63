"""ELBO <= IWAE-k bound, and the importance-sampled NLL does not increase with k (Burda et al. 2015, Thm 1)."""

import math

import pytest
import torch

from generativa.data import load_data
from generativa.models.base import Batch
from generativa.models.vae.iwae import IWAE, IWAEConfig
from generativa.models.vae.vae import VAE, VAEConfig


@pytest.fixture(scope="module")
def trained():
    """A tiny MLP VAE trained for a few hundred steps on digits (a few seconds)."""
    torch.manual_seed(0)
    data = load_data("digits")
    x_train = data.train.images()
    model = VAE(VAEConfig(latent_dim=4, architecture="mlp", hidden=(64,)))
    opt = torch.optim.Adam(model.parameters(), lr=3e-3)
    g = torch.Generator().manual_seed(0)
    for _ in range(300):
        idx = torch.randint(len(x_train), (64,), generator=g)
        loss = model.loss(Batch(x_train[idx])).loss
        opt.zero_grad()
        loss.backward()
        opt.step()
    model.eval()
    return model, data.test.images()[:32]


def test_iwae_bound_is_at_least_the_elbo_on_the_same_draws(trained):
    model, x = trained
    log_w = model.log_weights(x, 50, generator=torch.Generator().manual_seed(0)).detach()  # (k, B)
    elbo = log_w.mean(0)
    iwae = torch.logsumexp(log_w, 0) - math.log(50)
    assert (iwae >= elbo - 1e-5).all()          # Jensen, per example
    assert (iwae - elbo).mean() > 0.1           # and strictly tighter on a real posterior


def test_nll_estimate_does_not_increase_with_k(trained):
    model, x = trained
    means, errors = {}, {}
    for k in (1, 10, 100, 1000):
        repeats = torch.stack([
            model.log_prob(x, k=k, generator=torch.Generator().manual_seed(10 * k + r), chunk=500).mean()
            for r in range(4)
        ])
        means[k], errors[k] = -repeats.mean().item(), repeats.std().item() / 2  # NLL, its standard error
    ks = sorted(means)
    for a, b in zip(ks, ks[1:]):
        tolerance = 3 * math.hypot(errors[a], errors[b]) + 1e-3
        assert means[b] <= means[a] + tolerance, (means, errors)
    assert means[1000] < means[1] - 0.1, means   # the bound really tightens
    # the analytic-KL ELBO is a bound on the same quantity: below the k = 1000 estimate
    elbo = model.elbo(x, generator=torch.Generator().manual_seed(0)).mean().item()
    assert -elbo >= means[1000]


def test_iwae_loss_is_the_k_sample_bound():
    torch.manual_seed(0)
    model = IWAE(IWAEConfig(latent_dim=3, widths=(8,), k=6))
    x = torch.rand(5, 1, 8, 8)
    torch.manual_seed(1)
    out = model.loss(Batch(x))
    torch.manual_seed(1)
    log_w = model.log_weights(x, 6)
    torch.testing.assert_close(out.loss, -(torch.logsumexp(log_w, 0) - math.log(6)).mean())
    assert out.loss <= out.terms["neg_elbo"] + 1e-6
