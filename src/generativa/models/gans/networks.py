"""Generator and discriminator networks of the GAN family.

* MLP networks for vector data (toy1d, toy2d) and, flattened, for small images.
* DCGAN networks (Radford et al. 2016, arXiv:1511.06434) for images of 8 to 64 pixels, 1 or 3 channels:
  the generator projects z to a (C0, s0, s0) tensor and doubles the resolution with 4x4 stride-2
  transposed convolutions, batch norm and ReLU, ending in tanh; the discriminator mirrors it with
  4x4 stride-2 convolutions and leaky ReLU (slope 0.2), no pooling, no fully connected hidden layers
  [Radford et al. 2016, Sec. 3]. Departure from the paper: the generator ends with a 3x3 convolution
  at full resolution and the discriminator starts with one, so an 8x8 network still has two layers
  of each kind; and the discriminator's normalisation is a choice (batch norm as in DCGAN, layer norm
  as WGAN-GP recommends for a critic [Gulrajani et al. 2017, Sec. 4], or none).

Class conditioning (labels y, (B,) int64):

* generator: z is concatenated with a learned embedding of y (Mirza & Osindero 2014, arXiv:1411.1784);
* discriminator ``embedding``: the embedding of y is concatenated to the input (spatially broadcast
  for images) [Mirza & Osindero 2014, Sec. 3.2];
* discriminator ``projection``: f(x, y) = psi(phi(x)) + <embed(y), phi(x)>
  [Miyato & Koyama 2018, arXiv:1802.05637, eq. 3].

Every discriminator returns one real number per example, (B,): a logit or a critic value.
"""

from __future__ import annotations

import math
from typing import Literal

import torch
from torch import Tensor, nn

from generativa.nn.layers import GroupNorm

Conditioning = Literal["none", "embedding", "projection"]
DiscriminatorNorm = Literal["batch", "layer", "none"]
LEAKY_SLOPE = 0.2  # [Radford et al. 2016, Sec. 3]


def dcgan_levels(size: int) -> tuple[int, int]:
    """(s0, n_up): the starting resolution and the number of stride-2 doublings to reach ``size``.

    Halve while the result stays an integer of at least 4 (8 -> 4, 28 -> 7, 64 -> 4, 12 -> 6).
    """
    if not 4 <= size <= 256:
        raise ValueError(f"DCGAN networks need images of 8 to 64 pixels (256 at most), got {size}")
    s0, n_up = size, 0
    while s0 % 2 == 0 and s0 // 2 >= 4:
        s0, n_up = s0 // 2, n_up + 1
    if n_up == 0:
        raise ValueError(
            f"image size {size} cannot be reached by doubling from 4 or more pixels; "
            "resize the images (data.size=8, 16, 28, 32 or 64)"
        )
    return s0, n_up


def dcgan_init_(module: nn.Module) -> None:
    """Weights ~ N(0, 0.02), batch-norm scale ~ N(1, 0.02) [Radford et al. 2016, Sec. 4]."""
    for m in module.modules():
        if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear)):
            nn.init.normal_(m.weight, 0.0, 0.02)
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, nn.BatchNorm2d | nn.BatchNorm1d):
            nn.init.normal_(m.weight, 1.0, 0.02)
            nn.init.zeros_(m.bias)


def _d_norm(kind: DiscriminatorNorm, channels: int) -> nn.Module:
    if kind == "batch":
        return nn.BatchNorm2d(channels)
    if kind == "layer":
        return GroupNorm(1, channels)  # layer norm over (C, H, W)
    return nn.Identity()


class LabelEmbedding(nn.Module):
    """y (B,) int64 -> (B, dim); says what to do when labels are missing.

    ``std``: initial scale of the embedding; the projection discriminator uses 1 / sqrt(dim) so that
    <embed(y), phi(x)> starts at the scale of the unconditional output, not sqrt(dim) times it.
    """

    def __init__(self, num_classes: int, dim: int, *, std: float = 1.0):
        super().__init__()
        self.num_classes = num_classes
        self.embed = nn.Embedding(num_classes, dim)
        nn.init.normal_(self.embed.weight, 0.0, std)

    def forward(self, labels: Tensor | None) -> Tensor:
        if labels is None:
            raise ValueError(
                f"this GAN is conditional on {self.num_classes} classes: pass labels (B,) int64, "
                "e.g. model.sample(16, labels=3) or a dataset with labels"
            )
        return self.embed(labels)


