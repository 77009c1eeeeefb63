"""The noising process: x_t = alpha(t) x_0 + sigma(t) eps, eps ~ N(0, I), t in [0, 1], t = 0 clean.

The course's convention (time runs from data to noise) with the schedules written as functions of a
continuous t, not of integer steps (Kingma et al. 2021, arXiv:2107.00630, "Variational Diffusion
Models", section 2; Song et al. 2021, arXiv:2011.13456):

* ``vp_linear``: variance preserving, alpha^2 + sigma^2 = 1, with DDPM's linear betas in continuous
  time, beta(t) = beta_min + t (beta_max - beta_min), beta_min = 0.1, beta_max = 20 (the limit of
  Ho et al. 2020's 1e-4 .. 0.02 over 1000 steps): alpha(t) = exp(-(beta_min t + (beta_max -
  beta_min) t^2 / 2) / 2) [Song et al. 2021, eq. 29];
* ``vp_cosine``: variance preserving with Nichol & Dhariwal 2021 (arXiv:2102.09672, eq. 17)'s
  alpha_bar(t) = cos^2((t + s) / (1 + s) pi / 2) / cos^2(s / (1 + s) pi / 2), s = 0.008, clipped so
  that alpha_bar(1) = 1e-5 (the paper clips beta at 0.999);
* ``straight``: the straight path of rectified flow / flow matching (Liu et al. 2022,
  arXiv:2209.03003; Lipman et al. 2022, arXiv:2210.02747): alpha = 1 - t, sigma = t.

Everything a sampler needs is here: alpha, sigma, their time derivatives, and the log
signal-to-noise ratio lambda(t) = log(alpha / sigma), computed in float64.
"""

from __future__ import annotations

import math
from typing import Literal

import torch
from torch import Tensor

Schedule = Literal["vp_linear", "vp_cosine", "straight"]
BETA_MIN, BETA_MAX = 0.1, 20.0           # [Song et al. 2021, appendix C]
COSINE_S, ALPHA_BAR_MIN = 0.008, 1e-5   # [Nichol & Dhariwal 2021, section 3.2]


class Process:
    def __init__(self, schedule: Schedule):
        if schedule not in ("vp_linear", "vp_cosine", "straight"):
            raise ValueError(f"unknown schedule {schedule!r}; use vp_linear, vp_cosine or straight")
        self.schedule = schedule

    def _alpha64(self, t: Tensor) -> Tensor:
        t = t.double()
        if self.schedule == "vp_linear":
            return torch.exp(-0.5 * (BETA_MIN * t + 0.5 * (BETA_MAX - BETA_MIN) * t ** 2))
        if self.schedule == "vp_cosine":
            f = torch.cos((t + COSINE_S) / (1 + COSINE_S) * math.pi / 2) ** 2
            f0 = math.cos(COSINE_S / (1 + COSINE_S) * math.pi / 2) ** 2
            return torch.sqrt(torch.clamp(f / f0, min=ALPHA_BAR_MIN))
        return 1.0 - t

    def _sigma64(self, t: Tensor) -> Tensor:
        if self.schedule == "straight":
            return t.double()
        return torch.sqrt(1.0 - self._alpha64(t) ** 2)

    def alpha(self, t: Tensor) -> Tensor:
        return self._alpha64(t).to(t.dtype if t.is_floating_point() else torch.float32)

    def sigma(self, t: Tensor) -> Tensor:
        return self._sigma64(t).to(t.dtype if t.is_floating_point() else torch.float32)

    def alpha_sigma(self, t: Tensor) -> tuple[Tensor, Tensor]:
        return self.alpha(t), self.sigma(t)

    def derivatives(self, t: Tensor) -> tuple[Tensor, Tensor]:
        """(d alpha / dt, d sigma / dt), by autograd on the float64 functions (exact, any schedule)."""
        t64 = t.double().detach().requires_grad_(True)
        with torch.enable_grad():
            a, s = self._alpha64(t64), self._sigma64(t64)
            da = torch.autograd.grad(a.sum(), t64, retain_graph=True)[0]
            ds = torch.autograd.grad(s.sum(), t64)[0]
        return da.to(t.dtype), ds.to(t.dtype)

    def log_snr(self, t: Tensor) -> Tensor:
        """lambda(t) = log(alpha / sigma) (half the log signal-to-noise ratio)."""
        return (torch.log(self._alpha64(t)) - torch.log(self._sigma64(t))).to(t.dtype)

    def t_of_log_snr(self, lam: Tensor, lo: float = 0.0, hi: float = 1.0, iterations: int = 60) -> Tensor:
        """The t with log_snr(t) = lam (decreasing in t), by bisection."""
        lo_t = torch.full_like(lam, lo, dtype=torch.float64)
        hi_t = torch.full_like(lam, hi, dtype=torch.float64)
        for _ in range(iterations):
            mid = 0.5 * (lo_t + hi_t)
            above = self.log_snr(mid) > lam  # still too clean: go later
            lo_t = torch.where(above, mid, lo_t)
            hi_t = torch.where(above, hi_t, mid)
        return (0.5 * (lo_t + hi_t)).to(lam.dtype)

    def q_sample(self, x0: Tensor, t: Tensor, eps: Tensor) -> Tensor:
        """Draw x_t ~ q(x_t | x_0) [Ho et al. 2020, eq. 4, in continuous time]."""
        shape = (-1,) + (1,) * (x0.dim() - 1)
        a, s = self.alpha_sigma(t)
        return a.view(shape).to(x0.dtype) * x0 + s.view(shape).to(x0.dtype) * eps
