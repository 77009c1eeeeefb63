"""folder:, idx:, npz: and cifar10: sources, with the files written here."""

import gzip
import struct
import warnings
import zlib

import numpy as np
import pytest
import torch
from PIL import Image

from generativa.data import DataError, load_data
from generativa.data.idx import idx_file_bytes

RNG = np.random.default_rng(0)


def _img(path, size=(8, 8), mode="L", value=None):
    path.parent.mkdir(parents=True, exist_ok=True)
    shape = (size[1], size[0]) if mode == "L" else (size[1], size[0], 3)
    a = RNG.integers(0, 256, shape, dtype=np.uint8) if value is None else np.full(shape, value, np.uint8)
    Image.fromarray(a, mode=mode).save(path)
    return a


# --- folder ---------------------------------------------------------------------------------------


def test_folder_with_classes(tmp_path):
    for k in range(3):
        _img(tmp_path / "cat" / f"{k}.png", value=10)
    for k in range(2):
        _img(tmp_path / "dog" / "sub" / f"{k}.png", value=200)  # nested files belong to their class
    (tmp_path / "dog" / "notes.txt").write_text("not an image")
    _img(tmp_path / "dog" / ".hidden.png")
    s = load_data(f"folder:{tmp_path}", test_fraction=0.4, seed=0)
    assert s.train.class_names == ("cat", "dog") and s.num_classes == 2
    assert len(s.train) + len(s.test) == 5 and len(s.test) == 2
    assert s.shape == (1, 8, 8) and s.train.x.dtype == torch.uint8
    both = torch.cat([s.train.x, s.test.x])
    labels = torch.cat([s.train.labels, s.test.labels])
    assert torch.equal(both[:, 0, 0, 0], torch.where(labels == 0, 10, 200).to(torch.uint8))


def test_folder_without_classes_has_no_labels(tmp_path):
    for k in range(4):
        _img(tmp_path / f"{k}.png")
    s = load_data(f"folder:{tmp_path}", test_fraction=0.25)
    assert s.train.labels is None and len(s.train) == 3


def test_folder_channels_follow_the_majority_or_the_option(tmp_path):
    _img(tmp_path / "a.png", mode="L")
    _img(tmp_path / "b.png", mode="L")
    rgb = _img(tmp_path / "c.png", mode="RGB")
    assert load_data(f"folder:{tmp_path}").shape == (1, 8, 8)
    s = load_data(f"folder:{tmp_path}", channels=3, test_fraction=0.0)
    assert s.shape == (3, 8, 8)
    assert torch.equal(s.train.x[2], torch.from_numpy(rgb).permute(2, 0, 1))
    _img(tmp_path / "d.png", mode="RGB")
    _img(tmp_path / "e.png", mode="RGB")
    assert load_data(f"folder:{tmp_path}").shape == (3, 8, 8)


def test_folder_mixed_sizes_need_the_size_option(tmp_path):
    _img(tmp_path / "a.png", size=(8, 8))
    _img(tmp_path / "b.png", size=(12, 6))
    with pytest.raises(DataError, match=r"size=N"):
        load_data(f"folder:{tmp_path}")
    s = load_data(f"folder:{tmp_path}", size="5", test_fraction=0.0)
    assert s.shape == (1, 5, 5) and s.options["size"] == 5
    stretched = load_data(f"folder:{tmp_path}", size=5, resize="stretch", test_fraction=0.0)
    assert stretched.shape == (1, 5, 5) and not torch.equal(stretched.train.x, s.train.x)


