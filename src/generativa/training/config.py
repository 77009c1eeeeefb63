"""Training settings: one frozen dataclass, saved with every run (``config.yaml``).

Every value is checked when the config is built: a setting that would silently do something else
(a negative clipping norm is gradient ascent, a negative period would mean "every step") is refused
with what to pass instead.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

from generativa.configs import ConfigError, check_config
from generativa.nn.precision import cpu_has_native_bf16  # noqa: F401  (re-exported; tests patch it here)


@dataclass(frozen=True)
class TrainConfig:
    steps: int | None = 2000            # optimiser rounds (for a GAN: generator steps); None: until `minutes`
    minutes: float | None = None        # wall-clock budget; stops at whichever of steps and minutes comes first
    batch_size: int = 128               # global batch, split across processes
    lr: float = 1e-3
    betas: tuple[float, float] = (0.9, 0.999)
    momentum: float = 0.9               # SGD's momentum (optimizer=sgd)
    weight_decay: float = 0.0
    optimizer: Literal["adamw", "adam", "rmsprop", "sgd"] = "adamw"
    schedule: Literal["constant", "cosine"] = "constant"
    warmup_steps: int = 0
    min_lr_ratio: float = 0.0           # cosine decays to lr * min_lr_ratio
    grad_clip: float | None = None      # max global grad norm per player; None: no clipping
    ema_decay: float | None = None      # EMA of the weights; None: no EMA
    ema_warmup: bool = True             # the EMA's decay grows with the step (training/ema.py)
    precision: Literal["fp32", "bf16", "auto"] = "fp32"  # bf16: autocast of the forward pass; auto: see below
    channels_last: bool = False
    seed: int = 0
    log_every: int = 50                 # 0: log only at the end
    sample_every: int = 500             # sample/reconstruction grids and test loss; 0: only at the end
    checkpoint_every: int = 1000        # 0: only at the end (and on Ctrl-C)
    max_nonfinite: int = 5              # stop after this many non-finite steps in a row
    progress: bool = True
    device: Literal["auto", "cpu", "cuda", "mps"] = "auto"
    num_threads: int | None = None      # torch intra-op threads on CPU; None: torch's default

    def __post_init__(self) -> None:
        check_config(self)

        def need(ok: bool, message: str) -> None:
            if not ok:
                raise ConfigError(message)

        need(self.steps is None or self.steps >= 0, f"steps must be >= 0, got {self.steps}")
        need(self.steps is not None or self.minutes is not None,
             "steps=null needs a time budget: pass minutes=M (or --minutes M)")
        need(self.minutes is None or self.minutes > 0, f"minutes must be > 0, got {self.minutes}")
        need(self.batch_size >= 1, f"batch_size must be >= 1, got {self.batch_size}")
        need(self.lr > 0, f"lr must be > 0, got {self.lr}")
        need(all(0.0 <= b < 1.0 for b in self.betas), f"betas must lie in [0, 1), got {self.betas}")
        need(0.0 <= self.momentum < 1.0, f"momentum must lie in [0, 1), got {self.momentum}")
        need(self.weight_decay >= 0, f"weight_decay must be >= 0, got {self.weight_decay}")
        need(self.warmup_steps >= 0, f"warmup_steps must be >= 0, got {self.warmup_steps}")
        need(0.0 <= self.min_lr_ratio <= 1.0, f"min_lr_ratio must lie in [0, 1], got {self.min_lr_ratio}")
        need(self.grad_clip is None or self.grad_clip > 0,
             f"grad_clip must be > 0 (the largest gradient norm) or null for no clipping, got {self.grad_clip}")
        need(self.ema_decay is None or 0.0 < self.ema_decay < 1.0,
             f"ema_decay must be in (0, 1) or null, got {self.ema_decay}")
        for name in ("log_every", "sample_every", "checkpoint_every"):
            value = getattr(self, name)
            need(value >= 0, f"{name} must be >= 0 (a number of steps; 0 means only at the end), got {value}")
        need(self.max_nonfinite >= 1, f"max_nonfinite must be >= 1, got {self.max_nonfinite}")
        need(self.num_threads is None or self.num_threads >= 1, f"num_threads must be >= 1, got {self.num_threads}")

    def resolved_precision(self, device_type: str) -> str:
        """``auto`` is bf16 on a CPU with native bf16 (AVX512-BF16 or AMX), fp32 elsewhere (GPUs
        included: not measured there yet)."""
        if self.precision != "auto":
            return self.precision
        return "bf16" if device_type == "cpu" and cpu_has_native_bf16() else "fp32"

    def lr_at(self, step: int, base_lr: float | None = None, *, fraction: float | None = None) -> float:
        """Learning rate for optimiser round ``step`` (0-based): linear warmup, then constant or cosine.

        The cosine is planned over ``steps``; a run with a time budget and no step count
        (steps=None) follows ``fraction``, the share of the budget already spent.
        """
        lr = self.lr if base_lr is None else base_lr
        if self.warmup_steps and step < self.warmup_steps:
            return lr * (step + 1) / self.warmup_steps
        if self.schedule == "cosine":
            if self.steps is not None:
                span = max(self.steps - self.warmup_steps, 1)
                progress = min(max(step - self.warmup_steps, 0) / span, 1.0)
            else:
                progress = min(max(fraction or 0.0, 0.0), 1.0)
            floor = lr * self.min_lr_ratio
            return floor + (lr - floor) * 0.5 * (1.0 + math.cos(math.pi * progress))
        return lr
