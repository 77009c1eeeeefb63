"""Pure metric functions against closed forms and independent references."""

from __future__ import annotations

import math

import numpy as np
import pytest
import scipy.linalg
import torch

from generativa.evaluation.detection import auroc, average_precision
from generativa.evaluation.fid import (
    GaussianStats,
    fid,
    frechet_distance,
    sqrtm_product,
    sqrtm_psd,
    trace_sqrt_product,
)
from generativa.evaluation.inception_score import inception_score, inception_score_from_probs
from generativa.evaluation.kid import kid, mmd2_unbiased
from generativa.evaluation.likelihood import bits_per_dim, discrete_log_prob, likelihood_summary
from generativa.evaluation.mode_coverage import mode_coverage
from generativa.evaluation.precision_recall import density_coverage, knn_radii, precision_recall
from generativa.evaluation.reconstruction import psnr, ssim, ssim_window


def _random_spd(d: int, rng: np.random.Generator, scale: float = 1.0) -> np.ndarray:
    a = rng.normal(size=(d, d))
    return scale * (a @ a.T / d + 0.1 * np.eye(d))


# -- FID ----------------------------------------------------------------------------------------
def test_streaming_stats_match_numpy():
    rng = np.random.default_rng(0)
    f = rng.normal(size=(1000, 7)) * rng.uniform(0.1, 3, size=7) + 5.0
    stats = GaussianStats()
    for i in range(0, 1000, 97):  # uneven batches
        stats.update(torch.from_numpy(f[i : i + 97]))
    assert stats.n == 1000
    np.testing.assert_allclose(stats.mean, f.mean(0), rtol=1e-12)
    np.testing.assert_allclose(stats.cov, np.cov(f, rowvar=False), rtol=1e-10)


def test_fid_of_a_set_with_itself_is_zero():
    x = torch.randn(500, 16, generator=torch.Generator().manual_seed(1))
    assert fid(x, x) == pytest.approx(0.0, abs=1e-8)


def test_fid_of_two_gaussians_is_the_closed_form():
    rng = np.random.default_rng(2)
    d = 6
    mu1, mu2 = rng.normal(size=d), rng.normal(size=d)
    s1, s2 = _random_spd(d, rng), _random_spd(d, rng, 2.0)
    # closed form through scipy's (independent) matrix square root
    expected = np.sum((mu1 - mu2) ** 2) + np.trace(s1 + s2 - 2 * scipy.linalg.sqrtm(s1 @ s2).real)
    assert frechet_distance(mu1, s1, mu2, s2) == pytest.approx(expected, rel=1e-9)
    # commuting (diagonal) case by hand: sum (sqrt(a) - sqrt(b))^2
    a, b = rng.uniform(0.5, 2, size=d), rng.uniform(0.5, 2, size=d)
    hand = np.sum((mu1 - mu2) ** 2) + np.sum((np.sqrt(a) - np.sqrt(b)) ** 2)
    assert frechet_distance(mu1, np.diag(a), mu2, np.diag(b)) == pytest.approx(hand, rel=1e-12)
    # from samples: large samples of the two Gaussians approach the closed form
    n = 200_000
    x = rng.multivariate_normal(mu1, s1, size=n)
    y = rng.multivariate_normal(mu2, s2, size=n)
    assert fid(x, y) == pytest.approx(expected, rel=0.03)


def test_matrix_square_roots_agree_with_scipy():
    rng = np.random.default_rng(3)
    for d in (3, 20, 84):
        s1, s2 = _random_spd(d, rng), _random_spd(d, rng, 3.0)
        ref = scipy.linalg.sqrtm(s1)
        np.testing.assert_allclose(sqrtm_psd(s1), ref.real, rtol=1e-6, atol=1e-6 * np.abs(ref).max())
        ref_prod = scipy.linalg.sqrtm(s1 @ s2).real
        ours = sqrtm_product(s1, s2)
        assert np.linalg.norm(ours - ref_prod) / np.linalg.norm(ref_prod) < 1e-6
        assert trace_sqrt_product(s1, s2) == pytest.approx(np.trace(ref_prod), rel=1e-6)


