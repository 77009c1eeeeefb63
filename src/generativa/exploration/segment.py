"""Segmentation with a U-Net run: masks, instances and overlays of the user's images.

``segment(model, x)`` gives the semantic mask (class indices) and the instances (connected components
of the predicted cells, ``models.vision.segmentation.instances_from_semantic``) of one image of any
size; ``overlay`` draws them over the image (each instance in its own colour, borders in red);
``segment_run`` is the ``generativa segment`` verb: for every input image it writes
``<name>_mask.png`` (classes as grey levels 0, 127, 255 for background, cell, border),
``<name>_instances.png`` (instance ids, 16-bit) and ``<name>_overlay.png``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from torch import Tensor

from generativa.exploration.inputs import IMAGE_SUFFIXES, load_run


def _require_segmenter(model) -> None:
    if model.capabilities.kind != "segmenter":
        raise ValueError(f"`segment` needs a segmentation run (generativa train unet --data cells); "
                         f"{model.name!r} is a {model.capabilities.kind} model")


@torch.no_grad()
def segment(model, x: Tensor) -> tuple[np.ndarray, np.ndarray]:
    """One image (C, H, W) in [0, 1] -> (classes (H, W) uint8, instance ids (H, W) int32)."""
    from generativa.models.vision.segmentation import instances_from_semantic

    _require_segmenter(model)
    semantic = model.predict(x[None].to(model.device))[0].cpu()
    return semantic.numpy().astype(np.uint8), instances_from_semantic(semantic)


def _palette(k: int) -> np.ndarray:
    """k + 1 RGB colours, 0 black; the rest spread around the hue circle (golden-angle steps)."""
    import colorsys

    colours = [(0, 0, 0)] + [colorsys.hsv_to_rgb((i * 0.618034) % 1.0, 0.75, 1.0) for i in range(k)]
    return (np.array(colours) * 255).astype(np.uint8)


def overlay(image: Tensor, semantic: np.ndarray, instances: np.ndarray, alpha: float = 0.4) -> np.ndarray:
    """RGB uint8 (H, W, 3): the image in grey, each predicted instance tinted, predicted borders red."""
    grey = image.float().mean(0).clamp(0, 1).numpy()
    rgb = np.repeat(grey[..., None] * 255, 3, axis=2)
    colours = _palette(int(instances.max()))[instances].astype(np.float64)
    inside = instances > 0
    rgb[inside] = (1 - alpha) * rgb[inside] + alpha * colours[inside]
    rgb[semantic == 2] = (1 - alpha) * rgb[semantic == 2] + alpha * np.array([255.0, 0, 0])
    return rgb.round().astype(np.uint8)


def _inputs(paths: list[Path], channels: int) -> list[tuple[str, Tensor]]:
    """(name, image (C, H, W) float) for every image file, every image in a folder, every array in an .npz."""
    from generativa.data.images import decode_image, to_channels
    from generativa.data.npz import read_npz_images

    out: list[tuple[str, Tensor]] = []
    for path in paths:
        path = Path(path)
        if not path.exists():
            raise FileNotFoundError(f"{path} does not exist; pass image files, folders of images or .npz files")
        if path.suffix.lower() == ".npz":
            x = read_npz_images(path)
            out += [(f"{path.stem}_{i:04d}", to_channels(x[i : i + 1], channels)[0]) for i in range(len(x))]
            continue
        files = sorted(p for p in path.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES) if path.is_dir() else [path]
        if path.is_dir() and not files:
            raise ValueError(f"{path} holds no image files ({', '.join(IMAGE_SUFFIXES)})")
        for f in files:
            a, _ = decode_image(f)
            a = a[None] if a.ndim == 2 else a.transpose(2, 0, 1)
            x = torch.from_numpy(np.array(a, copy=True))[None]
            out.append((f.stem, to_channels(x, channels)[0]))
    return [(name, x.float() / 255.0) for name, x in out]


def segment_run(run: str | Path, images: list[str | Path], *, out: str | Path | None = None) -> list[Path]:
    """The ``segment`` verb: write mask, instances and overlay PNGs of every input; returns the overlays."""
    from PIL import Image

    model, rd = load_run(run)
    _require_segmenter(model)
    out = Path(out) if out is not None else Path(rd.path) / "segment"
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for name, x in _inputs([Path(p) for p in images], model.data_shape[0]):
        semantic, instances = segment(model, x)
        Image.fromarray((semantic.astype(np.float64) * 255 / max(model.config.classes - 1, 1)).round()
                        .astype(np.uint8)).save(out / f"{name}_mask.png")
        Image.fromarray(instances.astype(np.uint16)).save(out / f"{name}_instances.png")
        Image.fromarray(overlay(x, semantic, instances)).save(out / f"{name}_overlay.png")
        written.append(out / f"{name}_overlay.png")
    return written
