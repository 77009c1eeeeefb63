"""The one error type of the data package.

``DataError`` is a ``ValueError`` so callers that already catch ``ValueError`` keep working. Its
message names the spec or file, what was found, what was expected, and what to do about it.
"""

from __future__ import annotations


class DataError(ValueError):
    """A data spec, option or file that cannot be turned into a dataset."""
