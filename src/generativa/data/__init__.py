"""Datasets: bundled (digits), procedural (shapes, faces, toy1d, toy2d), downloaded once and
checked (mnist, fashion_mnist), and read from a user's path.

``load_data(spec, **options)`` turns a data spec (``digits``, ``shapes``, ``faces``, ``mnist``,
``toy2d:ring8``, ``idx:PATH``, ``npz:PATH``, ``folder:PATH``, ``cifar10:PATH``) into a
``DataSplits``; every problem with a spec, an option or a file raises ``DataError`` (a
``ValueError``). See docs/data.md.
"""

from generativa.data.base import ArrayData, DataSplits
from generativa.data.errors import DataError
from generativa.data.registry import dataset_options, dataset_table, load_data

__all__ = ["ArrayData", "DataSplits", "DataError", "load_data", "dataset_table", "dataset_options"]
