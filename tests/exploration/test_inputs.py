import numpy as np
import pytest
import torch
from PIL import Image

from generativa.exploration.inputs import read_images, require
from generativa.models.base import GenerativeModel


def test_reads_a_file_a_folder_and_an_npz(tmp_path):
    a = (np.arange(64).reshape(8, 8) * 4).astype(np.uint8)
    Image.fromarray(a, mode="L").save(tmp_path / "a.png")
    Image.fromarray(255 - a, mode="L").save(tmp_path / "b.png")
    one = read_images(tmp_path / "a.png", (1, 8, 8))
    assert one.shape == (1, 1, 8, 8) and torch.allclose(one[0, 0] * 255, torch.from_numpy(a).float())
    assert read_images(tmp_path, (1, 8, 8)).shape == (2, 1, 8, 8)
    np.savez(tmp_path / "x.npz", x=np.stack([a, a]))  # (N, H, W) uint8
    assert torch.equal(read_images(tmp_path / "x.npz", (1, 8, 8))[0], one[0])


def test_wrong_size_or_channels_is_a_clear_error_unless_resized(tmp_path):
    Image.fromarray(np.zeros((16, 16, 3), np.uint8), mode="RGB").save(tmp_path / "rgb.png")
    with pytest.raises(ValueError, match=r"3x16x16 .* built for 1x8x8; pass --resize"):
        read_images(tmp_path / "rgb.png", (1, 8, 8))
    assert read_images(tmp_path / "rgb.png", (1, 8, 8), resize=True).shape == (1, 1, 8, 8)
    with pytest.raises(FileNotFoundError):
        read_images(tmp_path / "missing.png", (1, 8, 8))
    np.savez(tmp_path / "bad.npz", x=np.full((2, 1, 8, 8), 3.0, np.float32))
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        read_images(tmp_path / "bad.npz", (1, 8, 8))


def test_a_model_without_an_encoder_is_refused():
    class NoEncoder(GenerativeModel):
        pass

    with pytest.raises(ValueError, match="needs a model that can encode"):
        require(NoEncoder(GenerativeModel.config_class()), "encode", "retrieve")


def test_npz_input_uses_the_data_layers_checks(tmp_path):
    from generativa.data import DataError

    x = np.full((2, 1, 8, 8), 0.5, np.float32)
    x[1, 0, 3, 3] = np.nan
    np.savez(tmp_path / "nan.npz", x=x)
    with pytest.raises(DataError, match=r"nan\.npz.*NaN"):  # was silently read as 0
        read_images(tmp_path / "nan.npz", (1, 8, 8))
    np.savez(tmp_path / "ok.npz", x=np.zeros((3, 8, 8, 3), np.uint8))  # (N, H, W, C) is understood too
    assert read_images(tmp_path / "ok.npz", (3, 8, 8)).shape == (3, 3, 8, 8)
    data = (tmp_path / "ok.npz").read_bytes()
    (tmp_path / "cut.npz").write_bytes(data[: len(data) // 2])
    with pytest.raises(DataError, match=r"cut\.npz.*truncated"):  # was a BadZipFile traceback
        read_images(tmp_path / "cut.npz", (3, 8, 8))
    np.savez(tmp_path / "two.npz", a=np.zeros((1, 8, 8), np.uint8), b=np.zeros((1, 8, 8), np.uint8))
    with pytest.raises(DataError, match=r"two\.npz: an \.npz with 2 arrays needs one named 'x'; it has a, b"):
        read_images(tmp_path / "two.npz", (1, 8, 8))
    np.savez(tmp_path / "one.npz", images=np.zeros((4, 8, 8), np.uint8))  # the only array, whatever its name
    assert read_images(tmp_path / "one.npz", (1, 8, 8), limit=2).shape == (2, 1, 8, 8)
