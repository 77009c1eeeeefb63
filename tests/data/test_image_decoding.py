"""Reading one image: modes, 16-bit, alpha, EXIF rotation, and a corpus of bad files made here."""

import struct
import zlib

import numpy as np
import pytest
from PIL import Image, ImageFile

from generativa.data import DataError
from generativa.data.images import decode_image, grey_from_rgb, to_channels


def _noise_png(path, size=64, mode="RGB"):
    rng = np.random.default_rng(0)
    shape = (size, size, 3) if mode == "RGB" else (size, size)
    Image.fromarray(rng.integers(0, 256, shape, dtype=np.uint8), mode=mode).save(path)
    return path


def _png_with_header(width, height):
    """A PNG signature and an IHDR chunk claiming width x height, then a tiny IDAT and IEND."""

    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)  # 8-bit grey
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\x00" * 16)) + chunk(b"IEND", b"")


def test_rgb_and_grey_pass_through(tmp_path):
    p = _noise_png(tmp_path / "a.png")
    a, grey = decode_image(p)
    assert a.shape == (64, 64, 3) and a.dtype == np.uint8 and not grey
    assert np.array_equal(a, np.asarray(Image.open(p)))
    g, grey = decode_image(_noise_png(tmp_path / "g.png", mode="L"))
    assert g.shape == (64, 64) and grey


def test_16bit_grey_is_rescaled_not_clipped(tmp_path):
    values = np.array([[0, 257, 1000, 32896, 65535, 65280]], dtype=np.uint16)
    p = tmp_path / "deep.png"
    Image.fromarray(values).save(p)
    assert Image.open(p).mode.startswith("I")
    a, grey = decode_image(p)
    assert grey
    assert a.tolist() == [[0, 1, 4, 128, 255, 254]]  # round(v * 255 / 65535)


def test_palette_png_gives_its_colours(tmp_path):
    im = Image.new("P", (4, 2))
    im.putpalette([255, 0, 0, 0, 255, 0, 0, 0, 255] + [0] * (253 * 3))
    im.putdata([0, 1, 2, 0, 1, 2, 0, 1])
    p = tmp_path / "pal.png"
    im.save(p)
    a, grey = decode_image(p)
    assert not grey and a.shape == (2, 4, 3)
    assert a[0, 0].tolist() == [255, 0, 0] and a[0, 1].tolist() == [0, 255, 0] and a[0, 2].tolist() == [0, 0, 255]


def test_palette_transparency_is_composited(tmp_path):
    im = Image.new("P", (2, 1))
    im.putpalette([10, 20, 30, 200, 100, 50] + [0] * (254 * 3))
    im.putdata([0, 1])
    p = tmp_path / "palt.png"
    im.save(p, transparency=0)
    a, _ = decode_image(p, background="black")
    assert a[0, 0].tolist() == [0, 0, 0] and a[0, 1].tolist() == [200, 100, 50]


@pytest.mark.parametrize("background, expected", [("white", [255, 127, 127]), ("black", [128, 0, 0])])
def test_rgba_alpha_is_composited_on_the_background(tmp_path, background, expected):
    p = tmp_path / "rgba.png"
    Image.new("RGBA", (3, 3), (255, 0, 0, 128)).save(p)
    a, _ = decode_image(p, background=background)
    assert a.shape == (3, 3, 3)
    assert a[1, 1].tolist() == expected  # (c * a + bg * (255 - a)) / 255, rounded


def test_la_is_grey_composited(tmp_path):
    p = tmp_path / "la.png"
    Image.new("LA", (2, 2), (0, 0)).save(p)  # black, fully transparent
    a, grey = decode_image(p)
    assert grey and a.shape == (2, 2) and (a == 255).all()


def test_cmyk_jpeg_becomes_rgb(tmp_path):
    p = tmp_path / "cmyk.jpg"
    Image.new("CMYK", (16, 16), (0, 255, 255, 0)).save(p, quality=95)  # no cyan or key: red
    assert Image.open(p).mode == "CMYK"
    a, grey = decode_image(p)
    assert not grey and a.shape == (16, 16, 3)
    assert np.abs(a[8, 8].astype(int) - [255, 0, 0]).max() <= 12


def test_one_bit_image(tmp_path):
    p = tmp_path / "bits.png"
    Image.fromarray(np.array([[0, 1], [1, 0]], dtype=bool)).save(p)
    a, grey = decode_image(p)
    assert grey and a.tolist() == [[0, 255], [255, 0]]


def test_exif_rotation_makes_the_pixels_upright(tmp_path):
    upright = np.zeros((40, 20), dtype=np.uint8)  # tall, bright at the top
    upright[:10] = 255
    stored = Image.fromarray(upright).transpose(Image.Transpose.ROTATE_90)  # what the camera wrote
    exif = Image.Exif()
    exif[0x0112] = 6  # Orientation: rotate 90 degrees clockwise to display
    p = tmp_path / "phone.jpg"
    stored.save(p, exif=exif.tobytes(), quality=95)
    assert Image.open(p).size == (40, 20)  # stored lying on its side
    a, _ = decode_image(p)
    assert a.shape == (40, 20)
    assert a[:8].mean() > 240 and a[12:].mean() < 15


