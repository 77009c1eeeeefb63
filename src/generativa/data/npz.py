"""``npz:PATH``: arrays saved with ``np.savez(PATH, x=..., y=...)`` (or one ``.npy`` array of x).

Keys: ``x`` (required), ``y`` (labels, optional), and optionally ``x_test`` / ``y_test`` for a
fixed test split (otherwise a seeded permutation holds out ``test_fraction``). Loaded with
``allow_pickle=False``: object arrays are refused.

x as images: (N, H, W), (N, H, W, C) or (N, C, H, W) with C in 1, 2, 3, 4 (``layout`` picks when
the shape is ambiguous); uint8 as is, bool as 0/255, uint16 rescaled by 255/65535, other integers
when within 0..255, floats when within [0, 1] (times 255, rounded). Nothing is clipped: values
out of range are an error. 2 or 4 channels carry alpha, composited on ``background``.
x as vectors: (N, D) of any real dtype, kept as float32.
y: (N,) integers or strings; distinct values become classes 0..K-1 in sorted order, their original
values kept as ``class_names``.
"""

from __future__ import annotations

import zipfile
from pathlib import Path
from typing import Literal

import numpy as np
import torch

from generativa.data.base import ArrayData, seeded_split
from generativa.data.errors import DataError

Layout = Literal["auto", "nhwc", "nchw"]


def _get(arrays, key: str, path: Path) -> np.ndarray:
    try:
        return np.asarray(arrays[key])
    except ValueError as err:
        if "allow_pickle" in str(err) or "Object arrays" in str(err):
            raise DataError(f"{path}: array {key!r} is an object array, which would need unpickling "
                            "(refused: loading must never run code). Save plain numeric arrays, e.g. "
                            "np.savez(path, x=np.stack(images).astype(np.uint8), y=np.asarray(labels))") from None
        raise DataError(f"{path}: array {key!r} cannot be read ({err})") from None
    except (OSError, zipfile.BadZipFile, EOFError) as err:
        raise DataError(f"{path}: array {key!r} cannot be read ({err}); the file is corrupt") from None


def _to_uint8(x: np.ndarray, path: Path, key: str) -> np.ndarray:
    if x.dtype == np.uint8:
        return x
    if x.dtype == np.bool_:
        return x.astype(np.uint8) * 255
    if x.dtype == np.uint16:
        return np.rint(x.astype(np.float64) * (255.0 / 65535.0)).astype(np.uint8)  # rescaled, not clipped
    if x.size == 0:
        return x.astype(np.uint8)
    if np.issubdtype(x.dtype, np.integer):
        lo, hi = int(x.min()), int(x.max())
        if lo < 0 or hi > 255:
            raise DataError(f"{path}: {key} is {x.dtype} with values {lo}..{hi}; images must be 0..255 "
                            "(or uint16, rescaled); convert them to uint8 first")
        return x.astype(np.uint8)
    if np.issubdtype(x.dtype, np.floating):
        if not np.isfinite(x).all():
            raise DataError(f"{path}: {key} has NaN or infinite values")
        lo, hi = float(x.min()), float(x.max())
        if lo < 0 or hi > 1:
            hint = " (it looks like 0..255: divide by 255 or save as uint8)" if hi <= 255 and lo >= 0 else ""
            raise DataError(f"{path}: float {key} must be in [0, 1], got {lo:g}..{hi:g}{hint}")
        return np.rint(x.astype(np.float64) * 255.0).astype(np.uint8)
    raise DataError(f"{path}: {key} has dtype {x.dtype}; use uint8 or float in [0, 1]")


def _to_nchw(x: np.ndarray, layout: Layout, path: Path, key: str) -> np.ndarray:
    """(N, H, W) / (N, H, W, C) / (N, C, H, W) -> (N, C, H, W)."""
    if x.ndim == 3:
        return x[:, None]
    if x.ndim != 4:
        raise DataError(f"{path}: {key} has shape {x.shape}; expected images (N, H, W), (N, H, W, C), "
                        "(N, C, H, W), or vectors (N, D)")
    channel_like = (1, 2, 3, 4)
    if layout == "auto":
        last, first = x.shape[3] in channel_like, x.shape[1] in channel_like
        if last and first:
            raise DataError(f"{path}: {key} shape {x.shape} could be (N, H, W, C) or (N, C, H, W); "
                            "pass layout=nhwc or layout=nchw")
        if not (last or first):
            raise DataError(f"{path}: {key} shape {x.shape} has no channel axis of size 1-4 at position 1 or 3")
        layout = "nhwc" if last else "nchw"
    return np.ascontiguousarray(x.transpose(0, 3, 1, 2) if layout == "nhwc" else x)