def test_folder_one_bad_file_of_three_stops_with_a_list(tmp_path):
    _img(tmp_path / "a.png")
    _img(tmp_path / "b.png")
    (tmp_path / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\nthis is not a png")
    with pytest.raises(DataError, match=r"1 of 3 image files.*max_bad_fraction=0\.01(.|\n)*broken\.png"):
        load_data(f"folder:{tmp_path}")
    with pytest.warns(UserWarning, match=r"skipped 1 of 3"):
        s = load_data(f"folder:{tmp_path}", max_bad_fraction=0.5, test_fraction=0.0)
    assert len(s.train) == 2


def test_folder_one_bad_file_of_200_is_skipped_with_a_warning(tmp_path):
    for k in range(199):
        _img(tmp_path / f"{k:03d}.png", size=(4, 4))
    good = (tmp_path / "000.png").read_bytes()
    (tmp_path / "zzz_cut.png").write_bytes(good[: len(good) // 2])
    with pytest.warns(UserWarning, match=r"skipped 1 of 200(.|\n)*zzz_cut\.png"):
        s = load_data(f"folder:{tmp_path}", test_fraction=0.0)
    assert len(s.train) == 199


def test_folder_loose_files_beside_class_folders_is_an_error(tmp_path):
    _img(tmp_path / "a.png")
    _img(tmp_path / "cls" / "b.png")
    with pytest.raises(DataError, match="sub-folder"):
        load_data(f"folder:{tmp_path}")


def test_folder_missing_or_empty(tmp_path):
    with pytest.raises(DataError, match="no such folder"):
        load_data(f"folder:{tmp_path / 'nope'}")
    with pytest.raises(DataError, match="no image files"):
        load_data(f"folder:{tmp_path}")


def test_folder_refuses_a_bomb_among_good_files(tmp_path):
    _img(tmp_path / "a.png")
    header = (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + struct.pack(">II", 100_000, 100_000) + b"\x08\x00\x00\x00\x00")
    (tmp_path / "bomb.png").write_bytes(header + struct.pack(">I", zlib.crc32(header[12:]) & 0xFFFFFFFF))
    with pytest.raises(DataError, match=r"bomb\.png"):
        load_data(f"folder:{tmp_path}")


# --- idx ------------------------------------------------------------------------------------------


def _mnist_folder(root, n=30, n_test=10, gz=True):
    root.mkdir(parents=True, exist_ok=True)
    x = RNG.integers(0, 256, (n, 6, 5), dtype=np.uint8)
    y = RNG.integers(0, 10, n, dtype=np.uint8)
    xt = RNG.integers(0, 256, (n_test, 6, 5), dtype=np.uint8)
    yt = RNG.integers(0, 10, n_test, dtype=np.uint8)
    for name, a in (("train-images-idx3-ubyte", x), ("train-labels-idx1-ubyte", y),
                    ("t10k-images-idx3-ubyte", xt), ("t10k-labels-idx1-ubyte", yt)):
        data = idx_file_bytes(a)
        if gz and name.startswith("train"):
            (root / f"{name}.gz").write_bytes(gzip.compress(data))
        else:
            (root / name).write_bytes(data)
    return x, y, xt, yt


def test_idx_folder_uses_the_t10k_split(tmp_path):
    x, y, xt, yt = _mnist_folder(tmp_path)
    s = load_data(f"idx:{tmp_path}")
    assert s.shape == (1, 6, 5) and len(s.train) == 30 and len(s.test) == 10
    assert np.array_equal(s.train.x[:, 0].numpy(), x) and np.array_equal(s.test.labels.numpy(), yt)
    assert np.array_equal(s.train.labels.numpy(), y)


def test_idx_single_file_gets_a_seeded_split_and_its_labels(tmp_path):
    _mnist_folder(tmp_path, gz=False)
    s = load_data(f"idx:{tmp_path / 'train-images-idx3-ubyte'}", test_fraction=0.5, seed=1)
    assert len(s.train) == 15 and len(s.test) == 15 and s.train.labels is not None


def test_idx_wrong_magic(tmp_path):
    _mnist_folder(tmp_path, gz=False)
    p = tmp_path / "train-images-idx3-ubyte"
    data = bytearray(p.read_bytes())
    data[0:4] = b"\x1f\x8b\x08\x00"  # a gzip stream without the .gz name
    p.write_bytes(bytes(data))
    with pytest.raises(DataError, match=r"train-images-idx3-ubyte.*magic number 1f8b0800"):
        load_data(f"idx:{tmp_path}")


def test_idx_truncated(tmp_path):
    _mnist_folder(tmp_path, gz=False)
    p = tmp_path / "t10k-images-idx3-ubyte"
    p.write_bytes(p.read_bytes()[:-7])
    with pytest.raises(DataError, match=r"t10k-images-idx3-ubyte.*shape \(10, 6, 5\).*truncated"):
        load_data(f"idx:{tmp_path}")


def test_idx_corrupt_gzip(tmp_path):
    _mnist_folder(tmp_path)
    p = tmp_path / "train-images-idx3-ubyte.gz"
    p.write_bytes(p.read_bytes()[:40])
    with pytest.raises(DataError, match=r"train-images-idx3-ubyte\.gz"):
        load_data(f"idx:{tmp_path}")


def test_idx_labels_that_do_not_match(tmp_path):
    _mnist_folder(tmp_path, gz=False)
    (tmp_path / "train-labels-idx1-ubyte").write_bytes(idx_file_bytes(np.zeros(29, np.uint8)))
    with pytest.raises(DataError, match="29 labels for 30 images"):
        load_data(f"idx:{tmp_path}")


def test_idx_folder_without_files(tmp_path):
    with pytest.raises(DataError, match="train-images-idx3-ubyte"):
        load_data(f"idx:{tmp_path}")


# --- npz ------------------------------------------------------------------------------------------


def test_npz_layouts_give_the_same_images(tmp_path):
    nhwc = RNG.integers(0, 256, (10, 9, 7, 3), dtype=np.uint8)
    np.savez(tmp_path / "a.npz", x=nhwc, y=np.arange(10) % 2)
    np.savez(tmp_path / "b.npz", x=nhwc.transpose(0, 3, 1, 2))
    a = load_data(f"npz:{tmp_path / 'a.npz'}", test_fraction=0.0)
    b = load_data(f"npz:{tmp_path / 'b.npz'}", test_fraction=0.0)
    assert a.shape == (3, 9, 7) and torch.equal(a.train.x, b.train.x)
    assert a.train.labels.tolist() == [0, 1] * 5


def test_npz_float_and_uint16_are_rescaled_and_out_of_range_refused(tmp_path):
    f = np.array([[[0.0, 0.5, 1.0]]])  # (1, 1, 3) -> (N, H, W)
    np.savez(tmp_path / "f.npz", x=f)
    assert load_data(f"npz:{tmp_path / 'f.npz'}", test_fraction=0.0).train.x.flatten().tolist() == [0, 128, 255]
    np.savez(tmp_path / "u.npz", x=np.array([[[0, 257, 65535]]], dtype=np.uint16))
    assert load_data(f"npz:{tmp_path / 'u.npz'}", test_fraction=0.0).train.x.flatten().tolist() == [0, 1, 255]
    np.savez(tmp_path / "bad.npz", x=f * 255)
    with pytest.raises(DataError, match=r"bad\.npz.*\[0, 1\].*divide by 255"):
        load_data(f"npz:{tmp_path / 'bad.npz'}")


def test_npz_object_array_is_refused(tmp_path):
    np.savez(tmp_path / "obj.npz", x=np.array([np.zeros((2, 2)), np.zeros((3, 3))], dtype=object))
    with pytest.raises(DataError, match=r"obj\.npz.*object array"):
        load_data(f"npz:{tmp_path / 'obj.npz'}")


def test_npz_vectors_string_labels_and_a_fixed_test_split(tmp_path):
    x = RNG.normal(size=(20, 2)).astype(np.float64)
    np.savez(tmp_path / "v.npz", x=x, y=np.array(["b", "a"] * 10), x_test=x[:4], y_test=np.array(["a"] * 4))
    s = load_data(f"npz:{tmp_path / 'v.npz'}")
    assert s.shape == (2,) and s.train.x.dtype == torch.float32 and len(s.test) == 4
    assert s.train.class_names == ("a", "b") and s.train.labels[:2].tolist() == [1, 0]
    assert s.test.labels.tolist() == [0] * 4


def test_npz_errors(tmp_path):
    np.savez(tmp_path / "nox.npz", images=np.zeros((2, 4, 4), np.uint8))
    with pytest.raises(DataError, match=r"no 'x'"):
        load_data(f"npz:{tmp_path / 'nox.npz'}")
    np.savez(tmp_path / "amb.npz", x=np.zeros((2, 3, 3, 3), np.uint8))
    with pytest.raises(DataError, match="layout=nhwc"):
        load_data(f"npz:{tmp_path / 'amb.npz'}")
    assert load_data(f"npz:{tmp_path / 'amb.npz'}", layout="nchw", test_fraction=0).shape == (3, 3, 3)
    (tmp_path / "junk.npz").write_bytes(b"not a zip file at all")
    with pytest.raises(DataError, match=r"junk\.npz"):
        load_data(f"npz:{tmp_path / 'junk.npz'}")
    np.savez(tmp_path / "ylen.npz", x=np.zeros((3, 4, 4), np.uint8), y=np.zeros(2))
    with pytest.raises(DataError, match=r"one label per image"):
        load_data(f"npz:{tmp_path / 'ylen.npz'}")


def test_npz_rgba_is_composited(tmp_path):
    x = np.zeros((1, 5, 5, 4), np.uint8)
    x[..., 0], x[..., 3] = 255, 128
    np.savez(tmp_path / "rgba.npz", x=x)
    s = load_data(f"npz:{tmp_path / 'rgba.npz'}", test_fraction=0.0)
    assert s.shape == (3, 5, 5) and s.train.x[0, :, 0, 0].tolist() == [255, 127, 127]


# --- cifar10 --------------------------------------------------------------------------------------


def _cifar_batch(path, n):
    records = RNG.integers(0, 256, (n, 3073), dtype=np.uint8)
    records[:, 0] %= 10
    path.write_bytes(records.tobytes())
    return records


def test_cifar10_batches(tmp_path):
    folder = tmp_path / "cifar-10-batches-bin"
    folder.mkdir()
    r1 = _cifar_batch(folder / "data_batch_1.bin", 5)
    _cifar_batch(folder / "data_batch_2.bin", 3)
    _cifar_batch(folder / "test_batch.bin", 4)
    s = load_data(f"cifar10:{tmp_path}")
    assert s.shape == (3, 32, 32) and len(s.train) == 8 and len(s.test) == 4
    assert s.train.labels[:5].tolist() == r1[:, 0].tolist()
    assert s.train.x[0, 0].flatten().tolist() == r1[0, 1:1025].tolist()  # red plane first, row-major
    assert s.train.x[0, 2, 0, 1].item() == r1[0, 1 + 2048 + 1]
    assert s.train.class_names[0] == "airplane"
    assert load_data(f"cifar10:{folder}", channels=1, size=16).shape == (1, 16, 16)


def test_cifar10_truncated_batch(tmp_path):
    _cifar_batch(tmp_path / "data_batch_1.bin", 2)
    _cifar_batch(tmp_path / "test_batch.bin", 2)
    p = tmp_path / "test_batch.bin"
    p.write_bytes(p.read_bytes()[:-100])
    with pytest.raises(DataError, match=r"test_batch\.bin.*3073-byte"):
        load_data(f"cifar10:{tmp_path}")


def test_cifar10_python_version_is_refused(tmp_path):
    (tmp_path / "data_batch_1").write_bytes(b"pickle")
    with pytest.raises(DataError, match="binary version"):
        load_data(f"cifar10:{tmp_path}")


def test_no_warning_for_clean_folders(tmp_path):
    _img(tmp_path / "a.png")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        load_data(f"folder:{tmp_path}", test_fraction=0.0)


def test_folder_stream_decodes_like_load_folder(tmp_path):
    from generativa.data.folder import FolderStream

    _img(tmp_path / "a" / "0.png", size=(10, 6), mode="RGB")
    _img(tmp_path / "a" / "1.png", size=(6, 6))
    _img(tmp_path / "b" / "2.png", size=(12, 12), mode="RGB")
    loaded = load_data(f"folder:{tmp_path}", size=6, channels=3, test_fraction=0.0)
    stream = FolderStream(tmp_path, size=6, channels=3)
    assert len(stream) == 3 and stream.class_names == ("a", "b")
    xs, ys = zip(*(stream[i] for i in range(3)))
    assert torch.equal(torch.stack(xs), loaded.train.x) and list(ys) == loaded.train.labels.tolist()
    batch, labels = next(iter(torch.utils.data.DataLoader(stream, batch_size=3)))
    assert batch.shape == (3, 3, 6, 6) and batch.dtype == torch.uint8 and labels.tolist() == [0, 0, 1]


def test_folder_too_big_for_memory_is_refused_early(tmp_path, monkeypatch):
    from generativa.data import folder

    for k in range(5):
        _img(tmp_path / f"{k}.png", size=(16, 16))
    monkeypatch.setattr(folder, "memory_budget", lambda: 1000)
    with pytest.raises(DataError, match=r"5 images of about 16x16 .* smaller size=N, or stream"):
        load_data(f"folder:{tmp_path}")
    assert load_data(f"folder:{tmp_path}", size=8, test_fraction=0.0).shape == (1, 8, 8)  # 5 * 3 * 64 < 1000


def test_size_on_vector_data_is_an_error(tmp_path):
    np.savez(tmp_path / "v.npz", x=np.zeros((10, 2), np.float32))
    with pytest.raises(DataError, match="images only"):
        load_data(f"npz:{tmp_path / 'v.npz'}", size=8)
