"""``cifar10:PATH``: CIFAR-10's binary version (Krizhevsky 2009), ``cifar-10-binary.tar.gz`` unpacked.

PATH is the folder ``cifar-10-batches-bin`` (or one containing it) with ``data_batch_1.bin`` ..
``data_batch_5.bin`` (train) and ``test_batch.bin`` (test). Each record is 3073 bytes: the label
(0..9) then 1024 red, 1024 green and 1024 blue bytes, each plane row-major 32x32. Class names
come from ``batches.meta.txt`` when present.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from generativa.data.base import ArrayData
from generativa.data.errors import DataError

RECORD = 1 + 3 * 32 * 32
CLASS_NAMES = ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck")


def read_batch(path: Path) -> tuple[torch.Tensor, torch.Tensor]:
    """One binary batch -> uint8 images (N, 3, 32, 32) and int64 labels (N,)."""
    try:
        data = np.fromfile(path, dtype=np.uint8)
    except OSError as err:
        raise DataError(f"{path}: cannot be read ({err})") from None
    if data.size == 0 or data.size % RECORD:
        raise DataError(f"{path}: {data.size:,} bytes is not a whole number of {RECORD}-byte CIFAR-10 records; "
                        "the file is truncated or not a CIFAR-10 binary batch: unpack cifar-10-binary.tar.gz again")
    records = data.reshape(-1, RECORD)
    labels = records[:, 0].astype(np.int64)
    if labels.max() > 9:
        raise DataError(f"{path}: label {int(labels.max())} is not 0..9; is this CIFAR-100 or another format?")
    x = records[:, 1:].reshape(-1, 3, 32, 32)
    return torch.from_numpy(np.ascontiguousarray(x)), torch.from_numpy(labels)


def _folder(p: Path) -> Path:
    if (p / "cifar-10-batches-bin").is_dir():
        return p / "cifar-10-batches-bin"
    return p


def load_cifar10(path: str) -> tuple[ArrayData, ArrayData, dict]:
    root = Path(path).expanduser()
    name = f"cifar10:{path}"
    if not root.is_dir():
        raise DataError(f"{name}: no such folder; unpack cifar-10-binary.tar.gz and point at cifar-10-batches-bin")
    folder = _folder(root)
    train_files = sorted(folder.glob("data_batch_*.bin"))
    test_file = folder / "test_batch.bin"
    if not train_files or not test_file.is_file():
        if (folder / "data_batch_1").exists() or (folder / "cifar-10-batches-py").exists():
            raise DataError(f"{name}: this is CIFAR-10's Python (pickle) version, which is never unpickled; "
                            "download the binary version cifar-10-binary.tar.gz and unpack it")
        raise DataError(f"{name}: expected data_batch_1.bin .. data_batch_5.bin and test_batch.bin in {folder}")
    parts = [read_batch(f) for f in train_files]
    x = torch.cat([p[0] for p in parts])
    y = torch.cat([p[1] for p in parts])
    xt, yt = read_batch(test_file)
    class_names = CLASS_NAMES
    meta = folder / "batches.meta.txt"
    if meta.is_file():
        names = tuple(line.strip() for line in meta.read_text(errors="replace").splitlines() if line.strip())
        if len(names) == 10:
            class_names = names
    return (ArrayData(name, x, y, class_names=class_names), ArrayData(name, xt, yt, class_names=class_names),
            {"split": "files", "train_batches": len(train_files)})
