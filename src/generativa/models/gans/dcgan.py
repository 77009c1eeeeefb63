"""Deep convolutional GAN (Radford et al. 2016, arXiv:1511.06434).

The GAN of ``gan.py`` with DCGAN networks (``networks.py``: strided and transposed convolutions,
batch norm, ReLU in G and leaky ReLU in D, tanh output) and the paper's training settings:
Adam with lr = 2e-4 and beta_1 = 0.5, weights ~ N(0, 0.02) [Radford et al. 2016, Sec. 4], the
non-saturating generator loss [Goodfellow et al. 2014, Sec. 3]; the generator step reuses
the fakes of the discriminator step (``reuse_fakes``), as the reference implementations do.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from generativa.models.gans.gan import GAN, GANConfig
from generativa.registry import Preset, register_model, register_preset

# bf16 autocast where the CPU has native bf16 ("auto"; fp32 elsewhere) and channels-last tensors: the
# convolutions run on the CPU's bf16 units (benchmarks/gan_speed.py); weights and optimiser state
# stay float32.
FAST_CPU = {"precision": "auto", "channels_last": True}


@dataclass(frozen=True)
class DCGANConfig(GANConfig):
    architecture: Literal["mlp", "dcgan"] = "dcgan"
    latent_dim: int = 64
    base_width: int = 32
    d_lr: float | None = 2e-4  # [Radford et al. 2016, Sec. 4]
    g_lr: float | None = 2e-4
    betas: tuple[float, float] | None = (0.5, 0.999)
    reuse_fakes: bool = True   # one G forward per round, as the DCGAN reference code


@register_model("dcgan")
class DCGAN(GAN):
    config_class = DCGANConfig


@register_preset
def dcgan_digits() -> Preset:
    return Preset(
        model="dcgan",
        config=DCGANConfig(data_shape=(1, 8, 8), base_width=32, latent_dim=32),
        data="digits",
        train={"steps": 3000, "batch_size": 64, "ema_decay": 0.99, **FAST_CPU},
        description="DCGAN on the 8x8 digits (non-saturating loss, Adam 2e-4 / 0.5, EMA generator)",
    )


@register_preset
def dcgan_shapes() -> Preset:
    return Preset(
        model="dcgan",
        # layer norm in D: FID 4.12 and 3.12 in two seeds, where the paper's batch norm gave 5.63 and,
        # in the second seed, a generator that failed outright (FID 2250; BENCHMARKS.md)
        config=DCGANConfig(data_shape=(1, 32, 32), base_width=16, latent_dim=32, d_norm="layer"),
        data="shapes",
        data_options={"size": 32},
        train={"steps": 3000, "batch_size": 64, "ema_decay": 0.99, **FAST_CPU},
        description="DCGAN on 32x32 sprites (layer-normed D, non-saturating loss, EMA generator)",
    )


@register_preset
def dcgan_mnist() -> Preset:
    return Preset(
        model="dcgan",
        config=DCGANConfig(data_shape=(1, 28, 28), base_width=32, latent_dim=64),
        data="mnist",
        train={"steps": 4500, "batch_size": 64, "ema_decay": 0.99, **FAST_CPU},
        description="DCGAN on 28x28 grey digits (MNIST or your own 28x28 set; about 4 minutes on 2 CPU cores)",
    )


@register_preset
def dcgan_faces() -> Preset:
    return Preset(
        model="dcgan",
        # layer-normed D as dcgan_shapes; 1,200 rounds: recognisable faces (hair, skin, eyes, glasses)
        # in about 2 minutes on 2 cores with bf16 (make demo; BENCHMARKS.md)
        config=DCGANConfig(data_shape=(3, 32, 32), base_width=32, latent_dim=64, d_norm="layer"),
        data="faces",
        train={"steps": 1200, "batch_size": 64, "ema_decay": 0.99, "sample_every": 200, **FAST_CPU},
        description="DCGAN on the 32x32 procedural faces (the demo: about 2 minutes on a laptop CPU)",
    )
