"""Every sampler against the exact denoiser of Gaussian data, E[x_0 | x_t] in closed form: the samples'
mean and covariance match the data's within Monte-Carlo error; Heun's error falls faster with steps
than Euler's (measured orders); DDIM with eta = 1 and DDPM agree in distribution; the same seed gives
the same image in a batch of 1 and of 64."""

from __future__ import annotations

import math

import pytest
import torch

from generativa.models.diffusion.process import Process
from generativa.models.diffusion.samplers import SAMPLERS, ImageNoise, nfe, sample

MEAN = torch.tensor([1.0, -0.5], dtype=torch.float64)
COV = torch.tensor([[1.0, 0.6], [0.6, 0.5]], dtype=torch.float64)


def exact_denoiser(process: Process):
    """D(x, t) = m + a S (a^2 S + s^2 I)^{-1} (x - a m) for x_0 ~ N(m, S), x_t = a x_0 + s eps."""
    def denoise(x, t):
        a, s = process.alpha_sigma(t[:1].double())
        a, s = float(a), float(s)
        gain = a * COV @ torch.linalg.inv(a * a * COV + s * s * torch.eye(2, dtype=torch.float64))
        return MEAN + (x - a * MEAN) @ gain.T
    return denoise


def draw(process, sampler, steps, n=20000, seed=0, eta=0.0):
    noise = ImageNoise(n, (2,), torch.Generator().manual_seed(seed), "cpu", torch.float64)
    return sample(exact_denoiser(process), process, noise, sampler=sampler, steps=steps, eta=eta)


@pytest.mark.parametrize("schedule", ["vp_linear", "vp_cosine", "straight"])
@pytest.mark.parametrize("sampler", SAMPLERS)
def test_samplers_reproduce_gaussian_data(schedule, sampler):
    process = Process(schedule)
    steps = 256 if sampler in ("ddpm", "ddim", "euler") else 32  # first-order samplers need more
    n = 6000 if sampler in ("ddpm", "ddim") else 20000  # the stochastic ones draw per image at every step
    x = draw(process, sampler, steps=steps, n=n, eta=1.0 if sampler == "ddim" else 0.0)
    se = 4 * math.sqrt(2.0 / n)  # ~4 standard errors of a mean / covariance entry of order 1
    torch.testing.assert_close(x.mean(0), MEAN, rtol=0, atol=se + 0.02)
    torch.testing.assert_close(torch.cov(x.T), COV, rtol=0, atol=se + 0.03)


def _error(process, sampler, steps):
    x = draw(process, sampler, steps, n=4000)
    return float((torch.cov(x.T) - COV).abs().max() + (x.mean(0) - MEAN).abs().max())


def test_heun_converges_faster_than_euler():
    """Deterministic samplers share their noise, so the error vs the converged result isolates the
    discretisation error; fit the order as the slope of log error against log NFE."""
    process = Process("vp_cosine")
    reference = draw(process, "heun", 256, n=4000)

    def err(sampler, steps):
        return float((draw(process, sampler, steps, n=4000) - reference).abs().mean())

    orders = {}
    for sampler in ("euler", "heun"):
        steps = [8, 16, 32]
        errors = [err(sampler, s) for s in steps]
        evaluations = [nfe(sampler, s) for s in steps]
        slope = -(math.log(errors[-1]) - math.log(errors[0])) / (math.log(evaluations[-1]) - math.log(evaluations[0]))
        orders[sampler] = slope
    assert 0.7 < orders["euler"] < 1.4, orders
    assert orders["heun"] > 1.7, orders


def test_ddim_with_eta_one_is_ddpm_in_distribution():
    process = Process("vp_linear")
    a = draw(process, "ddpm", 32, n=8000, seed=1)
    b = draw(process, "ddim", 32, n=8000, seed=2, eta=1.0)
    torch.testing.assert_close(a.mean(0), b.mean(0), rtol=0, atol=0.06)
    torch.testing.assert_close(torch.cov(a.T), torch.cov(b.T), rtol=0, atol=0.06)


@pytest.mark.parametrize("sampler", SAMPLERS)
def test_image_i_does_not_depend_on_the_batch_size(sampler):
    process = Process("vp_cosine")
    big = sample(exact_denoiser(process), process, ImageNoise(64, (2,), torch.Generator().manual_seed(5), "cpu",
                                                              torch.float64), sampler=sampler, steps=6, eta=0.5)
    one = sample(exact_denoiser(process), process, ImageNoise(1, (2,), torch.Generator().manual_seed(5), "cpu",
                                                              torch.float64), sampler=sampler, steps=6, eta=0.5)
    torch.testing.assert_close(one[0], big[0], rtol=0, atol=1e-12)


def test_forward_process_marginals_match_the_closed_form():
    for schedule in ("vp_linear", "vp_cosine", "straight"):
        process = Process(schedule)
        x0 = torch.full((20000, 1), 2.0, dtype=torch.float64)
        for t in (0.1, 0.5, 0.9):
            tt = torch.full((20000,), t, dtype=torch.float64)
            eps = torch.randn(20000, 1, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
            xt = process.q_sample(x0, tt, eps)
            a, s = process.alpha_sigma(torch.tensor([t], dtype=torch.float64))
            assert abs(float(xt.mean()) - 2.0 * float(a)) < 4 * float(s) / math.sqrt(20000) + 1e-12
            assert abs(float(xt.std()) - float(s)) < 0.02 * float(s) + 1e-12
        if schedule != "straight":
            t = torch.linspace(0.0, 1.0, 11, dtype=torch.float64)
            a, s = process.alpha_sigma(t)
            torch.testing.assert_close(a ** 2 + s ** 2, torch.ones_like(t))  # variance preserving
