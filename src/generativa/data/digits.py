"""scikit-learn's bundled 8x8 handwritten digits (1797 images, grey levels 0..16, labels 0..9)."""

from __future__ import annotations

import numpy as np
import torch

from generativa.data.base import ArrayData, DataSplits, seeded_split


def load_digits(test_fraction: float = 0.2, seed: int = 0) -> DataSplits:
    """Digits as uint8 (N, 1, 8, 8): the 17 grey levels 0..16 mapped to round(v * 255 / 16).

    The split is a fixed seeded permutation (default: 1438 train, 359 test).
    """
    from sklearn.datasets import load_digits as sk_load_digits

    bunch = sk_load_digits()
    levels = np.rint(bunch.images * (255.0 / 16.0)).astype(np.uint8)  # (N, 8, 8)
    x = torch.from_numpy(levels).unsqueeze(1).contiguous()
    y = torch.from_numpy(bunch.target.astype(np.int64))
    names = tuple(str(i) for i in range(10))
    full = ArrayData("digits", x, y, class_names=names,
                     description="scikit-learn 8x8 handwritten digits, 17 grey levels")
    train_idx, test_idx = seeded_split(len(full), test_fraction, seed)
    return DataSplits(full.subset(train_idx), full.subset(test_idx), "digits",
                      {"test_fraction": test_fraction, "seed": seed})
