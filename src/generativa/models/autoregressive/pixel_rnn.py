"""PixelRNN with Row LSTM layers (van den Oord, Kalchbrenner & Kavukcuoglu 2016, arXiv:1601.06759,
section 3.1).

x: images (B, C, H, W) in [0, 1]; p(x) = prod_t p(x_t | x_<t) in raster order, channels R, G, B inside a
pixel (``pixel_model.py``). The network: a k0 x k0 mask-A convolution on the image, then Row LSTM
layers with residual connections [section 3.4], then two 1 x 1 mask-B layers to the logits.

A Row LSTM layer processes the image one row at a time, top to bottom. At row i the four gates of
every pixel come from two one-dimensional convolutions [eq. 3]:

    [o, f, i, g]_i = sigma(K_ss * h_{i-1} + K_is * x_i)       (g through tanh instead of sigma)
    c_i = f . c_{i-1} + i . g,      h_i = o . tanh(c_i)

K_is is a 1 x k convolution along row i masked like PixelCNN's mask B (the pixel itself and those to
its left; colour groups as in ``nn/masked.py``), K_ss a 1 x k convolution over the previous row's
hidden states, which are all before the pixel in raster order. A pixel thus sees a triangle above it
that widens by k // 2 pixels a row and, unlike Gated PixelCNN, not every earlier pixel (the paper's
Diagonal BiLSTM is the variant with the whole context; not here).

Incremental sampling: the state at (i, j) needs only the layer's input at (i, j - k//2 .. j), the
hidden states of row i - 1 around j and the cell at (i - 1, j), all cached, so a step is one pixel's
arithmetic per layer, exactly the whole-network pass's numbers (tested).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

import torch
from torch import Tensor, nn
from torch.nn import functional as F

from generativa.models.autoregressive.pixel_model import PixelConfig, PixelModel
from generativa.models.autoregressive.pixelcnn import output_layer
from generativa.nn.masked import MaskedConv2d, channel_groups
from generativa.registry import Preset, register_model, register_preset


@dataclass(frozen=True)
class PixelRNNConfig(PixelConfig):
    """filters: the hidden (and cell) size of every Row LSTM; layers: how many; kernel_size: k of the
    row convolutions (input-to-state and state-to-state); first_kernel_size: the mask-A convolution."""

    filters: int = 32
    layers: int = 2


class RowLSTM(nn.Module):
    """One Row LSTM layer: (B, F, H, W) -> hidden states (B, F, H, W), row by row."""

    def __init__(self, filters: int, kernel_size: int, colors: int):
        super().__init__()
        groups = channel_groups(filters, colors)
        self.p = kernel_size // 2
        self.filters = filters
        # the four gates of each channel keep that channel's colour group
        self.input_to_state = MaskedConv2d(filters, 4 * filters, kernel_size, "B", region="row",
                                           in_groups=groups, out_groups=groups.repeat(4))
        self.state_to_state = nn.Conv1d(filters, 4 * filters, kernel_size, padding=self.p)

    @staticmethod
    def cell(gates: Tensor, c_prev: Tensor) -> tuple[Tensor, Tensor]:
        o, f, i, g = gates.chunk(4, dim=1)
        c = torch.sigmoid(f) * c_prev + torch.sigmoid(i) * torch.tanh(g)
        return torch.sigmoid(o) * torch.tanh(c), c

    def forward(self, x: Tensor) -> Tensor:
        B, _, H, W = x.shape
        pre = self.input_to_state(x)                                  # (B, 4F, H, W): K_is * x for every row
        h = x.new_zeros(B, self.filters, W)
        c = torch.zeros_like(h)
        rows = []
        for i in range(H):
            h, c = self.cell(pre[:, :, i] + self.state_to_state(h), c)
            rows.append(h)
        return torch.stack(rows, dim=2)

    def step(self, x_window: Tensor, h_window: Tensor, c_prev: Tensor) -> tuple[Tensor, Tensor]:
        """One pixel: x_window (n, F, 1, p + 1) of row i, h_window (n, F, 2p + 1) of row i - 1, c_prev (n, F)."""
        ss = F.conv1d(h_window, self.state_to_state.weight, self.state_to_state.bias)[:, :, 0]
        return self.cell(self.input_to_state.window(x_window) + ss, c_prev)


@register_model("pixel_rnn")
class PixelRNN(PixelModel):
    config_class: ClassVar[type] = PixelRNNConfig

    def __init__(self, config: PixelRNNConfig):
        super().__init__(config)
        c, C = config, self.colors
        self.input_conv = MaskedConv2d(C, c.filters, c.first_kernel_size, "A", colors=C)
        self.lstms = nn.ModuleList(RowLSTM(c.filters, c.kernel_size, C) for _ in range(c.layers))
        self.head = MaskedConv2d(c.filters, c.filters, 1, "B", colors=C)
        self.out = output_layer(c.filters, C, self.outputs)
        self.pad = max(c.first_kernel_size, c.kernel_size) // 2

    def network(self, x_in: Tensor, labels: Tensor | None = None) -> Tensor:
        h = self.input_conv(x_in)                                   # (B, F, H, W)
        for lstm in self.lstms:
            h = h + lstm(h)                                         # residual connections [section 3.4]
        out = self.out(F.relu(self.head(F.relu(h))))
        return out.unflatten(1, (self.colors, self.outputs))

    # -- incremental form ---------------------------------------------------------------------------
    def start_cache(self, x_pad: Tensor, labels: Tensor | None) -> dict[str, Any]:
        n, _, Hp, Wp = x_pad.shape
        H, W = self.data_shape[1:]
        Fm, p = self.config.filters, self.config.kernel_size // 2
        return {
            "x": x_pad,
            # the input of LSTM k (acts[k]) and the output of the last one, padded like x_pad
            "acts": [x_pad.new_zeros(n, Fm, Hp, Wp) for _ in range(len(self.lstms) + 1)],
            # hidden states and cells of each LSTM; row r at index r + 1 (index 0: the zero row above the image)
            "h": [x_pad.new_zeros(n, Fm, H + 1, W + 2 * p) for _ in self.lstms],
            "c": [x_pad.new_zeros(n, Fm, H + 1, W) for _ in self.lstms],
        }

    def logits_at(self, cache: dict[str, Any], i: int, j: int) -> Tensor:
        P, acts = self.pad, cache["acts"]
        p0 = self.input_conv.p
        h = self.input_conv.window(cache["x"][:, :, P + i - p0:P + i + 1, P + j - p0:P + j + p0 + 1])   # (n, F)
        acts[0][:, :, P + i, P + j] = h
        for k, lstm in enumerate(self.lstms):
            p = lstm.p
            x_window = acts[k][:, :, P + i:P + i + 1, P + j - p:P + j + 1]
            hidden, cell = lstm.step(x_window, cache["h"][k][:, :, i, j:j + 2 * p + 1], cache["c"][k][:, :, i, j])
            cache["h"][k][:, :, i + 1, j + p] = hidden
            cache["c"][k][:, :, i + 1, j] = cell
            h = h + hidden
            acts[k + 1][:, :, P + i, P + j] = h
        point = lambda t: t[:, :, None, None]  # noqa: E731  (n, F) -> (n, F, 1, 1)
        out = self.out.window(point(F.relu(self.head.window(point(F.relu(h))))))
        return out.view(-1, self.colors, self.outputs)


@register_preset
def pixel_rnn_digits() -> Preset:
    return Preset("pixel_rnn", PixelRNNConfig(data_shape=(1, 8, 8), filters=32, layers=2), "digits",
                  train={"steps": 2000, "batch_size": 64, "lr": 2e-3, "schedule": "cosine", "grad_clip": 1.0},
                  description="PixelRNN (Row LSTM, 2 layers, 256-way softmax per pixel) on the 8x8 digits")


@register_preset
def pixel_rnn_mnist() -> Preset:
    return Preset("pixel_rnn", PixelRNNConfig(data_shape=(1, 28, 28), likelihood="bernoulli", filters=32, layers=2),
                  "mnist", train={"steps": 1500, "batch_size": 32, "lr": 2e-3, "schedule": "cosine", "grad_clip": 1.0,
                                  "ema_decay": 0.999},
                  description="PixelRNN (Row LSTM) on 28x28 grey digits binarised at 0.5 (Bernoulli per pixel)")
