"""Reading one image file safely, and the conversions every image source shares.

``decode_image`` turns any file Pillow reads into uint8 grey (H, W) or RGB (H, W, 3):

* the header is read first and an image of more than ``max_pixels`` pixels is refused before any
  pixel is decoded (decompression bombs); Pillow's own ``DecompressionBombError`` (above twice
  ``Image.MAX_IMAGE_PIXELS``) is refused too, its warning is left to ``max_pixels``;
* EXIF orientation is applied (``ImageOps.exif_transpose``), so photos come out upright;
* 16-bit grey (``I;16*``, and ``I`` within 0..65535) is rescaled by 255 / 65535 and rounded, never
  clipped; 16-bit RGB is reduced to 8 bits by Pillow;
* ``1`` and ``L`` stay grey; ``P``, ``CMYK``, ``YCbCr``, ``LAB``, ``HSV`` become RGB;
* alpha (``RGBA``, ``LA``, ``PA``, ``P`` with transparency) is composited on a white (default) or
  black background: out = (c * a + bg * (255 - a)) / 255, rounded;
* a truncated or unreadable file raises ``DataError`` naming the file.

``to_channels`` and ``resize_batch`` convert whole uint8 (N, C, H, W) batches; ``resize_masks``
resizes the masks that go with them (nearest neighbour).
"""

from __future__ import annotations

import struct
import warnings
from pathlib import Path
from typing import Literal

import numpy as np
import torch
from PIL import Image, ImageOps, UnidentifiedImageError
from torch import Tensor

from generativa.data.errors import DataError

DEFAULT_MAX_PIXELS = 50_000_000  # ~ 8660 x 5770; a larger image is refused as a possible bomb
GREY_MODES = frozenset({"1", "L", "LA", "La", "I", "I;16", "I;16L", "I;16B", "I;16N", "F"})
Background = Literal["white", "black"]


def is_grey_mode(mode: str) -> bool:
    return mode in GREY_MODES


def open_checked(path: Path, max_pixels: int = DEFAULT_MAX_PIXELS) -> Image.Image:
    """Open an image and check its header's size; no pixel is decoded yet."""
    try:
        with warnings.catch_warnings():
            # Pillow warns above Image.MAX_IMAGE_PIXELS; our own limit below decides instead.
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            im = Image.open(path)
    except Image.DecompressionBombError as err:
        raise DataError(f"{path}: refused as a decompression bomb ({err}); "
                        "remove the file or shrink the image") from None
    except UnidentifiedImageError:
        raise DataError(f"{path}: not an image file Pillow can read (corrupt or another format); "
                        "remove it or convert it to PNG") from None
    except OSError as err:
        raise DataError(f"{path}: cannot be opened ({err})") from None
    w, h = im.size
    if w * h > max_pixels:
        im.close()
        raise DataError(f"{path}: header says {w}x{h} = {w * h:,} pixels, more than max_pixels={max_pixels:,}; "
                        "refused before decoding (a possible decompression bomb). Shrink the image, "
                        "or raise max_pixels if it is genuine")
    if w < 1 or h < 1:
        im.close()
        raise DataError(f"{path}: header says {w}x{h}; an image needs at least one pixel")
    return im


def _composite(rgb: np.ndarray, alpha: np.ndarray, background: Background) -> np.ndarray:
    """Alpha-composite uint8 colour on a flat background: (c * a + bg * (255 - a)) / 255, rounded."""
    bg = 255 if background == "white" else 0
    a = alpha.astype(np.uint32)
    if rgb.ndim == 3:
        a = a[..., None]
    out = (rgb.astype(np.uint32) * a + bg * (255 - a) + 127) // 255
    return out.astype(np.uint8)


