"""Denoising with an autoencoder: x_tilde (noisy) -> reconstruct(x_tilde).

``denoise(model, x, noise="gaussian:0.3")`` corrupts clean images first (then PSNR against the clean
ones is measured); ``denoise(model, noisy)`` cleans images that are already noisy. ``denoise_run``
is the ``generativa denoise`` verb: it writes a before/after grid (rows: clean, corrupted, cleaned;
or noisy, cleaned) and returns the numbers.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch
from torch import Tensor

from generativa.exploration.inputs import batched, load_run, read_images, require
from generativa.models.autoencoders.corruption import corrupt, parse_corruption


@dataclass
class DenoiseResult:
    noisy: Tensor  # (N, C, H, W) the model's input
    restored: Tensor  # (N, C, H, W) reconstruct(noisy)
    clean: Tensor | None = None  # (N, C, H, W) where the clean images are known
    noise: str | None = None

    def psnr(self) -> dict[str, float] | None:
        """Mean PSNR (dB) of the noisy input and of the restored images against the clean ones."""
        if self.clean is None:
            return None
        from generativa.evaluation.reconstruction import psnr

        return {"psnr_noisy": float(psnr(self.noisy, self.clean).mean()),
                "psnr_restored": float(psnr(self.restored, self.clean).mean())}

    def grid_rows(self, n: int = 8) -> Tensor:
        """Rows of n: (clean,) noisy, restored -- for a before/after grid."""
        rows = ([self.clean[:n]] if self.clean is not None else []) + [self.noisy[:n], self.restored[:n]]
        return torch.cat(rows)


def denoise(model, x: Tensor, *, noise: str | None = None, generator: torch.Generator | None = None) -> DenoiseResult:
    """Clean images with ``model.reconstruct``; with ``noise`` (``gaussian:0.3``), corrupt x first."""
    require(model, "reconstruct", "denoise")
    model.check_input(x)
    if noise is not None:
        spec = str(parse_corruption(noise))
        noisy = corrupt(x, spec, generator=generator)
        clean = x
    else:
        spec, noisy, clean = None, x, None
    restored = batched(model.reconstruct, noisy)
    return DenoiseResult(noisy=noisy, restored=restored, clean=clean, noise=spec)


def denoise_run(run: str | Path, *, input: str | Path | None = None, noise: str | None = "gaussian:0.3",
                out: str | Path | None = None, n: int = 16, seed: int = 0, resize: bool = False) -> tuple[Path, DenoiseResult]:
    """The ``denoise`` verb: clean test images (or ``input``) and write a before/after grid.

    Without ``input`` the first ``n`` test images are corrupted with ``noise``. With ``input`` and
    ``noise`` the input is taken as clean and corrupted first; with ``noise=None`` it is cleaned as is.
    """
    from generativa.io.grids import save_grid

    if noise is not None:
        parse_corruption(noise)  # fail before any work
    model, rd = load_run(run)
    require(model, "reconstruct", "denoise")
    if input is None:
        if noise is None:
            raise ValueError("without --input the test images are clean: pass --noise (for example gaussian:0.3)")
        x = rd.load_data().test.images(slice(0, n))
    else:
        x = read_images(input, model.data_shape, resize=resize)
    result = denoise(model, x, noise=noise, generator=torch.Generator().manual_seed(seed))
    out = Path(out) if out is not None else rd.path / "denoise" / "denoise.png"
    k = min(len(x), 8)
    save_grid(result.grid_rows(k), out, nrow=k)
    numbers = result.psnr()
    if numbers is not None and input is None:
        rd.update_metrics({f"denoise/{result.noise}/{k}": v for k, v in numbers.items()})
    return out, result
