"""U-Net segmentation: the paper's sizes, overlap-tile equal to one pass, the weight map against brute
force distances, the metrics against brute force, and the joint augmentation keeping image, masks and
weights aligned."""

import itertools
import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from generativa.data.cells import semantic_from_instances as data_semantic
from generativa.evaluation.segmentation import confusion, iou_dice, rand_error, separated_pairs
from generativa.models.base import Batch
from generativa.models.vision.segmentation import (
    augment_jointly,
    border_term,
    class_balance,
    instances_from_semantic,
    semantic_from_instances,
    weight_map,
)
from generativa.models.vision.unet import UNet, UNetConfig, UNetNetwork, mirror_pad


def _two_cells() -> np.ndarray:
    m = np.zeros((10, 12), np.uint8)
    m[2:6, 1:5] = 1
    m[3:8, 6:10] = 2  # one column of background between them
    m[9, 11] = 0
    return m


# -- sizes ----------------------------------------------------------------------------------------
def test_unpadded_network_maps_572_to_388_as_in_the_paper():
    net = UNetNetwork(1, 2, depth=5, width=1, padding="none")
    assert net.output_size(572) == 388 and net.output_size(573) is None
    with torch.no_grad():
        assert net(torch.rand(1, 1, 572, 572)).shape == (1, 2, 388, 388)


def test_mirror_pad_reflects_by_any_amount():
    x = torch.arange(12.0).view(1, 1, 3, 4)
    assert torch.equal(mirror_pad(x, 1, 2, 2, 1), F.pad(x, (2, 1, 1, 2), mode="reflect"))
    wide = mirror_pad(x, 7, 5, 9, 6)  # wider than the image: keeps reflecting, as numpy's 'reflect'
    assert np.array_equal(wide[0, 0].numpy(), np.pad(x[0, 0].numpy(), ((7, 5), (9, 6)), mode="reflect"))


def test_overlap_tile_equals_one_pass_over_the_mirrored_image():
    torch.manual_seed(0)
    whole = UNet(UNetConfig(data_shape=(1, 8, 8), depth=2, width=3, padding="none", norm="none")).eval()
    tiled = UNet(UNetConfig(data_shape=(1, 8, 8), depth=2, width=3, padding="none", norm="none", tile=6)).eval()
    tiled.load_state_dict(whole.state_dict())
    x = torch.rand(2, 1, 21, 17)
    with torch.no_grad():
        a, b = whole.logits(x), tiled.logits(x)
    assert a.shape == (2, 3, 21, 17)
    torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-5)
    # and each pixel sees the image mirrored at the border: the input padded by hand gives the same
    m = (whole.input_size_for(21) - whole.network.output_size(whole.input_size_for(21))) // 2
    assert m == 8  # depth 2: 4 pixels lost above the pooling, 2 * 4 below it, 4 after: 16 in all
    with torch.no_grad():
        direct = whole.network(mirror_pad(x, m, m + 1, m, m + 1))[..., :21, :17]  # 22x18 outputs, cropped
    torch.testing.assert_close(a, direct, rtol=1e-5, atol=1e-5)


def test_padded_convolutions_fit_any_size_or_say_which_sizes_fit():
    for padding in ("zeros", "reflect", "circular"):
        model = UNet(UNetConfig(data_shape=(1, 16, 16), depth=3, width=2, padding=padding)).eval()
        assert model.predict(torch.rand(2, 1, 30, 13)).shape == (2, 30, 13)
    strict = UNet(UNetConfig(data_shape=(1, 16, 16), depth=3, width=2, fit="error")).eval()
    assert strict.predict(torch.rand(1, 1, 16, 20)).shape == (1, 16, 20)
    with pytest.raises(ValueError, match="multiples of 4, got 30x13.*e.g. to 28 or 32.*fit=pad"):
        strict.predict(torch.rand(1, 1, 30, 13))
    with pytest.raises(ValueError, match="expects images \\(B, 1, H, W\\)"):
        strict.predict(torch.rand(1, 3, 16, 16))