def _to_array(im: Image.Image, background: Background, path: Path) -> np.ndarray:
    """A loaded image in any mode -> uint8 (H, W) or (H, W, 3)."""
    mode = im.mode
    if mode == "1":
        return np.asarray(im.convert("L"), dtype=np.uint8)
    if mode == "L":
        return np.asarray(im, dtype=np.uint8)
    if mode.startswith("I;16") or mode == "I":
        a = np.asarray(im).astype(np.int64)
        if a.size and (a.min() < 0 or a.max() > 65535):
            raise DataError(f"{path}: {mode} image with values {a.min()}..{a.max()} outside 0..65535; "
                            "save it as 8- or 16-bit")
        return np.rint(a * (255.0 / 65535.0)).astype(np.uint8)  # 16-bit -> 8-bit, rescaled
    if mode == "F":
        a = np.asarray(im, dtype=np.float64)
        if not np.isfinite(a).all() or a.min() < 0 or a.max() > 1:
            raise DataError(f"{path}: 32-bit float image must have values in [0, 1], got "
                            f"{np.nanmin(a):g}..{np.nanmax(a):g}; save it as 8- or 16-bit")
        return np.rint(a * 255.0).astype(np.uint8)
    if mode in ("LA", "La"):
        la = np.asarray(im.convert("LA") if mode == "La" else im, dtype=np.uint8)
        return _composite(la[..., 0], la[..., 1], background)
    has_alpha = mode in ("RGBA", "RGBa", "PA") or (mode == "P" and "transparency" in im.info)
    if has_alpha:
        rgba = np.asarray(im.convert("RGBA"), dtype=np.uint8)
        return _composite(rgba[..., :3], rgba[..., 3], background)
    if mode != "RGB":
        im = im.convert("RGB")  # P, CMYK, YCbCr, LAB, HSV, RGBX
    return np.asarray(im, dtype=np.uint8)


def decode_image(
    path: Path,
    *,
    max_pixels: int = DEFAULT_MAX_PIXELS,
    background: Background = "white",
    draft_size: int | None = None,
) -> tuple[np.ndarray, bool]:
    """Read one image file -> (uint8 (H, W) grey or (H, W, 3) RGB, whether its mode is grey).

    draft_size: the image will be resized to this square size afterwards, so a JPEG may be decoded
    at 1/2, 1/4 or 1/8 scale (its DCT draft mode) as long as both sides stay >= draft_size.
    """
    path = Path(path)
    im = open_checked(path, max_pixels)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)  # size checked on the header
            if draft_size is not None and im.format == "JPEG":
                im.draft(im.mode, (draft_size, draft_size))
            im.load()
            grey = is_grey_mode(im.mode)
            im = ImageOps.exif_transpose(im)
            return _to_array(im, background, path), grey
    except DataError:
        raise
    except Image.DecompressionBombError as err:
        raise DataError(f"{path}: refused as a decompression bomb ({err})") from None
    except (OSError, SyntaxError, ValueError, EOFError, IndexError, struct.error) as err:
        raise DataError(f"{path}: cannot be decoded ({type(err).__name__}: {err}); the file is truncated "
                        "or corrupt: re-export it or remove it") from None
    finally:
        im.close()


def array_to_image(a: np.ndarray) -> Image.Image:
    return Image.fromarray(a, mode="L" if a.ndim == 2 else "RGB")


def fit_image(a: np.ndarray, size: int, resize: Literal["crop", "stretch"]) -> np.ndarray:
    """Resize a uint8 (H, W[, 3]) array to size x size (Lanczos): centre crop to square first, or stretch."""
    if a.shape[0] == size and a.shape[1] == size:
        return a
    im = array_to_image(a)
    if resize == "crop":
        im = ImageOps.fit(im, (size, size), Image.Resampling.LANCZOS)
    else:
        im = im.resize((size, size), Image.Resampling.LANCZOS)
    return np.asarray(im, dtype=np.uint8)


