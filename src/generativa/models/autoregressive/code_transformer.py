"""A causal transformer over the code grid of a frozen VQ-VAE: images as short sequences of patches
(van den Oord et al. 2017, arXiv:1711.00937, section 4.2, with a transformer in place of their PixelCNN
prior, as in Esser, Rombach & Ommer 2021, arXiv:2012.09841; the decoder-only transformer of Radford
et al. 2019).

x: images (B, C, H, W) in [0, 1];  k = (k_1, ..., k_L): the VQ-VAE's codes of x in raster order
(L = h w, 49 for 28x28 digits against 784 pixels);  s: a start token, the class token of y for a
class-conditional model (``conditional=True``), else one shared start token.

    p(k | y) = prod_l p(k_l | s, k_1, ..., k_{l-1})                 (a K-way softmax at each step)

With ``label_dropout`` > 0 a "no class" token (one past the class tokens) is trained too, and
sampling takes classifier-free guidance (``models/guidance.py``): the next-code logits given the
class and given no class are combined at every step, l_w = l(none) + w (l(y) - l(none)).

The transformer: token + position embeddings, ``layers`` pre-norm blocks of causal multi-head
self-attention and a 4x MLP, a final norm and a linear map to the K logits. Sampling draws the L
codes one at a time with a cache of every layer's keys and values (the new token's work only), then
decodes them with the VQ-VAE; ``method="naive"`` re-runs the whole sequence at each step instead, with
the same uniforms, so the same codes.

``log_prob`` is not declared: log p(k) is a likelihood of the codes, not of the image (the decoder
is deterministic); the loss logs it as ``code_nll`` (nats per image).
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from typing import Any, ClassVar

import torch
from torch import Tensor, nn
from torch.nn import functional as F

from generativa.models.autoregressive.pixel_model import TEMPERATURE
from generativa.models.base import (
    LABELS,
    Batch,
    Capabilities,
    GenerativeModel,
    LossOutput,
    ModelConfig,
    RunInput,
    SampleOption,
    build_run_input,
)
from generativa.models.guidance import (
    GUIDANCE,
    check_default_guidance,
    check_guidance,
    check_label_dropout,
    drop_labels,
    guided,
)
from generativa.registry import Preset, register_model, register_preset

METHOD = SampleOption("method", "str", "cached", "cached: each layer's keys and values are kept, one token's work per "
                      "step; naive: the whole sequence again at every step (the same codes, slower)",
                      choices=("cached", "naive"))


@dataclass(frozen=True)
class CodeTransformerConfig(ModelConfig):
    vqvae: RunInput = field(default_factory=lambda: RunInput(model="vqvae"))
    width: int = 128               # d_model
    layers: int = 4
    heads: int = 4
    conditional: bool = False      # a class token as the start token (needs num_classes > 0)
    label_dropout: float = 0.0     # classifier-free guidance: share of training labels replaced by "no class"
    guidance: float = 1.0          # the default guidance scale of sample for a conditional model (label_dropout > 0)


class Block(nn.Module):
    """x + attn(norm(x)), then x + mlp(norm(x)); ``cache`` holds this layer's keys and values."""

    def __init__(self, width: int, heads: int):
        super().__init__()
        if width % heads:
            raise ValueError(f"width {width} must be a multiple of heads {heads}")
        self.heads = heads
        self.norm1, self.norm2 = nn.LayerNorm(width), nn.LayerNorm(width)
        self.qkv = nn.Linear(width, 3 * width)
        self.proj = nn.Linear(width, width)
        self.mlp = nn.Sequential(nn.Linear(width, 4 * width), nn.GELU(), nn.Linear(4 * width, width))

    def forward(self, x: Tensor, cache: dict[str, Tensor] | None = None) -> Tensor:
        B, T, D = x.shape
        q, k, v = self.qkv(self.norm1(x)).view(B, T, 3, self.heads, D // self.heads).permute(2, 0, 3, 1, 4)
        if cache is not None:  # the new positions attend to every cached one and to each other causally
            if "k" in cache:
                k, v = torch.cat([cache["k"], k], 2), torch.cat([cache["v"], v], 2)
            cache["k"], cache["v"] = k, v
        past = k.shape[2] - T
        if past == 0:
            a = F.scaled_dot_product_attention(q, k, v, is_causal=True)
        else:
            allowed = torch.ones(T, k.shape[2], dtype=torch.bool, device=x.device).tril(past)
            a = F.scaled_dot_product_attention(q, k, v, attn_mask=allowed)
        x = x + self.proj(a.transpose(1, 2).reshape(B, T, D))
        return x + self.mlp(self.norm2(x))


@register_model("code_transformer")
class CodeTransformer(GenerativeModel):
    config_class: ClassVar[type] = CodeTransformerConfig
    CAPABILITIES = Capabilities(sample=True, sample_options=(TEMPERATURE, METHOD, GUIDANCE))

    def __init__(self, config: CodeTransformerConfig):
        super().__init__(config)
        c = config
        if c.conditional and c.num_classes < 1:
            raise ValueError("conditional=true needs labelled data (num_classes > 0); train on a labelled dataset "
                             "or set conditional=false")
        check_label_dropout(c.label_dropout)
        check_default_guidance(c.guidance, c.conditional, c.label_dropout)
        self.vqvae = self._build_vqvae(c.vqvae)
        self.num_labels = c.num_classes if c.conditional else 0
        self.null_label = self.num_labels if self.num_labels and c.label_dropout > 0 else None
        self.K = self.vqvae.config.codebook_size
        self.L = self.vqvae.grid[0] * self.vqvae.grid[1]
        # tokens: the K codes, then one class token per label (+ "no class") when conditional, else one start token
        starts = self.num_labels + (self.null_label is not None) if self.num_labels else 1
        self.tokens = nn.Embedding(self.K + starts, c.width)
        self.positions = nn.Parameter(torch.zeros(self.L, c.width))
        nn.init.normal_(self.positions, std=0.02)
        self.blocks = nn.ModuleList(Block(c.width, c.heads) for _ in range(c.layers))
        self.norm = nn.LayerNorm(c.width)
        self.head = nn.Linear(c.width, self.K)

    def _build_vqvae(self, spec: RunInput) -> nn.Module:
        vqvae = build_run_input(spec, tuple(self.config.data_shape), field_name="vqvae", role="a VQ-VAE (a vqvae run)",
                                needed_by="code_transformer")
        if vqvae.capabilities.latent != "discrete":
            raise ValueError(f"{spec.model} cannot serve as the VQ-VAE: it needs discrete codes (a vqvae run)")
        return vqvae.eval()

    def declare(self, capabilities: Capabilities) -> Capabilities:
        return dataclasses.replace(capabilities, conditions=(LABELS,)) if self.num_labels else capabilities

    def frozen_modules(self) -> dict[str, nn.Module]:
        return {"vqvae": self.vqvae}

    # -- the sequence model -------------------------------------------------------------------------
    def _start(self, n: int, labels: Tensor | None) -> Tensor:
        if not self.num_labels:
            return torch.full((n,), self.K, dtype=torch.long, device=self.device)
        if labels is None:
            raise ValueError(f"{self.name} is conditional: pass labels= (class indices in 0..{self.num_labels - 1})")
        labels = torch.as_tensor(labels, device=self.device).long().expand(n)
        top = self.num_labels if self.null_label is None else self.null_label + 1
        if labels.min() < 0 or labels.max() >= top:
            also = "" if self.null_label is None else f" ({self.null_label}: no class)"
            raise ValueError(f"labels must lie in 0..{top - 1}{also}, got {labels.min()}..{labels.max()}")
        return self.K + labels

    def logits(self, tokens: Tensor, caches: list[dict] | None = None, offset: int = 0) -> Tensor:
        """tokens (B, T) at positions offset..offset+T-1 (position 0: the start token) -> next-code logits (B, T, K)."""
        h = self.tokens(tokens) + self.positions[offset:offset + tokens.shape[1]]
        for i, block in enumerate(self.blocks):
            h = block(h, None if caches is None else caches[i])
        return self.head(self.norm(h))

    def loss(self, batch: Batch) -> LossOutput:
        with torch.no_grad():
            codes = self.vqvae.encode(batch.x).flatten(1)                                # (B, L)
        labels = batch.labels if self.num_labels else None
        if labels is not None and self.training and self.null_label is not None:
            labels = drop_labels(labels, self.config.label_dropout, self.null_label)
        tokens = torch.cat([self._start(len(codes), labels)[:, None], codes[:, :-1]], 1)   # shifted right
        logits = self.logits(tokens).float()
        nll = F.cross_entropy(logits.reshape(-1, self.K), codes.reshape(-1), reduction="none").view(len(codes), -1)
        code_nll = nll.sum(1).mean()
        return LossOutput(code_nll / self.L, {"code_nll": code_nll.detach(),
                                              "code_bits_per_image": code_nll.detach() / math.log(2.0)})

    @torch.no_grad()
    def sample_codes(self, n: int, *, generator: torch.Generator | None = None, temperature: float = 1.0,
                     method: str = "cached", labels: Tensor | None = None, guidance: float = 1.0) -> Tensor:
        """Codes (n, h, w), one at a time (inverse CDF of pre-drawn uniforms, as the pixel models); with
        guidance w != 1 the n sequences run twice, after their class tokens and after "no class"."""
        if method not in ("cached", "naive"):
            raise ValueError(f"method must be 'cached' or 'naive', got {method!r}")
        check_guidance(self.name, guidance, self.null_label)
        if guidance != 1.0 and labels is None:
            raise ValueError(f"guidance={guidance:g} needs labels= (the classes to guide towards)")
        u = torch.rand(n, self.L, generator=generator, device=self.device)
        start = self._start(n, labels)
        copies = 1 if guidance == 1.0 else 2
        if copies == 2:
            start = torch.cat([start, torch.full_like(start, self.K + self.null_label)])
        tokens = start[:, None]                                                          # (copies n, 1)
        caches = [{} for _ in self.blocks] if method == "cached" else None
        for t in range(self.L):
            if caches is not None:
                logits = self.logits(tokens[:, -1:], caches, offset=t)[:, -1]
            else:
                logits = self.logits(tokens)[:, -1]
            if copies == 2:
                logits = guided(*logits.float().chunk(2), guidance)
            cdf = torch.softmax(logits.double() / temperature, 1).cumsum(1)
            code = (cdf < u[:, t, None].double()).sum(1).clamp(max=self.K - 1)
            tokens = torch.cat([tokens, code.repeat(copies)[:, None]], 1)
        return tokens[:n, 1:].reshape(n, *self.vqvae.grid)

    @torch.no_grad()
    def sample(self, n: int, *, generator: torch.Generator | None = None, temperature: float = 1.0,
               method: str = "cached", guidance: float | None = None, **condition: Any) -> Tensor:
        """Codes from the transformer, then images from the VQ-VAE's decoder; ``guidance`` (default: the
        config's) where the model was trained with label_dropout > 0."""
        self.check_condition(condition)
        if not temperature > 0:
            raise ValueError(f"temperature must be > 0, got {temperature}")
        labels = condition.get("labels")
        if self.num_labels and labels is None:
            labels = self.default_condition(n)["labels"]
        if guidance is None:  # the config's default, which only a model trained with "no class" uses
            guidance = self.config.guidance if self.null_label is not None else 1.0
        codes = self.sample_codes(n, generator=generator, temperature=temperature, method=method, labels=labels,
                                  guidance=guidance)
        return self.vqvae.decode(codes).float().clamp(0, 1)


@register_preset
def code_transformer_digits() -> Preset:
    return Preset("code_transformer", CodeTransformerConfig(
        data_shape=(1, 8, 8), width=64, layers=2, heads=4, vqvae=RunInput(model="vqvae", preset="vqvae_digits")),
        "digits", train={"steps": 2000, "batch_size": 64, "lr": 1e-3, "schedule": "cosine", "warmup_steps": 100},
        description="a transformer over the 4x4 codes of a VQ-VAE on the 8x8 digits (trains vqvae_digits first "
                    "unless model.vqvae.path names a run)")


@register_preset
def code_transformer_mnist() -> Preset:
    return Preset("code_transformer", CodeTransformerConfig(
        # label_dropout and guidance act only with conditional=true; guidance 1.75 after 6 minutes: 94.3% of samples
        # in the asked class and FID 17.8, against 86.2% and 37.4 at 1 (BENCHMARKS.md)
        data_shape=(1, 28, 28), width=128, layers=4, heads=4, label_dropout=0.1, guidance=1.75,
        vqvae=RunInput(model="vqvae", preset="vqvae_mnist")),
        "mnist", train={"steps": 3000, "batch_size": 64, "lr": 1e-3, "schedule": "cosine", "warmup_steps": 100,
                        "ema_decay": 0.999},
        description="a transformer over the 7x7 codes of a VQ-VAE on 28x28 digits (trains vqvae_mnist first "
                    "unless model.vqvae.path names a run)")
