"""shapes: deterministic rendering, factor ranges and grid, geometry, sampling with weights."""

import json
import math

import pytest
import torch

from generativa.data import DataError, load_data
from generativa.data import shapes as S


def _factors(rows):
    return torch.tensor(rows, dtype=torch.long)


def test_grid_constants():
    assert S.FACTOR_NAMES == ("shape", "scale", "orientation", "pos_x", "pos_y")
    assert S.FACTOR_SIZES == (3, 6, 40, 32, 32)
    assert S.NUM_COMBINATIONS == 737_280


def test_flat_index_round_trip_covers_the_grid():
    index = torch.tensor([0, 1, 31, 32, 12345, S.NUM_COMBINATIONS - 1])
    f = S.factors_from_flat(index)
    assert torch.equal(S.flat_index(f), index)
    assert f[-1].tolist() == [2, 5, 39, 31, 31]
    assert f[1].tolist() == [0, 0, 0, 0, 1]  # pos_y is the fastest-changing factor
    with pytest.raises(DataError):
        S.factors_from_flat(torch.tensor([S.NUM_COMBINATIONS]))


def test_same_factors_give_the_same_pixels_in_any_batch():
    g = torch.Generator().manual_seed(1)
    f = S.sample_factors(300, generator=g)
    a = S.render_shapes(f, size=24)
    b = S.render_shapes(f, size=24)
    perm = torch.randperm(300, generator=g)
    c = S.render_shapes(f[perm], size=24, chunk=7)
    assert a.dtype == torch.uint8 and a.shape == (300, 1, 24, 24)
    assert torch.equal(a, b)
    assert torch.equal(a[perm], c)


def test_factor_values_ranges():
    f = S.factors_from_flat(torch.arange(0, S.NUM_COMBINATIONS, 997))
    v = S.factor_values(f)
    assert set(v[:, 0].tolist()) == {0.0, 1.0, 2.0}
    assert v[:, 1].min() == 0.5 and v[:, 1].max() == 1.0
    assert v[:, 2].min() == 0.0 and v[:, 2].max() == pytest.approx(2 * math.pi)
    for k in (3, 4):
        assert v[:, k].min() == 0.0 and v[:, k].max() == 1.0


@pytest.mark.parametrize("shape, area", [
    (0, 4.0),                                       # square of half side 1
    (1, math.pi * S.ELLIPSE_MINOR),                 # ellipse, semi-axes 1 and ELLIPSE_MINOR
    (2, S.HEART_H ** 2 * (2 + math.pi / 2)),        # diamond 2h^2 plus two half discs of radius h/sqrt2
])
def test_sprite_area_matches_its_geometry_at_any_orientation(shape, area):
    size = 48
    half_px = S.HALF_SIZE * size  # sprite units -> pixels at scale 1
    f = _factors([[shape, 5, o, 16, 16] for o in (0, 7, 13, 30)])
    x = S.render_shapes(f, size=size).float() / 255
    expected = area * half_px ** 2
    for img in x:
        assert img.sum().item() == pytest.approx(expected, rel=0.03)
    small = S.render_shapes(_factors([[shape, 0, 0, 16, 16]]), size=size).float().sum() / 255
    assert small.item() == pytest.approx(expected / 4, rel=0.05)  # scale 0.5 -> a quarter of the area


def _centre_of_mass(img):
    h, w = img.shape[-2:]
    rows = torch.arange(h, dtype=torch.float32).view(h, 1)
    cols = torch.arange(w, dtype=torch.float32).view(1, w)
    m = img.sum()
    return ((img * cols).sum() / m).item(), ((img * rows).sum() / m).item()


def test_position_moves_the_sprite_right_and_down():
    size = 32
    x = S.render_shapes(_factors([[0, 2, 0, 0, 0], [0, 2, 0, 31, 0], [0, 2, 0, 0, 31]]), size=size).float()[:, 0]
    (c0, r0), (c1, r1), (c2, r2) = (_centre_of_mass(i) for i in x)
    travel = (1 - 2 * S.MARGIN) * size
    assert c1 - c0 == pytest.approx(travel, abs=0.3) and r1 == pytest.approx(r0, abs=0.3)
    assert r2 - r0 == pytest.approx(travel, abs=0.3) and c2 == pytest.approx(c0, abs=0.3)
    assert c0 == pytest.approx(S.MARGIN * size - 0.5, abs=0.3)


def test_sprites_stay_inside_the_frame():
    # A sprite in a corner keeps all its ink: nothing is cut off by the image border.
    corners = [[shape, 5, o, px, py] for shape in range(3) for o in (0, 5, 10)
               for px, py in ((0, 0), (31, 31), (0, 31), (31, 0))]
    centred = [[shape, 5, o, 16, 16] for shape, _, o, _, _ in corners]
    area = S.render_shapes(_factors(corners), size=32).float().sum(dim=(1, 2, 3))
    reference = S.render_shapes(_factors(centred), size=32).float().sum(dim=(1, 2, 3))
    assert torch.allclose(area, reference, rtol=0.01)