def _composite_alpha(x: np.ndarray, background: str) -> np.ndarray:
    """(N, 2|4, H, W) with alpha last -> (N, 1|3, H, W) on a flat background."""
    bg = 255 if background == "white" else 0
    a = x[:, -1:].astype(np.uint32)
    c = x[:, :-1].astype(np.uint32)
    return ((c * a + bg * (255 - a) + 127) // 255).astype(np.uint8)


def _images(x: np.ndarray, layout: Layout, background: str, path: Path, key: str) -> torch.Tensor:
    x = _to_nchw(_to_uint8(x, path, key), layout, path, key)
    if x.shape[1] in (2, 4):
        x = _composite_alpha(x, background)
    return torch.from_numpy(np.ascontiguousarray(x))


def _labels(ys: list[np.ndarray], ns: list[int], path: Path) -> tuple[list[torch.Tensor], tuple[str, ...]]:
    for y, n, key in zip(ys, ns, ("y", "y_test")):
        if y.ndim != 1 or len(y) != n:
            raise DataError(f"{path}: {key} has shape {y.shape}, expected ({n},): one label per image")
        if np.issubdtype(y.dtype, np.floating) and not np.all(np.mod(y, 1) == 0):
            raise DataError(f"{path}: {key} holds non-integer floats; labels must be integers or strings")
    values, inverse = np.unique(np.concatenate(ys), return_inverse=True)
    if np.issubdtype(values.dtype, np.floating):
        values = values.astype(np.int64)
    parts, start = [], 0
    for n in ns:
        parts.append(torch.from_numpy(inverse[start:start + n].astype(np.int64)))
        start += n
    return parts, tuple(str(v) for v in values)


def load_npz(
    path: str,
    *,
    test_fraction: float = 0.2,
    seed: int = 0,
    layout: Layout = "auto",
    background: str = "white",
) -> tuple[ArrayData, ArrayData, dict]:
    p = Path(path).expanduser()
    name = f"npz:{path}"
    if not p.is_file():
        raise DataError(f"{name}: no such file")
    try:
        arrays = np.load(p, allow_pickle=False)
    except ValueError as err:
        if "allow_pickle" in str(err) or "pickled" in str(err):
            raise DataError(f"{p}: holds a pickled object, refused (loading must never run code); "
                            "save plain arrays with np.savez(path, x=..., y=...)") from None
        raise DataError(f"{p}: not a .npz/.npy file numpy can read ({err})") from None
    except (OSError, zipfile.BadZipFile, EOFError) as err:
        raise DataError(f"{p}: not a .npz/.npy file numpy can read ({err})") from None
    if isinstance(arrays, np.ndarray):
        arrays = {"x": arrays}
    keys = list(arrays.keys())
    if "x" not in keys:
        raise DataError(f"{p}: has arrays {keys} but no 'x'; save with np.savez(path, x=images, y=labels)")
    x = _get(arrays, "x", p)
    xt = _get(arrays, "x_test", p) if "x_test" in keys else None
    y = _get(arrays, "y", p) if "y" in keys else None
    yt = _get(arrays, "y_test", p) if "y_test" in keys else None
    if (y is None) != (yt is None) and xt is not None:
        raise DataError(f"{p}: has labels for one split only; save both y and y_test, or neither")
    if yt is not None and xt is None:
        raise DataError(f"{p}: has y_test but no x_test")

    def convert(a: np.ndarray, key: str) -> torch.Tensor:
        if a.dtype.kind in "OUSV" or a.dtype.fields is not None:
            raise DataError(f"{p}: {key} has dtype {a.dtype}; expected numbers")
        if a.ndim == 2:  # vectors
            if not np.issubdtype(a.dtype, np.number) and a.dtype != np.bool_:
                raise DataError(f"{p}: {key} has dtype {a.dtype}; expected numbers")
            if not np.isfinite(a.astype(np.float64)).all():
                raise DataError(f"{p}: {key} has NaN or infinite values")
            return torch.from_numpy(a.astype(np.float32))
        return _images(a, layout, background, p, key)

    tx = convert(x, "x")
    ttx = convert(xt, "x_test") if xt is not None else None
    if ttx is not None and ttx.shape[1:] != tx.shape[1:]:
        raise DataError(f"{p}: x examples have shape {tuple(tx.shape[1:])} but x_test {tuple(ttx.shape[1:])}")
    class_names: tuple[str, ...] = ()
    ty = tty = None
    if y is not None:
        ys, ns = [y], [len(tx)]
        if yt is not None:
            ys.append(yt)
            ns.append(len(ttx))
        labels, class_names = _labels(ys, ns, p)
        ty = labels[0]
        tty = labels[1] if len(labels) > 1 else None
    train = ArrayData(name, tx, ty, class_names=class_names)
    if ttx is not None:
        return train, ArrayData(name, ttx, tty, class_names=class_names), {"split": "files"}
    train_idx, test_idx = seeded_split(len(train), test_fraction, seed)
    return train.subset(train_idx), train.subset(test_idx), {"split": "seeded"}
