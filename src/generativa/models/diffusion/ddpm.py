"""Denoising diffusion (Ho, Jain & Abbeel 2020, arXiv:2006.11239) in continuous time: the variance-
preserving process with the cosine schedule (Nichol & Dhariwal 2021) or DDPM's linear betas, a U-Net
trained to predict the noise eps (or x_0, or v), and any sampler of ``samplers.py``.

The model is ``model.py``'s DiffusionModel with DDPM's defaults; ``flow_matching.py`` is the same
model on the straight path.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from generativa.models.diffusion.model import DiffusionConfig, DiffusionModel, Prediction, UNetConfig
from generativa.models.diffusion.process import Schedule
from generativa.registry import Preset, register_model, register_preset


@dataclass(frozen=True)
class DDPMConfig(DiffusionConfig):
    schedule: Schedule = "vp_cosine"
    prediction: Prediction = "eps"


@register_model("ddpm")
class DDPM(DiffusionModel):
    config_class: ClassVar[type] = DDPMConfig


@register_preset
def ddpm_toy2d() -> Preset:
    return Preset("ddpm", DDPMConfig(data_shape=(2,), unet=UNetConfig(widths=(64,))), "toy2d:moons",
                  train={"steps": 4000, "batch_size": 256, "lr": 2e-3, "schedule": "cosine", "ema_decay": 0.999},
                  description="DDPM (cosine schedule, noise prediction) on the two moons, with an MLP denoiser")


@register_preset
def ddpm_digits() -> Preset:
    return Preset("ddpm", DDPMConfig(data_shape=(1, 8, 8), prediction="v", unet=UNetConfig(widths=(32, 64))),
                  "digits", train={"steps": 4000, "batch_size": 128, "lr": 2e-3, "schedule": "cosine",
                                   "ema_decay": 0.999},
                  description="DDPM (v prediction) on the 8x8 digits")


@register_preset
def ddpm_mnist() -> Preset:
    return Preset("ddpm", DDPMConfig(data_shape=(1, 28, 28), prediction="v", unet=UNetConfig(widths=(64, 128), patch=2)), "mnist",
                  train={"steps": 1300, "batch_size": 128, "lr": 2e-3, "schedule": "cosine", "ema_decay": 0.999,
                         "precision": "auto", "channels_last": True},
                  description="DDPM (cosine schedule, v prediction) on 28x28 grey digits (MNIST or your own 28x28 set; about 5 minutes on 2 CPU cores)")
