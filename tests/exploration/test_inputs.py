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
