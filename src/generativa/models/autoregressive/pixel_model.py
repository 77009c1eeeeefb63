"""What every pixel-level autoregressive image model shares: the likelihood, sampling and completion.

x: images (B, C, H, W) in [0, 1];  x_t: the t-th value in raster order, channels inside a pixel
(R, G, B) [van den Oord et al. 2016, arXiv:1601.06759, eq. 1-2]:

    log P(x) = sum_t log p(x_t | x_1, ..., x_{t-1})

Each conditional is a distribution over the discrete values of one channel of one pixel:

* ``likelihood="categorical"``: a 256-way softmax over the 8-bit level 255 x (x is rounded to the
  nearest of the 256 levels) [section 5.3];
* ``likelihood="bernoulli"``: one logit for the image binarised at 0.5 (x > 0.5 is 1), the
  convention of binarised MNIST with a fixed threshold.

``log_prob`` is therefore the exact log-probability of the discrete image in nats (no bound, no
dequantisation); bits per dimension = -log_prob / (C H W ln 2).

A subclass provides the network, ``network(x_in, labels) -> (B, C, K, H, W)`` logits of every value
given the values before it (K = 256 or 1), where x_in = 2 v / (levels - 1) - 1 is the discrete image
scaled to [-1, 1], and the incremental form of the same network for sampling:
``start_cache(x_pad, labels)`` and ``logits_at(cache, i, j) -> (B, C, K)``, the logits at pixel
(i, j) from the cached activations of the pixels before it, computing only that pixel's new
activations. ``x_pad`` is the image being drawn, zero-padded by ``self.pad`` on the top, left and
right; the sampler writes each value there as it is drawn.

A class-conditional model trained with ``label_dropout`` > 0 also knows a "no class" token (the label
``null_label``, one past the classes): ``log_prob(x, labels=null_label)`` is then its exact
unconditional log P(x), and sampling takes classifier-free guidance (``models/guidance.py``): at
every step the logits given the class and given no class are combined, l_w = l(none) + w (l(y) -
l(none)), in one batch of twice the size.

Sampling (``method="cached"`` or ``"naive"``) draws every uniform u_t up front from the generator
and takes x_t = the smallest value whose cumulative probability exceeds u_t, so the two methods see
the same u and give the same images; naive re-runs the whole network for every value (C H W
network evaluations), cached does one pixel's work per step.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import Any, ClassVar, Literal

import torch
from torch import Tensor
from torch.nn import functional as F

from generativa.models.base import Batch, Capabilities, GenerativeModel, LossOutput, ModelConfig, SampleOption
from generativa.models.guidance import GUIDANCE, check_guidance, drop_labels, guided

LEVELS = 256
METHOD = SampleOption("method", "str", "cached", "cached: one pixel's new activations per step; naive: the whole "
                      "network for every value (the same images, far slower)", choices=("cached", "naive"))
TEMPERATURE = SampleOption("temperature", "float", 1.0, "divides every conditional's logits; below 1 gives "
                           "more typical, less varied images", minimum=0.01, maximum=10.0)


@dataclass(frozen=True)
class PixelConfig(ModelConfig):
    likelihood: Literal["categorical", "bernoulli"] = "categorical"
    filters: int = 64              # feature maps of every hidden layer (a multiple of the colour channels)
    layers: int = 6                # masked layers after the first
    kernel_size: int = 3           # of the later layers (mask B)
    first_kernel_size: int = 7     # of the first layer (mask A) [PixelCNN: 7 x 7, section 3.4]


class PixelModel(GenerativeModel):
    """Base of PixelCNN and Gated PixelCNN: exact log_prob, sampling, completion of a partial image."""

    config_class: ClassVar[type] = PixelConfig
    CAPABILITIES = Capabilities(sample=True, log_prob="exact", sample_options=(TEMPERATURE, METHOD, GUIDANCE),
                                traits=frozenset({"completion"}))
    pad: int = 0
    null_label: int | None = None   # the "no class" token of a conditional model trained with label_dropout > 0

    def __init__(self, config: PixelConfig):
        super().__init__(config)
        if not self.is_image_model:
            raise ValueError(f"{type(self).__name__} models images (C, H, W), got data_shape={config.data_shape}")
        self.colors = config.data_shape[0]
        self.levels = LEVELS if config.likelihood == "categorical" else 2
        self.outputs = LEVELS if config.likelihood == "categorical" else 1   # K logits per value
        self.dims = math.prod(config.data_shape)

    def declare(self, capabilities: Capabilities) -> Capabilities:
        if self.config.likelihood == "categorical":
            convention = ("exact log P of the 8-bit image (each value rounded to the nearest of 256 levels), nats "
                          "per image; no dequantisation, no bound")
        else:
            convention = "exact log P of the image binarised at 0.5 (x > 0.5 is 1), nats per image; no bound"
        return dataclasses.replace(capabilities, likelihood_convention=convention)

    # -- the data <-> the discrete values --------------------------------------------------------------
    def values(self, x: Tensor) -> Tensor:
        """Images in [0, 1] -> discrete values (B, C, H, W) int64: levels 0..255, or 0/1."""
        if self.config.likelihood == "categorical":
            return torch.round(x * (LEVELS - 1)).clamp(0, LEVELS - 1).long()
        return (x > 0.5).long()

    def scaled(self, v: Tensor) -> Tensor:
        """Discrete values -> the network's input in [-1, 1]."""
        return v.float() * (2.0 / (self.levels - 1)) - 1.0

    def images(self, v: Tensor) -> Tensor:
        """Discrete values -> images in [0, 1]."""
        return v.float() / (self.levels - 1)

    # -- what a subclass provides -----------------------------------------------------------------------
    def network(self, x_in: Tensor, labels: Tensor | None = None) -> Tensor:  # pragma: no cover - abstract
        """(B, C, H, W) in [-1, 1] -> logits (B, C, K, H, W), each a function of the values before it."""
        raise NotImplementedError

    def start_cache(self, x_pad: Tensor, labels: Tensor | None) -> Any:  # pragma: no cover - abstract
        raise NotImplementedError

    def logits_at(self, cache: Any, i: int, j: int) -> Tensor:  # pragma: no cover - abstract
        raise NotImplementedError

    # -- likelihood ---------------------------------------------------------------------------------------
    def _labels(self, labels: Tensor | int | None, n: int) -> Tensor | None:
        return None if labels is None else torch.as_tensor(labels, device=self.device).long().expand(n)

    def log_prob_map(self, x: Tensor, **condition: Any) -> Tensor:
        """log p(x_t | x_<t) of every value, (B, C, H, W) nats: where the model is surprised."""
        self.check_input(x)
        self.check_condition(condition)
        v = self.values(x)
        logits = self.network(self.scaled(v), self._labels(condition.get("labels"), len(x))).float()
        if self.config.likelihood == "categorical":
            return torch.gather(F.log_softmax(logits, dim=2), 2, v.unsqueeze(2)).squeeze(2)
        return -F.binary_cross_entropy_with_logits(logits.squeeze(2), v.float(), reduction="none")

    def log_prob(self, x: Tensor, **condition: Any) -> Tensor:
        """Exact log P(x) of the discrete image, nats per example (B,)."""
        return self.log_prob_map(x, **condition).flatten(1).sum(1)

    def loss(self, batch: Batch) -> LossOutput:
        condition = {"labels": batch.labels} if self.capabilities.accepts("labels") else {}
        if condition and self.training and self.null_label is not None:
            condition["labels"] = drop_labels(batch.labels, self.config.label_dropout, self.null_label)
        nll = -self.log_prob(batch.x, **condition).mean()
        bpd = nll / (self.dims * math.log(2.0))
        # the loss is nats per dimension, so one learning rate suits every image size
        return LossOutput(nll / self.dims, {"nll_nats": nll.detach(), "bits_per_dim": bpd.detach()})

    # -- sampling -----------------------------------------------------------------------------------------
    def _choose(self, logits: Tensor, u: Tensor, temperature: float) -> Tensor:
        """Inverse CDF: the smallest value whose cumulative probability exceeds u; logits (B, K), u (B,)."""
        logits = logits.double() / temperature
        if self.outputs == 1:
            return (u.double() < torch.sigmoid(logits[:, 0])).long()
        cdf = torch.softmax(logits, dim=1).cumsum(1)
        return (cdf < u.double()[:, None]).sum(1).clamp(max=LEVELS - 1)

    @torch.no_grad()
    def _draw(self, n: int, generator: torch.Generator | None, labels: Tensor | None, temperature: float,
              method: str, known: Tensor | None = None, missing: Tensor | None = None,
              guidance: float = 1.0) -> Tensor:
        """Values (n, C, H, W) in raster order; where ``missing`` is False the ``known`` value is kept.
        With guidance w != 1 the network sees the n images twice, given their labels and given none."""
        C, H, W = self.data_shape
        P = self.pad
        u = torch.rand(n, H, W, C, generator=generator, device=self.device)  # u_t for every value, up front
        v = torch.zeros(n, C, H, W, dtype=torch.long, device=self.device)
        copies = 1 if guidance == 1.0 else 2
        if copies == 2:
            labels = torch.cat([labels, torch.full_like(labels, self.null_label)])
        x_pad = torch.zeros(copies * n, C, H + P, W + 2 * P, device=self.device, dtype=next(self.parameters()).dtype)
        cache = self.start_cache(x_pad, labels) if method == "cached" else None
        for i in range(H):
            for j in range(W):
                for c in range(C):
                    if method == "cached":
                        logits = self.logits_at(cache, i, j)[:, c]                                   # (n, K)
                    else:
                        logits = self.network(x_pad[:, :, P:, P:P + W], labels)[:, c, :, i, j]
                    if copies == 2:
                        logits = guided(*logits.float().chunk(2), guidance)
                    value = self._choose(logits, u[:, i, j, c], temperature)
                    if known is not None:
                        value = torch.where(missing[:, c, i, j], value, known[:, c, i, j])
                    v[:, c, i, j] = value
                    x_pad[:, c, P + i, P + j] = self.scaled(value).to(x_pad.dtype).repeat(copies)
        return v

    def _sample_args(self, n: int, condition: dict[str, Any], temperature: float, method: str,
                     guidance: float = 1.0) -> Tensor | None:
        self.check_condition(condition)
        if method not in ("cached", "naive"):
            raise ValueError(f"method must be 'cached' or 'naive', got {method!r}")
        if not temperature > 0:
            raise ValueError(f"temperature must be > 0, got {temperature}")
        check_guidance(self.name, guidance, self.null_label)
        labels = self._labels(condition.get("labels"), n)
        if guidance != 1.0 and labels is None:
            raise ValueError(f"guidance={guidance:g} needs labels= (the classes to guide towards)")
        return labels

    def _guidance(self, guidance: float | None) -> float:
        """The scale asked for, else the config's (which only a model trained with "no class" uses)."""
        if guidance is not None:
            return float(guidance)
        return float(getattr(self.config, "guidance", 1.0)) if self.null_label is not None else 1.0

    @torch.no_grad()
    def sample(self, n: int, *, generator: torch.Generator | None = None, temperature: float = 1.0,
               method: str = "cached", guidance: float | None = None, **condition: Any) -> Tensor:
        """n images (n, C, H, W) in [0, 1], one value at a time in raster order; ``guidance`` (default: the
        config's) where the model was trained with label_dropout > 0."""
        guidance = self._guidance(guidance)
        labels = self._sample_args(n, condition, temperature, method, guidance)
        return self.images(self._draw(n, generator, labels, temperature, method, guidance=guidance))

    @torch.no_grad()
    def complete(self, x: Tensor, mask: Tensor, *, generator: torch.Generator | None = None,
                 temperature: float = 1.0, method: str = "cached", guidance: float | None = None,
                 **condition: Any) -> Tensor:
        """Fill the values where ``mask`` is True (broadcast to x) by sampling, the others kept.

        Each missing value is drawn from p(x_t | x_<t): it sees the known and drawn values before it
        in raster order, not the known ones after it. With the missing values a suffix in raster order
        (the bottom half of an image) this is an exact sample of p(missing | known)."""
        self.check_input(x)
        guidance = self._guidance(guidance)
        labels = self._sample_args(len(x), condition, temperature, method, guidance)
        missing = mask.to(self.device, torch.bool).expand_as(x)
        return self.images(self._draw(len(x), generator, labels, temperature, method, self.values(x), missing,
                                      guidance))
