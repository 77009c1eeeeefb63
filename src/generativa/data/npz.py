"""``npz:PATH``: arrays saved with ``np.savez(PATH, x=..., y=...)`` (or one ``.npy`` array of x).

Keys: ``x`` (required), ``y`` (labels, optional), optionally ``x_test`` / ``y_test`` for a fixed
test split (otherwise a seeded permutation holds out ``test_fraction``), and ``masks`` /
``masks_test``: one mask per image, uint8 (N, H, W) or (N, 1, H, W) (bool as 0/1, other integers
when within 0..255), kept as ``ArrayData.masks`` (N, 1, H, W).

Reading never runs code and never inflates blindly (``ArrayFile``): the zip directory and each
member's ``.npy`` header are read first; object (pickled) arrays are refused, the declared sizes
(shape x item size) must agree with the zip directory and together stay within ``max_bytes``
(default 2 GiB, see ``limits``), and then exactly the declared bytes are decompressed in bounded
pieces; a member that yields fewer is refused. A truncated or damaged file is a ``DataError``
naming it.

x as images: (N, H, W), (N, H, W, C) or (N, C, H, W) with C in 1, 2, 3, 4 (``layout`` picks when
the shape is ambiguous); uint8 as is, bool as 0/255, uint16 rescaled by 255/65535, other integers
when within 0..255, floats when within [0, 1] (times 255, rounded). Nothing is clipped: values
out of range, NaN and infinities are an error. 2 or 4 channels carry alpha, composited on
``background``.
x as vectors: (N, D) of any real dtype, kept as float32.
y: (N,) integers or strings; distinct values become classes 0..K-1 in sorted order, their original
values kept as ``class_names``.

``read_npz_images`` gives the images of one file with the same checks, for the application
verbs (``generativa denoise --input x.npz``).
"""

from __future__ import annotations

import io
import zipfile
import zlib
from collections.abc import Iterable
from pathlib import Path
from typing import Literal

import numpy as np
import torch

from generativa.data.base import ArrayData, seeded_split
from generativa.data.errors import DataError
from generativa.data.limits import DEFAULT_MAX_BYTES, check_declared, read_exactly

Layout = Literal["auto", "nhwc", "nchw"]
NPY_MAGIC = b"\x93NUMPY"
MAX_HEADER = 65536  # bytes of an .npy header; numpy itself refuses more than 10,000 by default
FLOAT_CHUNK = 1 << 22  # elements of a float array converted at a time (bounds the float64 temporaries)
_READ_ERRORS = (OSError, EOFError, zlib.error, zipfile.BadZipFile, zipfile.LargeZipFile, RuntimeError,
                NotImplementedError)


def _npy_header(f, where: str) -> tuple[tuple[int, ...], bool, np.dtype, int]:
    """Read an .npy header from a stream: (shape, fortran_order, dtype, header length in bytes)."""
    magic = f.read(8)
    if len(magic) < 8 or magic[:6] != NPY_MAGIC:
        raise DataError(f"{where}: not an .npy array (it starts with {magic[:8]!r}, expected {NPY_MAGIC!r})")
    major = magic[6]
    if major not in (1, 2):
        raise DataError(f"{where}: .npy format version {major}.{magic[7]} is not supported (1.0 and 2.0 are); "
                        "save it again with np.savez")
    width = 2 if major == 1 else 4
    raw_len = f.read(width)
    if len(raw_len) < width:
        raise DataError(f"{where}: the .npy header is truncated")
    length = int.from_bytes(raw_len, "little")
    if length > MAX_HEADER:
        raise DataError(f"{where}: the .npy header claims {length:,} bytes (more than {MAX_HEADER:,}); refused")
    text = f.read(length)
    if len(text) < length:
        raise DataError(f"{where}: the .npy header is truncated")
    parse = np.lib.format.read_array_header_1_0 if major == 1 else np.lib.format.read_array_header_2_0
    try:
        shape, fortran, dtype = parse(io.BytesIO(raw_len + text), max_header_size=MAX_HEADER)
    except (ValueError, SyntaxError, TypeError) as err:
        raise DataError(f"{where}: the .npy header cannot be read ({err})") from None
    if dtype.hasobject:
        raise DataError(f"{where}: is an object array, which would need unpickling (refused: loading must never "
                        "run code). Save plain numeric arrays, e.g. np.savez(path, x=np.stack(images)"
                        ".astype(np.uint8), y=np.asarray(labels))")
    return tuple(int(d) for d in shape), bool(fortran), dtype, 8 + width + length


