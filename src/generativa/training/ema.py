"""Exponential moving average of a model's weights: theta_ema <- d * theta_ema + (1 - d) * theta."""

from __future__ import annotations

import torch
from torch import nn


class EMA:
    def __init__(self, model: nn.Module, decay: float):
        self.decay = decay
        # Float parameters are averaged; buffers (BatchNorm statistics, code moments) are copied.
        self.shadow = {k: v.detach().clone() for k, v in model.state_dict().items()}
        self._float_keys = [k for k, _ in model.named_parameters()]

    @torch.no_grad()
    def update(self, model: nn.Module) -> None:
        current = model.state_dict()
        ema = [self.shadow[k] for k in self._float_keys]
        new = [current[k].detach() for k in self._float_keys]
        torch._foreach_lerp_(ema, new, 1.0 - self.decay)
        for k, v in current.items():
            if k not in self._float_keys:
                self.shadow[k].copy_(v)

    def state_dict(self) -> dict[str, torch.Tensor]:
        return self.shadow

    def load_state_dict(self, state: dict[str, torch.Tensor]) -> None:
        for k, v in state.items():
            if k not in self.shadow:
                raise KeyError(f"EMA state has an unknown tensor {k!r}")
            self.shadow[k].copy_(v)

    @torch.no_grad()
    def copy_to(self, model: nn.Module) -> None:
        model.load_state_dict(self.shadow)
