"""Draw samples from a run: ``generativa sample``.

The options a model's ``sample`` takes come from its declaration (``model.capabilities``): an option
the model does not take is refused with the list of those it does, before anything is drawn.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import numpy as np
import torch


def sample_options(run: str | Path) -> list[str]:
    """One line per sampling option and condition the run's model takes (``generativa sample --options``)."""
    from generativa.training.checkpoint import load

    model = load(run)
    caps = model.capabilities
    if not caps.sample:
        return [f"{model.name} does not sample (it can: {caps.describe()})"]
    lines = [o.usage() for o in caps.sample_options]
    if caps.accepts("labels"):
        lines.append(f"--label INT: class 0..{model.config.num_classes - 1} (default: every class in turn)")
    return lines or [f"{model.name} takes no sampling options"]


def sample_run(run: str | Path, n: int = 64, out: str | Path | None = None, *, label: int | None = None,
               seed: int = 0, ema: bool = True, options: dict[str, Any] | None = None) -> Path:
    """Sample ``n`` images from a run and write a PNG grid or an ``.npz`` (x: uint8 (N, C, H, W)).

    options: the model's sampling options by name (``{"temperature": 0.7}``), checked against its
    declaration; label: one class for every sample, for models that take labels.
    """
    from generativa.io.atomic import write_bytes_atomic
    from generativa.io.grids import save_grid
    from generativa.training.checkpoint import load

    if n < 1:
        raise ValueError(f"--n must be at least 1, got {n}")
    out = Path(out) if out is not None else Path(run) / "samples" / "sample.png"
    if out.suffix.lower() not in (".png", ".npz"):
        raise ValueError(f"--out {out}: write a .png grid or an .npz array")
    model = load(run, ema=ema)
    caps = model.capabilities
    if not caps.sample:
        raise model.refuse("sample")
    kwargs: dict[str, Any] = caps.check_sample_options(dict(options or {}), owner=model.name)
    if label is not None:
        if not caps.accepts("labels"):
            raise ValueError(f"--label needs a model that takes labels; {model.name} does not (train a "
                             "conditional model such as cvae or cgan)")
        k = model.config.num_classes
        if not 0 <= label < k:
            raise ValueError(f"--label {label} is outside 0..{k - 1}")
        kwargs["labels"] = torch.full((n,), label, dtype=torch.long)
    else:
        kwargs.update(model.default_condition(n))
    if out.suffix.lower() == ".png" and not model.is_image_model:
        raise ValueError(f"{model.name} makes vectors, not images: write --out samples.npz")
    g = torch.Generator().manual_seed(seed)
    x = model.sample(n, generator=g, **kwargs)
    if out.suffix.lower() == ".npz":
        buf = io.BytesIO()
        arr = x.detach().cpu()
        if model.is_image_model:
            np.savez(buf, x=(arr.clamp(0, 1) * 255).round().to(torch.uint8).numpy())
        else:
            np.savez(buf, x=arr.numpy())
        write_bytes_atomic(out, buf.getvalue())
    else:
        save_grid(x, out)
    return out
