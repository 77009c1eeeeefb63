"""Latent diffusion (Rombach, Blattmann, Lorenz, Esser & Ommer 2022, arXiv:2112.10752): the diffusion
model of ``model.py`` run on the latents of a frozen, already trained autoencoder or VAE, decoded to
images at the end.

    x (images) -> z = encoder(x) * scale  (frozen; scale = 1 / std of z on the first batch, section 4.3.2)
    train / sample the process on z (vectors: an MLP denoiser; spatial latents: the U-Net)
    samples: decoder(z / scale)

The autoencoder is a ``RunInput`` (``models/base.py``): the run folder it came from, its model name
and config are recorded in this model's config, and its weights become part of this model's own
(frozen: outside the optimiser, in eval mode), so the run is self-contained. With no run given,
``generativa train`` first trains the autoencoder's preset on the same data.

The default is flow matching in latent space (the straight path, velocity prediction, logit-normal
times): the few latent dimensions of a digit autoencoder train in a fraction of pixel space's time.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import ClassVar, Literal

import torch
from torch import Tensor, nn

from generativa.models.base import Batch, Capabilities, Model, RunInput, build_run_input
from generativa.models.diffusion.model import DiffusionConfig, DiffusionModel, Prediction, UNetConfig
from generativa.models.diffusion.process import Schedule
from generativa.registry import Preset, register_model, register_preset


@dataclass(frozen=True)
class LatentDiffusionConfig(DiffusionConfig):
    schedule: Schedule = "straight"
    prediction: Prediction = "velocity"
    time_sampling: Literal["uniform", "logit_normal"] = "logit_normal"
    unet: UNetConfig = UNetConfig(widths=(256,))  # vector latents: an MLP of width 2 x 256
    autoencoder: RunInput = field(default_factory=lambda: RunInput(model="vae"))


@register_model("latent_diffusion")
class LatentDiffusion(DiffusionModel):
    config_class: ClassVar[type] = LatentDiffusionConfig
    CAPABILITIES = dataclasses.replace(DiffusionModel.CAPABILITIES, log_prob="none", data_init=True)
    log_prob = Model.log_prob  # no bound: the autoencoder's decoder is not a likelihood of the images

    def __init__(self, config: LatentDiffusionConfig):
        self._autoencoder_spec = config.autoencoder
        super().__init__(config)
        self.register_buffer("latent_scale", torch.ones(()))

    def declare(self, capabilities: Capabilities) -> Capabilities:
        return dataclasses.replace(super().declare(capabilities), likelihood_convention="")

    def diffusion_space(self) -> tuple[int, ...]:
        """Build the autoencoder from its recorded model name and config; the latents' shape is what its
        encoder gives for one image of the data's shape."""
        spec = self._autoencoder_spec
        autoencoder = build_run_input(spec, tuple(self.config.data_shape), field_name="autoencoder",
                                      role="an autoencoder (an ae or vae run)", needed_by="latent_diffusion")
        caps = autoencoder.capabilities
        if caps.latent not in ("deterministic", "gaussian") or not caps.can("encode") or not caps.can("decode"):
            raise ValueError(f"{spec.model} cannot serve as the autoencoder: it needs encode and decode with a "
                             "deterministic or Gaussian latent (an ae or vae run)")
        if any(c.required for c in caps.conditions):
            raise ValueError(f"{spec.model} needs a condition to encode; use an unconditional autoencoder")
        autoencoder.eval()
        self.autoencoder = autoencoder
        with torch.no_grad():
            z = autoencoder.encode(torch.zeros(1, *self.config.data_shape))
        return tuple(z.shape[1:])

    def frozen_modules(self) -> dict[str, nn.Module]:
        return {"autoencoder": self.autoencoder}

    # -- spaces: images <-> scaled latents -----------------------------------------------------------
    def to_model_space(self, x: Tensor) -> Tensor:
        with torch.no_grad():
            return self.autoencoder.encode(x).float() * self.latent_scale

    def to_data_space(self, x0: Tensor) -> Tensor:
        return self.autoencoder.decode(x0 / self.latent_scale).float().clamp(0.0, 1.0)

    @torch.no_grad()
    def data_init(self, batch: Batch) -> None:
        """latent_scale = 1 / (std of the latents of the first global batch), as Rombach et al. 2022
        rescale theirs, so that the process starts from data of unit variance."""
        self.autoencoder.eval()
        z = self.autoencoder.encode(batch.x).float()
        self.latent_scale.fill_(1.0 / float(z.std().clamp_min(1e-6)))


@register_preset
def latent_diffusion_digits() -> Preset:
    return Preset("latent_diffusion", LatentDiffusionConfig(data_shape=(1, 8, 8),
                                                            autoencoder=RunInput(model="vae", preset="vae_digits")),
                  "digits", train={"steps": 3000, "batch_size": 128, "lr": 2e-3, "schedule": "cosine",
                                   "ema_decay": 0.999},
                  description="flow matching in the latent space of a VAE on the 8x8 digits (trains vae_digits "
                              "first unless model.autoencoder.path names a run)")


@register_preset
def latent_diffusion_mnist() -> Preset:
    return Preset("latent_diffusion", LatentDiffusionConfig(data_shape=(1, 28, 28),
                                                            autoencoder=RunInput(model="vae", preset="vae_mnist")),
                  "mnist", train={"steps": 4000, "batch_size": 256, "lr": 2e-3, "schedule": "cosine",
                                  "ema_decay": 0.999},
                  description="flow matching in the latent space of a VAE on 28x28 grey digits (trains vae_mnist "
                              "first unless model.autoencoder.path names a run)")