def grey_from_rgb(rgb: np.ndarray) -> np.ndarray:
    """ITU-R 601-2 luma, as Pillow's convert("L"): L = (299 R + 587 G + 114 B) / 1000, rounded."""
    r, g, b = (rgb[..., i].astype(np.uint32) for i in range(3))
    return ((299 * r + 587 * g + 114 * b + 500) // 1000).astype(np.uint8)


def to_channels(x: Tensor, channels: int) -> Tensor:
    """uint8 (N, C, H, W) with C in {1, 3} -> C = channels (grey repeated, or luma of RGB)."""
    c = x.shape[1]
    if c == channels:
        return x
    if c == 1 and channels == 3:
        return x.expand(-1, 3, -1, -1).contiguous()
    if c == 3 and channels == 1:
        w = torch.tensor([299, 587, 114], dtype=torch.int32).view(1, 3, 1, 1)
        return ((x.to(torch.int32) * w).sum(1, keepdim=True) + 500).div(1000, rounding_mode="floor").to(torch.uint8)
    raise DataError(f"cannot convert {c} channels to {channels}; channels must be 1 or 3")


def lanczos_matrix(n_in: int, n_out: int, a: int = 3) -> Tensor:
    """The (n_out, n_in) matrix of a Lanczos-a resize along one axis, as Pillow computes its weights.

    Output sample i sits at centre (i + 0.5) * scale of the input (scale = n_in / n_out); the kernel
    sinc(t) sinc(t / a) is stretched by max(scale, 1) when shrinking, and each row sums to 1.
    """
    scale = n_in / n_out
    support = max(scale, 1.0)
    j = torch.arange(n_in, dtype=torch.float64)
    rows = []
    for i in range(n_out):
        centre = (i + 0.5) * scale
        t = (j + 0.5 - centre) / support
        w = torch.where(t.abs() < a, torch.sinc(t) * torch.sinc(t / a), torch.zeros_like(t))
        rows.append(w / w.sum())
    return torch.stack(rows)


def resize_batch(x: Tensor, size: int, resize: Literal["crop", "stretch"] = "crop", chunk: int = 1024) -> Tensor:
    """uint8 (N, C, H, W) -> (N, C, size, size), Lanczos as ``fit_image``.

    Square images (where crop and stretch agree) are resized for the whole batch at once with
    ``lanczos_matrix``, a horizontal then a vertical pass each rounded to 0..255 as in Pillow
    (within one grey level of it); others one by one through Pillow.
    """
    n, c, h, w = x.shape
    if h == size and w == size:
        return x
    if h == w:
        m = lanczos_matrix(h, size).float()  # (size, h)
        out = torch.empty(n, c, size, size, dtype=torch.uint8)
        for start in range(0, n, chunk):
            block = x[start:start + chunk].float()
            # Horizontal pass, then vertical, each rounded to 0..255 as Pillow does between passes.
            y = torch.einsum("nchw,qw->nchq", block, m).round_().clamp_(0, 255)
            y = torch.einsum("ph,nchq->ncpq", m, y).round_().clamp_(0, 255)
            out[start:start + chunk] = y.to(torch.uint8)
        return out
    out = torch.empty(n, c, size, size, dtype=torch.uint8)
    for i in range(n):
        a = x[i].permute(1, 2, 0).numpy()
        a = a[..., 0] if c == 1 else a
        r = fit_image(np.ascontiguousarray(a), size, resize)
        out[i] = torch.from_numpy(r.reshape(size, size, c).copy()).permute(2, 0, 1)
    return out


def resize_masks(masks: Tensor, size: int, resize: Literal["crop", "stretch"] = "crop") -> Tensor:
    """uint8 masks (N, 1, H, W) -> (N, 1, size, size) by nearest neighbour, aligned with ``resize_batch``.

    Mask values are class indices, so they are never blended. Square masks take, for output pixel
    i, input pixel floor((i + 0.5) * H / size): the pixel whose area holds the output pixel's
    centre, the same centre mapping as the Lanczos resize of the images. Others go through
    Pillow's NEAREST with the same centre crop (``ImageOps.fit``) or stretch as ``fit_image``.
    """
    n, c, h, w = masks.shape
    if h == size and w == size:
        return masks
    if h == w:
        index = ((torch.arange(size, dtype=torch.float64) + 0.5) * (h / size)).floor().long().clamp_(0, h - 1)
        return masks[:, :, index][:, :, :, index].contiguous()
    out = torch.empty(n, c, size, size, dtype=torch.uint8)
    for i in range(n):
        im = Image.fromarray(masks[i, 0].numpy(), mode="L")
        if resize == "crop":
            im = ImageOps.fit(im, (size, size), Image.Resampling.NEAREST)
        else:
            im = im.resize((size, size), Image.Resampling.NEAREST)
        out[i, 0] = torch.from_numpy(np.asarray(im, dtype=np.uint8).copy())
    return out
