"""Conditional GAN (Mirza & Osindero 2014, arXiv:1411.1784) with a projection discriminator
(Miyato & Koyama 2018, arXiv:1802.05637).

Both players see the label y: the generator takes [z, embed(y)]; the discriminator either sees
[x, embed(y)] (``conditioning="embedding"``, Mirza & Osindero) or scores
f(x, y) = psi(phi(x)) + <embed(y), phi(x)> (``"projection"``, Miyato & Koyama, eq. 3). Fakes in a
discriminator step and in a generator step carry the labels of the real batch, so the generator
learns p(x | y) for the dataset's class frequencies. ``model.sample(n, labels=3)`` draws class 3.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from generativa.models.gans.dcgan import FAST_CPU, DCGANConfig
from generativa.models.gans.gan import GAN
from generativa.models.gans.networks import Conditioning
from generativa.registry import Preset, register_model, register_preset


@dataclass(frozen=True)
class ConditionalGANConfig(DCGANConfig):
    architecture: Literal["mlp", "dcgan"] = "dcgan"
    conditioning: Conditioning = "projection"
    num_classes: int = 10


@register_model("cgan")
class ConditionalGAN(GAN):
    config_class = ConditionalGANConfig


@register_preset
def cgan_digits() -> Preset:
    return Preset(
        model="cgan",
        config=ConditionalGANConfig(data_shape=(1, 8, 8), num_classes=10, base_width=32, latent_dim=32),
        data="digits",
        train={"steps": 3000, "batch_size": 64, "ema_decay": 0.99, **FAST_CPU},
        description="class-conditional DCGAN (projection discriminator) on the 8x8 digits",
    )


@register_preset
def cgan_mnist() -> Preset:
    return Preset(
        model="cgan",
        config=ConditionalGANConfig(data_shape=(1, 28, 28), num_classes=10, base_width=32, latent_dim=64),
        data="mnist",
        train={"steps": 4000, "batch_size": 64, "ema_decay": 0.99, **FAST_CPU},
        description="class-conditional DCGAN (projection discriminator) on 28x28 grey digits",
    )