def test_truncated_png_names_the_file(tmp_path):
    p = _noise_png(tmp_path / "cut.png")
    data = p.read_bytes()
    p.write_bytes(data[: len(data) // 2])
    with pytest.raises(DataError, match=r"cut\.png.*(truncated|corrupt)"):
        decode_image(p)


def test_garbage_bytes_name_the_file(tmp_path):
    p = tmp_path / "junk.png"
    p.write_bytes(np.random.default_rng(1).integers(0, 256, 500, dtype=np.uint8).tobytes())
    with pytest.raises(DataError, match=r"junk\.png.*not an image"):
        decode_image(p)


def test_empty_file(tmp_path):
    p = tmp_path / "empty.jpg"
    p.write_bytes(b"")
    with pytest.raises(DataError, match="empty.jpg"):
        decode_image(p)


@pytest.fixture
def no_decoding(monkeypatch):
    """Fail loudly if any pixel data is decoded."""

    def load(self):
        raise AssertionError("pixels were decoded")

    monkeypatch.setattr(ImageFile.ImageFile, "load", load)


def test_bomb_header_is_refused_before_decoding(tmp_path, no_decoding):
    p = tmp_path / "bomb.png"
    p.write_bytes(_png_with_header(100_000, 100_000))  # 10^10 pixels claimed in 60 bytes
    with pytest.raises(DataError, match=r"bomb\.png.*bomb"):
        decode_image(p)


def test_pixel_limit_is_checked_on_the_header(tmp_path, no_decoding):
    p = tmp_path / "big.png"
    p.write_bytes(_png_with_header(9000, 6000))  # 54 Mpx: under Pillow's own limit, over ours
    with pytest.raises(DataError, match=r"big\.png.*9000x6000.*max_pixels"):
        decode_image(p)


def test_pixel_limit_option(tmp_path):
    p = _noise_png(tmp_path / "a.png", size=64)
    with pytest.raises(DataError, match="max_pixels=1,000"):
        decode_image(p, max_pixels=1000)
    assert decode_image(p, max_pixels=64 * 64)[0].shape == (64, 64, 3)


def test_channel_conversions_agree_with_pillow():
    rng = np.random.default_rng(2)
    rgb = rng.integers(0, 256, (5, 7, 3), dtype=np.uint8)
    assert np.abs(grey_from_rgb(rgb).astype(int) - np.asarray(Image.fromarray(rgb).convert("L"))).max() <= 1
    import torch

    x = torch.from_numpy(rgb).permute(2, 0, 1).unsqueeze(0)  # (1, 3, H, W)
    assert np.array_equal(to_channels(x, 1)[0, 0].numpy(), grey_from_rgb(rgb))
    grey = torch.from_numpy(grey_from_rgb(rgb))[None, None]
    assert torch.equal(to_channels(grey, 3), grey.expand(1, 3, 5, 7))


def test_16bit_rgb_png_is_rescaled_not_clipped(tmp_path):
    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    pixels = np.array([[[0, 0, 0], [65535, 32896, 257], [1000, 40000, 65280]]], dtype=">u2")
    raw = b"".join(b"\x00" + row.tobytes() for row in pixels)  # filter byte 0 per row
    ihdr = struct.pack(">IIBBBBB", 3, 1, 16, 2, 0, 0, 0)  # 16-bit RGB
    p = tmp_path / "rgb16.png"
    p.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))
    a, grey = decode_image(p)
    assert not grey
    expected = pixels.astype(float) * 255 / 65535
    assert np.abs(a - expected).max() <= 1.0  # v * 255 / 65535 within one level (Pillow keeps the high byte)
    assert a[0, 1, 1] == 128  # mid-grey stays mid-grey, not 255


def test_jpeg_draft_decoding_stays_close_to_a_full_decode(tmp_path):
    from generativa.data.images import fit_image

    yy, xx = np.mgrid[0:480, 0:640]
    smooth = np.stack([xx * 255 // 639, yy * 255 // 479, (xx + yy) * 255 // 1118], axis=-1).astype(np.uint8)
    p = tmp_path / "photo.jpg"
    Image.fromarray(smooth).save(p, quality=95)
    full, _ = decode_image(p)
    draft, _ = decode_image(p, draft_size=32)
    assert full.shape == (480, 640, 3) and draft.shape[0] >= 32 and draft.shape[0] < 480
    diff = fit_image(full, 32, "crop").astype(int) - fit_image(draft, 32, "crop").astype(int)
    assert np.abs(diff).mean() < 2.0


@pytest.mark.parametrize("h, size", [(28, 32), (8, 32), (64, 16), (28, 14)])
def test_batch_resize_matches_pillow(h, size):
    import torch

    from generativa.data.images import fit_image, resize_batch

    x = torch.from_numpy(np.random.default_rng(h).integers(0, 256, (20, 3, h, h), dtype=np.uint8))
    y = resize_batch(x, size)
    ref = np.stack([fit_image(np.ascontiguousarray(x[i].permute(1, 2, 0).numpy()), size, "crop") for i in range(20)])
    diff = np.abs(y.permute(0, 2, 3, 1).numpy().astype(int) - ref.astype(int))
    assert y.shape == (20, 3, size, size) and diff.max() <= 2 and diff.mean() < 0.01


def test_raising_max_pixels_lets_a_large_header_through_pillows_warning(tmp_path, no_decoding):
    from generativa.data.images import open_checked

    p = tmp_path / "large.png"
    p.write_bytes(_png_with_header(10_000, 9_500))  # 95 Mpx: above Pillow's warning threshold (89 Mpx)
    with pytest.raises(DataError, match="max_pixels"):
        open_checked(p)
    assert open_checked(p, max_pixels=10**8).size == (10_000, 9_500)
