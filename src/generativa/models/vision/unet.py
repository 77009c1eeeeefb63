"""U-Net for segmentation (Ronneberger, Fischer & Brox 2015, "U-Net: Convolutional networks for
biomedical image segmentation", arXiv:1505.04597).

x: images (B, C, H, W) in [0, 1]; logits: (B, K, H, W) over K classes (``cells``: background, cell,
border); mask: the dataset's per-image mask (B, 1, H, W), instance ids (``masks="instances"``, the
semantic classes follow from them, ``segmentation.semantic_from_instances``) or class indices
(``masks="classes"``).

    contracting path: per level two 3x3 convolutions (+ norm) + ReLU, then 2x2 max pooling; the
        width doubles at each level [sec. 2]
    expanding path:   2x2 up-convolution halving the width, concatenation with the (centre-cropped)
        map of the same level, two 3x3 convolutions + ReLU
    head:             1x1 convolution to K classes

Padding (``padding``): the paper's convolutions are unpadded (``none``): a 572x572 input gives
388x388 [Fig. 1], and an image is segmented by the overlap-tile strategy: each output tile is
computed from an input tile that adds the missing context, taken from the image mirrored at its
borders [sec. 2, Fig. 2]. Here ``logits`` always returns the input's size: with ``none`` it mirrors
the image and tiles it (``tile`` output pixels a side, 0 = one tile); with ``zeros``, ``reflect`` or
``circular`` (same-size convolutions, the usual modern choice) the input must be a multiple of
2^(depth - 1), and ``fit="pad"`` mirrors it up to one (cropping back after) while ``fit="error"``
refuses it with the sizes that fit.

Loss: the pixel-wise cross-entropy weighted by the paper's weight map [eq. 1, 2] (``segmentation.py``),
computed once per training image and cached; training augmentation: flips, quarter turns and the
paper's coarse-grid elastic deformation, applied to image, masks and weight map together. Departures:
batch norm after each convolution by default (the 2015 network had none; ``norm="none"`` is the
paper's); Adam-style optimisers by default instead of SGD with momentum 0.99 on single images.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Literal

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from generativa.models.base import Batch, Capabilities, LossOutput, Model, ModelConfig
from generativa.models.vision import segmentation
from generativa.models.vision.segmentation import BORDER, CELL, semantic_from_instances
from generativa.nn import ConvBlock
from generativa.registry import Preset, register_model, register_preset


@dataclass(frozen=True)
class UNetConfig(ModelConfig):
    """classes: K output classes (3 for cells: background, cell, border).
    depth: levels of the network (depth - 1 poolings; the paper's has 5, the cells preset 4); width: channels of the first
    level (the paper's 64), doubled at each level.
    padding: the 3x3 convolutions' padding; none = the paper's unpadded ones (overlap-tile).
    fit: pad (mirror the input up to a size the depth divides) or error, for padded convolutions.
    tile: output tile side of the overlap-tile strategy with padding none (0 = the whole image).
    norm: after each 3x3 convolution (batch, layer, group, weight or none = the paper's).
    up: the up-convolution: transposed (2x2, stride 2, as the paper), or nearest / bilinear
        interpolation followed by a 1x1 convolution.
    masks: what the dataset's masks hold: instances (ids; semantic classes and the border term
        follow from them) or classes (class indices; no border term).
    w0, sigma: the weight map's border term [eq. 2] (w0 = 0 leaves it out); class_balance: w_c
        balances the class frequencies (False: w_c = 1). w0 = 0 and class_balance False is the plain
        cross-entropy.
    elastic_std, elastic_grid: elastic deformation, displacements N(0, elastic_std^2) pixels on a grid
        x grid lattice (0 = off); flip, rotate: random mirror images and quarter turns.
    """

    classes: int = 3
    depth: int = 3
    width: int = 16
    padding: Literal["zeros", "reflect", "circular", "none"] = "reflect"
    fit: Literal["pad", "error"] = "pad"
    tile: int = 0
    norm: Literal["batch", "layer", "group", "weight", "none"] = "batch"
    up: Literal["transposed", "nearest", "bilinear"] = "transposed"
    masks: Literal["instances", "classes"] = "instances"
    w0: float = 10.0  # [Ronneberger et al. 2015, sec. 3]
    sigma: float = 5.0  # pixels [sec. 3]
    class_balance: bool = True
    elastic_std: float = 2.0
    elastic_grid: int = 3  # [sec. 3.1: a coarse 3 by 3 grid]
    flip: bool = True
    rotate: bool = True
    augment_seed: int = 0


def mirror_pad(x: Tensor, top: int, bottom: int, left: int, right: int) -> Tensor:
    """Pad (..., H, W) by mirroring at the borders (without repeating the edge pixel), by any amount:
    a pad wider than the image keeps reflecting, as the overlap-tile strategy needs for small images."""

    def index(n: int, before: int, after: int) -> Tensor:
        i = torch.arange(-before, n + after, device=x.device)
        if n == 1:
            return torch.zeros_like(i)
        period = 2 * (n - 1)
        i = i.remainder(period)
        return torch.where(i >= n, period - i, i)

    H, W = x.shape[-2:]
    return x.index_select(-2, index(H, top, bottom)).index_select(-1, index(W, left, right))


def _crop_to(t: Tensor, h: int, w: int) -> Tensor:
    dh, dw = (t.shape[-2] - h) // 2, (t.shape[-1] - w) // 2
    return t[..., dh : dh + h, dw : dw + w]


class UNetNetwork(nn.Module):
    """The network alone: (B, C, H, W) -> (B, K, H', W'); H' = H with padded convolutions (H a multiple
    of 2^(depth - 1)), H' < H without (``output_size``)."""

    def __init__(self, in_channels: int, classes: int, *, depth: int = 4, width: int = 16, padding: str = "reflect",
                 norm: str = "batch", up: str = "transposed"):
        super().__init__()
        if depth < 1 or width < 1:
            raise ValueError(f"a U-Net needs depth >= 1 and width >= 1, got depth={depth}, width={width}")
        self.depth, self.padded = depth, padding != "none"

        def double(cin: int, cout: int) -> nn.Sequential:
            opts = dict(padding=padding, norm=norm, activation="relu")
            return nn.Sequential(ConvBlock(cin, cout, **opts), ConvBlock(cout, cout, **opts))

        widths = [width * 2**level for level in range(depth)]
        self.down = nn.ModuleList()
        cin = in_channels
        for w in widths:
            self.down.append(double(cin, w))
            cin = w
        self.upconv, self.up = nn.ModuleList(), nn.ModuleList()
        for level in reversed(range(depth - 1)):
            w = widths[level]
            if up == "transposed":
                self.upconv.append(nn.ConvTranspose2d(widths[level + 1], w, 2, stride=2))  # "up-convolution" [sec. 2]
            else:
                self.upconv.append(nn.Sequential(nn.Upsample(scale_factor=2.0, mode=up),
                                                 nn.Conv2d(widths[level + 1], w, 1)))
            self.up.append(double(2 * w, w))
        self.head = nn.Conv2d(widths[0], classes, 1)

    def output_size(self, size: int) -> int | None:
        """Output side for an input side, or None where the input does not fit the depth (a pooling
        would meet an odd or empty map)."""
        shrink = 0 if self.padded else 4  # two 3x3 convolutions per level
        for _ in range(self.depth - 1):
            size -= shrink
            if size <= 0 or size % 2:
                return None
            size //= 2
        size -= shrink
        for _ in range(self.depth - 1):
            size = 2 * size - shrink
        return size if size > 0 else None

    def forward(self, x: Tensor) -> Tensor:
        skips = []
        h = x
        for level, block in enumerate(self.down):
            h = block(h)
            if level < self.depth - 1:
                skips.append(h)
                h = F.max_pool2d(h, 2)
        for upconv, block in zip(self.upconv, self.up):
            h = upconv(h)
            skip = _crop_to(skips.pop(), h.shape[-2], h.shape[-1])  # the paper crops the contracting map
            h = block(torch.cat([skip, h], dim=1))
        return self.head(h)


@register_model("unet")
class UNet(Model):
    """U-Net segmenter: ``logits(x)`` (B, K, H, W) at the input's size, ``predict(x)`` (B, H, W) classes,
    ``loss(batch)`` the weighted cross-entropy over ``batch.mask``."""

    config_class = UNetConfig
    CAPABILITIES = Capabilities(kind="segmenter", predict=True)

    def __init__(self, config: UNetConfig):
        super().__init__(config)
        if len(config.data_shape) != 3:
            raise ValueError(f"U-Net segments images (C, H, W), got data_shape={config.data_shape}")
        if config.classes < 2:
            raise ValueError(f"U-Net needs classes >= 2, got {config.classes}")
        if config.masks == "instances" and config.classes != 3:
            raise ValueError(f"masks='instances' gives 3 classes (background, cell, border), got classes="
                             f"{config.classes}; pass classes=3 or masks=classes")
        if config.sigma <= 0:
            raise ValueError(f"sigma must be > 0 pixels, got {config.sigma}")
        self.network = UNetNetwork(config.data_shape[0], config.classes, depth=config.depth, width=config.width,
                                   padding=config.padding, norm=config.norm, up=config.up)
        self._augment_generator = torch.Generator().manual_seed(config.augment_seed)
        self._weights: dict[bytes, Tensor] = {}  # weight map per training image, by the mask's digest

    # -- sizes ----------------------------------------------------------------------------------
    def input_size_for(self, output: int) -> int:
        """Smallest input side whose output side is at least ``output`` (unpadded convolutions)."""
        size = output
        while self.network.output_size(size) is None or self.network.output_size(size) < output:
            size += 1
        return size

    def fitting_sizes(self, size: int) -> tuple[int, int]:
        """The nearest sides below and above ``size`` that padded convolutions take as they are."""
        m = 2 ** (self.config.depth - 1)
        return max(m, size // m * m), -(-size // m) * m

    # -- prediction -----------------------------------------------------------------------------
    def check_input(self, x: Tensor) -> None:
        C = self.data_shape[0]
        if x.dim() != 4 or x.shape[1] != C:
            raise ValueError(f"U-Net expects images (B, {C}, H, W) of any size, got {tuple(x.shape)}"
                             + (f"; convert to {C} channel(s)" if x.dim() == 4 else ""))

    def logits(self, x: Tensor) -> Tensor:
        """(B, C, H, W) -> (B, K, H, W): class scores for every pixel of the input."""
        self.check_input(x)
        H, W = x.shape[-2:]
        if self.network.padded:
            m = 2 ** (self.config.depth - 1)
            pad_h, pad_w = (-H) % m, (-W) % m
            if self.config.padding == "reflect" and min(H + pad_h, W + pad_w) < 2 * m:
                raise ValueError(f"U-Net of depth {self.config.depth} with reflect padding needs images of at least "
                                 f"{2 * m}x{2 * m} (its deepest maps must be 2 pixels wide), got {H}x{W}; "
                                 "pass a smaller depth or padding=zeros")
            if pad_h or pad_w:
                if self.config.fit == "error":
                    lo, hi = self.fitting_sizes(H)
                    raise ValueError(f"U-Net of depth {self.config.depth} takes sides that are multiples of {m}, "
                                     f"got {H}x{W}; resize or crop the images (e.g. to {lo} or {hi}) or pass fit=pad")
                x = mirror_pad(x, pad_h // 2, pad_h - pad_h // 2, pad_w // 2, pad_w - pad_w // 2)
                return self.network(x)[..., pad_h // 2 : pad_h // 2 + H, pad_w // 2 : pad_w // 2 + W]
            return self.network(x)
        return self._overlap_tile(x)

    def _overlap_tile(self, x: Tensor) -> Tensor:
        """Unpadded convolutions: output tiles of side t from input tiles of side t + 2 margin, read from
        the image mirrored at its borders [Ronneberger et al. 2015, Fig. 2]."""
        H, W = x.shape[-2:]
        tile = self.config.tile
        s_h = self.input_size_for(tile or H)
        s_w = self.input_size_for(tile or W)
        t_h, t_w = self.network.output_size(s_h), self.network.output_size(s_w)
        m_h, m_w = (s_h - t_h) // 2, (s_w - t_w) // 2  # the context each side of an output tile
        n_h, n_w = -(-H // t_h), -(-W // t_w)
        padded = mirror_pad(x, m_h, m_h + n_h * t_h - H, m_w, m_w + n_w * t_w - W)
        rows = []
        for i in range(n_h):
            row = [self.network(padded[..., i * t_h : i * t_h + s_h, j * t_w : j * t_w + s_w]) for j in range(n_w)]
            rows.append(torch.cat(row, dim=-1))
        return torch.cat(rows, dim=-2)[..., :H, :W]

    def forward(self, x: Tensor) -> Tensor:
        return self.logits(x)

    @torch.no_grad()
    def predict(self, x: Tensor) -> Tensor:
        """The most likely class of every pixel, (B, H, W) int64."""
        return self.logits(x).argmax(dim=1)

    @torch.no_grad()
    def predict_instances(self, x: Tensor) -> list[np.ndarray]:
        """Instance ids (H, W) per image: connected components of the predicted cells, grown into the
        predicted border next to them (``segmentation.instances_from_semantic``)."""
        return [segmentation.instances_from_semantic(p, cell=CELL, border=BORDER) for p in self.predict(x).cpu()]

    # -- training -------------------------------------------------------------------------------
    def targets(self, mask: Tensor) -> tuple[Tensor, Tensor]:
        """(B, 1, H, W) dataset masks -> semantic classes (B, H, W) int64 and the weight map (B, H, W)."""
        if mask.dim() != 4 or mask.shape[1] != 1:
            raise ValueError(f"U-Net needs masks (B, 1, H, W), got {tuple(mask.shape)}")
        c = self.config
        m = mask[:, 0].cpu()
        semantic = semantic_from_instances(m) if c.masks == "instances" else m
        if c.masks == "classes" and int(semantic.max()) >= c.classes:
            raise ValueError(f"a mask holds class {int(semantic.max())} but the U-Net has classes={c.classes}; "
                             "pass classes=K (or masks=instances for instance ids)")
        weights = []
        for i in range(m.shape[0]):
            key = hashlib.blake2b(m[i].numpy().tobytes() + bytes(str(m.shape[-2:]), "ascii"), digest_size=16).digest()
            w = self._weights.get(key)
            if w is None:  # computed once per image [sec. 3: 'We pre-compute the weight map']
                w = torch.from_numpy(segmentation.weight_map(
                    semantic[i].numpy(), m[i].numpy() if c.masks == "instances" else None, classes=c.classes,
                    w0=c.w0, sigma=c.sigma, balance=c.class_balance))
                self._weights[key] = w
            weights.append(w)
        return semantic.long().to(mask.device), torch.stack(weights).to(mask.device)

    def loss(self, batch: Batch) -> LossOutput:
        if batch.mask is None:
            raise ValueError("U-Net needs per-image masks: train it on data that has them (cells, or an npz "
                             "with 'masks')")
        c = self.config
        semantic, weights = self.targets(batch.mask)
        x = batch.x
        if self.training and (c.elastic_std > 0 or c.flip or c.rotate):
            device = x.device  # the generator lives on the CPU
            x, (semantic,), weights = segmentation.augment_jointly(
                x.cpu(), [semantic.cpu()], weights.cpu(), elastic_std=c.elastic_std, elastic_grid=c.elastic_grid,
                flip=c.flip, rotate=c.rotate, generator=self._augment_generator)
            x, semantic, weights = x.to(device), semantic.to(device), weights.to(device)
        logits = self.logits(x)
        ce = F.cross_entropy(logits.float(), semantic, reduction="none")  # (B, H, W)
        loss = (weights * ce).mean()  # E = sum_x w(x) log p_l(x)(x) [eq. 1], averaged over pixels
        with torch.no_grad():
            pred = logits.argmax(dim=1)
            inter = ((pred == CELL) & (semantic == CELL)).sum()
            union = ((pred == CELL) | (semantic == CELL)).sum()
            terms = {"weighted_cross_entropy": loss.detach(), "cross_entropy": ce.mean(),
                     "pixel_accuracy": (pred == semantic).float().mean(),
                     "cell_iou": inter.float() / union.clamp_min(1).float()}
        return LossOutput(loss=loss, terms=terms)

    def generators(self) -> dict[str, torch.Generator]:
        return {"augment": self._augment_generator}


# ---------------------------------------------------------------------------------------------
# presets
# ---------------------------------------------------------------------------------------------
_CELLS_TRAIN = {"steps": 1500, "batch_size": 16, "lr": 2e-3, "schedule": "cosine", "weight_decay": 1e-4}


@register_preset
def unet_cells() -> Preset:
    return Preset(model="unet", config=UNetConfig(data_shape=(1, 64, 64), depth=4), data="cells",
                  train=dict(_CELLS_TRAIN),
                  description="U-Net (depth 4, width 16, same-size convolutions) on cells, weight map + elastic")


@register_preset
def unet_paper_cells() -> Preset:
    return Preset(model="unet", config=UNetConfig(data_shape=(1, 64, 64), depth=3, padding="none", norm="batch"),
                  data="cells", train=dict(_CELLS_TRAIN),
                  description="U-Net with the paper's unpadded convolutions (overlap-tile, mirrored borders), depth 3")
