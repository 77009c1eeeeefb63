"""Importance-weighted autoencoder (Burda, Grosse & Salakhutdinov 2015, arXiv:1509.00519).

The VAE's networks trained on the k-sample bound instead of the ELBO:

    L_k(x) = E_{z_1..z_k ~ q(z|x)} [ log (1/k) sum_i p(x, z_i) / q(z_i|x) ]        [Burda et al. 2015, eq. 8]

L_1 is the ELBO, and L_1 <= L_k <= L_{k+1} <= log p(x) [Burda et al. 2015, Theorem 1]. The gradient is
the plain reparameterised one of this estimate [eq. 14]. Evaluation (``log_prob(x, k)``) is shared with
every VAE and lives in ``vae.py``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import ClassVar

import torch

from generativa.models.base import Batch, LossOutput
from generativa.models.vae.vae import VAE, VAEConfig, bits_per_dim
from generativa.registry import Preset, register_model, register_preset


@dataclass(frozen=True)
class IWAEConfig(VAEConfig):
    k: int = 5   # importance samples per example in the training bound (Burda et al. use 1, 5, 50)


@register_model("iwae")
class IWAE(VAE):
    config_class: ClassVar[type] = IWAEConfig

    def __init__(self, config: IWAEConfig):
        if config.k < 1:
            raise ValueError(f"IWAE needs k >= 1 importance samples, got k={config.k}")
        if config.beta != 1.0:
            raise ValueError(f"the IWAE bound has no KL weight; got beta={config.beta}, use beta=1.0 "
                             "(or the 'beta_vae' model for a weighted KL)")
        super().__init__(config)

    def loss(self, batch: Batch) -> LossOutput:
        k = self.config.k
        log_w = self.log_weights(batch.x, k, labels=batch.labels)     # (k, B)
        bound = torch.logsumexp(log_w, dim=0) - math.log(k)            # L_k per example, eq. 8
        loss = -bound.mean()
        neg_elbo = -log_w.mean().detach()                              # average of k one-draw ELBOs
        return LossOutput(loss=loss, terms={
            "neg_iwae_bound": loss.detach(),
            "neg_elbo": neg_elbo,
            "neg_iwae_bits_per_dim": bits_per_dim(loss.detach(), self.data_shape),
        })


@register_preset
def iwae_digits() -> Preset:
    return Preset("iwae", IWAEConfig(data_shape=(1, 8, 8), latent_dim=8, widths=(32, 64), k=5), "digits",
                  train={"steps": 3000, "batch_size": 128, "lr": 2e-3},
                  description="IWAE (k = 5), conv, 8-d latent, on 8x8 digits")


@register_preset
def iwae_mnist() -> Preset:
    return Preset("iwae", IWAEConfig(data_shape=(1, 28, 28), latent_dim=16, widths=(32, 64), k=5), "mnist",
                  train={"steps": 1300, "batch_size": 128, "lr": 2e-3, "precision": "auto", "channels_last": True},
                  description="IWAE (k = 5), conv, 16-d latent, on 28x28 grey digits")
