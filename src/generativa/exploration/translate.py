"""Unpaired translation with a run of a model that declares ``translate`` (CycleGAN): images of one
domain to the other and back, the course's x -> G(x) -> F(G(x)) triplets.

``translate_run(run, inputs, domain="b")`` reads user images (a file, a folder or an .npz each) or,
without inputs, the first ``n`` test images of the run's other domain, and writes one grid whose
rows are the inputs, their translations and the translations brought back (the cycle); it returns
the grid's path and the three tensors, with the mean absolute error of the cycle.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch
from torch import Tensor

from generativa.exploration.inputs import load_run, read_images, require


@dataclass
class Translation:
    inputs: Tensor          # (N, C, H, W) in [0, 1], of the source domain
    translated: Tensor      # to the target domain
    cycled: Tensor          # back to the source domain
    domain: str             # the target domain, "a" or "b"

    def cycle_error(self) -> float:
        """Mean absolute error of inputs against the cycle, per pixel in [0, 1]."""
        return float((self.cycled - self.inputs).abs().mean())


def translate_images(model, x: Tensor, domain: str = "b") -> Translation:
    """x (source domain) -> translated to ``domain`` -> back."""
    source = "a" if domain == "b" else "b"
    with torch.no_grad():
        y = model.translate(x, domain=domain)
        back = model.translate(y, domain=source)
    return Translation(x, y, back, domain)


def translate_run(run: str | Path, inputs: list[str | Path] | None = None, *, domain: str = "b",
                  out: str | Path | None = None, n: int = 8, resize: bool = False) -> tuple[Path, Translation]:
    from generativa.io.grids import save_grid

    if domain not in ("a", "b"):
        raise ValueError(f"domain = {domain!r}: translate to 'a' or 'b'")
    model, rd = load_run(run)
    if not model.capabilities.translate:
        raise ValueError(f"`translate` needs a translation model (cyclegan); {model.name!r} declares "
                         f"{model.capabilities.describe()}. Train one: generativa train cyclegan_digits")
    require(model, "translate", "translate")
    if inputs:
        x = torch.cat([read_images(p, model.data_shape, resize=resize) for p in inputs])
    else:
        data = rd.load_data()
        source = data if domain == "b" else data.domain_b
        if source is None:
            raise ValueError(f"the run's data {data.spec!r} has no second domain; pass images to translate")
        x = source.test.images(slice(0, n))
    result = translate_images(model, x, domain)
    path = Path(out) if out is not None else rd.path / "translate" / f"to_{domain}.png"
    path.parent.mkdir(parents=True, exist_ok=True)
    k = len(x)
    save_grid(torch.cat([result.inputs, result.translated, result.cycled]), path, nrow=k)
    return path, result
