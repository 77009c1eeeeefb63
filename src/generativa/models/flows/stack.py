"""Elementwise, linear, planar and radial flows as density models of vectors (the course's first
flows; Rezende & Mohamed 2015, arXiv:1505.05770, section 4.1 for planar and radial).

z ~ N(0, I) goes through an elementwise affine map and then ``num_layers`` layers of one kind:

* ``linear``: invertible linear maps (LU, ``linear.py``): the composition is one affine map, so the
  model is a Gaussian N(b, W W^T) and its maximum-likelihood fit is the data's mean and covariance
  (a test checks the NLL against the closed form);
* ``planar``: x = z + u tanh(w^T z + b) [eq. 10], inverted numerically (``planar.py``);
* ``radial``: x = z + beta (z - z0) / (alpha + |z - z0|) [eq. 14], inverted in closed form.

Planar and radial layers were designed for variational inference, where only the forward direction
is needed; as density models of data they are trained through their inverse, which is why they need
many layers for a shape a coupling flow fits with a few.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar, Literal

from generativa.models.flows.base import FlowSequence
from generativa.models.flows.flow_model import FlowConfig, FlowModel
from generativa.models.flows.linear import ElementwiseAffine, InvertibleLinear
from generativa.models.flows.planar import PlanarFlow
from generativa.models.flows.radial import RadialFlow
from generativa.registry import Preset, register_model, register_preset


@dataclass(frozen=True)
class FlowStackConfig(FlowConfig):
    data_shape: tuple[int, ...] = (2,)
    layer: Literal["linear", "planar", "radial"] = "planar"
    num_layers: int = 8


@register_model("flow")
class FlowStack(FlowModel):
    config_class: ClassVar[type] = FlowStackConfig

    def __init__(self, config: FlowStackConfig):
        super().__init__(config)
        if self.is_image_model:
            raise ValueError(f"the flow stack models vectors; got images of shape {config.data_shape}: use "
                             "glow, realnvp or nice")
        make = {"linear": lambda i: InvertibleLinear(self.dims, seed=i), "planar": lambda i: PlanarFlow(self.dims),
                "radial": lambda i: RadialFlow(self.dims)}[config.layer]
        self.flow = FlowSequence([ElementwiseAffine(self.dims), *(make(i) for i in range(config.num_layers))])


@register_preset
def flow_planar_toy2d() -> Preset:
    return Preset("flow", FlowStackConfig(layer="planar", num_layers=16), "toy2d:ring8",
                  train={"steps": 3000, "batch_size": 256, "lr": 3e-3, "schedule": "cosine"},
                  description="16 planar layers as a density model of a ring of 8 Gaussians")


@register_preset
def flow_radial_toy2d() -> Preset:
    return Preset("flow", FlowStackConfig(layer="radial", num_layers=16), "toy2d:ring8",
                  train={"steps": 3000, "batch_size": 256, "lr": 3e-3, "schedule": "cosine"},
                  description="16 radial layers as a density model of a ring of 8 Gaussians")


@register_preset
def flow_linear_toy2d() -> Preset:
    return Preset("flow", FlowStackConfig(data_shape=(1,), layer="linear", num_layers=2), "toy1d:gaussian",
                  train={"steps": 1500, "batch_size": 256, "lr": 1e-2},
                  description="a linear flow: a Gaussian fitted by maximum likelihood (the closed form is known)")
