"""Residual flows as density models of vectors: i-ResNet (Behrmann et al. 2019, arXiv:1811.00995) and
Residual Flows (Chen et al. 2019, arXiv:1906.02735): ``num_blocks`` invertible residual blocks
(``residual.py``), each followed by an activation normalisation initialised from the first batch.

Training uses the block's log-determinant estimator (``log_det``: ``roulette``, unbiased, the Residual
Flows default; ``series``, i-ResNet's truncated power series; ``exact`` for small dimensions); the
reported ``log_prob`` of data with at most 16 dimensions uses the exact log-determinant, so the
numbers are exact densities there.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import ClassVar

import torch
from torch import Tensor

from generativa.models.flows.actnorm import ActNorm
from generativa.models.flows.base import FlowSequence, log_standard_normal
from generativa.models.flows.flow_model import FlowConfig, FlowModel
from generativa.models.flows.residual import LogDet, ResidualBlock
from generativa.registry import Preset, register_model, register_preset

EXACT_UP_TO = 16  # dimensions for which log_prob uses the exact log-determinant


@dataclass(frozen=True)
class ResidualFlowConfig(FlowConfig):
    data_shape: tuple[int, ...] = (2,)
    num_blocks: int = 6
    hidden: tuple[int, ...] = (64, 64)
    coeff: float = 0.9                # spectral norm of every weight of g: Lip(g) <= coeff^layers
    log_det: LogDet = "roulette"
    terms: int = 2                    # power-series terms always computed


@register_model("residual_flow")
class ResidualFlow(FlowModel):
    config_class: ClassVar[type] = ResidualFlowConfig
    CAPABILITIES = dataclasses.replace(FlowModel.CAPABILITIES, data_init=True)

    def __init__(self, config: ResidualFlowConfig):
        super().__init__(config)
        if self.is_image_model:
            raise ValueError(f"the residual flow here models vectors; got images of shape {config.data_shape}")
        layers = []
        for _ in range(config.num_blocks):
            layers += [ResidualBlock(self.dims, tuple(config.hidden), coeff=config.coeff, log_det=config.log_det,
                                     terms=config.terms), ActNorm(self.dims)]
        self.flow = FlowSequence(layers)

    def log_prob(self, x: Tensor, *, generator: torch.Generator | None = None) -> Tensor:
        """Training: the configured estimator. Evaluation (no gradient) of up to 16 dimensions: exact."""
        if torch.is_grad_enabled() or self.dims > EXACT_UP_TO:
            return super().log_prob(x, generator=generator)
        self.check_input(x)
        h, total = x.float(), x.new_zeros(x.shape[0])
        for layer in reversed(self.flow.layers):
            h, ld = layer.inverse(h, log_det="exact") if isinstance(layer, ResidualBlock) else layer.inverse(h)
            total = total + ld
        return log_standard_normal(h) + total

    def lipschitz_bounds(self) -> list[float]:
        return [b.lipschitz_bound() for b in self.flow.layers if isinstance(b, ResidualBlock)]


@register_preset
def residual_flow_toy2d() -> Preset:
    return Preset("residual_flow", ResidualFlowConfig(num_blocks=8, hidden=(128, 128)), "toy2d:moons",
                  train={"steps": 3000, "batch_size": 256, "lr": 1e-3, "schedule": "cosine"},
                  description="Residual Flow (8 blocks, Russian-roulette log-determinant) on the two moons")
