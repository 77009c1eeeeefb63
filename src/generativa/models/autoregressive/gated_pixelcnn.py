"""Gated PixelCNN (van den Oord, Kalchbrenner, Vinyals, Espeholt, Graves & Kavukcuoglu 2016,
arXiv:1606.05328), class-conditional.

x: images (B, C, H, W) in [0, 1]; p(x | y) = prod_t p(x_t | x_<t, y) in raster order (``pixel_model.py``).

Two stacks remove the blind spot of PixelCNN [section 2.2, Figure 1]:

* the vertical stack v sees every pixel of the rows at and above the current one: a (k//2 + 1) x k
  convolution padded on top. Shifted down by one row, it holds only rows strictly above, and feeds
  the horizontal stack through a 1 x 1 convolution;
* the horizontal stack h sees the current row left of the pixel: a 1 x (k//2 + 1) convolution with
  mask A (first layer) or B (later layers) at the centre (colour groups, ``nn/masked.py``), plus the
  shifted vertical features. A pixel's output therefore depends on every pixel above it (within the
  reach of the layers) and every pixel to its left: no blind spot.

Each layer's pre-activations (2F maps) pass a gated activation [eq. 2-4],

    y = tanh(W_f * x + V_f e_y) * sigmoid(W_g * x + V_g e_y),

with e_y a learned embedding of the class label y (``conditional=True``); with ``label_dropout`` > 0 one
more embedding (and class map) stands for "no class", the unconditional model that classifier-free
guidance needs (``pixel_model.py``). With ``class_map=D > 0`` each
layer also adds a location-dependent class term V' * s_y [section 2.3]: s_y is a learned (D, H, W) map
of class y (the paper's m(h) for a one-hot h: a lookup) and V' a 1 x 1 convolution, so the label can
say *where* strokes go (a 1 sits in the middle column, a 0 leaves it empty), not only shift every
position alike. Both class terms depend on y alone, never on x, so no mask is needed. The horizontal stack is
residual after its first layer: h <- h + W_r y (1 x 1, mask B) [Figure 2]. Two 1 x 1 mask-B layers
give the logits. Departure: no skip connections to the output.

Incremental sampling: the vertical stack is computed one row at a time, when the row above is
complete (each layer keeps the last k//2 + 1 rows of the layer below); the horizontal stack one pixel
at a time from the pixels to its left (each layer keeps its current row). Only the new pixel's
activations are computed at each step.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, ClassVar

import torch
from torch import Tensor, nn
from torch.nn import functional as F

from generativa.models.autoregressive.pixel_model import PixelConfig, PixelModel
from generativa.models.autoregressive.pixelcnn import output_layer
from generativa.models.base import Capabilities, Condition
from generativa.models.guidance import check_default_guidance, check_label_dropout
from generativa.nn.masked import MaskedConv2d, channel_groups, shift_down
from generativa.registry import Preset, register_model, register_preset

# log_prob of a conditional model is log p(x | y): it needs the label (sampling draws a balanced spread without)
LABELS = Condition("labels", "class indices (B,) or one class for all; log_prob needs them",
                   required=True)


@dataclass(frozen=True)
class GatedPixelCNNConfig(PixelConfig):
    conditional: bool = False      # p(x | y): take labels (needs num_classes > 0)
    class_map: int = 0             # channels D of the learned per-class map s_y (D, H, W); 0: the class vector alone
    label_dropout: float = 0.0     # classifier-free guidance: share of training labels replaced by "no class"
    guidance: float = 1.0          # the default guidance scale of sample for a conditional model (label_dropout > 0)


def gate(a: Tensor) -> Tensor:
    """tanh(first half) * sigmoid(second half) along dim 1 [eq. 2]."""
    f, g = a.chunk(2, dim=1)
    return torch.tanh(f) * torch.sigmoid(g)


class GatedLayer(nn.Module):
    """One layer of both stacks: (v, h) -> (v', h'); ``first`` is the mask-A layer on the image."""

    def __init__(self, in_channels: int, filters: int, kernel_size: int, colors: int, num_labels: int, first: bool,
                 class_map: int = 0):
        super().__init__()
        p = kernel_size // 2
        self.p, self.first, self.filters = p, first, filters
        in_groups = channel_groups(in_channels, colors)
        gate_groups = channel_groups(filters, colors).repeat(2)          # the f and g halves, group by group
        self.v_conv = nn.Conv2d(in_channels, 2 * filters, (p + 1, kernel_size))   # rows i-p..i, cols j-p..j+p
        self.h_conv = MaskedConv2d(in_channels, 2 * filters, kernel_size, "A" if first else "B", region="row",
                                   in_groups=in_groups, out_groups=gate_groups)
        self.link = nn.Conv2d(2 * filters, 2 * filters, 1)                # vertical -> horizontal
        self.res = None if first else MaskedConv2d(filters, filters, 1, "B", colors=colors)
        self.embed = nn.Embedding(num_labels, 4 * filters) if num_labels else None
        if self.embed is not None:
            # Departure: the class terms start at zero, so the label changes nothing until training
            # says how. nn.Embedding's default N(0, 1) adds a random offset of ~1 to every gate
            # pre-activation per class: at init log p(x | y) differs by ~1,000 nats between labels
            # (28x28, 8-bit), noise that training must first undo from each class's tenth of the
            # data, and that leaves p(x | y_true) below the average over labels after 1,000 steps.
            nn.init.zeros_(self.embed.weight)
        # V' of the class map, (D -> 4F); zero at init for the same reason (s_y itself starts random)
        self.map_proj = nn.Conv2d(class_map, 4 * filters, 1, bias=False) if num_labels and class_map else None
        if self.map_proj is not None:
            nn.init.zeros_(self.map_proj.weight)

    def condition(self, labels: Tensor | None, s: Tensor | None) -> tuple[Tensor | float, Tensor | float]:
        """The class terms V e_y (+ V' * s_y) of the vertical and horizontal stacks, each (B, 2F, 1, 1), or
        (B, 2F, h, w) over the window of the class map ``s`` (B, D, h, w) it is given; 0 without labels."""
        if self.embed is None:
            return 0.0, 0.0
        terms = self.embed(labels)[:, :, None, None]                                   # (B, 4F, 1, 1)
        if self.map_proj is not None:
            terms = terms + self.map_proj(s)                                           # (B, 4F, h, w)
        return terms.chunk(2, dim=1)

    def forward(self, v: Tensor, h: Tensor, labels: Tensor | None, s: Tensor | None) -> tuple[Tensor, Tensor]:
        p = self.p
        cond_v, cond_h = self.condition(labels, s)
        v_pre = self.v_conv(F.pad(v, (p, p, p, 0))) + cond_v                          # (B, 2F, H, W)
        h_pre = self.h_conv(h) + shift_down(self.link(v_pre)) + cond_h
        out = gate(h_pre)
        return gate(v_pre), (out if self.first else h + self.res(out))


@register_model("gated_pixelcnn")
class GatedPixelCNN(PixelModel):
    config_class: ClassVar[type] = GatedPixelCNNConfig

    def __init__(self, config: GatedPixelCNNConfig):
        super().__init__(config)
        c, C = config, self.colors
        if c.conditional and c.num_classes < 1:
            raise ValueError("conditional=true needs labelled data (num_classes > 0); train on a labelled dataset "
                             "or set conditional=false")
        if c.class_map < 0:
            raise ValueError(f"class_map must be >= 0 (channels of the per-class map; 0: none), got {c.class_map}")
        check_label_dropout(c.label_dropout)
        check_default_guidance(c.guidance, c.conditional, c.label_dropout)
        self.num_labels = c.num_classes if c.conditional else 0
        self.null_label = self.num_labels if self.num_labels and c.label_dropout > 0 else None
        tokens = self.num_labels + (self.null_label is not None)          # the classes (+ "no class")
        D = c.class_map if self.num_labels else 0
        # s_y for every class, (tokens, D, H, W); random, its effect starts at zero through each layer's V'
        self.class_map = nn.Parameter(torch.randn(tokens, D, *c.data_shape[1:])) if D else None
        self.stack = nn.ModuleList(
            [GatedLayer(C, c.filters, c.first_kernel_size, C, tokens, first=True, class_map=D)]
            + [GatedLayer(c.filters, c.filters, c.kernel_size, C, tokens, first=False, class_map=D)
               for _ in range(c.layers)])
        self.head = MaskedConv2d(c.filters, c.filters, 1, "B", colors=C)
        self.out = output_layer(c.filters, C, self.outputs)
        self.pad = max(c.first_kernel_size, c.kernel_size) // 2

    def declare(self, capabilities: Capabilities) -> Capabilities:
        capabilities = super().declare(capabilities)
        if self.num_labels:
            return dataclasses.replace(capabilities, conditions=(LABELS,))
        return capabilities

    def _check_labels(self, labels: Tensor | None, n: int) -> Tensor | None:
        if not self.num_labels:
            return None
        if labels is None:
            raise ValueError(f"{self.name} is conditional: pass labels= (class indices in 0..{self.num_labels - 1})")
        top = self.num_labels if self.null_label is None else self.null_label + 1
        if labels.numel() and (labels.min() < 0 or labels.max() >= top):
            also = "" if self.null_label is None else f" ({self.null_label}: no class)"
            raise ValueError(f"labels must lie in 0..{top - 1}{also}, got {labels.min()}..{labels.max()}")
        return labels

    def network(self, x_in: Tensor, labels: Tensor | None = None) -> Tensor:
        labels = self._check_labels(labels, len(x_in))
        s = None if self.class_map is None else self.class_map[labels]                # (B, D, H, W)
        v = h = x_in
        for layer in self.stack:
            v, h = layer(v, h, labels, s)
        out = self.out(F.relu(self.head(F.relu(h))))                            # (B, C K, H, W)
        return out.unflatten(1, (self.colors, self.outputs))

    def _sample_args(self, n: int, condition: dict[str, Any], temperature: float, method: str,
                     guidance: float = 1.0) -> Tensor | None:
        if self.num_labels and condition.get("labels") is None:
            condition = {**condition, **self.default_condition(n)}
        return super()._sample_args(n, condition, temperature, method, guidance)

    # -- incremental form ---------------------------------------------------------------------------
    def start_cache(self, x_pad: Tensor, labels: Tensor | None) -> dict[str, Any]:
        labels = self._check_labels(labels, len(x_pad))
        n, W, P, Fm = len(x_pad), self.data_shape[2], self.pad, self.config.filters
        p = self.config.kernel_size // 2
        s = None if self.class_map is None else self.class_map[labels]                # (n, D, H, W)
        return {
            "x": x_pad, "row": -1, "labels": labels, "s": s,
            # each layer's class terms: the vector V e_y, (n, 2F, 1, 1) per stack, when there is no map
            "cond": [layer.condition(labels, None) if s is None else None for layer in self.stack],
            # each layer's last p + 1 rows of vertical features (the window of the layer above), padded
            "v_rows": [x_pad.new_zeros(n, Fm, p + 1, W + 2 * P) for _ in self.stack],
            # each layer's link term for the current row: link(v_pre of the row above), (n, 2F, W)
            "links": [x_pad.new_zeros(n, 2 * Fm, W) for _ in self.stack],
            # each layer's horizontal features of the current row, padded on the left
            "h_row": [x_pad.new_zeros(n, Fm, 1, W + P) for _ in self.stack],
        }

    def _class_terms(self, cache: dict[str, Any], k: int, rows: slice, cols: slice) -> tuple[Any, Any]:
        """Layer k's class terms over a window of the image, (n, 2F, 1 | h, 1 | w) per stack."""
        if cache["s"] is None:
            return cache["cond"][k]
        return self.stack[k].condition(cache["labels"], cache["s"][:, :, rows, cols])

    def _vertical_row(self, cache: dict[str, Any], r: int) -> None:
        """The vertical stack at row r (complete in the image) -> the link terms of row r + 1."""
        P, W = self.pad, self.data_shape[2]
        below = cache["x"]
        for k, layer in enumerate(self.stack):
            p = layer.p
            if k == 0:
                window = below[:, :, P + r - p:P + r + 1, P - p:P + W + p]           # rows r-p..r of the image
            else:
                window = cache["v_rows"][k - 1][:, :, :, P - p:P + W + p]
            cond_v = self._class_terms(cache, k, slice(r, r + 1), slice(None))[0]
            v_pre = layer.v_conv(window) + cond_v                                   # (n, 2F, 1, W)
            rows = cache["v_rows"][k]
            new = torch.zeros_like(rows[:, :, :1])
            new[:, :, :, P:P + W] = gate(v_pre)
            cache["v_rows"][k] = torch.cat([rows[:, :, 1:], new], dim=2)
            cache["links"][k] = layer.link(v_pre)[:, :, 0]                           # (n, 2F, W)

    def logits_at(self, cache: dict[str, Any], i: int, j: int) -> Tensor:
        P = self.pad
        if cache["row"] != i:            # a new row: the vertical stack of the row above is now complete
            if i > 0:
                self._vertical_row(cache, i - 1)
            cache["row"] = i
        h_prev = None
        for k, layer in enumerate(self.stack):
            p = layer.p
            if k == 0:
                window = cache["x"][:, :, P + i:P + i + 1, P + j - p:P + j + 1]        # (n, C, 1, p + 1)
            else:
                window = cache["h_row"][k - 1][:, :, :, P + j - p:P + j + 1]
            h_pre = layer.h_conv.window(window) + cache["links"][k][:, :, j]         # (n, 2F)
            cond_h = self._class_terms(cache, k, slice(i, i + 1), slice(j, j + 1))[1]
            if torch.is_tensor(cond_h):
                h_pre = h_pre + cond_h[:, :, 0, 0]
            out = gate(h_pre)
            h = out if layer.first else h_prev + layer.res.window(out[:, :, None, None])
            cache["h_row"][k][:, :, 0, P + j] = h
            h_prev = h
        point = lambda t: t[:, :, None, None]  # noqa: E731
        out = self.out.window(point(F.relu(self.head.window(point(F.relu(h_prev))))))
        return out.view(-1, self.colors, self.outputs)


@register_preset
def gated_pixelcnn_digits() -> Preset:
    return Preset("gated_pixelcnn", GatedPixelCNNConfig(data_shape=(1, 8, 8), filters=64, layers=4), "digits",
                  train={"steps": 2000, "batch_size": 64, "lr": 2e-3, "schedule": "cosine", "grad_clip": 1.0},
                  description="Gated PixelCNN (256-way softmax per pixel, 5 gated layers) on the 8x8 digits")


@register_preset
def gated_pixelcnn_mnist() -> Preset:
    # class_map=8, label_dropout and guidance act only with conditional=true. class_map: after 1.5 minutes 40% of
    # samples in the asked class against 13% with the class vector alone; it costs 20% more time per step.
    # Guidance 1.5 after 10 minutes: 95.4% in the asked class and FID 7.0, against 83.9% and 11.4 at 1 (BENCHMARKS.md)
    return Preset("gated_pixelcnn", GatedPixelCNNConfig(data_shape=(1, 28, 28), filters=32, layers=6, class_map=8,
                                                        label_dropout=0.1, guidance=1.5),
                  "mnist",
                  # bf16 autocast: 1.6x the fp32 speed of a training step on CPUs with native bf16
                  train={"steps": 3000, "batch_size": 32, "lr": 2e-3, "schedule": "cosine", "grad_clip": 1.0,
                         "ema_decay": 0.999, "precision": "auto"},
                  description="Gated PixelCNN (256-way softmax per pixel) on 28x28 grey digits; with "
                              "model.conditional=true p(x | y) through a class vector and an 8-channel class map")


@register_preset
def gated_pixelcnn_mnist_binary() -> Preset:
    return Preset("gated_pixelcnn", GatedPixelCNNConfig(data_shape=(1, 28, 28), likelihood="bernoulli", filters=32,
                                                        layers=6, class_map=8, label_dropout=0.1), "mnist",
                  # bf16 autocast: 1.6x the fp32 speed of a training step on CPUs with native bf16
                  train={"steps": 3000, "batch_size": 32, "lr": 2e-3, "schedule": "cosine", "grad_clip": 1.0,
                         "ema_decay": 0.999, "precision": "auto"},
                  description="Gated PixelCNN on 28x28 grey digits binarised at 0.5 (Bernoulli per pixel); with "
                              "model.conditional=true p(x | y) through a class vector and an 8-channel class map")
