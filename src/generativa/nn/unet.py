"""A time- and class-conditioned U-Net for denoising (Ronneberger et al. 2015, arXiv:1505.04597, as
adapted for diffusion by Ho et al. 2020, arXiv:2006.11239, appendix B, and Dhariwal & Nichol 2021,
arXiv:2105.05233): it maps (x_t, t[, class]) to a tensor of x_t's shape. It knows nothing of noise
levels or probabilities; the diffusion model that holds it owns those (STYLE.md section 2).

    x (B, C, H, W) -> 3x3 conv -> [down level: res blocks, (attention), downsample] ... ->
    middle: res, (attention), res -> [up level: res blocks on concat(skip), (attention), upsample] ...
    -> group norm, SiLU, 3x3 conv (zero at initialisation) -> (B, C_out, H, W)

* residual block: GroupNorm -> SiLU -> conv -> + MLP(embedding) per channel -> GroupNorm -> SiLU ->
  dropout -> conv (zero at initialisation), plus the input (1x1 conv where the width changes);
* the embedding: sinusoidal features of the noise level (``time`` in [0, 1], scaled by 1000 as in
  DDPM) through a 2-layer MLP, plus a learned class embedding where ``num_classes`` > 0 (class index
  ``num_classes`` is the "no class" token of classifier-free guidance);
* self-attention (one head per 32 channels) only at the resolutions listed in ``attention_at``;
* any image size: the input is padded (reflect) up to a multiple of 2^(levels - 1) and the output
  cropped back, so 28x28 goes 28 -> 14 -> 7 and 30x30 is padded to 32.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from generativa.nn.layers import GroupNorm, group_count


def timestep_features(t: Tensor, dim: int, scale: float = 1000.0) -> Tensor:
    """Sinusoidal features of t (B,) -> (B, dim) [Vaswani et al. 2017, sec. 3.5; Ho et al. 2020, app. B]."""
    half = dim // 2
    freqs = torch.exp(-math.log(10000.0) * torch.arange(half, device=t.device, dtype=torch.float32) / half)
    args = scale * t.float()[:, None] * freqs[None]
    return torch.cat([torch.sin(args), torch.cos(args)], dim=1)


def _zero(module: nn.Module) -> nn.Module:
    for p in module.parameters():
        nn.init.zeros_(p)
    return module


class ResBlock(nn.Module):
    def __init__(self, in_ch: int, out_ch: int, emb_dim: int, dropout: float = 0.0):
        super().__init__()
        self.norm1 = GroupNorm(group_count(in_ch, 32), in_ch)
        self.conv1 = nn.Conv2d(in_ch, out_ch, 3, padding=1)
        self.emb = nn.Linear(emb_dim, out_ch)
        self.norm2 = GroupNorm(group_count(out_ch, 32), out_ch)
        self.dropout = nn.Dropout(dropout)
        self.conv2 = _zero(nn.Conv2d(out_ch, out_ch, 3, padding=1))
        self.skip = nn.Conv2d(in_ch, out_ch, 1) if in_ch != out_ch else nn.Identity()

    def forward(self, x: Tensor, emb: Tensor) -> Tensor:
        h = self.conv1(F.silu(self.norm1(x)))
        h = h + self.emb(emb)[:, :, None, None]
        h = self.conv2(self.dropout(F.silu(self.norm2(h))))
        return self.skip(x) + h


class Attention(nn.Module):
    """Self-attention over the pixels of a (B, C, H, W) map, one head per 32 channels."""

    def __init__(self, ch: int):
        super().__init__()
        self.heads = max(1, ch // 32)
        self.norm = GroupNorm(group_count(ch, 32), ch)
        self.qkv = nn.Conv2d(ch, 3 * ch, 1)
        self.out = _zero(nn.Conv2d(ch, ch, 1))

    def forward(self, x: Tensor) -> Tensor:
        b, c, h, w = x.shape
        q, k, v = self.qkv(self.norm(x)).reshape(b, 3, self.heads, c // self.heads, h * w).unbind(1)
        a = F.scaled_dot_product_attention(q.transpose(-1, -2), k.transpose(-1, -2), v.transpose(-1, -2))
        return x + self.out(a.transpose(-1, -2).reshape(b, c, h, w))


class UNet(nn.Module):
    """(x (B, C, H, W), t (B,) in [0, 1], labels (B,) or None) -> (B, out_channels, H, W).

    widths: channels of each level, full resolution first (``(32, 64, 64)``: 28 -> 14 -> 7);
    blocks: residual blocks per level; attention_at: the levels (0 = full resolution) with attention;
    patch: p > 1 folds each p x p patch into channels first (pixel unshuffle: 28x28x1 -> 14x14x4 for
    p = 2) and unfolds the output at the end, as vision transformers do with patches: the top level
    then works at 1/p of the resolution, about p^2 times cheaper.
    """

    def __init__(self, in_channels: int, out_channels: int, *, widths: tuple[int, ...] = (32, 64, 64),
                 blocks: int = 1, attention_at: tuple[int, ...] = (), num_classes: int = 0, dropout: float = 0.0,
                 emb_dim: int | None = None, patch: int = 1):
        super().__init__()
        if patch < 1:
            raise ValueError(f"patch must be at least 1, got {patch}")
        if not widths or blocks < 1:
            raise ValueError(f"the U-Net needs at least one level and one block, got widths={widths}, blocks={blocks}")
        bad = [a for a in attention_at if not 0 <= a < len(widths)]
        if bad:
            raise ValueError(f"attention_at={attention_at}: levels are 0..{len(widths) - 1}")
        emb_dim = emb_dim or 4 * widths[0]
        self.widths, self.levels, self.patch = tuple(widths), len(widths), patch
        in_channels, out_channels = in_channels * patch * patch, out_channels * patch * patch
        self.time_dim = widths[0]
        self.time_mlp = nn.Sequential(nn.Linear(self.time_dim, emb_dim), nn.SiLU(), nn.Linear(emb_dim, emb_dim))
        self.label_embedding = nn.Embedding(num_classes + 1, emb_dim) if num_classes > 0 else None
        self.stem = nn.Conv2d(in_channels, widths[0], 3, padding=1)
        self.down, self.down_attn, self.downsample = nn.ModuleList(), nn.ModuleList(), nn.ModuleList()
        skips, ch = [widths[0]], widths[0]
        for level, width in enumerate(widths):
            for _ in range(blocks):
                self.down.append(ResBlock(ch, width, emb_dim, dropout))
                self.down_attn.append(Attention(width) if level in attention_at else nn.Identity())
                ch = width
                skips.append(ch)
            if level < self.levels - 1:
                self.downsample.append(nn.Conv2d(ch, ch, 3, stride=2, padding=1))
                skips.append(ch)
        self.mid1 = ResBlock(ch, ch, emb_dim, dropout)
        self.mid_attn = Attention(ch) if (self.levels - 1) in attention_at else nn.Identity()
        self.mid2 = ResBlock(ch, ch, emb_dim, dropout)
        self.up, self.up_attn, self.upsample = nn.ModuleList(), nn.ModuleList(), nn.ModuleList()
        for level in reversed(range(self.levels)):
            width = widths[level]
            for _ in range(blocks + 1):
                self.up.append(ResBlock(ch + skips.pop(), width, emb_dim, dropout))
                self.up_attn.append(Attention(width) if level in attention_at else nn.Identity())
                ch = width
            if level > 0:
                self.upsample.append(nn.Conv2d(ch, ch, 3, padding=1))
        self.out_norm = GroupNorm(group_count(ch, 32), ch)
        self.out = _zero(nn.Conv2d(ch, out_channels, 3, padding=1))
        self.blocks = blocks

    def embedding(self, t: Tensor, labels: Tensor | None) -> Tensor:
        emb = self.time_mlp(timestep_features(t, self.time_dim).to(self.stem.weight.dtype))
        if self.label_embedding is not None:
            if labels is None:
                labels = torch.full((t.shape[0],), self.label_embedding.num_embeddings - 1, device=t.device)
            emb = emb + self.label_embedding(labels)
        return emb

    def forward(self, x: Tensor, t: Tensor, labels: Tensor | None = None) -> Tensor:
        h_in, w_in = x.shape[-2:]
        multiple = 2 ** (self.levels - 1) * self.patch
        pad_h, pad_w = (-h_in) % multiple, (-w_in) % multiple
        if pad_h or pad_w:
            x = F.pad(x, (0, pad_w, 0, pad_h), mode="reflect")
        if self.patch > 1:
            x = F.pixel_unshuffle(x, self.patch)
        emb = self.embedding(t, labels)
        h = self.stem(x)
        hs = [h]
        i = 0
        for level in range(self.levels):
            for _ in range(self.blocks):
                h = self.down_attn[i](self.down[i](h, emb))
                hs.append(h)
                i += 1
            if level < self.levels - 1:
                h = self.downsample[level](h)
                hs.append(h)
        h = self.mid2(self.mid_attn(self.mid1(h, emb)), emb)
        i = 0
        for n, level in enumerate(reversed(range(self.levels))):
            for _ in range(self.blocks + 1):
                h = self.up_attn[i](self.up[i](torch.cat([h, hs.pop()], dim=1), emb))
                i += 1
            if level > 0:
                h = self.upsample[n](F.interpolate(h, scale_factor=2.0, mode="nearest"))
        h = self.out(F.silu(self.out_norm(h)))
        if self.patch > 1:
            h = F.pixel_shuffle(h, self.patch)
        return h[..., :h_in, :w_in]
