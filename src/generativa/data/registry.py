"""Data specs -> datasets. (Provisional: digits only; the other sources are added next.)"""

from __future__ import annotations

from generativa.data.base import DataSplits


def load_data(spec: str, **options) -> DataSplits:
    name, _, arg = spec.partition(":")
    if name == "digits":
        from generativa.data.digits import load_digits

        return load_digits(**options)
    raise ValueError(f"unknown data spec {spec!r}")


def dataset_table() -> list[tuple[str, str]]:
    return [("digits", "scikit-learn 8x8 handwritten digits (1797, 1x8x8, labels 0-9)")]