def test_fid_grows_with_a_shift():
    g = torch.Generator().manual_seed(4)
    x = torch.randn(2000, 8, generator=g)
    values = [fid(x, torch.randn(2000, 8, generator=g) + s) for s in (0.0, 0.5, 1.0)]
    assert values[0] < values[1] < values[2]
    assert values[2] == pytest.approx(8.0, rel=0.1)  # |shift|^2 = 8 * 1^2


# -- KID ----------------------------------------------------------------------------------------
def test_kid_of_one_distribution_averages_zero_and_detects_a_shift():
    g = torch.Generator().manual_seed(5)
    x, y = torch.randn(1000, 10, generator=g), torch.randn(1000, 10, generator=g)
    same = kid(x, y, n_subsets=50, subset_size=200, generator=torch.Generator().manual_seed(0))
    assert abs(same.mean) < 3 * same.std / math.sqrt(50) + 1e-3
    shifted = kid(x, y + 0.5, n_subsets=50, subset_size=200, generator=torch.Generator().manual_seed(0))
    assert shifted.mean > 10 * abs(same.mean) and shifted.mean > 0.01


def test_mmd_matches_a_loop():
    g = torch.Generator().manual_seed(6)
    x, y = torch.randn(7, 3, generator=g).double(), torch.randn(5, 3, generator=g).double()
    k = lambda a, b: (a @ b / 3 + 1) ** 3  # noqa: E731
    xx = sum(k(x[i], x[j]) for i in range(7) for j in range(7) if i != j) / (7 * 6)
    yy = sum(k(y[i], y[j]) for i in range(5) for j in range(5) if i != j) / (5 * 4)
    xy = sum(k(x[i], y[j]) for i in range(7) for j in range(5)) / 35
    assert float(mmd2_unbiased(x, y)) == pytest.approx(float(xx + yy - 2 * xy), rel=1e-12)


# -- precision / recall, density / coverage -------------------------------------------------------
def test_precision_recall_known_cases():
    g = torch.Generator().manual_seed(7)
    x = torch.randn(600, 4, generator=g)
    same = precision_recall(x, x.clone())
    assert same == {"precision": 1.0, "recall": 1.0}
    far = precision_recall(x, torch.randn(600, 4, generator=g) + 100.0)
    assert far == {"precision": 0.0, "recall": 0.0}
    # fake lies inside the real support but covers only a small part of it
    narrow = 0.05 * torch.randn(600, 4, generator=g)
    inside = precision_recall(x, narrow)
    assert inside["precision"] > 0.99 and inside["recall"] < 0.1
    # and the other way round
    outside = precision_recall(narrow, x)
    assert outside["recall"] > 0.99 and outside["precision"] < 0.1


def test_density_coverage_known_cases():
    g = torch.Generator().manual_seed(8)
    x = torch.randn(800, 3, generator=g)
    y = torch.randn(800, 3, generator=g)
    dc = density_coverage(x, y)
    assert 0.8 < dc["density"] < 1.2 and dc["coverage"] > 0.9
    collapsed = density_coverage(x, torch.zeros(800, 3))
    assert collapsed["coverage"] < 0.1
    assert density_coverage(x, y + 100.0) == {"density": 0.0, "coverage": 0.0}


def test_knn_radii_by_brute_force():
    x = torch.tensor([[0.0], [1.0], [3.0], [7.0]])
    assert knn_radii(x, 1).tolist() == [1.0, 1.0, 2.0, 4.0]
    assert knn_radii(x, 2, block=3).tolist() == [3.0, 2.0, 3.0, 6.0]


