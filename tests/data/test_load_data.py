"""load_data: specs, options from the command line, errors, rebuilds, hashes and the dataset table."""

import pytest
import torch

from generativa.data import ArrayData, DataError, dataset_options, dataset_table, load_data


def test_digits_keep_their_split_and_hash():
    s = load_data("digits")
    assert (len(s.train), len(s.test)) == (1438, 359)
    assert s.shape == (1, 8, 8) and s.num_classes == 10
    assert s.train.x.max() == 255 and s.train.x.dtype == torch.uint8
    assert s.content_hash() == "15de99a9750c87e1"  # pinned: the bundled digits must not drift


def test_split_sizes_follow_test_fraction():
    s = load_data("digits", test_fraction="0.5", seed="3")
    assert len(s.test) == round(1797 * 0.5) and len(s.train) + len(s.test) == 1797
    assert s.options["test_fraction"] == 0.5 and s.options["seed"] == 3


def test_options_arrive_as_strings_from_the_command_line():
    s = load_data("digits", size="16", channels="3", resize="Stretch")
    assert s.shape == (3, 16, 16)
    assert s.options == {"test_fraction": 0.2, "seed": 0, "size": 16, "channels": 3, "resize": "stretch",
                         "classes": None, "domains": None}
    assert load_data("shapes", n="50", n_test="5", size="16.0").shape == (1, 16, 16)


@pytest.mark.parametrize("options, message", [
    ({"sise": 3}, r"no option sise; valid options: test_fraction \(default 0.2\), seed"),
    ({"size": "big"}, r"size='big' is not a valid int"),
    ({"size": 2.5}, r"not a valid int"),
    ({"channels": 2}, r"choose one of 1, 3"),
    ({"test_fraction": 1.5}, r"outside \[0.0, 0.9\]"),
    ({"resize": "squash"}, r"choose one of crop, stretch"),
])
def test_bad_options_name_the_valid_ones(options, message):
    with pytest.raises(DataError, match=message):
        load_data("digits", **options)


@pytest.mark.parametrize("spec, message", [
    ("cifar100", r"unknown data spec 'cifar100'; valid specs: digits, shapes, faces, cells, mnist, fashion_mnist, "
                 r"toy1d:gaussian"),
    ("mnist:/data", r"data spec 'mnist' takes no argument"),
    ("toy2d", r"choose one of toy2d:ring8"),
    ("folder", r"needs a path: folder:PATH"),
    ("digits:extra", r"takes no argument"),
    ("", r"non-empty string"),
])
def test_bad_specs(spec, message):
    with pytest.raises(DataError, match=message):
        load_data(spec)


def test_data_error_is_a_value_error():
    assert issubclass(DataError, ValueError)


@pytest.mark.parametrize("spec, options", [
    ("digits", {"seed": 2}),
    ("shapes", {"n": 64, "n_test": 8, "size": 16}),
    ("toy2d:ring8", {"n": 100, "n_test": 10}),
    ("toy1d:mixture", {"n": 100}),
    ("faces", {"n": 64, "n_test": 8, "label": "glasses"}),
])
def test_spec_and_options_rebuild_the_same_data(spec, options):
    s = load_data(spec, **options)
    again = load_data(s.spec, **s.options)
    assert again.content_hash() == s.content_hash()
    assert set(s.options) == set(dataset_options(spec))


def test_hash_sees_one_changed_pixel_and_label():
    d = load_data("digits").train
    h = d.content_hash()
    assert len(h) == 16 and d.content_hash() == h
    x = d.x.clone()
    x[0, 0, 3, 3] ^= 1
    assert ArrayData("digits", x, d.labels).content_hash() != h
    labels = d.labels.clone()
    labels[0] = (labels[0] + 1) % 10
    assert ArrayData("digits", d.x, labels).content_hash() != h


def test_every_bundled_row_of_the_table_loads_and_describes_itself():
    rows = dataset_table()
    specs = [spec for spec, _ in rows]
    assert {"digits", "shapes", "faces", "cells", "mnist", "fashion_mnist", "toy2d:ring8", "toy2d:grid25", "toy2d:moons",
            "toy2d:spirals", "toy2d:checkerboard", "toy1d:gaussian", "toy1d:mixture",
            "idx:PATH", "npz:PATH", "folder:PATH", "cifar10:PATH"} == set(specs)
    assert all(isinstance(d, str) and d for _, d in rows)
    for spec in specs:
        if "PATH" in spec or spec in ("mnist", "fashion_mnist"):  # files; downloads: tests/data/test_download.py
            continue
        small = {"n": 20, "n_test": 5} if spec != "digits" else {}
        if spec == "shapes":
            small["size"] = 16
        summary = load_data(spec, **small).summary()
        assert summary["spec"] == spec and len(summary["hash"]) == 16
        assert summary["train"]["examples"] > 0 and summary["train"]["shape"]


def test_summary_reports_shape_range_labels_and_factors():
    s = load_data("shapes", n=20, n_test=5, size=16).summary()
    t = s["train"]
    assert t["shape"] == [1, 16, 16] and t["value_range"] == [0.0, 1.0] and t["num_classes"] == 3
    assert t["factor_names"] == ["shape", "scale", "orientation", "pos_x", "pos_y"]
    v = load_data("toy2d:grid25", n=200).summary()["train"]
    assert v["dtype"] == "float32" and v["value_range"][0] < -4 < 4 < v["value_range"][1]


def test_file_specs_expand_the_home_folder(tmp_path, monkeypatch):
    import numpy as np

    monkeypatch.setenv("HOME", str(tmp_path))
    np.savez(tmp_path / "mine.npz", x=np.zeros((4, 5, 5), np.uint8))
    s = load_data("npz:~/mine.npz", n=2)
    assert len(s.train) == 2 and s.spec == "npz:~/mine.npz"


def test_options_from_numpy_and_config_objects():
    import numpy as np
    from omegaconf import OmegaConf

    s = load_data("toy2d:moons", n=np.int64(30), n_test=0)
    assert len(s.train) == 30 and len(s.test) == 0 and s.test.summary()["value_range"] == [0.0, 0.0]
    weights = OmegaConf.create({"shape": [1, 0, 0]})
    s = load_data("shapes", n=20, n_test=0, size=16, factor_weights=weights)
    assert (s.train.labels == 0).all() and s.options["factor_weights"] == {"shape": [1.0, 0.0, 0.0]}


def test_digits_read_directly_equal_scikit_learns_loader():
    import numpy as np
    from sklearn.datasets import load_digits

    from generativa.data.digits import digits_arrays

    images, target = digits_arrays()
    bunch = load_digits()
    assert np.array_equal(images, bunch.images) and np.array_equal(target, bunch.target)
