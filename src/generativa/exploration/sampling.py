"""Draw samples from a run: ``generativa sample``."""

from __future__ import annotations

import inspect
from pathlib import Path

import numpy as np
import torch


def sample_run(run: str | Path, n: int = 64, out: str | Path | None = None, *, label: int | None = None,
               seed: int = 0, sampler: str | None = None, steps: int | None = None, ema: bool = True) -> Path:
    """Sample ``n`` images from a run and write a PNG grid or an ``.npz`` (x: uint8 (N, C, H, W))."""
    from generativa.reporting.images import save_grid
    from generativa.training.checkpoint import load

    if n < 1:
        raise ValueError(f"--n must be at least 1, got {n}")
    model = load(run, ema=ema)
    out = Path(out) if out is not None else Path(run) / "samples" / "sample.png"
    if out.suffix.lower() not in (".png", ".npz"):
        raise ValueError(f"--out {out}: write a .png grid or an .npz array")
    kwargs: dict = {}
    params = inspect.signature(model.sample).parameters
    accepts_any = any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values())
    if label is not None:
        k = getattr(model.config, "num_classes", 0)
        if not getattr(model, "conditional", False):
            raise ValueError(f"--label needs a conditional model; {model.registry_name} is not conditional")
        if not 0 <= label < k:
            raise ValueError(f"--label {label} is outside 0..{k - 1}")
        kwargs["labels"] = torch.full((n,), label, dtype=torch.long)
    for name, value in (("sampler", sampler), ("steps", steps)):
        if value is not None:
            if name not in params and not accepts_any:
                raise ValueError(f"{model.registry_name} takes no --{name}")
            kwargs[name] = value
    g = torch.Generator().manual_seed(seed)
    x = model.sample(n, generator=g, **kwargs)
    if out.suffix.lower() == ".npz":
        import io

        from generativa.training.safeio import write_bytes_atomic

        buf = io.BytesIO()
        arr = x.detach().cpu()
        if model.is_image_model:
            np.savez(buf, x=(arr.clamp(0, 1) * 255).round().to(torch.uint8).numpy())
        else:
            np.savez(buf, x=arr.numpy())
        write_bytes_atomic(out, buf.getvalue())
    else:
        if not model.is_image_model:
            raise ValueError(f"{model.registry_name} makes vectors, not images: write --out samples.npz")
        save_grid(x, out)
    return out
