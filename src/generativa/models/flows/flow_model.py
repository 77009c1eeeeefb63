"""A normalizing flow as a density model of the data: what every flow of this family shares.

x: data (images (B, C, H, W) in [0, 1], or vectors (B, D));  w: the data in the flow's space
(images: dequantised and logit-transformed, ``dequantization.py``; vectors: x itself);
z = f^{-1}(w): the base variable, (B, D) with D the data's size;  p(z) = N(0, I).

    log p(w) = log N(f^{-1}(w); 0, I) + log |det d f^{-1}(w) / dw|      [Dinh et al. 2016, eq. 3]

* vectors: ``log_prob`` is this exact log-density, in nats per example, in the data's own units;
* images: ``log_prob`` is the dequantisation bound of the 8-bit image, log P(x) >= E[log p(w) + log
  |det dw/dy| - log q(u|x)] - D log 256, estimated with one draw of the noise u; bits per dimension
  on the 0..255 scale follow.

``sample(n, temperature=T)`` draws z ~ N(0, T^2 I) [Kingma & Dhariwal 2018, section 5.3] and maps it
to the data; ``encode`` / ``decode`` are the exact inverse and forward maps (images: at the middle of
each pixel's bin). A subclass builds ``self.flow``: a ``FlowLayer`` from z (B, D) to w.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import Any, ClassVar, Literal

import torch
from torch import Tensor

from generativa.models.base import TEMPERATURE, Batch, Capabilities, GenerativeModel, LossOutput, ModelConfig
from generativa.models.flows.base import FlowLayer, FlowSequence, full_precision, log_standard_normal
from generativa.models.flows.dequantization import Dequantizer


@dataclass(frozen=True)
class FlowConfig(ModelConfig):
    """Fields every flow density model has (images only: ``dequantization``, ``logit_alpha``)."""

    dequantization: Literal["uniform", "variational"] = "uniform"
    logit_alpha: float = 0.05


class FlowModel(GenerativeModel):
    """Density model over a flow; subclasses set ``self.flow`` (z (B, D) -> w)."""

    config_class: ClassVar[type] = FlowConfig
    CAPABILITIES = Capabilities(sample=True, latent="invertible", log_prob="exact", sample_options=(TEMPERATURE,),
                                traits=frozenset({"flow_layers"}))
    flow: FlowLayer

    def __init__(self, config: FlowConfig):
        super().__init__(config)
        self.dims = math.prod(config.data_shape)
        self.dequantizer = (Dequantizer(tuple(config.data_shape), config.dequantization, alpha=config.logit_alpha)
                            if self.is_image_model else None)

    def declare(self, capabilities: Capabilities) -> Capabilities:
        if self.is_image_model:
            convention = (f"{self.config.dequantization} dequantisation of the 8-bit image (0..255 scale), one draw "
                          f"of the noise per image, logit transform with alpha = {self.config.logit_alpha}: a lower "
                          "bound of log P(x) estimated without bias")
            traits = capabilities.traits - {"flow_layers"}
            return dataclasses.replace(capabilities, log_prob="bound", likelihood_convention=convention, traits=traits)
        has_trajectory = isinstance(self.flow, FlowSequence)
        return dataclasses.replace(
            capabilities, likelihood_convention="exact continuous log-density in the data's own units",
            traits=capabilities.traits if has_trajectory else capabilities.traits - {"flow_layers"})

    # -- the data's space <-> the flow's space ------------------------------------------------------
    def _to_flow(self, x: Tensor, generator: torch.Generator | None = None) -> tuple[Tensor, Tensor]:
        if self.dequantizer is None:
            return x, x.new_zeros(x.shape[0])
        return self.dequantizer.forward_bound(x, generator)

    def _to_data(self, w: Tensor) -> Tensor:
        return w if self.dequantizer is None else self.dequantizer.to_image(w)

    # -- the contract -------------------------------------------------------------------------------
    def log_prob(self, x: Tensor, *, generator: torch.Generator | None = None) -> Tensor:
        """Nats per example (B,): exact for vectors, the dequantisation bound for images."""
        self.check_input(x)
        w, extra = self._to_flow(full_precision(x), generator)
        z, log_det = self.flow.inverse(w)
        return log_standard_normal(full_precision(z)) + full_precision(log_det) + extra

    def loss(self, batch: Batch) -> LossOutput:
        lp = self.log_prob(batch.x)
        nll = -lp.mean()
        terms: dict[str, Tensor | float] = {"bits_per_dim": nll.detach() / (self.dims * math.log(2.0))}
        return LossOutput(nll, terms)

    @torch.no_grad()
    def sample(self, n: int, *, generator: torch.Generator | None = None, temperature: float = 1.0,
               **condition: Any) -> Tensor:
        """f(z) for z ~ N(0, T^2 I); images on the 256 levels in [0, 1]."""
        self.check_condition(condition)
        dtype = next(self.parameters()).dtype
        z = temperature * torch.randn(n, self.dims, generator=generator, device=self.device, dtype=dtype)
        w, _ = self.flow(z)
        return self._to_data(w).view(n, *self.data_shape)

    @torch.no_grad()
    def encode(self, x: Tensor) -> Tensor:
        """The base variable of each example, (B, D): the exact inverse (images: bin centres)."""
        self.check_input(x)
        w = x if self.dequantizer is None else self.dequantizer.center(x)
        return self.flow.inverse(w)[0].flatten(1)

    @torch.no_grad()
    def decode(self, z: Tensor) -> Tensor:
        w, _ = self.flow(z)
        return self._to_data(w).view(z.shape[0], *self.data_shape)

    @torch.no_grad()
    def data_init(self, batch: Batch) -> None:
        """Initialise every activation normalisation from the first batch, in the density direction
        (each from the activations that reach it), for models that declare ``data_init``."""
        from generativa.models.flows.actnorm import ActNorm

        for m in self.modules():
            if isinstance(m, ActNorm):
                m.pending_init = True
        self.log_prob(batch.x)

    @torch.no_grad()
    def trajectory(self, z: Tensor) -> list[Tensor]:
        """A base sample after each layer (vector flows built as one sequence)."""
        return self.flow.trajectory(z)
