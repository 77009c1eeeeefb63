"""Conditional VAE: labels in encoder and decoder (Sohn, Lee & Yan 2015; Kingma et al. 2014, arXiv:1406.5298).

Sohn, Lee & Yan 2015, NeurIPS, "Learning Structured Output Representation using Deep Conditional
Generative Models"; the label-conditioned form of Kingma et al.'s M2 model.

y: class labels (B,) as one-hot c (B, K). Encoder q(z|x, y) and decoder p(x|z, y), prior p(z) = N(0, I):

    ELBO(x|y) = E_q[log p(x|z, y)] - KL(q(z|x, y) || p(z))                 [Sohn et al. 2015, eq. 4]

The conv encoder sees c as K constant image planes beside x; the MLP encoder sees c concatenated to
the flattened x; the decoder sees [z, c]. ``log_prob(x, labels=y)`` estimates log p(x|y), and
``log_prob(x)`` the marginal log p(x) under a uniform class prior.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import Any, ClassVar

import torch
import torch.nn.functional as F
from torch import Tensor

from generativa.models.base import Condition
from generativa.models.vae.vae import VAE, VAEConfig
from generativa.registry import Preset, register_model, register_preset


@dataclass(frozen=True)
class CVAEConfig(VAEConfig):
    num_classes: int = 10


@register_model("cvae")
class CVAE(VAE):
    config_class: ClassVar[type] = CVAEConfig
    CAPABILITIES = dataclasses.replace(VAE.CAPABILITIES, conditions=(
        Condition("labels", "class indices (B,) or one class for all: encoder and decoder see them; "
                  "log_prob without labels is the marginal under a uniform class prior", required=True),))

    def __init__(self, config: CVAEConfig):
        if config.num_classes < 1:
            raise ValueError(f"the CVAE needs labelled data (num_classes >= 1), got num_classes={config.num_classes}")
        super().__init__(config)

    def _condition_size(self) -> int:
        return self.config.num_classes

    def _condition(self, labels: Tensor | None, batch_size: int, device, dtype) -> Tensor:
        if labels is None:
            raise ValueError("the CVAE is conditional: pass labels=... (class indices, shape (B,))")
        labels = torch.as_tensor(labels, device=device).long().reshape(-1)
        if labels.numel() == 1 and batch_size > 1:
            labels = labels.expand(batch_size)
        if labels.shape[0] != batch_size:
            raise ValueError(f"got {labels.shape[0]} labels for a batch of {batch_size}")
        K = self.config.num_classes
        if labels.numel() and (int(labels.min()) < 0 or int(labels.max()) >= K):
            raise ValueError(f"labels must be in 0..{K - 1}, got {int(labels.min())}..{int(labels.max())}")
        return F.one_hot(labels, K).to(dtype)

    @torch.no_grad()
    def log_prob(self, x: Tensor, k: int = 1000, *, labels: Tensor | None = None,
                 generator: torch.Generator | None = None, chunk: int = 100) -> Tensor:
        """log p(x|y) with ``labels``; without them the marginal under a uniform class prior,
        log p(x) = log (1/K) sum_y p(x|y), each term estimated with k importance samples (K times the work)."""
        if labels is not None:
            return super().log_prob(x, k, labels=labels, generator=generator, chunk=chunk)
        K = self.config.num_classes
        per_class = [super(CVAE, self).log_prob(x, k, labels=torch.full((x.shape[0],), y, device=x.device),
                                                generator=generator, chunk=chunk) for y in range(K)]
        return torch.logsumexp(torch.stack(per_class), dim=0) - math.log(K)

    @torch.no_grad()
    def sample(self, n: int, *, generator: torch.Generator | None = None, temperature: float = 1.0,
               labels: Any = None) -> Tensor:
        """n samples of class ``labels`` (an int or (n,) indices); without labels, classes 0, 1, ... in turn."""
        if labels is None:
            labels = torch.arange(n, device=self.device) % self.config.num_classes
        labels = torch.as_tensor(labels, device=self.device).long().reshape(-1)
        if labels.numel() == 1:
            labels = labels.expand(n)
        z = temperature * torch.randn(n, self.config.latent_dim, generator=generator, device=self.device)
        return self.decode(z, labels=labels)


@register_preset
def cvae_digits() -> Preset:
    return Preset("cvae", CVAEConfig(data_shape=(1, 8, 8), num_classes=10, latent_dim=8, widths=(32, 64)),
                  "digits", train={"steps": 3000, "batch_size": 128, "lr": 2e-3},
                  description="conditional conv VAE (labels in encoder and decoder) on 8x8 digits")


@register_preset
def cvae_mnist() -> Preset:
    return Preset("cvae", CVAEConfig(data_shape=(1, 28, 28), num_classes=10, latent_dim=16, widths=(32, 64)),
                  "mnist", train={"steps": 5000, "batch_size": 128, "lr": 2e-3, "precision": "auto",
                                  "channels_last": True},
                  description="conditional conv VAE, 16-d latent, on 28x28 grey digits")
