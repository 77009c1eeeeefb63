"""What the application verbs share: loading a run, checking a capability, reading user images.

``read_images(path, shape)`` reads an image file, a folder of image files (sorted by name) or an
``.npz`` (its ``x`` array, or its only array: (N, H, W), (N, C, H, W) or (N, H, W, C), uint8 or
float in [0, 1]; read by ``generativa.data.npz.read_npz_images``, so NaN, out-of-range values and
truncated files are refused as by the ``npz:`` data spec) as float (N, C, H, W) in [0, 1]. An
image of another size or channel count is an error that says what the model expects, unless
``resize=True``: then grey <-> RGB is converted (luma / repeat) and the image is resized to the
model's size (centre crop to square, Lanczos), as ``data.size`` does.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from torch import Tensor

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".webp", ".pgm", ".ppm")


def require(model, capability: str, verb: str) -> None:
    """A clear error when ``model`` does not declare what ``verb`` needs (``encode``, ``reconstruct``)."""
    if not model.capabilities.can(capability):
        raise ValueError(
            f"`{verb}` needs a model that can {capability}; {model.name!r} declares "
            f"{model.capabilities.describe()}. Use an autoencoder or VAE run (for example `generativa train ae`)"
        )
    if not model.is_image_model:
        raise ValueError(f"`{verb}` works on images; {model.name!r} models vectors")


def load_run(run):
    """(model in eval mode, RunDir) of a run folder."""
    from generativa.training.run import RunDir

    rd = RunDir(run)
    model = rd.load_model().eval()
    return model, rd


def _fit(x: Tensor, shape: tuple[int, int, int], resize: bool, source: str) -> Tensor:
    """uint8 (N, C, H, W) -> the model's (C, H, W), or an error naming the mismatch."""
    from generativa.data.images import resize_batch, to_channels

    C, H, W = shape
    if tuple(x.shape[1:]) == (C, H, W):
        return x
    if not resize:
        raise ValueError(
            f"{source}: images are {x.shape[1]}x{x.shape[2]}x{x.shape[3]} (channels x height x width) but the "
            f"model was built for {C}x{H}x{W}; pass --resize (Python: resize=True) to convert and resize them"
        )
    if x.shape[1] not in (1, 3):
        raise ValueError(f"{source}: {x.shape[1]} channels cannot be converted; use grey (1) or RGB (3) images")
    x = to_channels(x, C)
    if H != W:
        raise ValueError(f"{source}: the model's images are {H}x{W}, not square; resize them yourself")
    return resize_batch(x, H)


def _read_file(path: Path) -> Tensor:
    from generativa.data.images import decode_image

    a, _ = decode_image(path)
    a = a[None] if a.ndim == 2 else a.transpose(2, 0, 1)  # (C, H, W)
    return torch.from_numpy(np.array(a, copy=True))


def _read_npz(path: Path) -> Tensor:
    """uint8 (N, C, H, W) from an .npz (its ``x`` or its only array), through the data layer's reader:
    the same checks and ``DataError``s as the ``npz:PATH`` data spec."""
    from generativa.data.npz import read_npz_images

    return read_npz_images(path)


def read_images(path: str | Path, shape: tuple[int, ...], *, resize: bool = False, limit: int | None = None) -> Tensor:
    """An image file, a folder of images or an .npz -> float (N, C, H, W) in [0, 1] of the model's ``shape``."""
    path = Path(path)
    if len(shape) != 3:
        raise ValueError(f"the model takes vectors of shape {shape}, not images")
    if not path.exists():
        raise FileNotFoundError(f"{path} does not exist; pass an image file, a folder of images or an .npz")
    if path.is_dir():
        files = sorted(p for p in path.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
        if not files:
            raise ValueError(f"{path} holds no image files ({', '.join(IMAGE_SUFFIXES)})")
        files = files[:limit] if limit else files
        x = torch.cat([_fit(_read_file(f)[None], shape, resize, str(f)) for f in files])
    elif path.suffix.lower() == ".npz":
        x = _fit(_read_npz(path), shape, resize, str(path))
        x = x[:limit] if limit else x
    else:
        x = _fit(_read_file(path)[None], shape, resize, str(path))
    return x.float() / 255.0


def batched(fn, x: Tensor, batch: int = 512) -> Tensor:
    """fn over x in batches under no_grad, concatenated on the CPU."""
    with torch.no_grad():
        return torch.cat([fn(x[i:i + batch]).cpu() for i in range(0, len(x), batch)])
