"""Wasserstein GAN (Arjovsky, Chintala & Bottou 2017, arXiv:1701.07875).

The critic f estimates W1(P_r, P_g) = sup_{||f||_L <= 1} E_{P_r} f(x) - E_{P_g} f(x) [eq. 3];
its Lipschitz constant is kept bounded by clipping every weight to [-c, c] after each critic step
(c = 0.01), with n_critic = 5 critic steps per generator step and RMSProp at lr = 5e-5 [Alg. 1].
The logged ``wasserstein`` term is E f(x) - E f(G(z)), the quantity the paper plots (Fig. 3-4).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from generativa.models.gans import losses
from generativa.models.gans.gan import GAN, GANConfig
from generativa.registry import Preset, register_model, register_preset


@dataclass(frozen=True)
class WGANConfig(GANConfig):
    loss: losses.AdversarialLoss = "wasserstein"
    clip: float = 0.01        # c [Alg. 1]
    n_critic: int = 5         # [Alg. 1]
    optimizer: Literal["adam", "adamw", "rmsprop"] | None = "rmsprop"  # momentum-free [Sec. 3]
    d_lr: float | None = 5e-5  # alpha [Alg. 1]
    g_lr: float | None = 5e-5
    betas: tuple[float, float] | None = None


@register_model("wgan")
class WGAN(GAN):
    config_class = WGANConfig


@register_preset
def wgan_toy2d() -> Preset:
    return Preset(
        model="wgan",
        config=WGANConfig(data_shape=(2,), latent_dim=2, hidden=(128, 128, 128), d_lr=5e-4, g_lr=5e-4),
        data="toy2d:ring8",
        train={"steps": 2000, "batch_size": 256},
        description="WGAN (weight clipping 0.01, RMSProp, n_critic 5) on a ring of 8 Gaussians",
    )


@register_preset
def wgan_digits() -> Preset:
    return Preset(
        model="wgan",
        config=WGANConfig(data_shape=(1, 8, 8), architecture="dcgan", base_width=32, latent_dim=32),
        data="digits",
        train={"steps": 3000, "batch_size": 64},
        description="WGAN with a DCGAN critic on the 8x8 digits (the paper's settings)",
    )