# -- weight map ---------------------------------------------------------------------------------
def test_weight_map_matches_brute_force_distances():
    m = _two_cells()
    sem = data_semantic(torch.from_numpy(m)).numpy()
    w0, sigma = 10.0, 2.0
    w = weight_map(sem, m, classes=3, w0=w0, sigma=sigma)
    cells = {k: np.argwhere(m == k) for k in (1, 2)}
    for y, x in itertools.product(range(m.shape[0]), range(m.shape[1])):
        d = sorted(np.sqrt(((pts - (y, x)) ** 2).sum(1)).min() for pts in cells.values())  # d_1 <= d_2
        counts = np.bincount(sem.ravel(), minlength=3)
        wc = sem.size / (3 * counts[sem[y, x]])
        expected = wc + w0 * math.exp(-((d[0] + d[1]) ** 2) / (2 * sigma**2))
        assert w[y, x] == pytest.approx(expected, rel=1e-5), (y, x)
    # between the two cells, d_1 + d_2 = 2 pixels: the border term is w0 exp(-1/2)
    assert border_term(m, w0, sigma)[4, 5] == pytest.approx(w0 * math.exp(-4 / 8))
    assert border_term(np.where(m == 2, 0, m), w0, sigma).max() == 0  # one cell: no border term


def test_class_balance_gives_every_present_class_the_same_total():
    sem = data_semantic(torch.from_numpy(_two_cells())).numpy()
    w = class_balance(sem, 3)
    assert w.mean() == pytest.approx(1.0)
    totals = [w[sem == c].sum() for c in range(3)]
    assert totals == pytest.approx([sem.size / 3] * 3)


def test_the_semantic_mask_is_the_one_definition_checked_pixel_by_pixel():
    m = torch.randint(0, 5, (3, 9, 11), generator=torch.Generator().manual_seed(0), dtype=torch.uint8)
    assert semantic_from_instances is data_semantic    # the data and the model share nn.masks
    expected = torch.zeros_like(m)
    for b, i, j in itertools.product(range(3), range(9), range(11)):
        if m[b, i, j]:
            around = [(i + di, j + dj) for di, dj in ((-1, 0), (1, 0), (0, -1), (0, 1))
                      if 0 <= i + di < 9 and 0 <= j + dj < 11]
            expected[b, i, j] = 2 if any(m[b, y, x] != m[b, i, j] for y, x in around) else 1
    assert torch.equal(semantic_from_instances(m), expected)
    sem = semantic_from_instances(torch.from_numpy(_two_cells()))
    assert sem[2, 1] == 2 and sem[3, 2] == 1 and sem[3, 5] == 0 and sem[4, 6] == 2


# -- metrics ------------------------------------------------------------------------------------
def test_rand_error_matches_brute_force_over_pixel_pairs():
    g = np.random.default_rng(0)
    for _ in range(3):
        a, b = g.integers(0, 3, 30), g.integers(0, 4, 30)
        disagree = sum((a[i] == a[j]) != (b[i] == b[j]) for i in range(30) for j in range(i + 1, 30))
        assert rand_error(a, b) == pytest.approx(disagree / (30 * 29 / 2))
    assert rand_error(a, a + 7) == 0.0  # only the partition matters, not the ids


def test_touching_pairs_are_separated_only_by_a_prediction_that_splits_them():
    truth = np.zeros((6, 8), np.int64)
    truth[1:5, 1:4], truth[1:5, 4:7] = 1, 2  # two touching cells
    split = truth.copy()
    assert separated_pairs(truth, split) == (1, 1)
    merged = (truth > 0).astype(np.int64) * 5
    assert separated_pairs(truth, merged) == (0, 1)


def test_instances_from_semantic_splits_at_the_predicted_border_and_grows_back():
    sem = np.zeros((6, 9), np.int64)
    sem[1:5, 1:8] = 1
    sem[1:5, 4] = 2  # a border column between two cells
    sem[0, 1:8] = 2  # an outer border row
    ids = instances_from_semantic(sem)
    assert len(np.unique(ids[1:5, 1:8][ids[1:5, 1:8] > 0])) == 2
    assert (ids[0, 1:8] > 0).all() and (ids[1:5, 4] > 0).all()  # border pixels joined a neighbour


