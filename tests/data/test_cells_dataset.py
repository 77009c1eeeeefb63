"""The ``cells`` dataset: seeded, with instance masks whose borders are the dark membranes, and
options that change what they say."""

import numpy as np
import pytest
import torch

from generativa.data import DataError, load_data
from generativa.data.cells import BORDER, CELL, semantic_from_instances, touching_pairs


def test_cells_are_seeded_and_carry_instance_masks():
    a = load_data("cells", n=6, n_test=2, seed=1)
    b = load_data("cells", n=6, n_test=2, seed=1)
    assert torch.equal(a.train.x, b.train.x) and torch.equal(a.train.masks, b.train.masks)
    assert not torch.equal(a.train.x, load_data("cells", n=6, n_test=2, seed=2).train.x)
    assert a.train.x.shape == (6, 1, 64, 64) and a.train.masks.shape == (6, 1, 64, 64)
    assert a.test.x.shape == (2, 1, 64, 64) and not torch.equal(a.test.x, a.train.x[:2])
    for m in a.train.masks:  # ids 1..K, each a cell
        ids = torch.unique(m)
        assert ids[0] == 0 and torch.equal(ids[1:], torch.arange(1, len(ids), dtype=torch.uint8))
    assert load_data("cells", n=2, n_test=0, size=96).train.x.shape == (2, 1, 96, 96)


def test_membranes_are_dark_and_cells_light():
    d = load_data("cells", n=20, n_test=0, seed=0).train
    sem = semantic_from_instances(d.masks)
    x = d.x.float()
    inside, border, background = x[sem == CELL].mean(), x[sem == BORDER].mean(), x[sem == 0].mean()
    assert inside > background + 40 and inside > border + 40


def test_density_and_touching_options_do_what_they_say():
    def stats(**o):
        masks = load_data("cells", n=30, n_test=0, seed=0, **o).train.masks
        cells = np.mean([int(m.max()) for m in masks])
        touching = np.mean([len(touching_pairs(m[0])) for m in masks])
        return cells, touching

    sparse_cells, _ = stats(density=5)
    dense_cells, _ = stats(density=25)
    assert dense_cells > 3 * sparse_cells
    _, apart = stats(touching=0.0, density=8)
    _, together = stats(touching=1.0, density=8)
    assert together > 3 * max(apart, 0.5)


def test_bad_options_say_what_is_valid():
    with pytest.raises(DataError, match="touching"):
        load_data("cells", touching=2)
    with pytest.raises(DataError, match="size"):
        load_data("cells", size=8)
