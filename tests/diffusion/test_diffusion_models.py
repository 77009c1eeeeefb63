"""The diffusion model's arithmetic against independent computations: every prediction turns back into
x_0 exactly; min-SNR weights are min(SNR, gamma) on the x_0 error; guidance 1 is the conditional
model and guidance 0 the unconditional one; the variational bound equals the true log-density of
Gaussian data under the exact denoiser (and falls below it with any other); image i of a seed does
not depend on the batch size."""

from __future__ import annotations

import math

import pytest
import torch

from generativa.models.diffusion.ddpm import DDPM, DDPMConfig
from generativa.models.diffusion.model import UNetConfig

PREDICTIONS = ("eps", "x0", "v", "velocity")
SCHEDULES = ("vp_linear", "vp_cosine", "straight")
MEAN = torch.tensor([0.5, -0.3], dtype=torch.float64)
COV = torch.tensor([[0.8, 0.3], [0.3, 0.4]], dtype=torch.float64)


def vector_model(**kw) -> DDPM:
    torch.manual_seed(0)
    return DDPM(DDPMConfig(data_shape=(2,), unet=UNetConfig(widths=(16,)), **kw))


def image_model(**kw) -> DDPM:
    torch.manual_seed(0)
    model = DDPM(DDPMConfig(data_shape=(1, 8, 8), unet=UNetConfig(widths=(8, 16)), **kw))
    with torch.no_grad():  # the last layer starts at zero: give the network an output
        for p in model.net.parameters():
            if p.abs().sum() == 0 and p.dim() > 1:
                p.normal_(0.0, 0.05)
    return model


@pytest.mark.parametrize("schedule", SCHEDULES)
@pytest.mark.parametrize("prediction", PREDICTIONS)
def test_every_prediction_turns_back_into_x0(schedule, prediction):
    model = vector_model(schedule=schedule, prediction=prediction)
    g = torch.Generator().manual_seed(1)
    x0, eps = torch.randn(500, 2, generator=g), torch.randn(500, 2, generator=g)
    t = torch.rand(500, generator=g) * 0.9 + 0.05
    x_t = model.process.q_sample(x0, t, eps)
    torch.testing.assert_close(model.to_x0(model.target(x0, eps, t), x_t, t), x0, rtol=0, atol=2e-4)


@pytest.mark.parametrize("schedule", SCHEDULES)
@pytest.mark.parametrize("prediction", PREDICTIONS)
def test_min_snr_weight_is_min_snr_gamma_on_the_x0_error(schedule, prediction):
    model = vector_model(schedule=schedule, prediction=prediction, weighting="min_snr", min_snr_gamma=5.0)
    g = torch.Generator().manual_seed(2)
    x0, eps = torch.randn(300, 2, generator=g, dtype=torch.float64), torch.randn(300, 2, generator=g,
                                                                                    dtype=torch.float64)
    t = torch.rand(300, generator=g, dtype=torch.float64) * 0.9 + 0.05
    x_t = model.process.q_sample(x0, t, eps)
    out = model.target(x0, eps, t) + 0.1 * torch.randn(300, 2, generator=g, dtype=torch.float64)
    a, s = model.process.alpha_sigma(t)
    snr = (a / s) ** 2
    expected = torch.clamp(snr, max=5.0) * (model.to_x0(out, x_t, t) - x0).pow(2).sum(1)
    got = model.weight(t) * (out - model.target(x0, eps, t)).pow(2).sum(1)
    torch.testing.assert_close(got, expected, rtol=1e-6, atol=1e-9)


