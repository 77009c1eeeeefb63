"""Image corruptions for denoising autoencoders and the ``denoise`` verb (Vincent et al. 2008, 2010).

x: images (B, C, H, W) (or vectors (B, D)) in [0, 1];  x_tilde = corrupt(x).

A corruption is written as a spec string ``KIND:AMOUNT``:

* ``gaussian:SIGMA`` -- additive isotropic noise, x_tilde = clip(x + SIGMA * eps, 0, 1), eps ~ N(0, I).
  The clip keeps images in [0, 1] at every public boundary (a departure from Vincent et al. 2010,
  who add unclipped noise to real-valued inputs).
* ``mask:P`` -- masking noise [Vincent et al. 2010, sec. 4.2]: each pixel is set to 0 with
  probability P (all channels of a pixel together).
* ``saltpepper:P`` -- salt-and-pepper noise [Vincent et al. 2010, sec. 4.2]: each pixel is replaced
  with probability P by 0 or 1, each with probability 1/2 (all channels of a pixel together).

``parse_corruption`` checks a spec; ``corrupt`` applies one; both raise a ValueError naming the
valid kinds for an unknown one.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, get_args

import torch
from torch import Tensor

CorruptionKind = Literal["gaussian", "mask", "saltpepper"]
CORRUPTION_KINDS: tuple[str, ...] = get_args(CorruptionKind)


@dataclass(frozen=True)
class Corruption:
    """One corruption: ``kind`` and its ``amount`` (sigma for gaussian, probability otherwise)."""

    kind: CorruptionKind
    amount: float

    def __post_init__(self) -> None:
        if self.kind not in CORRUPTION_KINDS:
            raise ValueError(
                f"unknown corruption kind {self.kind!r}; use one of {', '.join(CORRUPTION_KINDS)} "
                f"(for example gaussian:0.3, mask:0.25, saltpepper:0.1)"
            )
        if not (self.amount >= 0.0):
            raise ValueError(f"corruption amount must be >= 0, got {self.amount!r} for {self.kind}")
        if self.kind != "gaussian" and self.amount > 1.0:
            raise ValueError(
                f"{self.kind}:{self.amount} is not a probability; pass a value in [0, 1] (for example {self.kind}:0.2)"
            )

    def __str__(self) -> str:
        return f"{self.kind}:{self.amount:g}"

    def __call__(self, x: Tensor, *, generator: torch.Generator | None = None) -> Tensor:
        return corrupt(x, self, generator=generator)


def parse_corruption(spec: str | Corruption) -> Corruption:
    """``"gaussian:0.3"`` -> Corruption("gaussian", 0.3). A bare kind takes no default: the amount is required."""
    if isinstance(spec, Corruption):
        return spec
    kind, sep, amount = str(spec).strip().partition(":")
    kind = kind.strip().lower().replace("-", "").replace("_", "")
    if kind == "saltandpepper":
        kind = "saltpepper"
    if kind not in CORRUPTION_KINDS:
        raise ValueError(
            f"unknown noise spec {spec!r}: the kind must be one of {', '.join(CORRUPTION_KINDS)}, "
            f"written KIND:AMOUNT (gaussian:0.3, mask:0.25, saltpepper:0.1)"
        )
    if not sep or not amount.strip():
        raise ValueError(f"noise spec {spec!r} has no amount; write it as {kind}:AMOUNT (for example {kind}:0.2)")
    try:
        value = float(amount)
    except ValueError:
        raise ValueError(f"noise spec {spec!r}: amount {amount!r} is not a number (for example {kind}:0.2)") from None
    return Corruption(kind, value)  # type: ignore[arg-type]


def _pixel_shape(x: Tensor) -> tuple[int, ...]:
    """Shape of a per-pixel draw: channels share it for images, every entry gets its own for vectors."""
    if x.dim() == 4:
        return (x.shape[0], 1, x.shape[2], x.shape[3])
    return tuple(x.shape)


def gaussian_noise(x: Tensor, sigma: float, *, generator: torch.Generator | None = None) -> Tensor:
    """x + sigma * eps, eps ~ N(0, I), clipped to [0, 1]."""
    eps = torch.randn(x.shape, generator=generator, device=x.device, dtype=x.dtype)
    return (x + sigma * eps).clamp(0.0, 1.0)


def masking_noise(x: Tensor, p: float, *, generator: torch.Generator | None = None) -> Tensor:
    """Each pixel set to 0 with probability p [Vincent et al. 2010, sec. 4.2]."""
    u = torch.rand(_pixel_shape(x), generator=generator, device=x.device, dtype=x.dtype)
    return x * (u >= p).to(x.dtype)


def salt_and_pepper_noise(x: Tensor, p: float, *, generator: torch.Generator | None = None) -> Tensor:
    """Each pixel set with probability p to 0 or 1 (each with probability 1/2) [Vincent et al. 2010, sec. 4.2]."""
    shape = _pixel_shape(x)
    u = torch.rand(shape, generator=generator, device=x.device, dtype=x.dtype)
    salt = torch.rand(shape, generator=generator, device=x.device, dtype=x.dtype) < 0.5
    hit = u < p
    value = salt.to(x.dtype).expand_as(x)
    return torch.where(hit.expand_as(x), value, x)


def corrupt(x: Tensor, spec: str | Corruption, *, generator: torch.Generator | None = None) -> Tensor:
    """Apply a corruption spec (``gaussian:0.3``, ``mask:0.25``, ``saltpepper:0.1``) to x in [0, 1]."""
    c = parse_corruption(spec)
    if c.kind == "gaussian":
        return gaussian_noise(x, c.amount, generator=generator)
    if c.kind == "mask":
        return masking_noise(x, c.amount, generator=generator)
    return salt_and_pepper_noise(x, c.amount, generator=generator)
