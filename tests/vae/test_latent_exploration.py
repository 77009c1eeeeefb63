"""Latent traversals, interpolation, manifold grid, and debiasing weights."""

import math

import pytest
import torch

from generativa.exploration.debias import histogram_flatness, latent_sampling_weights, weighted_batches
from generativa.exploration.latent import (
    gaussian_quantile_grid,
    interpolate,
    latent_traversal,
    manifold_grid,
    save_gif,
    slerp,
)
from generativa.models.vae.vae import VAE, VAEConfig


@pytest.fixture(scope="module")
def model():
    torch.manual_seed(0)
    m = VAE(VAEConfig(latent_dim=2, widths=(8,)))
    m.eval()
    return m


def test_traversal_sweeps_one_dimension_per_row_ordered_by_kl(model):
    x = torch.rand(16, 1, 8, 8)
    with torch.no_grad():
        model.decoder.linear.bias.zero_()
    t = latent_traversal(model, x[:1], data=x, points=5)
    assert t.images.shape == (2 * 5, 1, 8, 8)
    assert t.kl is not None and t.kl[t.dims[0]] >= t.kl[t.dims[1]]
    torch.testing.assert_close(t.values, torch.linspace(-3, 3, 5))
    # row d decodes base code with dimension d replaced: check the first row against decode
    base = model.encode(x[:1])[0]
    z = base.repeat(5, 1)
    z[:, t.dims[0]] = t.values
    torch.testing.assert_close(t.images[:5], model.decode(z))


def test_slerp_keeps_the_norm_between_equal_norm_ends_and_hits_the_ends():
    a, b = torch.tensor([3.0, 0.0]), torch.tensor([0.0, 3.0])
    path = slerp(a, b, torch.linspace(0, 1, 7))
    torch.testing.assert_close(path.norm(dim=1), torch.full((7,), 3.0))
    torch.testing.assert_close(path[0], a)
    torch.testing.assert_close(path[-1], b)


def test_interpolation_ends_are_the_reconstructions(model, tmp_path):
    x = torch.rand(2, 1, 8, 8)
    for method in ("linear", "spherical"):
        strip = interpolate(model, x[0], x[1], points=6, method=method)
        assert strip.shape == (6, 1, 8, 8)
        torch.testing.assert_close(strip[0], model.reconstruct(x[:1])[0])
        torch.testing.assert_close(strip[-1], model.reconstruct(x[1:])[0])
    with pytest.raises(ValueError, match="method"):
        interpolate(model, x[0], x[1], method="cubic")


def test_gif_goes_there_and_back(tmp_path):
    from PIL import Image

    frames = torch.linspace(0, 1, 6)[:, None, None, None].expand(6, 1, 8, 8)  # distinct frames
    path = save_gif(frames, tmp_path / "a.gif")
    gif = Image.open(path)
    assert gif.n_frames == 6 + 4 and gif.info.get("loop") == 0


def test_manifold_grid_uses_gaussian_quantiles(model):
    q = gaussian_quantile_grid(3, lo=0.05, hi=0.95)
    torch.testing.assert_close(q, torch.tensor([-1.6449, 0.0, 1.6449]), atol=1e-4, rtol=0)
    grid = manifold_grid(model, 4)
    assert grid.shape == (16, 1, 8, 8)
    wide = VAE(VAEConfig(latent_dim=3, widths=(8,)))
    with pytest.raises(ValueError, match="2-d latent"):
        manifold_grid(wide, 4)


def test_debias_weights_even_out_an_over_represented_region():
    g = torch.Generator().manual_seed(0)
    # positions 0..31; 80% of the examples crowd into 0..7
    crowd = torch.randint(0, 8, (8000,), generator=g)
    rest = torch.randint(0, 32, (2000,), generator=g)
    pos = torch.cat([crowd, rest])
    codes = pos.double()[:, None] / 31 + 0.001 * torch.randn(10000, 1, generator=g, dtype=torch.float64)
    weights = latent_sampling_weights(codes, bins=8, alpha=0.0)
    assert weights.sum().item() == pytest.approx(1.0, abs=1e-5)
    drawn = pos[weighted_batches(weights, 256, 40, generator=g).flatten()]
    before, after = histogram_flatness(pos, 32), histogram_flatness(drawn, 32)
    assert before > 0.5 and after < 0.15
    # large alpha is close to uniform sampling
    smooth = latent_sampling_weights(codes, bins=8, alpha=100.0)
    assert float(smooth.max() / smooth.min()) < 1.02
    # bin of positions 0..3 holds ~42.5% of the codes, that of 20..23 ~2.5%: weights 1/Q in ratio ~17
    ratio = float(weights[pos == 21].mean() / weights[pos == 1].mean())
    assert math.isclose(ratio, 0.425 / 0.025, rel_tol=0.25), ratio


def test_active_dimensions_follow_the_variance_of_the_mean_code():
    from generativa.exploration.debias import active_dimensions

    g = torch.Generator().manual_seed(0)
    codes = torch.cat([torch.randn(500, 2, generator=g), 0.01 * torch.randn(500, 3, generator=g)], 1)
    assert active_dimensions(codes).tolist() == [True, True, False, False, False]
