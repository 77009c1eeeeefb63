"""Denoising autoencoder (Vincent, Larochelle, Bengio & Manzagol 2008, ICML; Vincent et al. 2010, JMLR).

x: clean images (B, C, H, W) in [0, 1];  x_tilde ~ q(x_tilde | x): a corruption of x;
x_hat = g(f(x_tilde)).  Loss = reconstruction(x_hat, x): the *clean* image is the target
[Vincent et al. 2010, sec. 3.2, eq. 5 (the expectation over q is one fresh draw per step)].

The corruption is drawn on the fly, a new one for every batch, and only while the model is in
training mode (``model.train()``): in eval mode ``loss`` scores the clean reconstruction like a plain
autoencoder, and ``encode``/``reconstruct`` never corrupt. To clean a noisy image, call
``reconstruct(noisy)`` (or the ``generativa denoise`` verb). The corruptions (gaussian sigma,
masking p, salt-and-pepper p) are in ``generativa.models.autoencoders.corruption``; the training draw
uses torch's global generator, which the trainer seeds.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Literal

import torch
import torch.nn.functional as F

from generativa.models.autoencoders.ae import AEConfig, Autoencoder
from generativa.models.autoencoders.corruption import Corruption
from generativa.models.base import Batch, LossOutput
from generativa.registry import Preset, register_model, register_preset


@dataclass(frozen=True)
class DenoisingAEConfig(AEConfig):
    corruption: Literal["gaussian", "mask", "saltpepper"] = "gaussian"
    noise_level: float = 0.3  # sigma for gaussian, pixel probability p for mask and saltpepper


@register_model("denoising_ae")
class DenoisingAutoencoder(Autoencoder):
    config_class = DenoisingAEConfig
    CAPABILITIES = dataclasses.replace(Autoencoder.CAPABILITIES, traits=frozenset({"training_corruption"}))

    def __init__(self, config: DenoisingAEConfig):
        super().__init__(config)
        self.corruption = Corruption(config.corruption, config.noise_level)  # checks the amount

    def loss(self, batch: Batch) -> LossOutput:
        x = batch.x
        x_tilde = self.corruption(x) if self.training else x  # x_tilde ~ q(x_tilde | x), training only
        logits = self.decode_logits(self.encode(x_tilde))
        rec = self.reconstruction_loss(logits, x)  # against the clean x [Vincent et al. 2010, eq. 5]
        with torch.no_grad():
            mse = F.mse_loss(torch.sigmoid(logits), x)
        return LossOutput(loss=rec, terms={"mse": mse})


@register_preset
def denoising_ae_digits() -> Preset:
    return Preset(
        model="denoising_ae",
        config=DenoisingAEConfig(data_shape=(1, 8, 8), latent_dim=16, architecture="conv", widths=(32, 64),
                                 corruption="gaussian", noise_level=0.3),
        data="digits",
        train={"steps": 2000, "batch_size": 128, "lr": 2e-3},
        description="denoising conv autoencoder (gaussian sigma=0.3), 16-d code, on digits",
    )


@register_preset
def denoising_ae_mask_digits() -> Preset:
    return Preset(
        model="denoising_ae",
        config=DenoisingAEConfig(data_shape=(1, 8, 8), latent_dim=16, architecture="conv", widths=(32, 64),
                                 corruption="mask", noise_level=0.25),
        data="digits",
        train={"steps": 2000, "batch_size": 128, "lr": 2e-3},
        description="denoising conv autoencoder (masking p=0.25), 16-d code, on digits",
    )


@register_preset
def denoising_ae_shapes() -> Preset:
    return Preset(
        model="denoising_ae",
        config=DenoisingAEConfig(data_shape=(1, 32, 32), latent_dim=10, architecture="conv", widths=(32, 64, 64),
                                 corruption="saltpepper", noise_level=0.1),
        data="shapes",
        data_options={"size": 32},
        train={"steps": 3000, "batch_size": 128, "lr": 1e-3},
        description="denoising conv autoencoder (salt-and-pepper p=0.1), 10-d code, on 32x32 shapes",
    )


@register_preset
def denoising_ae_mnist() -> Preset:
    return Preset(
        model="denoising_ae",
        config=DenoisingAEConfig(data_shape=(1, 28, 28), latent_dim=32, architecture="conv", widths=(32, 64),
                                 corruption="gaussian", noise_level=0.3),
        data="mnist",
        train={"steps": 5500, "batch_size": 128, "lr": 2e-3, "precision": "auto", "channels_last": True},
        description="denoising conv autoencoder (Gaussian noise 0.3), 32-d code, on 28x28 grey digits",
    )
