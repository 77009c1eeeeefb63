"""How much a compressed file may expand to, checked before anything is decompressed.

A small compressed file can declare, and expand to, far more than memory holds (a 1.9 MB gzip of
zeros is 4 GB once inflated). The readers of compressed formats (IDX ``.gz``, ``.npz``) therefore
read the size a file *declares* (IDX header dimensions; the zip directory and each ``.npy``
header) first, refuse it above ``max_bytes``, then decompress in bounded pieces and refuse a
stream that yields more or less than declared.

``DEFAULT_MAX_BYTES`` is 2 GiB: the loaders may hold a file's arrays twice for a moment (the raw
array and its uint8 or float32 conversion), and the trainer keeps a third copy on the device, so
2 GiB of decompressed data stays well inside the memory of a 16-24 GB laptop, while every dataset
these readers were made for is far below it (MNIST 55 MB, Fashion-MNIST 55 MB, CIFAR-10 as npz
184 MB, 100,000 RGB images of 64x64 1.2 GB). Raise it with the data option ``max_bytes``.
"""

from __future__ import annotations

from typing import BinaryIO

from generativa.data.errors import DataError

DEFAULT_MAX_BYTES = 2 * 2**30  # 2 GiB, see the module docstring
CHUNK = 1 << 20  # bytes decompressed per read


def check_declared(where: str, what: str, declared: int, max_bytes: int) -> None:
    """Refuse a declared decompressed size above ``max_bytes`` before decompressing anything."""
    if declared > max_bytes:
        raise DataError(f"{where}: {what} declares {declared:,} bytes ({declared / 2**30:.2f} GiB) once "
                        f"decompressed, more than max_bytes={max_bytes:,} ({max_bytes / 2**30:.2f} GiB); refused "
                        "before decompressing (it may be a decompression bomb). If the file is genuine, raise the "
                        "limit: data.max_bytes=N on the command line, max_bytes=N in load_data")


def read_exactly(f: BinaryIO, out: memoryview) -> int:
    """Fill ``out`` from ``f`` in pieces of at most CHUNK bytes; return how many bytes came (fewer at EOF)."""
    got = 0
    n = len(out)
    while got < n:
        k = f.readinto(out[got:min(n, got + CHUNK)])
        if not k:
            break
        got += k
    return got
