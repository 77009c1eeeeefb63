"""NICE: Non-linear Independent Components Estimation (Dinh, Krueger & Bengio 2014, arXiv:1410.8516).

The data (flattened to D values) goes through ``couplings`` additive couplings, alternating which
half (the even or the odd dimensions) passes, each with an MLP network, then a diagonal scaling
[section 3.3, 5.1]:

    x_b = z_b + m(z_a)  (volume-preserving, log_det = 0)     [eq. 5]
    x = exp(s) * h                                            log_det = sum s   [section 3.3]

Departure: the prior is N(0, I), where the paper uses a logistic distribution for images.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from generativa.models.flows.base import FlowSequence, Reshape
from generativa.models.flows.coupling import make_coupling
from generativa.models.flows.flow_model import FlowConfig, FlowModel
from generativa.models.flows.linear import ElementwiseAffine
from generativa.registry import Preset, register_model, register_preset


@dataclass(frozen=True)
class NICEConfig(FlowConfig):
    data_shape: tuple[int, ...] = (2,)
    couplings: int = 4                       # [section 5.1: 4]
    hidden: tuple[int, ...] = (256, 256)     # each coupling's MLP [5 layers of 1000 units on MNIST]


@register_model("nice")
class NICE(FlowModel):
    config_class: ClassVar[type] = NICEConfig

    def __init__(self, config: NICEConfig):
        super().__init__(config)
        if config.couplings < 1 or not config.hidden:
            raise ValueError(f"NICE needs couplings >= 1 and hidden layers, got {config.couplings}, {config.hidden}")
        if self.dims < 2:
            raise ValueError("NICE couples two halves of the data: it needs at least 2 dimensions")
        width = config.hidden[0]
        layers = [make_coupling((self.dims,), "half", parity=k, affine=False, hidden=width, layers=len(config.hidden))
                  for k in range(config.couplings)]
        layers.append(ElementwiseAffine(self.dims, shift=False))  # the diagonal scaling
        if self.is_image_model:
            layers.append(Reshape(tuple(config.data_shape)))
        self.flow = FlowSequence(layers)


@register_preset
def nice_toy2d() -> Preset:
    return Preset("nice", NICEConfig(data_shape=(2,), couplings=4, hidden=(128, 128)), "toy2d:moons",
                  train={"steps": 3000, "batch_size": 256, "lr": 1e-3, "schedule": "cosine"},
                  description="NICE, 4 additive couplings and a diagonal scaling, on the two moons")


@register_preset
def nice_digits() -> Preset:
    return Preset("nice", NICEConfig(data_shape=(1, 8, 8), couplings=4, hidden=(256, 256, 256)), "digits",
                  train={"steps": 3000, "batch_size": 128, "lr": 1e-3, "schedule": "cosine"},
                  description="NICE on the flattened 8x8 digits")