def test_iou_and_dice_from_a_confusion_table():
    truth = torch.tensor([0, 0, 1, 1, 1, 2])
    pred = torch.tensor([0, 1, 1, 1, 2, 2])
    iou, dice = iou_dice(confusion(pred, truth, 3))
    assert iou == pytest.approx([1 / 2, 2 / 4, 1 / 2]) and dice == pytest.approx([2 / 3, 4 / 6, 2 / 3])


# -- augmentation and loss ----------------------------------------------------------------------
def test_elastic_deformation_moves_image_masks_and_weights_together():
    B, H, W = 4, 24, 24
    ys, xs = torch.meshgrid(torch.arange(H), torch.arange(W), indexing="ij")
    image = (xs / (W - 1)).float().expand(B, 1, H, W).clone()  # a ramp in x
    where = (ys * W + xs).expand(B, H, W).clone()  # every pixel's own position, as a mask
    weights = ys.float().expand(B, H, W).clone()  # a ramp in y, as a weight map
    g = torch.Generator().manual_seed(3)
    x2, (m2,), w2 = augment_jointly(image, [where], weights, elastic_std=2.0, elastic_grid=3, flip=True,
                                    rotate=True, generator=g)
    assert not torch.equal(m2, where)
    # each output pixel reads the image, the mask and the weights at the same place
    assert ((x2[:, 0] * (W - 1)) - (m2 % W)).abs().max() <= 0.5 + 1e-4
    assert (w2 - (m2 // W)).abs().max() <= 0.5 + 1e-4


@torch.no_grad()
def test_loss_is_the_weighted_cross_entropy_and_the_weight_map_is_cached():
    torch.manual_seed(0)
    m = torch.from_numpy(_two_cells()[:8, :8].copy()).view(1, 1, 8, 8).repeat(2, 1, 1, 1)
    m[1] = m[1].flip(-1)
    x = torch.rand(2, 1, 8, 8)
    plain = UNet(UNetConfig(data_shape=(1, 8, 8), depth=2, width=2, w0=0.0, class_balance=False)).eval()
    ce = F.cross_entropy(plain.logits(x), semantic_from_instances(m[:, 0]).long())
    assert float(plain.loss(Batch(x, mask=m)).loss) == pytest.approx(float(ce), rel=1e-6)
    model = UNet(UNetConfig(data_shape=(1, 8, 8), depth=2, width=2, sigma=2.0)).eval()
    out = model.loss(Batch(x, mask=m))
    sem = semantic_from_instances(m[:, 0])
    w = torch.stack([torch.from_numpy(weight_map(sem[i].numpy(), m[i, 0].numpy(), classes=3, w0=10.0, sigma=2.0))
                     for i in range(2)])
    expected = (w * F.cross_entropy(model.logits(x), sem.long(), reduction="none")).mean()
    assert float(out.loss) == pytest.approx(float(expected), rel=1e-5)
    cached = dict(model._weights)
    assert len(cached) == 2
    model.loss(Batch(x, mask=m))
    assert all(model._weights[k] is v for k, v in cached.items())  # computed once per image


def test_masks_as_classes_are_checked_against_the_number_of_classes():
    model = UNet(UNetConfig(data_shape=(1, 8, 8), depth=2, width=2, masks="classes", classes=2))
    with pytest.raises(ValueError, match="holds class 4 but the U-Net has classes=2"):
        model.loss(Batch(torch.rand(1, 1, 8, 8), mask=torch.full((1, 1, 8, 8), 4, dtype=torch.uint8)))
    with pytest.raises(ValueError, match="needs per-image masks"):
        model.loss(Batch(torch.rand(1, 1, 8, 8)))


def test_the_evaluation_protocol_measures_a_segmenter():
    from generativa.data import load_data
    from generativa.evaluation.protocol import evaluate_model

    data = load_data("cells", n=2, n_test=3)
    model = UNet(UNetConfig(data_shape=(1, 64, 64), depth=2, width=2))
    result = evaluate_model(model, data, metrics="fid")
    m = result["metrics"]
    assert m["images"] == 3 and 0 <= m["iou_cell"] <= 1 and 0 <= m["rand_error"] <= 1
    assert m["touching_pairs"] > 0 and "fid" in result["skipped"]
