"""ZFNet (Zeiler & Fergus 2014, "Visualizing and understanding convolutional networks",
arXiv:1311.2901): AlexNet with a smaller first-layer filter and stride, found by looking at its
feature maps, and a cap on the size of every filter.

x: images (B, C, H, W) in [0, 1]; logits (B, K).

Changes from AlexNet [sec. 4.1]: the first layer's 11x11 filters with stride 4 become 7x7 with
stride 2, and the second layer's convolution has stride 2 too, so fewer first-layer filters die and
the second layer shows no aliasing. Filter renormalisation [sec. 3]: after every update, each
convolutional filter whose RMS exceeds a fixed radius (0.1) is rescaled back to that radius; it runs
as the player's ``after_step``, the trainer's hook for constraints on weights (WGAN's clipping uses it
too). Sized for 8-64 px inputs like ``alexnet`` (``stem='small'``, the default): padded convolutions
and 3x3 overlapping max pooling (stride 2, padding 1). ``stem='paper'`` is the 224 px network of
Fig. 3: an unpadded second convolution and pooling that rounds up, so a 224 px input gives maps of
110, 55, 26, 13 and 6 pixels; with the paper's widths (96, 256, 384, 384, 256) and hidden 4096 it has
62,357,608 parameters for 1,000 classes (tested). No local response normalisation in either.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import torch
from torch import nn

from generativa.models.base import Player
from generativa.models.vision.classifiers import MNIST_CLASSIFIER, Classifier, ClassifierConfig, mnist_train
from generativa.registry import Preset, register_model, register_preset


@dataclass(frozen=True)
class ZFNetConfig(ClassifierConfig):
    """widths: the five convolutions' channels (the paper's 96, 256, 384, 384, 256 divided by ~3-8);
    hidden: the two fully connected layers (the paper's 4096); filter_radius: the largest RMS a
    convolutional filter keeps after an update (0 = no renormalisation); stem: 'small' (for 8-64 px)
    or 'paper' (the 224 px layer sizes of Fig. 3)."""

    widths: tuple[int, int, int, int, int] = (32, 64, 96, 96, 64)
    hidden: int = 256
    dropout: float = 0.5
    filter_radius: float = 0.1  # [Zeiler & Fergus 2014, sec. 3: "a fixed radius of 10^-1"]
    stem: Literal["small", "paper"] = "small"


@register_model("zfnet")
class ZFNet(Classifier):
    config_class = ZFNetConfig

    def __init__(self, config: ZFNetConfig):
        super().__init__(config)
        C, H, W = config.data_shape
        w1, w2, w3, w4, w5 = config.widths
        paper = config.stem == "paper"
        if paper:
            pool = lambda: nn.MaxPool2d(3, 2, ceil_mode=True)  # noqa: E731  110 -> 55, 26 -> 13, 13 -> 6 [Fig. 3]
        else:
            pool = lambda: nn.MaxPool2d(3, 2, padding=1)  # noqa: E731
        self.conv = nn.Sequential(
            nn.Conv2d(C, w1, 7, stride=2, padding=1 if paper else 3), nn.ReLU(), pool(),  # 7x7 stride 2 [sec. 4.1]
            nn.Conv2d(w1, w2, 5, stride=2, padding=0 if paper else 2), nn.ReLU(), pool(),  # stride 2 [sec. 4.1]
            nn.Conv2d(w2, w3, 3, padding=1), nn.ReLU(),
            nn.Conv2d(w3, w4, 3, padding=1), nn.ReLU(),
            nn.Conv2d(w4, w5, 3, padding=1), nn.ReLU(), pool(),
        )
        with torch.no_grad():
            try:
                h = self.conv(torch.zeros(1, C, H, W))
            except RuntimeError as e:  # a map shrank below the next kernel
                raise ValueError(f"ZFNet with stem={config.stem!r} cannot take a {H}x{W} input ({e}); "
                                 "use stem='small' below about 64 px") from None
        self.fc = nn.Sequential(
            nn.Flatten(),
            nn.Dropout(config.dropout), nn.Linear(h.numel(), config.hidden), nn.ReLU(),
            nn.Dropout(config.dropout), nn.Linear(config.hidden, config.hidden), nn.ReLU(),
        )
        self.head = nn.Linear(config.hidden, config.num_classes)
        self.renormalise_filters()

    def body(self, x):
        return self.fc(self.conv(x))

    @torch.no_grad()
    def renormalise_filters(self) -> None:
        """Rescale every convolutional filter (one output channel's weights) whose RMS exceeds the
        radius back to it [sec. 3]; smaller filters are left alone."""
        radius = self.config.filter_radius
        if radius <= 0:
            return
        for m in self.conv:
            if isinstance(m, nn.Conv2d):
                rms = m.weight.pow(2).mean(dim=(1, 2, 3), keepdim=True).sqrt()
                m.weight.mul_(torch.where(rms > radius, radius / rms, torch.ones_like(rms)))

    def players(self) -> list[Player]:
        return [Player("model", self.param_groups(), self.loss, after_step=self.renormalise_filters)]


@register_preset
def zfnet_mnist() -> Preset:
    return Preset(model="zfnet", config=ZFNetConfig(**MNIST_CLASSIFIER), data="mnist", train=mnist_train(3000),
                  description="ZFNet-style (7x7 stride-2 first layer, filter renormalisation) on 28x28 digits")
