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

from collections.abc import Iterable

import torch
from torch import Tensor, nn


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


def jacobian_log_det(fn, z: Tensor) -> Tensor:
    """log |det J| of ``fn`` at each row of ``z`` (B, D) by autograd: a reference for tests, O(B D^2)."""
    out = []
    for row in z:
        jac = torch.autograd.functional.jacobian(lambda v: fn(v.unsqueeze(0))[0].squeeze(0), row)
        out.append(torch.linalg.slogdet(jac).logabsdet)
    return torch.stack(out)
