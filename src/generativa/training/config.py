"""Training settings: one frozen dataclass, saved with every run (``config.yaml``)."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Literal


@dataclass(frozen=True)
class TrainConfig:
    steps: int = 2000                   # optimiser rounds (for a GAN: generator steps)
    minutes: float | None = None        # wall-clock budget; stops at whichever comes first
    batch_size: int = 128               # global batch, split across processes
    lr: float = 1e-3
    betas: tuple[float, float] = (0.9, 0.999)
    weight_decay: float = 0.0
    optimizer: Literal["adamw", "adam", "rmsprop"] = "adamw"
    schedule: Literal["constant", "cosine"] = "constant"
    warmup_steps: int = 0
    min_lr_ratio: float = 0.0           # cosine decays to lr * min_lr_ratio
    grad_clip: float | None = None      # max global grad norm per player; None: no clipping
    ema_decay: float | None = None      # EMA of the weights; None: no EMA
    precision: Literal["fp32", "bf16", "auto"] = "fp32"  # bf16: autocast of the forward pass; auto: see below
    channels_last: bool = False
    seed: int = 0
    log_every: int = 50
    sample_every: int = 500             # sample/reconstruction grids and test loss; 0: only at the end
    checkpoint_every: int = 1000        # 0: only at the end
    max_nonfinite: int = 5              # stop after this many non-finite steps in a row
    progress: bool = True
    device: Literal["auto", "cpu", "cuda", "mps"] = "auto"
    num_threads: int | None = None      # torch intra-op threads on CPU; None: torch's default

    def __post_init__(self) -> None:
        from generativa.models.base import check_literals

        check_literals(self)
        if self.steps < 0:
            raise ValueError(f"steps must be >= 0, got {self.steps}")
        if self.batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {self.batch_size}")
        if self.lr <= 0:
            raise ValueError(f"lr must be > 0, got {self.lr}")
        if self.ema_decay is not None and not 0.0 < self.ema_decay < 1.0:
            raise ValueError(f"ema_decay must be in (0, 1) or None, got {self.ema_decay}")
        if self.minutes is not None and self.minutes <= 0:
            raise ValueError(f"minutes must be > 0, got {self.minutes}")

    def resolved_precision(self, device_type: str) -> str:
        """``auto`` is bf16 on a CPU with native bf16 (AVX512-BF16 or AMX), fp32 elsewhere (GPUs
        included: not measured there yet)."""
        if self.precision != "auto":
            return self.precision
        return "bf16" if device_type == "cpu" and cpu_has_native_bf16() else "fp32"

    def lr_at(self, step: int, base_lr: float | None = None) -> float:
        """Learning rate for optimiser round ``step`` (0-based): linear warmup, then constant or cosine."""
        import math

        lr = self.lr if base_lr is None else base_lr
        if self.warmup_steps and step < self.warmup_steps:
            return lr * (step + 1) / self.warmup_steps
        if self.schedule == "cosine":
            span = max(self.steps - self.warmup_steps, 1)
            progress = min(max(step - self.warmup_steps, 0) / span, 1.0)
            floor = lr * self.min_lr_ratio
            return floor + (lr - floor) * 0.5 * (1.0 + math.cos(math.pi * progress))
        return lr


@functools.lru_cache(maxsize=1)
def cpu_has_native_bf16() -> bool:
    """True where the CPU computes bf16 natively (read from /proc/cpuinfo; False where unknown)."""
    try:
        with open("/proc/cpuinfo") as f:
            flags = f.read()
    except OSError:
        return False
    return "avx512_bf16" in flags or "amx_bf16" in flags
