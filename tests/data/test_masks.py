"""Per-image masks from an npz: read, checked, carried through splits and subsets, and resized with
the images by nearest neighbour (class indices are never blended)."""

import numpy as np
import pytest
import torch
from PIL import Image, ImageOps

from generativa.data import DataError, load_data
from generativa.data.images import resize_batch, resize_masks

RNG = np.random.default_rng(0)


def _npz(path, n=6, h=12, w=12, **extra):
    x = RNG.integers(0, 256, (n, h, w), dtype=np.uint8)
    masks = RNG.integers(0, 3, (n, h, w), dtype=np.uint8)
    np.savez(path, x=x, masks=masks, y=np.arange(n) % 2, **extra)
    return x, masks


def test_masks_are_read_and_follow_the_split(tmp_path):
    x, masks = _npz(tmp_path / "m.npz")
    s = load_data(f"npz:{tmp_path / 'm.npz'}", test_fraction=0.5, seed=1)
    assert s.train.masks.shape == (3, 1, 12, 12) and s.train.masks.dtype == torch.uint8
    for split in (s.train, s.test):  # each image keeps its own mask
        for image, mask in zip(split.x, split.masks):
            k = int(np.flatnonzero((x == image[0].numpy()).all(axis=(1, 2)))[0])
            assert np.array_equal(mask[0].numpy(), masks[k])


def test_size_resizes_masks_by_nearest_neighbour(tmp_path):
    _, masks = _npz(tmp_path / "m.npz")
    up = load_data(f"npz:{tmp_path / 'm.npz'}", test_fraction=0, size=24)
    assert up.shape == (1, 24, 24) and up.train.masks.shape == (6, 1, 24, 24)
    assert torch.equal(up.train.masks, torch.from_numpy(masks).repeat_interleave(2, 1).repeat_interleave(2, 2)[:, None])
    down = load_data(f"npz:{tmp_path / 'm.npz'}", test_fraction=0, size=6, n=4)
    assert down.train.masks.shape == (4, 1, 6, 6)
    assert set(down.train.masks.unique().tolist()) <= {0, 1, 2}
    kept = [int(np.flatnonzero((masks[:, 1::2, 1::2] == m[0].numpy()).all(axis=(1, 2)))[0])
            for m in down.train.masks]
    assert len(set(kept)) == 4  # each mask is the centre sample of one original mask


def test_non_square_masks_are_cropped_like_the_images(tmp_path):
    _npz(tmp_path / "r.npz", n=3, h=10, w=16)
    s = load_data(f"npz:{tmp_path / 'r.npz'}", test_fraction=0, size=8)
    assert s.train.masks.shape == (3, 1, 8, 8)
    masks = np.load(tmp_path / "r.npz")["masks"]
    expected = np.asarray(ImageOps.fit(Image.fromarray(masks[0]), (8, 8), Image.Resampling.NEAREST))
    first = s.train.x[0]  # the order is kept with test_fraction=0
    assert torch.equal(s.train.masks[0, 0], torch.from_numpy(expected.copy())) and first.shape == (1, 8, 8)


@pytest.mark.parametrize("h, size, block", [(21, 10, 3), (28, 32, 4), (18, 48, 2)])
def test_masks_and_images_stay_aligned_when_resized(h, size, block):
    # Images that are their masks times 255, of blocks of `block` pixels: resized both ways, they
    # agree wherever the resized image is clearly on one side (these sizes catch a half-pixel shift).
    g = torch.Generator().manual_seed(h)
    coarse = (torch.rand(3, 1, h // block, h // block, generator=g) > 0.5).to(torch.uint8)
    masks = coarse.repeat_interleave(block, 2).repeat_interleave(block, 3)
    x = resize_batch(masks * 255, size)
    m = resize_masks(masks, size)
    clear = (x.int() - 128).abs() > 64
    assert m.shape == (3, 1, size, size) and clear.float().mean() > 0.5
    assert torch.equal(m[clear], (x[clear] > 128).to(torch.uint8))


def test_mask_shapes_and_types_are_checked(tmp_path):
    x = np.zeros((4, 8, 8), np.uint8)
    np.savez(tmp_path / "a.npz", x=x, masks=np.zeros((4, 1, 8, 8), bool))
    assert load_data(f"npz:{tmp_path / 'a.npz'}").train.masks.shape[1:] == (1, 8, 8)
    np.savez(tmp_path / "b.npz", x=x, masks=np.zeros((4, 8, 7), np.uint8))
    with pytest.raises(DataError, match=r"masks has shape \(4, 8, 7\); expected one mask per image"):
        load_data(f"npz:{tmp_path / 'b.npz'}")
    np.savez(tmp_path / "c.npz", x=x, masks=np.zeros((4, 8, 8), np.float32))
    with pytest.raises(DataError, match=r"masks has dtype float32"):
        load_data(f"npz:{tmp_path / 'c.npz'}")
    np.savez(tmp_path / "d.npz", x=x, masks=np.zeros((4, 8, 8), np.uint8), x_test=x)
    with pytest.raises(DataError, match=r"masks for one split only"):
        load_data(f"npz:{tmp_path / 'd.npz'}")
    np.savez(tmp_path / "e.npz", x=x, masks=np.full((4, 8, 8), 7, np.int64), x_test=x,
             masks_test=np.ones((4, 8, 8), np.int16))
    s = load_data(f"npz:{tmp_path / 'e.npz'}", size=16)
    assert s.train.masks.unique().tolist() == [7] and s.test.masks.shape == (4, 1, 16, 16)
