"""RealNVP (Dinh, Sohl-Dickstein & Bengio 2016, arXiv:1605.08803): affine couplings with checkerboard
and channel masks in a multi-scale architecture [sections 3.3-3.6].

Images: each scale but the last is ``couplings`` checkerboard couplings, a squeeze, ``couplings``
channel couplings and a split of half the channels; the last scale is ``couplings + 1`` checkerboard
couplings [section 4.1]. Vectors: ``2 * couplings`` couplings alternating between the even and the
odd dimensions, each followed by an elementwise affine map.

Departures: no batch normalisation inside the flow (the couplings start as the identity instead,
and the scales are bounded, s = 2 tanh(raw / 2)); the coupling networks are small CNNs, not ResNets.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from generativa.models.flows.base import FlowSequence
from generativa.models.flows.coupling import make_coupling
from generativa.models.flows.flow_model import FlowConfig, FlowModel
from generativa.models.flows.linear import ElementwiseAffine
from generativa.models.flows.multiscale import LevelSpec, MultiScale, level_shapes
from generativa.registry import Preset, register_model, register_preset


@dataclass(frozen=True)
class RealNVPConfig(FlowConfig):
    data_shape: tuple[int, ...] = (2,)
    scales: int = 2               # multi-scale levels (images)
    couplings: int = 3            # couplings per stage [section 4.1: 3]
    coupling_width: int = 64      # channels (images) or hidden units (vectors) of each coupling's network
    scale_bound: float = 2.0


@register_model("realnvp")
class RealNVP(FlowModel):
    config_class: ClassVar[type] = RealNVPConfig

    def __init__(self, config: RealNVPConfig):
        super().__init__(config)
        c = config
        if c.couplings < 1 or c.scales < 1:
            raise ValueError(f"couplings and scales must be >= 1, got couplings={c.couplings}, scales={c.scales}")
        if not self.is_image_model:
            layers = []
            for k in range(2 * c.couplings):
                layers += [make_coupling(tuple(c.data_shape), "half", parity=k, hidden=c.coupling_width,
                                         scale_bound=c.scale_bound), ElementwiseAffine(self.dims)]
            self.flow = FlowSequence(layers)
            return
        specs = [LevelSpec(pre=[], squeeze=i < c.scales - 1, post=[], split=i < c.scales - 1)
                 for i in range(c.scales)]
        shapes = level_shapes(tuple(c.data_shape), specs)
        for i, spec in enumerate(specs):
            n_checker = c.couplings + (0 if spec.squeeze else 1)
            spec.pre = [make_coupling(shapes[i]["input"], "checkerboard", parity=k, hidden=c.coupling_width,
                                      scale_bound=c.scale_bound) for k in range(n_checker)]
            if spec.squeeze:
                spec.post = [make_coupling(shapes[i]["squeezed"], "channel", parity=k, hidden=c.coupling_width,
                                           scale_bound=c.scale_bound) for k in range(c.couplings)]
        self.flow = MultiScale(tuple(c.data_shape), specs)


@register_preset
def realnvp_toy2d() -> Preset:
    return Preset("realnvp", RealNVPConfig(data_shape=(2,), couplings=4, coupling_width=128), "toy2d:moons",
                  train={"steps": 3000, "batch_size": 256, "lr": 1e-3, "schedule": "cosine"},
                  description="RealNVP, 8 affine couplings with MLP networks, on the two moons")


@register_preset
def realnvp_digits() -> Preset:
    return Preset("realnvp", RealNVPConfig(data_shape=(1, 8, 8), scales=2, couplings=3, coupling_width=64),
                  "digits", train={"steps": 3000, "batch_size": 64, "lr": 1e-3, "warmup_steps": 100,
                                   "grad_clip": 50.0},
                  description="RealNVP, 2 scales of checkerboard and channel couplings, on the 8x8 digits")


@register_preset
def realnvp_mnist() -> Preset:
    return Preset("realnvp", RealNVPConfig(data_shape=(1, 28, 28), scales=2, couplings=3, coupling_width=64),
                  "mnist",
                  train={"steps": 9000, "batch_size": 64, "lr": 1e-3, "warmup_steps": 200, "schedule": "cosine",
                         "grad_clip": 50.0, "precision": "auto", "channels_last": True},
                  description="RealNVP, 2 scales, on 28x28 grey digits (about 10 minutes on 2 cores)")
