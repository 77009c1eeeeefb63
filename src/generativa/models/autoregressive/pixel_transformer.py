"""A causal transformer directly over pixels (the decoder-only transformer of Radford et al. 2019 on
the sequence of an image's values, as in Chen et al. 2020, Image GPT, at a small size).

x: images (B, C, H, W) in [0, 1];  the sequence x_1, ..., x_T, T = C H W, in raster order with the
channels inside a pixel (``pixel_model.py``);  p(x) = prod_t p(x_t | x_<t).

Position t reads the value before it (a start token at t = 1): each value scaled to [-1, 1] passes a
linear embedding (so the receptive field can be checked by gradients, as for the convolutional
models), plus a learned position embedding; causal self-attention blocks (``code_transformer.Block``)
and a linear map give the K logits of x_t. Every position sees every earlier one: no blind spot, at
O(T^2) attention per image; sampling keeps every layer's keys and values, one position per step.

For small images (8x8 digits: T = 64; 14x14: 196), where the cost argument of the lecture can be
measured: 784 steps per 28x28 image, against 49 for the transformer over 7x7 VQ-VAE codes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar, Literal

import torch
from torch import Tensor, nn

from generativa.models.autoregressive.code_transformer import Block
from generativa.models.autoregressive.pixel_model import PixelModel
from generativa.models.base import ModelConfig
from generativa.registry import Preset, register_model, register_preset


@dataclass(frozen=True)
class PixelTransformerConfig(ModelConfig):
    likelihood: Literal["categorical", "bernoulli"] = "categorical"
    width: int = 64                # d_model
    layers: int = 2
    heads: int = 4


@register_model("pixel_transformer")
class PixelTransformer(PixelModel):
    config_class: ClassVar[type] = PixelTransformerConfig

    def __init__(self, config: PixelTransformerConfig):
        super().__init__(config)
        c = config
        self.T = self.dims
        self.value_embedding = nn.Linear(1, c.width)
        self.start = nn.Parameter(torch.zeros(c.width))
        self.positions = nn.Parameter(torch.randn(self.T, c.width) * 0.02)
        self.blocks = nn.ModuleList(Block(c.width, c.heads) for _ in range(c.layers))
        self.norm = nn.LayerNorm(c.width)
        self.head = nn.Linear(c.width, self.outputs)
        self.pad = 0

    def _embed(self, previous: Tensor, offset: int) -> Tensor:
        """Values before each position (B, T') in [-1, 1], NaN for the start -> (B, T', width)."""
        h = self.value_embedding(previous.nan_to_num(0.0)[..., None])
        h = torch.where(previous.isnan()[..., None], self.start.to(h.dtype), h)
        return h + self.positions[offset:offset + previous.shape[1]]

    def network(self, x_in: Tensor, labels: Tensor | None = None) -> Tensor:
        B, (C, H, W) = len(x_in), self.data_shape
        seq = x_in.permute(0, 2, 3, 1).reshape(B, -1)                              # (B, T): raster, channels inside
        previous = torch.cat([torch.full_like(seq[:, :1], float("nan")), seq[:, :-1]], 1)
        h = self._embed(previous, 0)
        for block in self.blocks:
            h = block(h)
        logits = self.head(self.norm(h))                                          # (B, T, K)
        return logits.view(B, H, W, C, self.outputs).permute(0, 3, 4, 1, 2)       # (B, C, K, H, W)

    # -- incremental form: one position per call, with every layer's keys and values kept -----------
    def start_cache(self, x_pad: Tensor, labels: Tensor | None) -> dict[str, Any]:
        n, C = len(x_pad), self.colors
        return {"x": x_pad, "caches": [{} for _ in self.blocks], "pixel": None, "calls": 0,
                "out": x_pad.new_zeros(n, C, self.outputs)}

    def logits_at(self, cache: dict[str, Any], i: int, j: int) -> Tensor:
        """The sampler asks once per channel of pixel (i, j), channel c after channels < c are set."""
        C, W = self.colors, self.data_shape[2]
        if cache["pixel"] != (i, j):
            cache["pixel"], cache["calls"] = (i, j), 0
        c = cache["calls"]
        t = (i * W + j) * C + c                                                    # the position asked for
        if t == 0:
            previous = cache["x"].new_full((len(cache["x"]), 1), float("nan"))
        else:
            s = t - 1
            previous = cache["x"][:, s % C, s // C // W, s // C % W][:, None]
        h = self._embed(previous, t)
        for block, kv in zip(self.blocks, cache["caches"]):
            h = block(h, kv)
        cache["out"][:, c] = self.head(self.norm(h))[:, 0]
        cache["calls"] = c + 1
        return cache["out"]


@register_preset
def pixel_transformer_digits() -> Preset:
    return Preset("pixel_transformer", PixelTransformerConfig(data_shape=(1, 8, 8), width=64, layers=2, heads=4),
                  "digits", train={"steps": 2000, "batch_size": 64, "lr": 1e-3, "schedule": "cosine",
                                   "warmup_steps": 100},
                  description="a causal transformer over the 64 pixels of the 8x8 digits (256-way softmax each)")
