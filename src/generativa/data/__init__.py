"""Datasets: bundled (digits), procedural (shapes, toy1d, toy2d) and read from a user's path.

``load_data(spec, **options)`` turns a data spec (``digits``, ``shapes``, ``toy2d:ring8``,
``idx:PATH``, ``npz:PATH``, ``folder:PATH``, ``cifar10:PATH``) into a ``DataSplits``.
"""

from generativa.data.base import ArrayData, DataSplits
from generativa.data.registry import dataset_table, load_data

__all__ = ["ArrayData", "DataSplits", "load_data", "dataset_table"]
