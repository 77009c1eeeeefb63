"""Glow (Kingma & Dhariwal 2018, arXiv:1807.03039): a multi-scale flow whose every step is an
activation normalisation, an invertible 1x1 convolution and an affine coupling [section 3, Table 1].

x: images (B, C, H, W) in [0, 1], dequantised and logit-transformed to w (``dequantization.py``);
z: (B, D) ~ N(0, I). ``levels`` levels (L), each a squeeze, ``depth`` steps (K), and but for the last
a split with Glow's learned prior of the factored-out half (``multiscale.py``).

    step, density direction:  actnorm -> 1x1 conv (LU) -> coupling            [Table 1]

Departures: the coupling's log-scale is bounded (s = 2 tanh(raw / 2), ``coupling.py``) instead of
Glow's sigmoid(raw + 2), so every step is invertible with a bounded scale both ways and samples at
any temperature stay finite; the dequantisation is the course's (uniform or variational) plus the
logit transform of RealNVP, where Glow scales to [-0.5, 0.5]. The activation normalisations are
initialised from the first batch (``data_init``; the trainer calls it once, never on resume).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import ClassVar, Literal

from generativa.models.flows.actnorm import ActNorm
from generativa.models.flows.coupling import make_coupling
from generativa.models.flows.flow_model import FlowConfig, FlowModel
from generativa.models.flows.linear import InvertibleConv1x1
from generativa.models.flows.multiscale import LevelSpec, MultiScale, level_shapes
from generativa.registry import Preset, register_model, register_preset


@dataclass(frozen=True)
class GlowConfig(FlowConfig):
    levels: int = 2                 # L [section 3]
    depth: int = 8                  # K, steps of flow per level [Table 2: 32 on CIFAR-10]
    coupling_width: int = 128       # channels of each coupling's network [512 in the paper]
    coupling: Literal["affine", "additive"] = "affine"
    split_prior: bool = True
    scale_bound: float = 2.0        # |log-scale| of each coupling at most this


@register_model("glow")
class Glow(FlowModel):
    config_class: ClassVar[type] = GlowConfig
    CAPABILITIES = dataclasses.replace(FlowModel.CAPABILITIES, data_init=True)

    def __init__(self, config: GlowConfig):
        super().__init__(config)
        if not self.is_image_model:
            raise ValueError(f"Glow models images (C, H, W), got data_shape={config.data_shape}; for vectors use "
                             "realnvp, maf or flow")
        if config.levels < 1 or config.depth < 1:
            raise ValueError(f"levels and depth must be >= 1, got levels={config.levels}, depth={config.depth}")
        specs, shapes = [], []
        c, h, w = config.data_shape
        for i in range(config.levels):
            specs.append(LevelSpec(pre=[], squeeze=True, post=[], split=i < config.levels - 1))
        shapes = level_shapes((c, h, w), specs)
        for i, spec in enumerate(specs):
            shape = shapes[i]["squeezed"]
            steps = []
            for k in range(config.depth):
                # base -> data order; the density direction runs actnorm, 1x1 conv, coupling
                steps += [make_coupling(shape, "channel", parity=k, affine=config.coupling == "affine",
                                        hidden=config.coupling_width, scale_bound=config.scale_bound),
                          InvertibleConv1x1(shape[0], seed=1000 * i + k), ActNorm(shape[0])]
            spec.post = steps
        self.flow = MultiScale((c, h, w), specs, split_prior=config.split_prior, prior_hidden=config.coupling_width)


@register_preset
def glow_digits() -> Preset:
    return Preset("glow", GlowConfig(data_shape=(1, 8, 8), levels=2, depth=4, coupling_width=64), "digits",
                  train={"steps": 3000, "batch_size": 64, "lr": 1e-3, "warmup_steps": 100, "grad_clip": 50.0},
                  description="Glow, 2 levels of 4 steps, on the 8x8 digits")


@register_preset
def glow_mnist() -> Preset:
    return Preset("glow", GlowConfig(data_shape=(1, 28, 28), levels=2, depth=8, coupling_width=128), "mnist",
                  # bf16 coupling networks and channels-last (the flow's own arithmetic stays float32): about 3x
                  # the fp32 speed on CPUs with native bf16; ~10 minutes on 2 cores (BENCHMARKS.md)
                  train={"steps": 7000, "batch_size": 64, "lr": 1e-3, "warmup_steps": 200, "schedule": "cosine",
                         "grad_clip": 50.0, "precision": "auto", "channels_last": True},
                  description="Glow, 2 levels of 8 steps, on 28x28 grey digits (about 13.5 minutes on 2 cores)")
