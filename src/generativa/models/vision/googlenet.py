"""GoogLeNet (Szegedy et al. 2015, "Going deeper with convolutions", arXiv:1409.4842): a stack of
inception modules, sized for 8-64 px inputs.

x: images (B, C, H, W) in [0, 1]; logits (B, K).

Inception module [sec. 4, Fig. 2b]: four branches side by side on the same input, concatenated
along the channels: a 1x1 convolution; a 1x1 reduction then a 3x3 convolution; a 1x1 reduction then
a 5x5 convolution; 3x3 max pooling (stride 1) then a 1x1 projection. The 1x1 reductions keep the
3x3 and 5x5 convolutions cheap. Every convolution is followed by a ReLU.

Network (the defaults, for 8-64 px): a 3x3 stem convolution and max pooling, inception 3a and 3b,
max pooling, inception 4a, global average pooling, dropout 0.4 and a linear classifier [Table 1,
sec. 5]. The widths of each module are the paper's (Table 1) divided by ``width_divisor`` (4: 3a
gives 64 / 4 = 16 + 32 + 8 + 8 channels).

The paper's network is a config away: ``stem='paper'`` is the 224 px stem (7x7 stride 2, pooling,
local response normalisation, 1x1 and 3x3 convolutions, local response normalisation, pooling) and
``modules=9`` adds 4b-4e, max pooling, 5a and 5b; with ``width_divisor=1`` every module has Table 1's
widths and weights (tested). Left out in every configuration: the two auxiliary classifiers (a
training aid of the 22-layer network on ImageNet, discarded at inference [sec. 5]).
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass
from typing import Literal

import torch
from torch import Tensor, nn

from generativa.models.vision.classifiers import (
    MNIST_CLASSIFIER,
    Classifier,
    ClassifierConfig,
    local_response_norm,
    mnist_train,
)
from generativa.registry import Preset, register_model, register_preset

# (1x1, 3x3 reduce, 3x3, 5x5 reduce, 5x5, pool projection) [Szegedy et al. 2015, Table 1]
INCEPTION_3A = (64, 96, 128, 16, 32, 32)
INCEPTION_3B = (128, 128, 192, 32, 96, 64)
INCEPTION_4A = (192, 96, 208, 16, 48, 64)
LATER_MODULES = {  # modules=9: 4b-4e, then (after pooling) 5a and 5b [Table 1]
    "inception4b": (160, 112, 224, 24, 64, 64),
    "inception4c": (128, 128, 256, 24, 64, 64),
    "inception4d": (112, 144, 288, 32, 64, 64),
    "inception4e": (256, 160, 320, 32, 128, 128),
    "inception5a": (256, 160, 320, 32, 128, 128),
    "inception5b": (384, 192, 384, 48, 128, 128),
}
STEM = 192  # the stem's output channels [Table 1]
STEM_FIRST = 64  # the paper stem's 7x7 convolution and 1x1 reduction [Table 1]


def _conv(cin: int, cout: int, k: int) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(cin, cout, k, padding=k // 2), nn.ReLU())


class Inception(nn.Module):
    """(B, C, H, W) -> (B, c1 + c3 + c5 + pool_proj, H, W) [Fig. 2b]."""

    def __init__(self, cin: int, c1: int, c3_reduce: int, c3: int, c5_reduce: int, c5: int, pool_proj: int):
        super().__init__()
        self.branch1 = _conv(cin, c1, 1)
        self.branch3 = nn.Sequential(_conv(cin, c3_reduce, 1), _conv(c3_reduce, c3, 3))
        self.branch5 = nn.Sequential(_conv(cin, c5_reduce, 1), _conv(c5_reduce, c5, 5))
        self.branch_pool = nn.Sequential(nn.MaxPool2d(3, stride=1, padding=1), _conv(cin, pool_proj, 1))
        self.out_channels = c1 + c3 + c5 + pool_proj

    def forward(self, x: Tensor) -> Tensor:
        return torch.cat([self.branch1(x), self.branch3(x), self.branch5(x), self.branch_pool(x)], dim=1)


@dataclass(frozen=True)
class GoogLeNetConfig(ClassifierConfig):
    """width_divisor: the paper's channel counts are divided by it; dropout before the classifier;
    stem: 'small' (one 3x3 convolution and pooling) or 'paper' (the 224 px stem); modules: 3
    (3a, 3b, 4a) or 9 (the paper's 3a-5b)."""

    width_divisor: int = 4
    dropout: float = 0.4  # [Szegedy et al. 2015, sec. 5]
    stem: Literal["small", "paper"] = "small"
    modules: Literal[3, 9] = 3


@register_model("googlenet")
class GoogLeNet(Classifier):
    config_class = GoogLeNetConfig

    def __init__(self, config: GoogLeNetConfig):
        super().__init__(config)
        if config.width_divisor < 1:
            raise ValueError(f"width_divisor must be >= 1, got {config.width_divisor}")
        C = config.data_shape[0]
        d = config.width_divisor
        scaled = lambda widths: tuple(max(1, w // d) for w in widths)  # noqa: E731
        stem = max(1, STEM // d)
        pool = lambda: nn.MaxPool2d(3, stride=2, padding=1)  # noqa: E731
        if config.stem == "paper":
            first = max(1, STEM_FIRST // d)
            self.stem = nn.Sequential(
                nn.Conv2d(C, first, 7, stride=2, padding=3), nn.ReLU(), pool(), local_response_norm(),
                _conv(first, first, 1), _conv(first, stem, 3), local_response_norm(), pool())
        else:
            self.stem = nn.Sequential(_conv(C, stem, 3), pool())
        self.inception3a = Inception(stem, *scaled(INCEPTION_3A))
        self.inception3b = Inception(self.inception3a.out_channels, *scaled(INCEPTION_3B))
        self.pool = pool()
        self.inception4a = Inception(self.inception3b.out_channels, *scaled(INCEPTION_4A))
        out = self.inception4a.out_channels
        self.later = None
        if config.modules == 9:
            later: OrderedDict[str, nn.Module] = OrderedDict()
            for name, widths in LATER_MODULES.items():
                if name == "inception5a":
                    later["pool4"] = pool()
                later[name] = Inception(out, *scaled(widths))
                out = later[name].out_channels
            self.later = nn.Sequential(later)
        self.dropout = nn.Dropout(config.dropout)
        self.head = nn.Linear(out, config.num_classes)

    def body(self, x: Tensor) -> Tensor:
        h = self.inception3b(self.inception3a(self.stem(x)))
        h = self.inception4a(self.pool(h))
        if self.later is not None:
            h = self.later(h)
        return self.dropout(h.mean(dim=(2, 3)))  # global average pooling [sec. 5]


@register_preset
def googlenet_mnist() -> Preset:
    return Preset(model="googlenet", config=GoogLeNetConfig(**MNIST_CLASSIFIER), data="mnist",
                  train=mnist_train(3000),
                  description="GoogLeNet-style (inception 3a, 3b, 4a at a quarter of the widths) on 28x28 digits")