class ArrayFile:
    """The arrays of an ``.npz`` (or of one ``.npy``, as key ``x``), read with their sizes checked first.

    ``keys`` lists the arrays (zip members ``KEY.npy``); ``read(keys)`` reads their headers, checks
    each declared size against the zip directory and their total against ``max_bytes``, and only
    then decompresses them. Use as a context manager.
    """

    def __init__(self, path: str | Path, *, max_bytes: int = DEFAULT_MAX_BYTES) -> None:
        self.path = Path(path).expanduser()
        self.max_bytes = max_bytes
        self._zip: zipfile.ZipFile | None = None
        try:
            with open(self.path, "rb") as f:
                self._is_npy = f.read(6) == NPY_MAGIC
            if not self._is_npy:
                self._zip = zipfile.ZipFile(self.path)
        except FileNotFoundError:
            raise DataError(f"{self.path}: no such file") from None
        except _READ_ERRORS as err:
            raise DataError(f"{self.path}: not a .npz/.npy file numpy can read ({err}); it is truncated, corrupt "
                            "or another format: save it again with np.savez(path, x=..., y=...)") from None
        if self._is_npy:
            self.keys = ["x"]
        else:
            self.keys = [i.filename[:-4] for i in self._zip.infolist() if i.filename.endswith(".npy")]

    def __enter__(self) -> ArrayFile:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        if self._zip is not None:
            self._zip.close()

    def read(self, keys: Iterable[str]) -> dict[str, np.ndarray]:
        """The arrays named ``keys`` (each must be in ``self.keys``)."""
        keys = list(keys)
        declared: dict[str, tuple] = {}
        try:
            for key in keys:
                declared[key] = self._declaration(key)
            total = sum(d[2].itemsize * _count(d[0]) for d in declared.values())
            names = ", ".join(f"{k} {d[0]} {d[2]}" for k, d in declared.items())
            check_declared(str(self.path), f"its arrays ({names})", total, self.max_bytes)
            return {key: self._data(key, *declared[key]) for key in keys}
        except _READ_ERRORS as err:
            raise DataError(f"{self.path}: cannot be read ({type(err).__name__}: {err}); the file is truncated or "
                            "corrupt: save it again") from None

    def _open(self, key: str):
        return open(self.path, "rb") if self._is_npy else self._zip.open(f"{key}.npy")

    def _stored_size(self, key: str) -> int:
        return self.path.stat().st_size if self._is_npy else self._zip.getinfo(f"{key}.npy").file_size

    def _declaration(self, key: str) -> tuple:
        where = f"{self.path}: array {key!r}"
        with self._open(key) as f:
            shape, fortran, dtype, header = _npy_header(f, where)
        nbytes = _count(shape) * dtype.itemsize
        stored = self._stored_size(key)
        if header + nbytes != stored:
            raise DataError(f"{where}: its .npy header declares shape {shape} of {dtype} ({header + nbytes:,} bytes "
                            f"with the header) but the {'file' if self._is_npy else 'zip directory'} says "
                            f"{stored:,} bytes; the file is corrupt or crafted: refused")
        return shape, fortran, dtype, header

    def _data(self, key: str, shape: tuple, fortran: bool, dtype: np.dtype, header: int) -> np.ndarray:
        nbytes = _count(shape) * dtype.itemsize
        raw = np.empty(nbytes, dtype=np.uint8)
        with self._open(key) as f:
            f.read(header)
            got = read_exactly(f, memoryview(raw))
        if got != nbytes:
            raise DataError(f"{self.path}: array {key!r} declares {nbytes:,} bytes but holds {got:,}; the file is "
                            "truncated or corrupt: save it again")
        if dtype.itemsize == 0:
            return np.zeros(shape, dtype=dtype)
        return raw.view(dtype).reshape(shape, order="F" if fortran else "C")


def _count(shape: tuple[int, ...]) -> int:
    n = 1
    for d in shape:
        n *= d
    return n


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
            raise DataError(f"{path}: {key} has NaN or infinite values; images must be finite numbers in [0, 1]")
        lo, hi = float(x.min()), float(x.max())
        if lo < 0 or hi > 1:
            hint = " (it looks like 0..255: divide by 255 or save as uint8)" if hi <= 255 and lo >= 0 else ""
            raise DataError(f"{path}: float {key} must be in [0, 1], got {lo:g}..{hi:g}{hint}")
        flat, out = x.reshape(-1), np.empty(x.shape, dtype=np.uint8)
        out_flat = out.reshape(-1)
        for start in range(0, flat.size, FLOAT_CHUNK):  # float64 temporaries of one chunk at a time
            part = flat[start:start + FLOAT_CHUNK].astype(np.float64) * 255.0
            out_flat[start:start + FLOAT_CHUNK] = np.rint(part)
        return out
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


def _masks(m: np.ndarray, x: torch.Tensor, path: Path, key: str) -> torch.Tensor:
    """uint8 (N, H, W) or (N, 1, H, W) masks matching images x (N, C, H, W) -> (N, 1, H, W)."""
    n, _, h, w = x.shape
    stored = m.shape
    if m.ndim == 3:
        m = m[:, None]
    if m.ndim != 4 or m.shape[1] != 1 or m.shape[0] != n or m.shape[2:] != (h, w):
        raise DataError(f"{path}: {key} has shape {stored}; expected one mask per image, ({n}, {h}, {w}) or "
                        f"({n}, 1, {h}, {w}), for images of shape {tuple(x.shape)}")
    if m.dtype == np.bool_:
        m = m.astype(np.uint8)
    elif m.dtype != np.uint8:
        if not np.issubdtype(m.dtype, np.integer):
            raise DataError(f"{path}: {key} has dtype {m.dtype}; masks are uint8 class indices (or 0/1)")
        if m.size and (int(m.min()) < 0 or int(m.max()) > 255):
            raise DataError(f"{path}: {key} has values {int(m.min())}..{int(m.max())}; masks must be 0..255")
        m = m.astype(np.uint8)
    return torch.from_numpy(np.ascontiguousarray(m))