def test_guidance_one_is_the_conditional_model_and_zero_the_unconditional():
    model = image_model(conditional=True, num_classes=3).eval()
    g = torch.Generator().manual_seed(3)
    x, t = torch.randn(6, 1, 8, 8, generator=g), torch.rand(6, generator=g)
    labels = torch.tensor([0, 1, 2, 0, 1, 2])
    with torch.no_grad():
        cond = model.to_x0(model.network_output(x, t, labels), x, t)
        uncond = model.to_x0(model.network_output(x, t, torch.full_like(labels, 3)), x, t)
        torch.testing.assert_close(model.denoise(x, t, labels, guidance=1.0), cond)
        torch.testing.assert_close(model.denoise(x, t, labels, guidance=0.0), uncond, rtol=0, atol=1e-5)
        torch.testing.assert_close(model.denoise(x, t, labels, guidance=3.0), uncond + 3.0 * (cond - uncond),
                                   rtol=0, atol=1e-5)
    a = model.sample(4, generator=torch.Generator().manual_seed(0), labels=[2, 2, 1, 0], guidance=1.0,
                     steps=4)
    b = model.sample(4, generator=torch.Generator().manual_seed(0), labels=[2, 2, 1, 0], steps=4)
    torch.testing.assert_close(a, b)
    assert not torch.equal(a, model.sample(4, generator=torch.Generator().manual_seed(0), labels=[2, 2, 1, 0],
                                           guidance=3.0, steps=4))


def test_guidance_needs_a_model_trained_with_labels():
    with pytest.raises(ValueError, match="cannot be guided"):
        image_model().sample(2, guidance=2.0)
    with pytest.raises(ValueError, match="labelled data"):
        image_model(conditional=True)


@pytest.mark.parametrize("sampler", ["ddpm", "heun", "dpm_solver"])
def test_image_i_of_a_seed_does_not_depend_on_the_batch_size(sampler):
    model = image_model()
    big = model.sample(64, generator=torch.Generator().manual_seed(7), sampler=sampler, steps=4)
    one = model.sample(1, generator=torch.Generator().manual_seed(7), sampler=sampler, steps=4)
    torch.testing.assert_close(one[0], big[0], rtol=0, atol=1e-4)


def exact_gaussian_denoiser(model):
    """E[x_0 | x_t] for x_0 ~ N(MEAN, COV): MEAN + a COV (a^2 COV + s^2 I)^-1 (x_t - a MEAN), per example."""
    def denoise(x_t, t, labels=None, guidance=1.0):
        a, s = (v.double() for v in model.process.alpha_sigma(t.double()))
        x = x_t.double()
        covs = a[:, None, None] ** 2 * COV + s[:, None, None] ** 2 * torch.eye(2, dtype=torch.float64)
        r = torch.linalg.solve(covs, (x - a[:, None] * MEAN).unsqueeze(-1)).squeeze(-1)
        return (MEAN + a[:, None] * r @ COV).to(x_t.dtype)
    return denoise


@pytest.mark.parametrize("schedule", SCHEDULES)
def test_the_bound_is_the_log_density_under_the_exact_denoiser(schedule):
    model = vector_model(schedule=schedule)
    model.denoise = exact_gaussian_denoiser(model)
    data = torch.distributions.MultivariateNormal(MEAN, COV)
    x = data.sample((3000,)).float()
    bound = model.log_prob(x, k=32, generator=torch.Generator().manual_seed(0)).double()
    true = data.log_prob(x.double())
    gap = float((true - bound).mean())
    stderr = float((true - bound).std()) / math.sqrt(len(x))
    assert abs(gap) < 4 * stderr + 0.01, (gap, stderr)

    exact = model.denoise
    model.denoise = lambda x_t, t, labels=None, guidance=1.0: exact(x_t, t) + 0.1  # any other denoiser: lower
    worse = model.log_prob(x, k=32, generator=torch.Generator().manual_seed(0)).double()
    assert float((true - worse).mean()) > 0.05 + 4 * stderr


def test_image_bound_is_in_bits_per_dim_of_8_bit_images():
    model = image_model()
    assert model.capabilities.log_prob == "bound"
    x = torch.rand(4, 1, 8, 8)
    lp = model.log_prob(x, k=2, generator=torch.Generator().manual_seed(0))
    assert lp.shape == (4,) and torch.isfinite(lp).all()
    assert (lp <= 0).all()  # a probability of discrete images
    again = model.log_prob(x, k=2, generator=torch.Generator().manual_seed(0))
    torch.testing.assert_close(lp, again)
    with pytest.raises(ValueError, match="k must be"):
        model.log_prob(x, k=0)
