"""Masked autoregressive flow (Papamakarios, Pavlakou & Murray 2017, arXiv:1705.07057) as a density
model: ``num_layers`` MAF layers (``made.py``), the order reversed from one to the next [section 3],
each followed by an elementwise affine map. The density is one pass per layer; sampling is D passes
per layer (``benchmarks/flows.py`` measures the asymmetry against IAF). Images are flattened.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from generativa.models.flows.base import FlowSequence, Reshape
from generativa.models.flows.flow_model import FlowConfig, FlowModel
from generativa.models.flows.linear import ElementwiseAffine
from generativa.models.flows.made import MAFLayer
from generativa.registry import Preset, register_model, register_preset


@dataclass(frozen=True)
class MAFConfig(FlowConfig):
    data_shape: tuple[int, ...] = (2,)
    num_layers: int = 5                 # [section 4: 5 or 10]
    hidden: tuple[int, ...] = (64, 64)  # MADE's hidden widths


def autoregressive_flow(layer: type, config: MAFConfig, dims: int) -> FlowSequence:
    if config.num_layers < 1 or not config.hidden:
        raise ValueError(f"num_layers must be >= 1 and hidden non-empty, got {config.num_layers}, {config.hidden}")
    layers = []
    for i in range(config.num_layers):
        layers += [layer(dims, tuple(config.hidden), reverse=i % 2 == 1, seed=i), ElementwiseAffine(dims)]
    if len(config.data_shape) > 1:
        layers.append(Reshape(tuple(config.data_shape)))
    return FlowSequence(layers)


@register_model("maf")
class MAF(FlowModel):
    config_class: ClassVar[type] = MAFConfig

    def __init__(self, config: MAFConfig):
        super().__init__(config)
        self.flow = autoregressive_flow(MAFLayer, config, self.dims)


@register_preset
def maf_toy2d() -> Preset:
    return Preset("maf", MAFConfig(num_layers=5, hidden=(128, 128)), "toy2d:moons",
                  train={"steps": 3000, "batch_size": 256, "lr": 1e-3, "schedule": "cosine"},
                  description="MAF, 5 MADE layers, on the two moons (fast density, slow sampling)")


@register_preset
def maf_digits() -> Preset:
    return Preset("maf", MAFConfig(data_shape=(1, 8, 8), num_layers=5, hidden=(512, 512)), "digits",
                  train={"steps": 3000, "batch_size": 128, "lr": 1e-3, "schedule": "cosine"},
                  description="MAF on the flattened 8x8 digits")