def _vectors_or_images(a: np.ndarray, key: str, path: Path, layout: Layout, background: str) -> torch.Tensor:
    if a.dtype.kind in "OUSV" or a.dtype.fields is not None:
        raise DataError(f"{path}: {key} has dtype {a.dtype}; expected numbers")
    if a.ndim == 2:  # vectors
        if not np.issubdtype(a.dtype, np.number) and a.dtype != np.bool_:
            raise DataError(f"{path}: {key} has dtype {a.dtype}; expected numbers")
        if np.issubdtype(a.dtype, np.inexact) and not np.isfinite(a).all():
            raise DataError(f"{path}: {key} has NaN or infinite values")
        return torch.from_numpy(a.astype(np.float32))
    return _images(a, layout, background, path, key)


def read_npz_images(
    path: str | Path,
    *,
    layout: Layout = "auto",
    background: str = "white",
    max_bytes: int = DEFAULT_MAX_BYTES,
) -> torch.Tensor:
    """The images of an ``.npz`` (its ``x``, or its only array) or ``.npy``: uint8 (N, C, H, W).

    The same reader and checks as ``npz:PATH`` (sizes before decompression, no pickles, NaN and
    out-of-range values refused, layouts, alpha); every problem is a ``DataError`` naming the file.
    """
    with ArrayFile(path, max_bytes=max_bytes) as f:
        p = f.path
        if "x" in f.keys:
            key = "x"
        elif len(f.keys) == 1:
            key = f.keys[0]
        else:
            raise DataError(f"{p}: an .npz with {len(f.keys)} arrays needs one named 'x'; it has "
                            f"{', '.join(f.keys) or 'none'}")
        a = f.read([key])[key]
    if a.ndim not in (3, 4):
        raise DataError(f"{p}: {key} has shape {a.shape}; expected images (N, H, W), (N, H, W, C) or (N, C, H, W)")
    if a.dtype.kind in "OUSV" or a.dtype.fields is not None:
        raise DataError(f"{p}: {key} has dtype {a.dtype}; expected numbers")
    return _images(a, layout, background, p, key)


KEYS = ("x", "y", "x_test", "y_test", "masks", "masks_test")


def load_npz(
    path: str,
    *,
    test_fraction: float = 0.2,
    seed: int = 0,
    layout: Layout = "auto",
    background: str = "white",
    max_bytes: int = DEFAULT_MAX_BYTES,
) -> tuple[ArrayData, ArrayData, dict]:
    p = Path(path).expanduser()
    name = f"npz:{path}"
    if not p.is_file():
        raise DataError(f"{name}: no such file")
    with ArrayFile(p, max_bytes=max_bytes) as f:
        keys = f.keys
        if "x" not in keys:
            raise DataError(f"{p}: has arrays {keys} but no 'x'; save with np.savez(path, x=images, y=labels)")
        arrays = f.read(k for k in KEYS if k in keys)
    x, xt, y, yt = (arrays.get(k) for k in ("x", "x_test", "y", "y_test"))
    m, mt = arrays.get("masks"), arrays.get("masks_test")
    if (y is None) != (yt is None) and xt is not None:
        raise DataError(f"{p}: has labels for one split only; save both y and y_test, or neither")
    if yt is not None and xt is None:
        raise DataError(f"{p}: has y_test but no x_test")
    if xt is not None and (m is None) != (mt is None):
        raise DataError(f"{p}: has masks for one split only; save both masks and masks_test, or neither")
    if mt is not None and xt is None:
        raise DataError(f"{p}: has masks_test but no x_test")

    tx = _vectors_or_images(x, "x", p, layout, background)
    ttx = _vectors_or_images(xt, "x_test", p, layout, background) if xt is not None else None
    if ttx is not None and ttx.shape[1:] != tx.shape[1:]:
        raise DataError(f"{p}: x examples have shape {tuple(tx.shape[1:])} but x_test {tuple(ttx.shape[1:])}")
    if m is not None and tx.dim() != 4:
        raise DataError(f"{p}: has masks but x holds vectors of shape {tuple(tx.shape[1:])}; masks go with images")
    tm = _masks(m, tx, p, "masks") if m is not None else None
    ttm = _masks(mt, ttx, p, "masks_test") if mt is not None else None
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
    train = ArrayData(name, tx, ty, class_names=class_names, masks=tm)
    if ttx is not None:
        return train, ArrayData(name, ttx, tty, class_names=class_names, masks=ttm), {"split": "files"}
    train_idx, test_idx = seeded_split(len(train), test_fraction, seed)
    return train.subset(train_idx), train.subset(test_idx), {"split": "seeded"}
