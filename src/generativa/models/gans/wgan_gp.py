"""WGAN with gradient penalty (Gulrajani et al. 2017, arXiv:1704.00028).

The critic's Lipschitz constraint is a soft penalty on the gradient norm at random interpolates
x_hat = eps x + (1 - eps) G(z), eps ~ U[0, 1]:

    L_D = E f(G(z)) - E f(x) + lambda E (||grad f(x_hat)||_2 - 1)^2        [eq. 3, Alg. 1]

with lambda = 10, n_critic = 5, Adam with lr = 1e-4, beta_1 = 0, beta_2 = 0.9 [Alg. 1], and no
batch norm in the critic (layer norm instead) [Sec. 4]. ``losses.gradient_penalty`` computes it.
"""

from __future__ import annotations

from dataclasses import dataclass

from generativa.models.gans import losses
from generativa.models.gans.dcgan import FAST_CPU
from generativa.models.gans.gan import GAN, GANConfig
from generativa.models.gans.networks import DiscriminatorNorm
from generativa.registry import Preset, register_model, register_preset


@dataclass(frozen=True)
class WGANGPConfig(GANConfig):
    loss: losses.AdversarialLoss = "wasserstein"
    gp_weight: float = 10.0     # lambda [Alg. 1]
    n_critic: int = 5           # [Alg. 1]
    d_norm: DiscriminatorNorm = "layer"  # [Sec. 4]
    d_lr: float | None = 1e-4   # alpha [Alg. 1]
    g_lr: float | None = 1e-4
    betas: tuple[float, float] | None = (0.0, 0.9)  # [Alg. 1]


@register_model("wgan_gp")
class WGANGP(GAN):
    config_class = WGANGPConfig


@register_preset
def wgan_gp_toy2d() -> Preset:
    return Preset(
        model="wgan_gp",
        # The paper's toy-data code (gan_toy.py): lambda = 0.1 ("smaller lambda seems to help for toy
        # tasks") and Adam betas (0.5, 0.9). Equal rates of 1e-3 decaying to 0 (cosine) and an EMA
        # generator: 8/8 modes with >= 80% high quality in every seed (BENCHMARKS.md); lambda = 10 gets
        # there only after ~9,000 rounds and needed two time scales to stay on the ring.
        config=WGANGPConfig(data_shape=(2,), latent_dim=2, hidden=(128, 128, 128), gp_weight=0.1,
                            d_lr=1e-3, g_lr=1e-3, betas=(0.5, 0.9)),
        data="toy2d:ring8",
        train={"steps": 3000, "batch_size": 256, "schedule": "cosine", "ema_decay": 0.99},
        description="WGAN-GP (lambda 0.1 as in the paper's toy code, n_critic 5, Adam 0.5 / 0.9, cosine lr, EMA) on a ring of 8 Gaussians",
    )


@register_preset
def wgan_gp_grid25() -> Preset:
    ring = wgan_gp_toy2d()
    return Preset(
        model="wgan_gp",
        config=ring.config,  # the ring's settings; 25 modes need three times the rounds (BENCHMARKS.md)
        data="toy2d:grid25",
        train={**ring.train, "steps": 9000},
        description="WGAN-GP on a 5x5 grid of Gaussians (the ring's settings, 9,000 rounds)",
    )


@register_preset
def wgan_gp_digits() -> Preset:
    return Preset(
        model="wgan_gp",
        config=WGANGPConfig(data_shape=(1, 8, 8), architecture="dcgan", base_width=32, latent_dim=32),
        data="digits",
        train={"steps": 1000, "batch_size": 64, "ema_decay": 0.99},
        description="WGAN-GP with a DCGAN-shaped, layer-normed critic on the 8x8 digits",
    )


@register_preset
def wgan_gp_shapes() -> Preset:
    return Preset(
        model="wgan_gp",
        # Adam 3e-4 with betas (0.5, 0.9) (the paper's toy-data betas) and 2,000 rounds: FID 6.1 where the
        # paper's 1e-4 / (0, 0.9) reached 24.6 after 1,000 rounds, its samples still grey (BENCHMARKS.md)
        config=WGANGPConfig(data_shape=(1, 32, 32), architecture="dcgan", base_width=16, latent_dim=32,
                            d_lr=3e-4, g_lr=3e-4, betas=(0.5, 0.9)),
        data="shapes",
        data_options={"size": 32},
        train={"steps": 2000, "batch_size": 64, "ema_decay": 0.99, **FAST_CPU},
        description="WGAN-GP on 32x32 sprites (Adam 3e-4 / (0.5, 0.9), bf16 where native)",
    )


@register_preset
def wgan_gp_mnist() -> Preset:
    return Preset(
        model="wgan_gp",
        config=WGANGPConfig(data_shape=(1, 28, 28), architecture="dcgan", base_width=32, latent_dim=64,
                            d_lr=3e-4, g_lr=3e-4, betas=(0.5, 0.9)),
        data="mnist",
        train={"steps": 550, "batch_size": 64, "ema_decay": 0.99, **FAST_CPU},
        description="WGAN-GP (5 critic steps a round) on 28x28 grey digits",
    )
