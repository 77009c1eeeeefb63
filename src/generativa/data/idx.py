"""``idx:PATH``: IDX files, the format of MNIST, Fashion-MNIST and KMNIST (LeCun et al. 1998).

An IDX file is: two zero bytes, a type byte (0x08 = uint8), the number of dimensions, each
dimension as a big-endian int32, then the data in C order. Images are (N, H, W), labels (N,).

PATH is either a folder holding ``train-images-idx3-ubyte`` and ``train-labels-idx1-ubyte`` (and
``t10k-images-idx3-ubyte``, ``t10k-labels-idx1-ubyte`` for the test split), each optionally
gzipped (``.gz``) and with ``.`` or ``-`` before ``idx`` as distributions spell them; or one image
file, split into train and test by a seeded permutation (labels are read from the matching
``*labels*`` file beside it when there is one).
"""

from __future__ import annotations

import gzip
import re
import zlib
from pathlib import Path

import numpy as np
import torch

from generativa.data.base import ArrayData, seeded_split
from generativa.data.errors import DataError

_TYPES = {0x08: np.uint8, 0x09: np.int8, 0x0B: np.dtype(">i2"), 0x0C: np.dtype(">i4"),
          0x0D: np.dtype(">f4"), 0x0E: np.dtype(">f8")}


def _read_bytes(path: Path) -> bytes:
    try:
        if path.name.endswith(".gz"):
            with gzip.open(path, "rb") as f:
                return f.read()
        return path.read_bytes()
    except (OSError, EOFError, zlib.error) as err:
        raise DataError(f"{path}: cannot be read ({err}); the file is corrupt or truncated: download it again") from None


def read_idx(path: Path, ndim: int | None = None) -> np.ndarray:
    """Read one IDX file, checking its magic number and that its size matches its header."""
    path = Path(path)
    data = _read_bytes(path)
    if len(data) < 4 or data[0] != 0 or data[1] != 0 or data[2] not in _TYPES:
        magic = data[:4].hex() if len(data) >= 4 else "(file shorter than 4 bytes)"
        raise DataError(f"{path}: not an IDX file (magic number {magic}; expected 0000 then a type byte "
                        "08/09/0b/0c/0d/0e and the number of dimensions). If it is gzipped, name it *.gz")
    dtype, nd = np.dtype(_TYPES[data[2]]), data[3]
    if ndim is not None and nd != ndim:
        raise DataError(f"{path}: IDX file has {nd} dimensions, expected {ndim} "
                        f"({'images (N, H, W)' if ndim == 3 else 'labels (N,)'}); is it the right file?")
    header = 4 + 4 * nd
    if len(data) < header:
        raise DataError(f"{path}: IDX header is truncated ({len(data)} bytes)")
    dims = tuple(int(d) for d in np.frombuffer(data, dtype=">u4", count=nd, offset=4))
    expected = header + int(np.prod(dims, dtype=np.int64)) * dtype.itemsize
    if len(data) != expected:
        raise DataError(f"{path}: IDX header says shape {dims} ({expected:,} bytes with the header) but the "
                        f"file has {len(data):,} bytes; it is truncated or corrupt: download it again")
    return np.frombuffer(data, dtype=dtype, offset=header).reshape(dims)


def _find(folder: Path, prefix: str, kind: str) -> Path | None:
    """train-images-idx3-ubyte, train-images.idx3-ubyte, with or without .gz."""
    rank = "3" if kind == "images" else "1"
    pattern = re.compile(rf"^{prefix}-{kind}[.-]idx{rank}-ubyte(\.gz)?$")
    hits = sorted(p for p in folder.iterdir() if pattern.match(p.name))
    return hits[0] if hits else None


def _images(path: Path) -> torch.Tensor:
    a = read_idx(path, ndim=3)
    if a.dtype != np.uint8:
        raise DataError(f"{path}: IDX images must be unsigned bytes (type 0x08), got {a.dtype}")
    return torch.from_numpy(a.copy()).unsqueeze(1)  # (N, 1, H, W)


def _labels(path: Path, n: int, images: Path) -> torch.Tensor:
    y = read_idx(path, ndim=1)
    if len(y) != n:
        raise DataError(f"{path}: {len(y)} labels for {n} images in {images.name}; the files do not belong together")
    return torch.from_numpy(y.astype(np.int64))


def load_idx(path: str, *, test_fraction: float = 0.2, seed: int = 0) -> tuple[ArrayData, ArrayData, dict]:
    """(train, test, notes) from an IDX folder or a single IDX image file."""
    p = Path(path).expanduser()
    if not p.exists():
        raise DataError(f"idx:{path}: no such file or folder")
    name = f"idx:{path}"
    if p.is_dir():
        train_images = _find(p, "train", "images")
        if train_images is None:
            found = ", ".join(sorted(q.name for q in p.iterdir())[:10]) or "nothing"
            raise DataError(f"{name}: no train-images-idx3-ubyte[.gz] in {p} (found: {found}); point at the "
                            "folder with the MNIST-style files or at one image file")
        x = _images(train_images)
        labels_path = _find(p, "train", "labels")
        y = _labels(labels_path, len(x), train_images) if labels_path else None
        test_images = _find(p, "t10k", "images")
        if test_images is not None:
            xt = _images(test_images)
            test_labels = _find(p, "t10k", "labels")
            yt = _labels(test_labels, len(xt), test_images) if test_labels else None
            if (y is None) != (yt is None):
                raise DataError(f"{name}: labels for one split only; add the missing *-labels-idx1-ubyte file")
            if xt.shape[1:] != x.shape[1:]:
                raise DataError(f"{name}: train images are {tuple(x.shape[2:])} but test images "
                                f"{tuple(xt.shape[2:])}")
            return (ArrayData(name, x, y), ArrayData(name, xt, yt), {"split": "files"})
        full = ArrayData(name, x, y)
    else:
        x = _images(p)
        y = None
        sibling = p.with_name(p.name.replace("images", "labels").replace("idx3", "idx1"))
        if "images" in p.name and sibling.exists():
            y = _labels(sibling, len(x), p)
        full = ArrayData(name, x, y)
    train_idx, test_idx = seeded_split(len(full), test_fraction, seed)
    return full.subset(train_idx), full.subset(test_idx), {"split": "seeded"}


def idx_file_bytes(array: np.ndarray) -> bytes:
    """Encode a uint8 array as IDX bytes (for tests and for exporting)."""
    a = np.ascontiguousarray(array, dtype=np.uint8)
    header = bytes([0, 0, 0x08, a.ndim]) + np.asarray(a.shape, dtype=">u4").tobytes()
    return header + a.tobytes()
