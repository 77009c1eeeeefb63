"""faces: deterministic rendering, factors, captions, skewed training splits, and that every factor shows."""

import json

import pytest
import torch

from generativa.data import DataError, dataset_options, load_data
from generativa.data import faces as F

# Every factor visible: short hair, open eyes, no glasses, no beard, facing forward.
BASE = [0, 1, 2, 1, 1, 1, 0, 0, 2, 1]


def _rows(*changes):
    rows = []
    for change in changes:
        row = list(BASE)
        for k, v in change.items():
            row[F.FACTOR_NAMES.index(k)] = v
        rows.append(row)
    return torch.tensor(rows)


def test_factor_grid():
    assert F.FACTOR_NAMES == ("face_shape", "skin_tone", "hair_colour", "hair_style", "eye_colour", "smile",
                              "glasses", "beard", "yaw", "background")
    assert F.FACTOR_SIZES == (4, 6, 6, 5, 3, 4, 3, 3, 5, 6)
    assert F.NUM_COMBINATIONS == 2_332_800
    assert "bald" in F.VALUE_NAMES["hair_style"] and "bangs" in F.VALUE_NAMES["hair_style"]
    index = torch.tensor([0, 1, 5, 6, 12345, F.NUM_COMBINATIONS - 1])
    assert torch.equal(F.flat_index(F.factors_from_flat(index)), index)
    assert F.factors_from_flat(index)[-1].tolist() == [s - 1 for s in F.FACTOR_SIZES]


@pytest.mark.parametrize("size", [32, 64])
def test_same_factors_give_the_same_pixels_in_any_batch_or_order(size):
    g = torch.Generator().manual_seed(1)
    f = F.sample_factors(150, generator=g)
    a = F.render_faces(f, size=size)
    assert a.shape == (150, 3, size, size) and a.dtype == torch.uint8
    assert torch.equal(a, F.render_faces(f, size=size))
    perm = torch.randperm(150, generator=g)
    assert torch.equal(a[perm], F.render_faces(f[perm], size=size, chunk=7))
    assert 30 < a.float().mean() < 225 and a.float().std() > 20  # neither blank nor noise


def test_sizes_between_32_and_128_render_and_others_are_refused():
    f = _rows({})
    assert F.render_faces(f, size=40).shape == (1, 3, 40, 40)
    assert F.render_faces(f, size=128).shape == (1, 3, 128, 128)
    for size in (31, 129, 32.0):
        with pytest.raises(DataError, match="32 to 128"):
            F.render_faces(f, size=size)
    with pytest.raises(DataError, match="glasses"):
        F.render_faces(_rows({"glasses": 3}))
    with pytest.raises(DataError, match=r"\(N, 10\)"):
        F.render_faces(torch.zeros(2, 9, dtype=torch.long))


@pytest.mark.parametrize("factor", F.FACTOR_NAMES)
def test_every_value_of_every_factor_changes_the_image(factor):
    k = F.FACTOR_NAMES.index(factor)
    x = F.render_faces(_rows(*({factor: v} for v in range(F.FACTOR_SIZES[k]))), size=32).int()
    for i in range(len(x)):
        for j in range(i):
            changed = (x[i] - x[j]).abs().amax(0) >= 24  # (32, 32): pixels that visibly differ
            assert changed.sum() >= 3, f"{factor} {F.VALUE_NAMES[factor][i]} vs {F.VALUE_NAMES[factor][j]}"


@pytest.mark.parametrize("size", [32, 64])
def test_yaw_moves_the_eyes_towards_the_side_the_face_looks_at(size):
    # Dark skin and black hair: in the eye band inside the face, the bright pixels are the whites of the eyes.
    x = F.render_faces(_rows(*({"yaw": v, "skin_tone": 5, "hair_colour": 0} for v in range(5))), size=size)
    x = x.float().mean(1)
    c0, c1, r0, r1 = int(0.27 * size), int(0.73 * size), int(0.38 * size), int(0.52 * size)
    cols = torch.arange(c0, c1).float()
    centres = []
    for img in x:
        w = (img[r0:r1, c0:c1] - 100).clamp(min=0)
        centres.append(float((w.sum(0) * cols).sum() / w.sum()))
    steps = torch.tensor(centres).diff()
    assert (steps > 0.02 * size).all(), centres  # left, slightly left, forward, slightly right, right


def test_skin_tones_go_from_light_to_dark():
    x = F.render_faces(_rows(*({"skin_tone": v} for v in range(6))), size=32).float()
    cheek = x[:, :, 17:20, 10:13].mean(dim=(1, 2, 3))  # below the left eye
    assert torch.all(cheek[1:] < cheek[:-1])


