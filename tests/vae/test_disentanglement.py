"""MIG and the beta-VAE metric on codes with known answers."""

import numpy as np
import pytest
import torch

from generativa.evaluation.disentanglement import (
    beta_vae_score,
    discrete_entropy,
    discrete_mutual_info,
    discretize,
    mig,
)

SIZES = (3, 6, 40, 32, 32)
NAMES = ("shape", "scale", "orientation", "pos_x", "pos_y")


def random_factors(n, seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.stack([torch.randint(s, (n,), generator=g) for s in SIZES], 1)


def test_mutual_information_and_entropy_known_values():
    a = np.array([0, 1] * 500)
    assert discrete_entropy(a) == pytest.approx(np.log(2))
    assert discrete_mutual_info(a, a) == pytest.approx(np.log(2))
    assert discrete_mutual_info(a, np.array([0, 0, 1, 1] * 250)) == pytest.approx(0.0, abs=1e-12)


def test_discretize_uses_equal_width_bins():
    codes = np.linspace(0, 1, 200)[:, None]
    binned = discretize(codes, 20)
    assert binned.min() == 0 and binned.max() == 19
    assert (np.bincount(binned[:, 0]) == 10).all()


def test_code_equal_to_factors_gives_high_mig():
    f = random_factors(4000)
    codes = f.double() + 0.01 * torch.randn(f.shape, generator=torch.Generator().manual_seed(1))
    res = mig(codes, f, NAMES, average_over=NAMES[1:])
    assert res.mig > 0.8, res.per_factor
    assert res.per_factor["shape"] > 0.9


def test_noise_code_gives_mig_near_zero():
    f = random_factors(4000)
    codes = torch.randn(4000, 6, generator=torch.Generator().manual_seed(2))
    res = mig(codes, f, NAMES, average_over=NAMES[1:])
    assert res.mig < 0.05


def test_entangled_code_scores_lower_than_disentangled():
    f = random_factors(4000).double()
    rotation = torch.tensor([[0.7, 0.7], [-0.7, 0.7]], dtype=torch.float64)
    clean = f[:, 3:5]
    mixed = clean @ rotation                       # x and y spread over both dimensions
    a = mig(clean, f[:, 3:5].long(), ("pos_x", "pos_y")).mig
    b = mig(mixed, f[:, 3:5].long(), ("pos_x", "pos_y")).mig
    assert a > 0.8 and b < 0.3


def test_mig_reports_bad_inputs():
    with pytest.raises(ValueError, match="unknown factor"):
        mig(torch.randn(10, 3), random_factors(10), NAMES, average_over=["colour"])
    with pytest.raises(ValueError, match="2 dimensions"):
        mig(torch.randn(10, 1), random_factors(10), NAMES)


def test_beta_vae_metric_identity_code_is_perfect_and_noise_is_chance():
    g = torch.Generator().manual_seed(0)
    identity = lambda f: f.double() / torch.tensor(SIZES)  # noqa: E731
    good = beta_vae_score(identity, SIZES, pairs=16, train_points=200, test_points=200, generator=g)
    assert good["beta_vae_accuracy"] > 0.95
    noise = lambda f: torch.randn(f.shape[0], 5, generator=g)  # noqa: E731
    bad = beta_vae_score(noise, SIZES, pairs=16, train_points=200, test_points=200, generator=g)
    assert bad["beta_vae_accuracy"] < 0.4
