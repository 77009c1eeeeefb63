"""Activation normalisation (Kingma & Dhariwal 2018, arXiv:1807.03039, section 3.1).

An affine map per channel, x = z * exp(log_scale) + bias, whose parameters are initialised from
the data so that the first batch comes out with zero mean and unit variance per channel
("data-dependent initialisation"), then trained like any other parameter:

    forward(z)  -> (x, log_det),  log_det = H * W * sum_c log_scale_c        [Table 1]
    inverse(x)  -> (z, -log_det)

z: (B, C, H, W) images or (B, C) vectors (then H * W = 1). ``data_init(x)`` sets the parameters so
that the *inverse* maps the batch ``x`` (data-side activations) to zero mean and unit variance:
bias = mean, log_scale = log(std + eps). A model declares ``data_init`` and calls it from its own
``data_init(batch)``; the trainer does so once, on the first global batch of a fresh run, so the
values are saved with the weights and never recomputed on resume or load.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from generativa.models.flows.base import FlowLayer


class ActNorm(FlowLayer):
    def __init__(self, channels: int, eps: float = 1e-6):
        super().__init__()
        if channels < 1:
            raise ValueError(f"ActNorm needs channels >= 1, got {channels}")
        self.eps = eps
        self.log_scale = nn.Parameter(torch.zeros(channels))
        self.bias = nn.Parameter(torch.zeros(channels))
        self.pending_init = False  # set by a model's data_init: initialise from the next inverse pass

    def _view(self, t: Tensor, like: Tensor) -> Tensor:
        return t.view(1, -1, *([1] * (like.dim() - 2)))

    def _pixels(self, x: Tensor) -> int:
        return int(x[0, 0].numel()) if x.dim() > 2 else 1

    def forward(self, z: Tensor) -> tuple[Tensor, Tensor]:
        x = z * self._view(self.log_scale.exp(), z) + self._view(self.bias, z)
        log_det = self._pixels(z) * self.log_scale.sum() * z.new_ones(z.shape[0])
        return x, log_det

    def inverse(self, x: Tensor) -> tuple[Tensor, Tensor]:
        if self.pending_init:
            self.data_init(x.detach())
            self.pending_init = False
        z = (x - self._view(self.bias, x)) * self._view((-self.log_scale).exp(), x)
        log_det = -self._pixels(x) * self.log_scale.sum() * x.new_ones(x.shape[0])
        return z, log_det

    @torch.no_grad()
    def data_init(self, x: Tensor) -> None:
        """Set bias and scale from a batch so that ``inverse(x)`` has zero mean, unit variance per channel."""
        dims = [d for d in range(x.dim()) if d != 1]
        mean = x.mean(dim=dims)
        std = x.std(dim=dims, unbiased=False)
        self.bias.copy_(mean)
        self.log_scale.copy_(torch.log(std + self.eps))
