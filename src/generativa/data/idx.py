"""``idx:PATH``: IDX files, the format of MNIST, Fashion-MNIST and KMNIST (LeCun et al. 1998).

An IDX file is: two zero bytes, a type byte (0x08 = uint8), the number of dimensions, each
dimension as a big-endian int32, then the data in C order. Images are (N, H, W), labels (N,).

PATH is either a folder holding ``train-images-idx3-ubyte`` and ``train-labels-idx1-ubyte`` (and
``t10k-images-idx3-ubyte``, ``t10k-labels-idx1-ubyte`` for the test split), each optionally
gzipped (``.gz``) and with ``.`` or ``-`` before ``idx`` as distributions spell them; or one image
file, split into train and test by a seeded permutation (labels are read from the matching
``*labels*`` file beside it when there is one).

Each file's data may be at most ``max_bytes`` (default 2 GiB, ``limits.DEFAULT_MAX_BYTES``): the
size the header declares is checked before any data is read or decompressed.
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
from generativa.data.limits import DEFAULT_MAX_BYTES, check_declared, read_exactly

_TYPES = {0x08: np.uint8, 0x09: np.int8, 0x0B: np.dtype(">i2"), 0x0C: np.dtype(">i4"),
          0x0D: np.dtype(">f4"), 0x0E: np.dtype(">f8")}


def _open(path: Path):
    return gzip.open(path, "rb") if path.name.endswith(".gz") else open(path, "rb")


def read_idx(path: Path, ndim: int | None = None, *, max_bytes: int = DEFAULT_MAX_BYTES) -> np.ndarray:
    """Read one IDX file, checking its magic number and that its size matches its header.

    A gzipped file is never inflated blindly: the header is decompressed first, the data size it
    declares (product of the dimensions times the item size) is refused above ``max_bytes``, then
    exactly that many bytes are decompressed in bounded pieces, and a stream that ends early or
    runs on past them is refused (``limits``).
    """
    path = Path(path)
    gz = path.name.endswith(".gz")
    try:
        with _open(path) as f:
            magic = f.read(4)
            if len(magic) < 4 or magic[0] != 0 or magic[1] != 0 or magic[2] not in _TYPES:
                found = magic.hex() if len(magic) >= 4 else "(file shorter than 4 bytes)"
                raise DataError(f"{path}: not an IDX file (magic number {found}; expected 0000 then a type byte "
                                "08/09/0b/0c/0d/0e and the number of dimensions). If it is gzipped, name it *.gz")
            dtype, nd = np.dtype(_TYPES[magic[2]]), magic[3]
            if ndim is not None and nd != ndim:
                raise DataError(f"{path}: IDX file has {nd} dimensions, expected {ndim} "
                                f"({'images (N, H, W)' if ndim == 3 else 'labels (N,)'}); is it the right file?")
            raw_dims = f.read(4 * nd)
            if len(raw_dims) < 4 * nd:
                raise DataError(f"{path}: IDX header is truncated ({4 + len(raw_dims)} bytes of {4 + 4 * nd}); "
                                "download the file again")
            dims = tuple(int(d) for d in np.frombuffer(raw_dims, dtype=">u4"))
            header = 4 + 4 * nd
            declared = int(np.prod(dims, dtype=object)) * dtype.itemsize  # Python ints: no overflow
            expected = header + declared
            if not gz:
                size = path.stat().st_size
                if size != expected:
                    raise DataError(f"{path}: IDX header says shape {dims} ({expected:,} bytes with the header) but "
                                    f"the file has {size:,} bytes; it is truncated or corrupt: download it again")
            check_declared(str(path), f"its IDX header (shape {dims})", declared, max_bytes)
            data = np.empty(declared, dtype=np.uint8)
            got = read_exactly(f, memoryview(data))
            more = f.read(1) if got == declared else b""
    except (OSError, EOFError, zlib.error) as err:
        raise DataError(f"{path}: cannot be read ({err}); the file is corrupt or truncated: download it again") from None
    if got != declared or more:
        actual = f"{header + got:,} bytes" if not more else f"more than {expected:,} bytes"
        raise DataError(f"{path}: IDX header says shape {dims} ({expected:,} bytes with the header) but the "
                        f"{'decompressed ' if gz else ''}file has {actual}; it is truncated or corrupt: "
                        "download it again")
    return data.view(dtype).reshape(dims)


def _find(folder: Path, prefix: str, kind: str) -> Path | None:
    """train-images-idx3-ubyte, train-images.idx3-ubyte, with or without .gz."""
    rank = "3" if kind == "images" else "1"
    pattern = re.compile(rf"^{prefix}-{kind}[.-]idx{rank}-ubyte(\.gz)?$")
    hits = sorted(p for p in folder.iterdir() if pattern.match(p.name))
    return hits[0] if hits else None


def _images(path: Path, max_bytes: int) -> torch.Tensor:
    a = read_idx(path, ndim=3, max_bytes=max_bytes)
    if a.dtype != np.uint8:
        raise DataError(f"{path}: IDX images must be unsigned bytes (type 0x08), got {a.dtype}")
    return torch.from_numpy(a).unsqueeze(1)  # (N, 1, H, W); read_idx's buffer is ours, no copy


def _labels(path: Path, n: int, images: Path, max_bytes: int) -> torch.Tensor:
    y = read_idx(path, ndim=1, max_bytes=max_bytes)
    if len(y) != n:
        raise DataError(f"{path}: {len(y)} labels for {n} images in {images.name}; the files do not belong together")
    return torch.from_numpy(y.astype(np.int64))


def load_idx(path: str, *, test_fraction: float = 0.2, seed: int = 0, max_bytes: int = DEFAULT_MAX_BYTES
             ) -> tuple[ArrayData, ArrayData, dict]:
    """(train, test, notes) from an IDX folder or a single IDX image file; ``max_bytes`` bounds each file."""
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
        x = _images(train_images, max_bytes)
        labels_path = _find(p, "train", "labels")
        y = _labels(labels_path, len(x), train_images, max_bytes) if labels_path else None
        test_images = _find(p, "t10k", "images")
        if test_images is not None:
            xt = _images(test_images, max_bytes)
            test_labels = _find(p, "t10k", "labels")
            yt = _labels(test_labels, len(xt), test_images, max_bytes) if test_labels else None
            if (y is None) != (yt is None):
                raise DataError(f"{name}: labels for one split only; add the missing *-labels-idx1-ubyte file")
            if xt.shape[1:] != x.shape[1:]:
                raise DataError(f"{name}: train images are {tuple(x.shape[2:])} but test images "
                                f"{tuple(xt.shape[2:])}")
            return (ArrayData(name, x, y), ArrayData(name, xt, yt), {"split": "files"})
        full = ArrayData(name, x, y)
    else:
        x = _images(p, max_bytes)
        y = None
        sibling = p.with_name(p.name.replace("images", "labels").replace("idx3", "idx1"))
        if "images" in p.name and sibling.exists():
            y = _labels(sibling, len(x), p, max_bytes)
        full = ArrayData(name, x, y)
    train_idx, test_idx = seeded_split(len(full), test_fraction, seed)
    return full.subset(train_idx), full.subset(test_idx), {"split": "seeded"}


def idx_file_bytes(array: np.ndarray) -> bytes:
    """Encode a uint8 array as IDX bytes (for tests and for exporting)."""
    a = np.ascontiguousarray(array, dtype=np.uint8)
    header = bytes([0, 0, 0x08, a.ndim]) + np.asarray(a.shape, dtype=">u4").tobytes()
    return header + a.tobytes()
