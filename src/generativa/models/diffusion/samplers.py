"""Samplers, each written once against a denoiser D(x_t, t) ~ E[x_0 | x_t] and the process's
alpha(t), sigma(t) (``process.py``), whatever the network predicts.

All start from x = noise at t = 1 and walk a grid of times down to t = 0, where the last step lands
on the denoiser's estimate. ``steps`` is the number of grid intervals; the network evaluations (NFE)
are ``steps`` for every sampler but Heun's (2 steps - 1).

* ``ddpm``: ancestral sampling from the Gaussian posterior q(x_t' | x_t, x_0 = D) [Ho et al. 2020,
  arXiv:2006.11239, eq. 6-7, in continuous time: Kingma et al. 2021, arXiv:2107.00630, eq. 29-30]:
  mean = (alpha_{t|t'} sigma_t'^2 / sigma_t^2) x_t + (alpha_t' sigma_{t|t'}^2 / sigma_t^2) x_0,
  variance = sigma_{t|t'}^2 sigma_t'^2 / sigma_t^2, alpha_{t|t'} = alpha_t / alpha_t',
  sigma_{t|t'}^2 = sigma_t^2 - alpha_{t|t'}^2 sigma_t'^2.
* ``ddim``: x_t' = alpha_t' D + sqrt(sigma_t'^2 - c^2) eps_hat + c z, eps_hat = (x_t - alpha_t D) /
  sigma_t, c = eta sigma_t' sqrt(1 - (alpha_t sigma_t' / (alpha_t' sigma_t))^2) [Song, Meng & Ermon
  2020, arXiv:2010.02502, eq. 12 and 16]; eta = 0 is deterministic, eta = 1 is the DDPM posterior.
* ``euler`` and ``heun``: the probability-flow ODE dx/dt = alpha'(t) D + sigma'(t) eps_hat [Song et al.
  2021, arXiv:2011.13456, eq. 13, written with the denoiser], Euler's method and Heun's second-order
  method [Karras et al. 2022, arXiv:2206.00364, Alg. 1], on a grid uniform in the log-SNR lambda.
* ``dpm_solver``: DPM-Solver++(2M) [Lu et al. 2022, arXiv:2211.01095, Alg. 2], a second-order
  multistep solver in lambda using the denoiser's two latest outputs.

Noise is drawn per image (``ImageNoise``): image i gets its own generator seeded from one draw of the
caller's generator and i, so image i is the same whatever the batch size.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Literal

import torch
from torch import Tensor

from generativa.models.diffusion.process import Process

Sampler = Literal["ddpm", "ddim", "euler", "heun", "dpm_solver"]
SAMPLERS: tuple[str, ...] = ("ddpm", "ddim", "euler", "heun", "dpm_solver")
Denoiser = Callable[[Tensor, Tensor], Tensor]
T_MIN = 1e-3  # the last time before 0 on a log-SNR grid (lambda is infinite at t = 0)
T_MAX_STRAIGHT = 1.0 - 1e-4  # the straight path starts just below 1, where alpha = 1 - t is not 0


class ImageNoise:
    """N(0, I) draws of shape (n, *shape), image i from its own generator (the same for any n)."""

    def __init__(self, n: int, shape: tuple[int, ...], generator: torch.Generator | None, device, dtype):
        base = int(torch.randint(0, 2**62, (1,), generator=generator).item())
        self.generators = [torch.Generator().manual_seed((base + 7919 * i) % (2**63)) for i in range(n)]
        self.shape, self.device, self.dtype = tuple(shape), device, dtype

    def draw(self) -> Tensor:
        return torch.stack([torch.randn(self.shape, generator=g, dtype=self.dtype) for g in self.generators]).to(
            self.device)


def nfe(sampler: str, steps: int) -> int:
    """Network evaluations of a sampler with ``steps`` intervals."""
    return 2 * steps - 1 if sampler == "heun" else steps


def time_grid(process: Process, sampler: str, steps: int, device=None) -> Tensor:
    """steps + 1 times from 1 down to 0: uniform in t for ddpm/ddim and on the straight path, uniform in
    lambda for the ODE solvers on the variance-preserving schedules. On the straight path the lambda grid
    spends its steps at the two ends, where a network trained on logit-normal times is least accurate:
    after 5 minutes on real digits Euler-10 scored FID 146 on it against DDIM-10's 50 on the uniform grid
    (the same step in x), BENCHMARKS.md."""
    if steps < 1:
        raise ValueError(f"sampling_steps must be >= 1, got {steps}")
    t_max = T_MAX_STRAIGHT if process.schedule == "straight" else 1.0  # lambda(1) = -inf on the straight path
    if sampler in ("ddpm", "ddim") or steps == 1 or process.schedule == "straight":
        grid = torch.linspace(1.0, 0.0, steps + 1, dtype=torch.float64)
        grid[0] = t_max
        return grid.to(device)
    ends = torch.tensor([t_max, T_MIN], dtype=torch.float64)
    lam = torch.linspace(float(process.log_snr(ends[:1])), float(process.log_snr(ends[1:])), steps, dtype=torch.float64)
    t = process.t_of_log_snr(lam)
    t[0] = t_max
    return torch.cat([t, torch.zeros(1, dtype=torch.float64)]).to(device)


def _coeffs(process: Process, t: Tensor) -> tuple[float, float]:
    a, s = process.alpha_sigma(t.view(1).double())
    return float(a), float(s)


def sample(denoise: Denoiser, process: Process, noise: ImageNoise, *, sampler: Sampler = "heun", steps: int = 10,
           eta: float = 0.0, callback: Callable[[float, Tensor, Tensor], None] | None = None) -> Tensor:
    """x_0 from x_1 = noise, by ``sampler`` with ``steps`` intervals; ``denoise(x, t)`` takes t as (B,).
    ``callback(t, x_t, x0_estimate)`` sees every step (the reverse process, for pictures)."""
    if sampler not in SAMPLERS:
        raise ValueError(f"unknown sampler {sampler!r}; choose one of {', '.join(SAMPLERS)}")
    grid = time_grid(process, sampler, steps)
    _, s1 = _coeffs(process, grid[:1])
    x = s1 * noise.draw()  # x at the first time: sigma eps (its alpha x_0 part is negligible there)
    batch = x.shape[0]

    def d(x: Tensor, t: float) -> Tensor:
        return denoise(x, torch.full((batch,), t, device=x.device, dtype=x.dtype))

    previous: Tensor | None = None  # dpm_solver's last denoised output
    for i in range(steps):
        t, t_next = grid[i], grid[i + 1]
        a, s = _coeffs(process, t)
        a2, s2 = _coeffs(process, t_next)
        x0 = d(x, float(t))
        if callback is not None:
            callback(float(t), x, x0)
        if float(t_next) == 0.0:
            x = x0  # the last step lands on the denoiser's estimate (sigma(0) = 0)
            break
        eps = (x - a * x0) / s
        if sampler == "ddpm":
            a_ts = a / a2
            var_ts = s ** 2 - a_ts ** 2 * s2 ** 2
            mean = (a_ts * s2 ** 2 / s ** 2) * x + (a2 * var_ts / s ** 2) * x0
            x = mean + math.sqrt(max(var_ts * s2 ** 2 / s ** 2, 0.0)) * noise.draw()
        elif sampler == "ddim":
            ratio = (a * s2) / (a2 * s)
            c = eta * s2 * math.sqrt(max(1.0 - ratio ** 2, 0.0))
            x = a2 * x0 + math.sqrt(max(s2 ** 2 - c ** 2, 0.0)) * eps + (c * noise.draw() if c > 0 else 0.0)
        elif sampler in ("euler", "heun"):
            da, ds = (float(v) for v in process.derivatives(t.view(1)))
            slope = da * x0 + ds * eps
            x_euler = x + float(t_next - t) * slope
            if sampler == "heun":
                x0_next = d(x_euler, float(t_next))
                da2, ds2 = (float(v) for v in process.derivatives(t_next.view(1)))
                slope2 = da2 * x0_next + ds2 * (x_euler - a2 * x0_next) / s2
                x = x + float(t_next - t) * 0.5 * (slope + slope2)
            else:
                x = x_euler
        else:  # dpm_solver: DPM-Solver++(2M) in lambda = log(alpha / sigma) [Lu et al. 2022, Alg. 2]
            lam, lam_next = math.log(a / s), math.log(a2 / s2)
            h = lam_next - lam
            if previous is None:
                direction = x0
            else:
                lam_prev = math.log(previous[1][0] / previous[1][1])
                r = (lam - lam_prev) / h
                direction = (1 + 1 / (2 * r)) * x0 - (1 / (2 * r)) * previous[0]
            x = (s2 / s) * x - a2 * math.expm1(-h) * direction
            previous = (x0, (a, s))
    return x
