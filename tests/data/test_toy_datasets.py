"""toy1d / toy2d: shapes, seeding, modes, exact densities."""

import math

import pytest
import torch
from scipy import stats

from generativa.data import DataError, load_data
from generativa.data.toy import TOY_NAMES, toy_log_prob, toy_modes, toy_sample


@pytest.mark.parametrize("spec", TOY_NAMES)
def test_every_toy_is_seeded_float32_vectors(spec):
    s = load_data(spec, n=500, n_test=50, seed=1)
    d = 1 if spec.startswith("toy1d") else 2
    assert s.train.x.shape == (500, d) and s.test.x.shape == (50, d)
    assert s.train.x.dtype == torch.float32 and not s.train.is_image
    assert torch.isfinite(s.train.x).all()
    assert torch.equal(load_data(spec, n=500, n_test=50, seed=1).train.x, s.train.x)
    assert not torch.equal(load_data(spec, n=500, n_test=50, seed=2).train.x, s.train.x)
    assert not torch.equal(s.train.x[:50], s.test.x)


def test_gaussian_moments():
    x = load_data("toy1d:gaussian", n=20000).train.x[:, 0]
    assert x.mean().item() == pytest.approx(1.0, abs=0.02)
    assert x.std().item() == pytest.approx(0.5, abs=0.02)


@pytest.mark.parametrize("name, k", [("toy1d:mixture", 3), ("ring8", 8), ("toy2d:grid25", 25)])
def test_samples_lie_within_3_std_of_a_mode(name, k):
    centres, std = toy_modes(name)
    assert centres.shape[0] == k
    x, labels = toy_sample(name, 4000, generator=torch.Generator().manual_seed(0))
    dist = torch.cdist(x, centres)
    assert (dist.min(1).values < 3 * std).float().mean() > 0.97
    assert torch.equal(dist.argmin(1), labels)  # the label is the component
    assert len(labels.unique()) == k


def test_ring8_and_grid25_geometry():
    centres, std = toy_modes("toy2d:ring8")
    assert torch.allclose(centres.norm(dim=1), torch.full((8,), 2.0)) and std == 0.02
    centres, std = toy_modes("grid25")
    assert sorted(set(centres[:, 0].tolist())) == [-4.0, -2.0, 0.0, 2.0, 4.0] and std == 0.05


def test_mixture_log_prob_matches_scipy_and_integrates_to_one():
    t = torch.linspace(-8, 8, 16001).unsqueeze(1)
    p = toy_log_prob("toy1d:mixture", t).exp()
    assert (p.sum() * 0.001).item() == pytest.approx(1.0, abs=1e-4)
    x = torch.tensor([[-3.0], [0.7], [5.0]])
    ref = sum(stats.norm(c, 0.4).pdf(x[:, 0].numpy()) for c in (-3, 0, 3)) / 3
    assert torch.allclose(toy_log_prob("mixture", x), torch.tensor(ref).log().float(), atol=1e-5)


def test_grid25_log_prob_integrates_to_one():
    step = 0.025  # the modes' std is 0.05: 2 points per std integrates a Gaussian to ~1e-6
    axis = torch.arange(-4.5, 4.5, step) + step / 2
    xx, yy = torch.meshgrid(axis, axis, indexing="ij")
    p = toy_log_prob("toy2d:grid25", torch.stack([xx.flatten(), yy.flatten()], 1)).exp()
    assert (p.sum() * step**2).item() == pytest.approx(1.0, abs=1e-3)


def test_checkerboard_density_is_exact():
    x = load_data("toy2d:checkerboard", n=2000).train.x
    assert torch.allclose(toy_log_prob("checkerboard", x), torch.full((2000,), -math.log(32)))
    outside = torch.tensor([[1.0, -1.0], [-1.0, 1.0], [4.5, 0.5]])  # odd cells and off the board
    assert torch.isinf(toy_log_prob("checkerboard", outside)).all()
    inside = torch.tensor([[1.0, 1.0], [-1.0, -1.0], [-3.0, 1.0]])
    assert torch.isfinite(toy_log_prob("checkerboard", inside)).all()


def test_labels_where_they_mean_something():
    assert load_data("toy1d:gaussian", n=10).train.labels is None
    assert load_data("toy2d:checkerboard", n=10).train.labels is None
    assert load_data("toy2d:moons", n=100).num_classes == 2
    assert load_data("toy2d:spirals", n=100).num_classes == 2


def test_errors_name_the_valid_choices():
    with pytest.raises(DataError, match="no modes"):
        toy_modes("moons")
    with pytest.raises(DataError, match="no closed-form"):
        toy_log_prob("spirals", torch.zeros(1, 2))
    with pytest.raises(DataError, match="toy2d:ring8"):
        load_data("toy2d:ring9")
