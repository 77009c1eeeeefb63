"""VAE with a planar or radial flow posterior (Rezende & Mohamed 2015, arXiv:1505.05770).

"Variational Inference with Normalizing Flows".

z_0 ~ q_0(z|x) = N(mu, diag sigma^2), then z_K = f_K(...f_1(z_0)) through K planar or radial layers
(``generativa.models.flows``), so that

    log q_K(z_K|x) = log q_0(z_0|x) - sum_k log |det df_k/dz_{k-1}|                [eq. 13]
    ELBO(x) = E_{q_0}[ log p(x|z_K) + log p(z_K) - log q_K(z_K|x) ]                [eq. 15]

The KL is no longer closed-form: the loss estimates it with the same draw as the reconstruction.
Departure from the paper: the flow parameters are global (learned, shared by every x) rather than
output by the encoder per example (the paper's amortised flows); this keeps the flow layers the
shared ``FlowLayer`` modules of the flow family. ``encode(x)`` is f(mu), the flow applied to the mean.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar, Literal

import torch
from torch import Tensor

from generativa.models.base import Batch, LossOutput
from generativa.models.flows.base import FlowSequence
from generativa.models.flows.planar import PlanarFlow
from generativa.models.flows.radial import RadialFlow
from generativa.models.vae.vae import VAE, VAEConfig, log_standard_normal
from generativa.registry import Preset, register_model, register_preset


@dataclass(frozen=True)
class FlowVAEConfig(VAEConfig):
    flow: Literal["planar", "radial"] = "planar"
    num_flows: int = 4   # K layers after the Gaussian posterior


@register_model("flow_vae")
class FlowVAE(VAE):
    config_class: ClassVar[type] = FlowVAEConfig

    def __init__(self, config: FlowVAEConfig):
        super().__init__(config)
        if config.num_flows < 0:
            raise ValueError(f"num_flows must be >= 0, got {config.num_flows}")
        layer = PlanarFlow if config.flow == "planar" else RadialFlow
        self.flows = FlowSequence(layer(config.latent_dim) for _ in range(config.num_flows))

    def sample_posterior(self, x: Tensor, n: int, *, labels: Tensor | None = None,
                         generator: torch.Generator | None = None) -> tuple[Tensor, Tensor]:
        z0, log_q0 = super().sample_posterior(x, n, labels=labels, generator=generator)  # (n, B, L), (n, B)
        zK, log_det = self.flows(z0.reshape(-1, z0.shape[-1]))
        return zK.view_as(z0), log_q0 - log_det.view_as(log_q0)                           # eq. 13

    def loss(self, batch: Batch) -> LossOutput:
        z, log_q = self.sample_posterior(batch.x, 1, labels=batch.labels)
        z, log_q = z[0], log_q[0]
        reconstruction = -self.log_likelihood(batch.x, self.decoder_output(z, labels=batch.labels))
        kl = log_q - log_standard_normal(z)            # one-draw estimate of KL(q_K || p), eq. 15
        return self._loss_output(reconstruction, kl)

    @torch.no_grad()
    def elbo(self, x: Tensor, *, labels: Tensor | None = None, generator: torch.Generator | None = None) -> Tensor:
        return self.log_weights(x, 1, labels=labels, generator=generator)[0]

    def encode(self, x: Tensor, *, labels: Tensor | None = None) -> Tensor:
        mu = self.posterior(x, labels=labels)[0]
        return self.flows(mu)[0]

    @torch.no_grad()
    def kl_per_dimension(self, x: Tensor, *, labels: Tensor | None = None) -> Tensor:
        """Of the Gaussian q_0 (the flow mixes dimensions, so no per-dimension KL of q_K exists)."""
        return super().kl_per_dimension(x, labels=labels)


@register_preset
def flow_vae_digits() -> Preset:
    return Preset("flow_vae", FlowVAEConfig(data_shape=(1, 8, 8), latent_dim=8, widths=(32, 64),
                                            flow="planar", num_flows=8),
                  "digits", train={"steps": 3000, "batch_size": 128, "lr": 2e-3},
                  description="conv VAE with 8 planar flows on q(z|x), on 8x8 digits")


@register_preset
def flow_vae_radial_digits() -> Preset:
    return Preset("flow_vae", FlowVAEConfig(data_shape=(1, 8, 8), latent_dim=8, widths=(32, 64),
                                            flow="radial", num_flows=8),
                  "digits", train={"steps": 3000, "batch_size": 128, "lr": 2e-3},
                  description="conv VAE with 8 radial flows on q(z|x), on 8x8 digits")
