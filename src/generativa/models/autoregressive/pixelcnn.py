"""PixelCNN (van den Oord, Kalchbrenner & Kavukcuoglu 2016, arXiv:1601.06759, section 3.4).

x: images (B, C, H, W) in [0, 1]; p(x) = prod_t p(x_t | x_<t) in raster order, channels R, G, B inside
a pixel (``pixel_model.py``). The network is a stack of masked convolutions (``nn/masked.py``): a
k0 x k0 mask-A layer, then residual masked 3 x 3 mask-B layers, h <- h + conv(relu(h)), and two
1 x 1 mask-B layers to the logits [section 3.4, Table 1; departure: a residual block is one masked
3 x 3 convolution instead of the paper's 1 x 1 / 3 x 3 / 1 x 1 bottleneck, which is more arithmetic
per parameter on a CPU].

The masks cut the receptive field of a k x k stack into a staircase: pixels above and to the right
of the centre column at distance > layers * (k // 2) in the same rows are never seen — the *blind
spot* that Gated PixelCNN removes (``gated_pixelcnn.py``; the test of the receptive field shows both).

Incremental sampling: every layer's activation at pixel (i, j) depends only on the layer below in
the window of rows i - k//2 .. i around it, so the cache keeps each layer's activations and computes
at each step only the new pixel's column of activations, layer by layer (C H W small steps instead of
C H W full-image passes).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

import torch
from torch import Tensor, nn
from torch.nn import functional as F

from generativa.models.autoregressive.pixel_model import PixelConfig, PixelModel
from generativa.nn.masked import MaskedConv2d, channel_groups
from generativa.registry import Preset, register_model, register_preset


@dataclass(frozen=True)
class PixelCNNConfig(PixelConfig):
    pass


def output_layer(filters: int, colors: int, outputs: int) -> MaskedConv2d:
    """1 x 1 mask-B layer to ``outputs`` logits per channel, laid out (C, K): channel c's logits see
    the features of colour groups <= c."""
    return MaskedConv2d(filters, colors * outputs, 1, "B", in_groups=channel_groups(filters, colors),
                        out_groups=torch.arange(colors, device="cpu").repeat_interleave(outputs))


@register_model("pixelcnn")
class PixelCNN(PixelModel):
    config_class: ClassVar[type] = PixelCNNConfig

    def __init__(self, config: PixelCNNConfig):
        super().__init__(config)
        c, C = config, self.colors
        self.input_conv = MaskedConv2d(C, c.filters, c.first_kernel_size, "A", colors=C)
        self.blocks = nn.ModuleList(MaskedConv2d(c.filters, c.filters, c.kernel_size, "B", colors=C)
                                    for _ in range(c.layers))
        self.head = MaskedConv2d(c.filters, c.filters, 1, "B", colors=C)
        self.out = output_layer(c.filters, C, self.outputs)
        self.pad = max(c.first_kernel_size, c.kernel_size) // 2

    def network(self, x_in: Tensor, labels: Tensor | None = None) -> Tensor:
        h = self.input_conv(x_in)                                   # (B, F, H, W)
        for conv in self.blocks:
            h = h + conv(F.relu(h))
        out = self.out(F.relu(self.head(F.relu(h))))                # (B, C K, H, W)
        return out.unflatten(1, (self.colors, self.outputs))

    # -- incremental form ---------------------------------------------------------------------------
    def start_cache(self, x_pad: Tensor, labels: Tensor | None) -> dict[str, Any]:
        n, _, Hp, Wp = x_pad.shape
        acts = [x_pad.new_zeros(n, self.config.filters, Hp, Wp) for _ in range(len(self.blocks) + 1)]
        return {"x": x_pad, "acts": acts}

    def _window(self, buf: Tensor, conv: MaskedConv2d, i: int, j: int) -> Tensor:
        P, p = self.pad, conv.p
        return buf[:, :, P + i - p:P + i + 1, P + j - p:P + j + p + 1]     # rows i-p..i, cols j-p..j+p

    def logits_at(self, cache: dict[str, Any], i: int, j: int) -> Tensor:
        P, acts = self.pad, cache["acts"]
        h = self.input_conv.window(self._window(cache["x"], self.input_conv, i, j))          # (n, F)
        acts[0][:, :, P + i, P + j] = h
        for k, conv in enumerate(self.blocks):
            h = h + conv.window(F.relu(self._window(acts[k], conv, i, j)))
            acts[k + 1][:, :, P + i, P + j] = h
        point = lambda t: t[:, :, None, None]  # noqa: E731  (n, F) -> (n, F, 1, 1)
        out = self.out.window(point(F.relu(self.head.window(point(F.relu(h))))))
        return out.view(-1, self.colors, self.outputs)


@register_preset
def pixelcnn_digits() -> Preset:
    return Preset("pixelcnn", PixelCNNConfig(data_shape=(1, 8, 8), filters=64, layers=4), "digits",
                  train={"steps": 2000, "batch_size": 64, "lr": 2e-3, "schedule": "cosine", "grad_clip": 1.0},
                  description="PixelCNN (256-way softmax per pixel, 5 masked layers) on the 8x8 digits")


@register_preset
def pixelcnn_mnist() -> Preset:
    return Preset("pixelcnn", PixelCNNConfig(data_shape=(1, 28, 28), likelihood="bernoulli", filters=32, layers=6),
                  "mnist", train={"steps": 2000, "batch_size": 32, "lr": 2e-3, "schedule": "cosine", "grad_clip": 1.0,
                                  "ema_decay": 0.999, "precision": "auto"},
                  description="PixelCNN on 28x28 grey digits binarised at 0.5 (Bernoulli per pixel)")
