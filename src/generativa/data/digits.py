"""scikit-learn's bundled 8x8 handwritten digits (1797 images, grey levels 0..16, labels 0..9).

The file scikit-learn ships (``sklearn/datasets/data/digits.csv.gz``: 64 pixel values and the label
per row) is read directly, which spares the ~1 s import of ``sklearn.datasets`` in every command
that trains on digits; ``sklearn.datasets.load_digits`` reads the same file and is the fallback
where the file is not found (a test checks that both give the same arrays).
"""

from __future__ import annotations

import numpy as np
import torch

from generativa.data.base import ArrayData, DataSplits, seeded_split


def load_digits(test_fraction: float = 0.2, seed: int = 0) -> DataSplits:
    """Digits as uint8 (N, 1, 8, 8): the 17 grey levels 0..16 mapped to round(v * 255 / 16).

    The split is a fixed seeded permutation (default: 1438 train, 359 test).
    """
    images, target = digits_arrays()
    levels = np.rint(images * (255.0 / 16.0)).astype(np.uint8)  # (N, 8, 8)
    x = torch.from_numpy(levels).unsqueeze(1).contiguous()
    y = torch.from_numpy(target.astype(np.int64))
    names = tuple(str(i) for i in range(10))
    full = ArrayData("digits", x, y, class_names=names,
                     description="scikit-learn 8x8 handwritten digits, 17 grey levels")
    train_idx, test_idx = seeded_split(len(full), test_fraction, seed)
    return DataSplits(full.subset(train_idx), full.subset(test_idx), "digits",
                      {"test_fraction": test_fraction, "seed": seed})


def digits_arrays() -> tuple[np.ndarray, np.ndarray]:
    """(images (1797, 8, 8) float grey levels 0..16, labels (1797,)) as scikit-learn ships them."""
    import importlib.util
    from pathlib import Path

    spec = importlib.util.find_spec("sklearn")
    path = Path(spec.origin).parent / "datasets" / "data" / "digits.csv.gz" if spec and spec.origin else None
    if path is not None and path.is_file():
        table = np.loadtxt(path, delimiter=",")  # (N, 65): 64 pixels then the label
        return table[:, :-1].reshape(-1, 8, 8), table[:, -1].astype(np.int64)
    from sklearn.datasets import load_digits as sk_load_digits

    bunch = sk_load_digits()
    return bunch.images, bunch.target