# -- Inception Score, mode coverage ------------------------------------------------------------
def test_inception_score_bounds():
    g = torch.Generator().manual_seed(9)
    for _ in range(20):
        logits = torch.randn(200, 10, generator=g) * float(torch.rand(1, generator=g) * 20)
        mean, _ = inception_score(logits, splits=4)
        assert 1.0 - 1e-9 <= mean <= 10.0 + 1e-9
    # extremes: certain and balanced -> C; identical rows -> 1
    certain = torch.eye(10).repeat(30, 1)
    assert inception_score_from_probs(certain, splits=1)[0] == pytest.approx(10.0)
    assert inception_score_from_probs(torch.full((100, 10), 0.1), splits=2)[0] == pytest.approx(1.0)
    # rows stored in class order (as the shapes splits are) still score C, not 1
    sorted_rows = torch.eye(3).repeat_interleave(100, dim=0)
    assert inception_score_from_probs(sorted_rows, splits=10)[0] == pytest.approx(3.0, rel=0.1)


def test_mode_coverage():
    data = torch.arange(10).repeat(50)
    full = mode_coverage(torch.arange(10).repeat(20), data, 10)
    assert full["mode_coverage"] == 1.0 and full["class_kl"] == pytest.approx(0.0, abs=1e-12)
    collapsed = mode_coverage(torch.tensor([3, 7] * 100), data, 10)
    assert collapsed["mode_coverage"] == pytest.approx(0.2)
    assert collapsed["class_kl"] == pytest.approx(math.log(5.0))  # q = 1/2 on 2 classes, p = 1/10


# -- reconstruction -------------------------------------------------------------------------------
def test_ssim_matches_scikit_image():
    skm = pytest.importorskip("skimage.metrics")
    g = torch.Generator().manual_seed(10)
    for c, h in ((1, 28), (3, 16)):
        x = torch.rand(3, c, h, h, generator=g)
        y = (x + 0.2 * torch.randn(x.shape, generator=g)).clamp(0, 1)
        ours = ssim(x, y)
        for i in range(3):
            ref = skm.structural_similarity(
                x[i].numpy().astype(np.float64), y[i].numpy().astype(np.float64),
                gaussian_weights=True, sigma=1.5, use_sample_covariance=False,
                data_range=1.0, channel_axis=0,
            )
            assert float(ours[i]) == pytest.approx(ref, abs=1e-9)
        assert float(ssim(x, x).min()) == pytest.approx(1.0)


def test_ssim_on_small_images_uses_a_smaller_window():
    assert ssim_window(8, 8) == 7 and ssim_window(28, 28) == 11 and ssim_window(10, 12) == 9
    x = torch.rand(4, 1, 8, 8, generator=torch.Generator().manual_seed(11))
    assert torch.allclose(ssim(x, x), torch.ones(4, dtype=torch.float64))
    assert float(ssim(x, 1 - x).mean()) < 0.5


def test_psnr():
    x = torch.zeros(2, 1, 4, 4)
    y = torch.full((2, 1, 4, 4), 0.1)
    assert psnr(x, y).tolist() == pytest.approx([20.0, 20.0])


# -- detection ------------------------------------------------------------------------------------
def test_auroc_and_ap_match_sklearn():
    from sklearn.metrics import average_precision_score, roc_auc_score

    rng = np.random.default_rng(12)
    for _ in range(10):
        y = rng.integers(0, 2, size=200)
        y[:2] = [0, 1]
        s = np.round(rng.normal(size=200) + y, 1)  # rounding makes ties
        assert auroc(s, y) == pytest.approx(roc_auc_score(y, s), abs=1e-12)
        assert average_precision(torch.from_numpy(s), torch.from_numpy(y)) == pytest.approx(
            average_precision_score(y, s), abs=1e-12
        )
    with pytest.raises(ValueError, match="both"):
        auroc([0.1, 0.2], [1, 1])


# -- likelihood -----------------------------------------------------------------------------------
def test_bits_per_dim_of_a_uniform_model_is_eight():
    d = 64
    # uniform density 1 on [0, 1]^D -> log p = 0 -> discrete log P = -D log 256 -> 8 bits/dim
    log_p = discrete_log_prob(torch.zeros(5), d)
    assert float(bits_per_dim(-log_p.mean(), d)) == pytest.approx(8.0)
    summary = likelihood_summary(log_p, d, is_image=True, is_bound=False)
    assert summary["bits_per_dim"] == pytest.approx(8.0) and "256" in summary["dequantisation"]
