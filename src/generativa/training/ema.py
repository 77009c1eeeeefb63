"""Exponential moving average of a model's weights, with warm-up.

    theta_ema <- d_t theta_ema + (1 - d_t) theta,    d_t = min(d, (1 + t) / (10 + t))     (warm-up)

t is the number of averaged rounds so far. Without the warm-up (d_t = d) the average of a short run
is mostly the random initial weights: after t rounds their share is d^t, which for d = 0.999 is
still 37% after 1,000 rounds. The warm-up rule is the one of TensorFlow's
``ExponentialMovingAverage(num_updates=...)``: the first rounds are averaged almost uniformly, and
d_t reaches d after about 10 / (1 - d) rounds.

Only the parameters of the players that ask for it are averaged (a GAN's generator, not its
critic); frozen parameters are not averaged. Buffers (batch norm statistics, an autoencoder's code
moments) are copied from the live model at every update, and may then be recomputed with the
averaged weights (``set_buffer``).
"""

from __future__ import annotations

import torch
from torch import nn


def ema_decay_at(decay: float, t: int, warmup: bool = True) -> float:
    """The decay used for the update after t earlier updates."""
    return min(decay, (1.0 + t) / (10.0 + t)) if warmup else decay


class EMA:
    def __init__(self, model: nn.Module, decay: float, *, names: list[str] | None = None, warmup: bool = True):
        """names: the parameters to average (default: every parameter)."""
        self.decay = decay
        self.warmup = warmup
        params = dict(model.named_parameters())
        self.names = list(params) if names is None else list(names)
        unknown = [n for n in self.names if n not in params]
        if unknown:
            raise KeyError(f"EMA over unknown parameters {unknown[:3]}")
        self.buffer_names = [k for k, _ in model.named_buffers()]
        state = model.state_dict()
        self.shadow = {k: state[k].detach().clone() for k in [*self.names, *self.buffer_names]}

    @torch.no_grad()
    def update(self, model: nn.Module, t: int) -> None:
        """One averaging step after ``t`` earlier ones."""
        current = model.state_dict()
        d = ema_decay_at(self.decay, t, self.warmup)
        torch._foreach_lerp_([self.shadow[k] for k in self.names], [current[k].detach() for k in self.names],
                             1.0 - d)
        for k in self.buffer_names:
            self.shadow[k].copy_(current[k])

    def state_dict(self) -> dict[str, torch.Tensor]:
        return self.shadow

    def load_state_dict(self, state: dict[str, torch.Tensor]) -> None:
        """Restore the averages and buffers; every one must be there, with its shape and dtype."""
        missing = [k for k in self.shadow if k not in state]
        unknown = [k for k in state if k not in self.shadow]
        if missing or unknown:
            raise KeyError(f"EMA state does not match the model (missing {missing[:3]}, unknown {unknown[:3]})")
        for k, v in state.items():
            if v.shape != self.shadow[k].shape or v.dtype != self.shadow[k].dtype:
                raise ValueError(f"EMA tensor {k} has {v.dtype} {list(v.shape)}, expected "
                                 f"{self.shadow[k].dtype} {list(self.shadow[k].shape)}")
            self.shadow[k].copy_(v)

    def set_buffer(self, name: str, value: torch.Tensor) -> None:
        self.shadow[name].copy_(value)

    @torch.no_grad()
    def copy_to(self, model: nn.Module) -> None:
        """Put the averaged parameters and the shadow buffers into ``model`` (the others stay)."""
        model.load_state_dict(self.shadow, strict=False)