def test_orientation_turns_counter_clockwise_on_screen():
    # An ellipse turned by ~46 degrees counter-clockwise runs from lower left to upper right:
    # column grows as row shrinks, so the pixel covariance of (column, row) is negative.
    img = S.render_shapes(_factors([[1, 5, 5, 16, 16]]), size=48).float()[0, 0]
    c, r = _centre_of_mass(img)
    rows = torch.arange(48.0).view(48, 1) - r
    cols = torch.arange(48.0).view(1, 48) - c
    assert (img * rows * cols).sum() < 0
    upright = S.render_shapes(_factors([[1, 5, 0, 16, 16]]), size=48).float()[0, 0]
    assert (upright.sum(0) > 0).sum() > 2 * (upright.sum(1) > 0).sum() - 4  # wide, not tall


def test_heart_points_down_at_orientation_zero():
    img = S.render_shapes(_factors([[2, 5, 0, 16, 16]]), size=64).float()[0, 0]
    rows_with_ink = (img.sum(1) > 0).nonzero().flatten()
    top, bottom = rows_with_ink.min(), rows_with_ink.max()
    _, r = _centre_of_mass(img)
    assert r < (top + bottom) / 2  # the mass is in the lobes, above the middle
    assert (img[top + 2] > 0).sum() > (img[bottom - 2] > 0).sum()  # wide at the top, a point at the bottom


@pytest.mark.parametrize("size", [15, 65, 32.0, "big"])
def test_size_outside_16_to_64_is_an_error(size):
    with pytest.raises(DataError, match="16 to 64"):
        S.render_shapes(_factors([[0, 0, 0, 0, 0]]), size=size)


def test_sizes_at_the_limits_render():
    f = _factors([[2, 3, 4, 5, 6]])
    assert S.render_shapes(f, size=16).shape == (1, 1, 16, 16)
    assert S.render_shapes(f, size=64).shape == (1, 1, 64, 64)


def test_bad_factors_are_errors():
    with pytest.raises(DataError, match="orientation"):
        S.render_shapes(_factors([[0, 0, 40, 0, 0]]))
    with pytest.raises(DataError, match="integer"):
        S.render_shapes(torch.zeros(2, 5))
    with pytest.raises(DataError, match=r"\(N, 5\)"):
        S.render_shapes(torch.zeros(2, 4, dtype=torch.long))


def test_sample_factors_fixed_and_weighted():
    g = torch.Generator().manual_seed(0)
    w = torch.zeros(32)
    w[:4] = 1.0
    f = S.sample_factors(2000, generator=g, fixed={"shape": 2}, weights={"pos_x": w})
    assert (f[:, 0] == 2).all()
    assert f[:, 3].max() <= 3 and len(f[:, 3].unique()) == 4
    assert len(f[:, 2].unique()) == 40  # others stay uniform over their whole range
    with pytest.raises(DataError, match="32"):
        S.sample_factors(5, weights={"pos_x": [1.0, 2.0]})
    with pytest.raises(DataError, match="unknown shapes factor"):
        S.sample_factors(5, fixed={"colour": 1})


def test_load_shapes_splits_are_disjoint_and_labelled():
    s = load_data("shapes", n=500, n_test=100, size=16, seed=3)
    assert len(s.train) == 500 and len(s.test) == 100
    assert s.shape == (1, 16, 16) and s.train.x.dtype == torch.uint8
    assert s.train.factors.dtype == torch.long and s.train.factor_names == S.FACTOR_NAMES
    assert s.train.factor_sizes == S.FACTOR_SIZES
    assert torch.equal(s.train.labels, s.train.factors[:, 0])
    assert s.train.class_names == ("square", "ellipse", "heart") and s.num_classes == 3
    train_ids = set(S.flat_index(s.train.factors).tolist())
    test_ids = set(S.flat_index(s.test.factors).tolist())
    assert len(train_ids) == 500 and not train_ids & test_ids
    assert torch.equal(S.render_shapes(s.test.factors, size=16), s.test.x)
    again = load_data("shapes", n=500, n_test=100, size=16, seed=3)
    assert again.content_hash() == s.content_hash()
    other = load_data("shapes", n=500, n_test=100, size=16, seed=4)
    assert other.content_hash() != s.content_hash()


def test_factor_weights_skew_the_training_split_only():
    w = [1.0] * 8 + [0.0] * 24
    s = load_data("shapes", n=400, n_test=400, size=16, factor_weights=json.dumps({"pos_x": w}))
    assert s.train.factors[:, 3].max() <= 7
    assert s.test.factors[:, 3].max() >= 24  # the test split stays uniform
    assert s.options["factor_weights"] == {"pos_x": w}
    rebuilt = load_data(s.spec, **s.options)
    assert rebuilt.content_hash() == s.content_hash()