def test_captions_name_every_factor():
    f = F.sample_factors(3000, generator=torch.Generator().manual_seed(2))
    caps = F.captions(f)
    assert len(caps) == 3000
    for row, cap in zip(f.tolist()[:300], caps):
        v = {k: F.VALUE_NAMES[k][i] for k, i in zip(F.FACTOR_NAMES, row)}
        assert cap.startswith(f"a {v['smile']} {v['face_shape']} face with ")
        assert f"{v['skin_tone']} skin" in cap and f"{v['eye_colour']} eyes" in cap
        assert f"on a {v['background']} background" in cap
        assert (f"{v['glasses']} glasses" in cap) == (v["glasses"] != "none")
        assert ("a beard" in cap) == (v["beard"] == "beard") and ("a moustache" in cap) == (v["beard"] == "moustache")
        assert ("facing forward" in cap) == (v["yaw"] == "forward")
        if v["yaw"] != "forward":
            assert f"turned {v['yaw']}," in cap
        hair = v["hair_colour"]
        expected = {"bald": f"a bald head, {hair} eyebrows", "short": f"short {hair} hair",
                    "long": f"long {hair} hair", "bangs": f"{hair} hair with bangs", "curly": f"curly {hair} hair"}
        assert expected[v["hair_style"]] in cap
    # Different factors never share a caption: the caption determines the factors.
    assert len(set(caps)) == len({tuple(r) for r in f.tolist()})
    assert F.caption(BASE) == ("a neutral oval face with short brown hair, light skin and blue eyes, facing forward, "
                               "on a blue background")


def test_load_faces_splits_labels_and_captions():
    s = load_data("faces", n=300, n_test=60, seed=3)
    assert s.shape == (3, 32, 32) and len(s.train) == 300 and len(s.test) == 60
    assert s.train.factors.shape == (300, 10) and s.train.factor_names == F.FACTOR_NAMES
    assert s.train.factor_sizes == F.FACTOR_SIZES
    for k, size in enumerate(F.FACTOR_SIZES):
        assert 0 <= int(s.train.factors[:, k].min()) and int(s.train.factors[:, k].max()) < size
    assert torch.equal(s.train.labels, s.train.factors[:, F.FACTOR_NAMES.index("smile")])  # the default label
    assert s.train.class_names == ("frowning", "neutral", "smiling", "grinning") and s.num_classes == 4
    assert s.train.captions == F.captions(s.train.factors) and len(s.test.captions) == 60
    assert not set(F.flat_index(s.train.factors).tolist()) & set(F.flat_index(s.test.factors).tolist())
    assert torch.equal(F.render_faces(s.test.factors), s.test.x)
    sub = s.train.subset(torch.tensor([5, 2]))
    assert sub.captions == (s.train.captions[5], s.train.captions[2])
    assert load_data("faces", n=300, n_test=60, seed=3).content_hash() == s.content_hash()
    assert load_data("faces", n=300, n_test=60, seed=4).content_hash() != s.content_hash()


def test_factor_weights_skew_the_training_split_and_leave_the_test_split_uniform():
    w = [1.0, 1.0, 0.0, 0.0, 0.0, 0.0]  # only the two lightest skin tones in training
    s = load_data("faces", n=600, n_test=1800, size=32, factor_weights=json.dumps({"skin_tone": w}))
    k = F.FACTOR_NAMES.index("skin_tone")
    assert set(s.train.factors[:, k].tolist()) == {0, 1}
    counts = torch.bincount(s.test.factors[:, k], minlength=6)
    assert counts.min() > 240 and counts.max() < 360  # 300 expected each
    assert s.options["factor_weights"] == {"skin_tone": w}
    assert load_data(s.spec, **s.options).content_hash() == s.content_hash()
    with pytest.raises(DataError, match=r"weights for faces factor 'skin_tone' must be 6"):
        load_data("faces", n=10, factor_weights={"skin_tone": [1, 2]})
    with pytest.raises(DataError, match="unknown faces factor 'skin'"):
        load_data("faces", n=10, factor_weights={"skin": [1, 2]})


def test_registry_options():
    s = load_data("faces", n="40", n_test="8", size="64", label="hair_style", classes="0,1", seed="1")
    assert s.shape == (3, 64, 64) and set(s.train.labels.tolist()) <= {0, 1}
    assert s.train.class_names == F.VALUE_NAMES["hair_style"] and len(s.test.labels.unique()) > 2
    assert s.options == {"n": 40, "n_test": 8, "size": 64, "seed": 1, "label": "hair_style",
                         "factor_weights": None, "classes": "0,1", "domains": None}
    assert set(dataset_options("faces")) == {"n", "n_test", "size", "seed", "classes", "domains", "label",
                                             "factor_weights"}
    assert load_data(s.spec, **s.options).content_hash() == s.content_hash()
    with pytest.raises(DataError, match="label='age'; choose one of face_shape, skin_tone"):
        load_data("faces", n=5, label="age")
    with pytest.raises(DataError, match=r"outside \[32, 128\]"):
        load_data("faces", n=5, size=16)
