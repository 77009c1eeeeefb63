"""Reduced precision on the CPU: where it is native, and a context that runs a network in it.

bf16 autocast pays on CPUs that compute bf16 natively (AVX512-BF16 or AMX): convolutions and matmuls
run 2-3x faster than in float32 there, and several times slower elsewhere, so ``auto`` resolves to
bf16 only on such a CPU (and to fp32 on GPUs, where the choice is the user's).
"""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Iterator
from typing import Literal

import torch

Precision = Literal["fp32", "bf16", "auto"]


@functools.lru_cache(maxsize=1)
def cpu_has_native_bf16() -> bool:
    """True where the CPU computes bf16 natively (read from /proc/cpuinfo; False where unknown)."""
    try:
        with open("/proc/cpuinfo") as f:
            flags = f.read()
    except OSError:
        return False
    return "avx512_bf16" in flags or "amx_bf16" in flags


def resolve_precision(precision: str, device_type: str) -> str:
    """``auto`` -> bf16 on a CPU with native bf16, fp32 elsewhere; fp32 / bf16 as given."""
    if precision not in ("fp32", "bf16", "auto"):
        raise ValueError(f"unknown precision {precision!r}; use fp32, bf16 or auto")
    if precision != "auto":
        return precision
    return "bf16" if device_type == "cpu" and cpu_has_native_bf16() else "fp32"


@contextlib.contextmanager
def autocast(precision: str, device_type: str) -> Iterator[None]:
    """Run the block under bf16 autocast where ``precision`` resolves to bf16 (a no-op for fp32)."""
    enabled = resolve_precision(precision, device_type) == "bf16"
    with torch.autocast(device_type, dtype=torch.bfloat16, enabled=enabled):
        yield
