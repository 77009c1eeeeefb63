"""Properties over generated inputs: IDX round trips and any truncation is caught; factor grids invert."""

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from generativa.data import DataError
from generativa.data.idx import idx_file_bytes, read_idx
from generativa.data.shapes import FACTOR_SIZES, factors_from_flat, flat_index

SETTINGS = settings(max_examples=25, deadline=None)
shapes3 = st.tuples(st.integers(0, 5), st.integers(1, 6), st.integers(1, 6))


@SETTINGS
@given(shape=shapes3, seed=st.integers(0, 2**31 - 1))
def test_idx_round_trip(tmp_path_factory, shape, seed):
    a = np.random.default_rng(seed).integers(0, 256, shape, dtype=np.uint8)
    p = tmp_path_factory.mktemp("idx") / "x-idx3-ubyte"
    p.write_bytes(idx_file_bytes(a))
    assert np.array_equal(read_idx(p, ndim=3), a)


@SETTINGS
@given(shape=shapes3, cut=st.integers(1, 400))
def test_idx_any_truncation_is_an_error(tmp_path_factory, shape, cut):
    data = idx_file_bytes(np.zeros(shape, np.uint8))
    cut = min(cut, len(data))
    p = tmp_path_factory.mktemp("idx") / "cut-idx3-ubyte"
    p.write_bytes(data[:-cut])
    with pytest.raises(DataError, match="cut-idx3-ubyte"):
        read_idx(p, ndim=3)


@SETTINGS
@given(st.lists(st.tuples(*(st.integers(0, s - 1) for s in FACTOR_SIZES)), min_size=1, max_size=20))
def test_flat_index_inverts(rows):
    f = torch.tensor(rows, dtype=torch.long)
    assert torch.equal(factors_from_flat(flat_index(f)), f)