# ---------------------------------------------------------------------------------------------- MLP
class MLPGenerator(nn.Module):
    """z (B, latent_dim) [+ y] -> x (B, *data_shape); linear output for vectors, tanh for images."""

    def __init__(self, latent_dim: int, data_shape: tuple[int, ...], hidden: tuple[int, ...],
                 *, num_classes: int = 0, embed_dim: int = 0, image: bool = False):
        super().__init__()
        self.data_shape = tuple(data_shape)
        self.image = image
        self.label_embedding = LabelEmbedding(num_classes, embed_dim) if embed_dim else None
        dims = [latent_dim + embed_dim, *hidden]
        blocks: list[nn.Module] = []
        for a, b in zip(dims[:-1], dims[1:]):
            blocks += [nn.Linear(a, b), nn.ReLU()]
        blocks.append(nn.Linear(dims[-1], math.prod(self.data_shape)))
        self.net = nn.Sequential(*blocks)

    def forward(self, z: Tensor, labels: Tensor | None = None) -> Tensor:
        if self.label_embedding is not None:
            z = torch.cat([z, self.label_embedding(labels)], dim=1)
        x = self.net(z).view(z.shape[0], *self.data_shape)
        return torch.tanh(x) if self.image else x


class MLPDiscriminator(nn.Module):
    """x (B, *data_shape) [+ y] -> f (B,). Leaky ReLU hidden layers, no normalisation."""

    def __init__(self, data_shape: tuple[int, ...], hidden: tuple[int, ...], *,
                 num_classes: int = 0, conditioning: Conditioning = "none", embed_dim: int = 0):
        super().__init__()
        if not hidden:
            raise ValueError("the MLP discriminator needs at least one hidden layer (hidden=[128, ...])")
        self.conditioning = conditioning if num_classes else "none"
        in_dim = math.prod(data_shape)
        feature_dim = hidden[-1]
        self.label_embedding = None
        if self.conditioning == "embedding":
            self.label_embedding = LabelEmbedding(num_classes, embed_dim)
            in_dim += embed_dim
        elif self.conditioning == "projection":
            self.label_embedding = LabelEmbedding(num_classes, feature_dim, std=feature_dim**-0.5)
        dims = [in_dim, *hidden]
        blocks: list[nn.Module] = []
        for a, b in zip(dims[:-1], dims[1:]):
            blocks += [nn.Linear(a, b), nn.LeakyReLU(LEAKY_SLOPE)]
        self.features = nn.Sequential(*blocks)
        self.head = nn.Linear(feature_dim, 1)

    def forward(self, x: Tensor, labels: Tensor | None = None) -> Tensor:
        h = x.flatten(1)
        if self.conditioning == "embedding":
            h = torch.cat([h, self.label_embedding(labels)], dim=1)
        h = self.features(h)  # phi(x), (B, hidden[-1])
        f = self.head(h).squeeze(1)  # psi(phi(x)), (B,)
        if self.conditioning == "projection":
            f = f + (self.label_embedding(labels) * h).sum(1)  # [Miyato & Koyama 2018, eq. 3]
        return f


