"""The flow-layer contract (normflows-style; Rezende & Mohamed 2015, arXiv:1505.05770, section 3).

A flow layer is an invertible map f with a tractable Jacobian determinant:

    forward(z)  -> (x, log_det)   x = f(z),       log_det = log |det df/dz|       (B,)
    inverse(x)  -> (z, log_det)   z = f^{-1}(x),  log_det = log |det df^{-1}/dx|  (B,)

so that log q(x) = log q(z) - log_det_forward [change of variables, Rezende & Mohamed 2015, eq. 5].
z and x are (B, D) vectors here; image flows (coupling, Glow) keep the same two methods on
(B, C, H, W) tensors. A layer with no closed-form inverse either solves it numerically or raises
``NotImplementedError`` saying so.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

import torch
from torch import Tensor, nn

LOG_2PI = math.log(2.0 * math.pi)


def full_precision(t: Tensor) -> Tensor:
    """A network's output in at least float32 (bf16 under autocast is raised; float64 stays): the flow's
    own arithmetic, the scales and the log-determinants, never runs in bf16."""
    return t if t.dtype in (torch.float32, torch.float64) else t.float()


def log_standard_normal(z: Tensor) -> Tensor:
    """log N(z; 0, I) summed over every dimension but the first, (B,)."""
    return -0.5 * (LOG_2PI + z.pow(2)).flatten(1).sum(1)


class FlowLayer(nn.Module):
    """One invertible layer. Subclasses implement ``forward`` and ``inverse``."""

    def forward(self, z: Tensor) -> tuple[Tensor, Tensor]:  # pragma: no cover - abstract
        raise NotImplementedError

    def inverse(self, x: Tensor) -> tuple[Tensor, Tensor]:  # pragma: no cover - abstract
        raise NotImplementedError(f"{type(self).__name__} has no inverse")


class FlowSequence(FlowLayer):
    """Layers applied in order; the log-determinants add up (the chain rule, eq. 6)."""

    def __init__(self, layers: Iterable[FlowLayer]):
        super().__init__()
        self.layers = nn.ModuleList(layers)

    def __len__(self) -> int:
        return len(self.layers)

    def forward(self, z: Tensor) -> tuple[Tensor, Tensor]:
        log_det = z.new_zeros(z.shape[0])
        for layer in self.layers:
            z, ld = layer(z)
            log_det = log_det + ld
        return z, log_det

    def inverse(self, x: Tensor) -> tuple[Tensor, Tensor]:
        log_det = x.new_zeros(x.shape[0])
        for layer in reversed(self.layers):
            x, ld = layer.inverse(x)
            log_det = log_det + ld
        return x, log_det

    @torch.no_grad()
    def trajectory(self, z: Tensor) -> list[Tensor]:
        """z and its image after each layer (the lecture's figure: a base sample pushed through)."""
        out = [z]
        for layer in self.layers:
            z, _ = layer(z)
            out.append(z)
        return out


def jacobian_log_det(fn, z: Tensor) -> Tensor:
    """log |det J| of ``fn`` at each row of ``z`` (B, D) by autograd: a reference for tests, O(B D^2)."""
    out = []
    for row in z:
        jac = torch.autograd.functional.jacobian(lambda v: fn(v.unsqueeze(0))[0].squeeze(0), row)
        out.append(torch.linalg.slogdet(jac).logabsdet)
    return torch.stack(out)


class Reshape(FlowLayer):
    """(B, D) on the base side <-> (B, *shape) on the data side; a relabelling, log_det = 0."""

    def __init__(self, shape: tuple[int, ...]):
        super().__init__()
        self.shape = tuple(shape)

    def forward(self, z: Tensor) -> tuple[Tensor, Tensor]:
        return z.reshape(z.shape[0], *self.shape), z.new_zeros(z.shape[0])

    def inverse(self, x: Tensor) -> tuple[Tensor, Tensor]:
        return x.reshape(x.shape[0], -1), x.new_zeros(x.shape[0])
