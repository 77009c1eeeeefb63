"""Inverse autoregressive flow (Kingma, Salimans, Jozefowicz, Chen, Sutskever & Welling 2016,
arXiv:1606.04934) as a density model: the MAF architecture (``maf.py``) with IAF layers
(``made.py``): sampling is one pass per layer, the density D passes per layer, the reverse of MAF.
Trained by maximum likelihood it is slow (every step solves D dimensions in turn); it is here to
measure that asymmetry, and because IAF is the posterior flow of choice where only sampling and
the density of its own samples are needed (Kingma et al. 2016, section 4).
"""

from __future__ import annotations

from typing import ClassVar

from generativa.models.flows.flow_model import FlowModel
from generativa.models.flows.made import IAFLayer
from generativa.models.flows.maf import MAFConfig, autoregressive_flow
from generativa.registry import Preset, register_model, register_preset


@register_model("iaf")
class IAF(FlowModel):
    config_class: ClassVar[type] = MAFConfig

    def __init__(self, config: MAFConfig):
        super().__init__(config)
        self.flow = autoregressive_flow(IAFLayer, config, self.dims)


@register_preset
def iaf_toy2d() -> Preset:
    return Preset("iaf", MAFConfig(num_layers=5, hidden=(128, 128)), "toy2d:moons",
                  train={"steps": 3000, "batch_size": 256, "lr": 1e-3, "schedule": "cosine"},
                  description="IAF, 5 MADE layers, on the two moons (fast sampling, slow density)")