# -------------------------------------------------------------------------------------------- DCGAN
class DCGANGenerator(nn.Module):
    """z (B, latent_dim) [+ y] -> x (B, C, S, S) in [-1, 1].

    Linear projection to (base_width * 2^n_up, s0, s0), then n_up times [ConvT 4x4 s2 -> BN -> ReLU]
    halving the channels, then a 3x3 convolution to C channels and tanh.
    """

    def __init__(self, latent_dim: int, channels: int, size: int, base_width: int, *,
                 num_classes: int = 0, embed_dim: int = 0, max_width: int = 512):
        super().__init__()
        s0, n_up = dcgan_levels(size)
        widths = [min(base_width * 2 ** (n_up - k), max_width) for k in range(n_up + 1)]  # level 0 .. n_up
        self.s0, self.c0 = s0, widths[0]
        self.label_embedding = LabelEmbedding(num_classes, embed_dim) if embed_dim else None
        self.project = nn.Sequential(
            nn.Linear(latent_dim + embed_dim, widths[0] * s0 * s0, bias=False),
            nn.BatchNorm1d(widths[0] * s0 * s0),
            nn.ReLU(),
        )
        ups: list[nn.Module] = []
        for a, b in zip(widths[:-1], widths[1:]):
            ups += [nn.ConvTranspose2d(a, b, 4, stride=2, padding=1, bias=False), nn.BatchNorm2d(b), nn.ReLU()]
        self.ups = nn.Sequential(*ups)
        self.out = nn.Conv2d(widths[-1], channels, 3, padding=1)
        dcgan_init_(self)

    def forward(self, z: Tensor, labels: Tensor | None = None) -> Tensor:
        if self.label_embedding is not None:
            z = torch.cat([z, self.label_embedding(labels)], dim=1)
        # the projection's units are read as (s0, s0, C0): a channels-last tensor for free, which the
        # channels-last convolutions take without a copy (and a contiguous run copies once)
        h = self.project(z).view(z.shape[0], self.s0, self.s0, self.c0).permute(0, 3, 1, 2)  # (B, C0, s0, s0)
        return torch.tanh(self.out(self.ups(h)))  # (B, C, S, S)


class DCGANDiscriminator(nn.Module):
    """x (B, C, S, S) in [-1, 1] [+ y] -> f (B,).

    3x3 convolution to ``base_width`` channels and leaky ReLU (no normalisation on the first layer
    [Radford et al. 2016, Sec. 3]), then n_up times [Conv 4x4 s2 -> norm -> leaky ReLU] doubling the
    channels, then a linear layer on the flattened (base_width * 2^n_up, s0, s0) features.
    """

    def __init__(self, channels: int, size: int, base_width: int, *, norm: DiscriminatorNorm = "batch",
                 num_classes: int = 0, conditioning: Conditioning = "none", embed_dim: int = 0,
                 max_width: int = 512):
        super().__init__()
        s0, n_up = dcgan_levels(size)
        widths = [min(base_width * 2**k, max_width) for k in range(n_up + 1)]
        self.conditioning = conditioning if num_classes else "none"
        in_ch = channels
        self.label_embedding = None
        if self.conditioning == "embedding":
            self.label_embedding = LabelEmbedding(num_classes, embed_dim)
            in_ch += embed_dim
        layers: list[nn.Module] = [nn.Conv2d(in_ch, widths[0], 3, padding=1), nn.LeakyReLU(LEAKY_SLOPE)]
        for a, b in zip(widths[:-1], widths[1:]):
            layers += [nn.Conv2d(a, b, 4, stride=2, padding=1, bias=norm == "none"), _d_norm(norm, b),
                       nn.LeakyReLU(LEAKY_SLOPE)]
        self.features = nn.Sequential(*layers)
        feature_dim = widths[-1] * s0 * s0
        if self.conditioning == "projection":
            self.label_embedding = LabelEmbedding(num_classes, feature_dim, std=feature_dim**-0.5)
        self.head = nn.Linear(feature_dim, 1)
        dcgan_init_(self)

    def forward(self, x: Tensor, labels: Tensor | None = None) -> Tensor:
        if self.conditioning == "embedding":
            e = self.label_embedding(labels)[:, :, None, None].expand(-1, -1, x.shape[2], x.shape[3])
            x = torch.cat([x, e], dim=1)
        # flattened in (H, W, C) order, whatever the memory format: a free view of a channels-last
        # tensor, whose gradient then keeps channels-last strides (mixed layouts in the backward
        # pass run 10-40x slower on the CPU, measured in benchmarks/gan_speed.py)
        h = self.features(x).permute(0, 2, 3, 1).flatten(1)  # phi(x), (B, F)
        f = self.head(h).squeeze(1)
        if self.conditioning == "projection":
            f = f + (self.label_embedding(labels) * h).sum(1)  # [Miyato & Koyama 2018, eq. 3]
        return f
