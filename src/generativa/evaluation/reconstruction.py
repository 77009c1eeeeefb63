"""Reconstruction quality: MSE, PSNR and SSIM (Wang et al. 2004, "Image quality assessment: from
error visibility to structural similarity", IEEE TIP 13(4)).

Images x, y: float (B, C, H, W) in [0, 1] (data range L = 1).

    MSE  = mean (x - y)^2                      per image, then averaged over the batch
    PSNR = 10 log10(L^2 / MSE)                 per image (dB), then averaged; capped at 100 dB for MSE = 0
    SSIM = mean over pixels of
           (2 mu_x mu_y + C1)(2 sigma_xy + C2) / ((mu_x^2 + mu_y^2 + C1)(sigma_x^2 + sigma_y^2 + C2))
                                               [Wang et al. 2004, eq. 13], C1 = (0.01 L)^2, C2 = (0.03 L)^2

The local statistics use an 11-tap Gaussian window with sigma = 1.5 [Wang et al. 2004, sec. III.C],
normalised, over the 'valid' region only (no padding; the same numbers as scikit-image's
``structural_similarity(gaussian_weights=True, sigma=1.5, use_sample_covariance=False,
data_range=1)``, which crops the border). Channels are averaged.

Small images: where H or W is below 11 (the 8x8 digits) the window is the largest odd size that
fits (7 for 8x8) with the same sigma = 1.5, renormalised; ``ssim_window(H, W)`` says which, and the
evaluation protocol records it.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor

SSIM_WINDOW = 11  # [Wang et al. 2004, sec. III.C]
SSIM_SIGMA = 1.5
SSIM_K1, SSIM_K2 = 0.01, 0.03  # [Wang et al. 2004, eq. 7, 9]
PSNR_CAP_DB = 100.0


def _check_pair(x: Tensor, y: Tensor, images: bool = True) -> None:
    if x.shape != y.shape:
        raise ValueError(f"inputs must have the same shape, got {tuple(x.shape)} and {tuple(y.shape)}")
    if images and x.dim() != 4:
        raise ValueError(f"images must be (B, C, H, W), got shape {tuple(x.shape)}")


def mse(x: Tensor, y: Tensor) -> Tensor:
    """Mean squared error per example, (B,) (images or vectors)."""
    _check_pair(x, y, images=False)
    return (x.double() - y.double()).pow(2).flatten(1).mean(dim=1)


def psnr(x: Tensor, y: Tensor, data_range: float = 1.0) -> Tensor:
    """Peak signal-to-noise ratio per image in dB, (B,); PSNR_CAP_DB where the images are equal."""
    err = mse(x, y)
    value = 10.0 * torch.log10(data_range**2 / err.clamp_min(1e-300))
    return value.clamp(max=PSNR_CAP_DB)


def ssim_window(height: int, width: int) -> int:
    """The window size used for images of this size: 11, or the largest odd size that fits."""
    size = min(SSIM_WINDOW, height, width)
    return size if size % 2 == 1 else size - 1


def gaussian_window(size: int, sigma: float = SSIM_SIGMA, dtype=torch.float64) -> Tensor:
    """Normalised 1-D Gaussian of odd ``size`` (size,)."""
    r = (size - 1) / 2
    t = torch.arange(size, dtype=dtype) - r
    w = torch.exp(-(t**2) / (2 * sigma**2))
    return w / w.sum()


def ssim(x: Tensor, y: Tensor, data_range: float = 1.0, window: int | None = None) -> Tensor:
    """Structural similarity per image, (B,), averaged over channels and the valid region."""
    _check_pair(x, y)
    B, C, H, W = x.shape
    size = ssim_window(H, W) if window is None else window
    if size < 1 or size > min(H, W) or size % 2 == 0:
        raise ValueError(f"SSIM window must be odd and at most {min(H, W)} for {H}x{W} images, got {size}")
    g = gaussian_window(size, SSIM_SIGMA)
    kernel = (g[:, None] * g[None, :]).expand(C, 1, size, size).contiguous()  # separable, (C, 1, k, k)
    x, y = x.double(), y.double()
    filt = lambda t: F.conv2d(t, kernel, groups=C)  # noqa: E731  'valid' region
    mu_x, mu_y = filt(x), filt(y)
    sigma_xx = filt(x * x) - mu_x**2
    sigma_yy = filt(y * y) - mu_y**2
    sigma_xy = filt(x * y) - mu_x * mu_y
    c1, c2 = (SSIM_K1 * data_range) ** 2, (SSIM_K2 * data_range) ** 2
    s = ((2 * mu_x * mu_y + c1) * (2 * sigma_xy + c2)) / ((mu_x**2 + mu_y**2 + c1) * (sigma_xx + sigma_yy + c2))
    return s.flatten(1).mean(dim=1)


def reconstruction_metrics(x: Tensor, x_hat: Tensor) -> dict[str, float]:
    """Mean MSE, PSNR (dB) and SSIM over a batch of images and their reconstructions."""
    out = {
        "mse": float(mse(x, x_hat).mean()),
        "psnr": float(psnr(x, x_hat).mean()),
    }
    if x.dim() == 4:
        out["ssim"] = float(ssim(x, x_hat).mean())
    return out


def psnr_from_mse(value: float, data_range: float = 1.0) -> float:
    return PSNR_CAP_DB if value <= 0 else min(PSNR_CAP_DB, 10.0 * math.log10(data_range**2 / value))
