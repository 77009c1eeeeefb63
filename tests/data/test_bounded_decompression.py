"""Compressed files are refused from their declared size before they are inflated, and a stream that
yields more or less than declared is refused: quickly, and without allocating what a bomb claims."""

import gzip
import io
import struct
import time
import tracemalloc
import zipfile
import zlib

import numpy as np
import pytest

from generativa.data import DataError, load_data
from generativa.data.idx import idx_file_bytes, read_idx
from generativa.data.limits import DEFAULT_MAX_BYTES
from generativa.data.npz import read_npz_images

MB = 2**20


def _zeros_gzip(header: bytes, megabytes: int) -> bytes:
    """gzip of header + megabytes MiB of zeros, without holding them: deflate blocks of zeros repeat."""
    c = zlib.compressobj(9, zlib.DEFLATED, -15)
    head = c.compress(header) + c.flush(zlib.Z_FULL_FLUSH)
    block = c.compress(bytes(MB)) + c.flush(zlib.Z_FULL_FLUSH)  # identical after every full flush
    body = head + block * megabytes + c.flush()
    crc = zlib.crc32(header)
    if megabytes <= 64:  # larger bombs are refused long before their CRC would be checked
        for _ in range(megabytes):
            crc = zlib.crc32(bytes(MB), crc)
    size = (len(header) + megabytes * MB) & 0xFFFFFFFF
    return b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x02\xff" + body + struct.pack("<II", crc, size)


def _refused_quickly(call, match):
    tracemalloc.start()
    start = time.perf_counter()
    try:
        with pytest.raises(DataError, match=match):
            call()
        elapsed = time.perf_counter() - start
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert elapsed < 1.0, f"took {elapsed:.2f} s"
    assert peak < 32 * MB, f"allocated {peak / MB:.0f} MiB"


def test_idx_gzip_declaring_more_than_max_bytes_is_refused_from_its_header(tmp_path):
    header = bytes([0, 0, 8, 3]) + struct.pack(">III", 4096, 1024, 1024)  # 4 GiB of images
    p = tmp_path / "train-images-idx3-ubyte.gz"
    p.write_bytes(_zeros_gzip(header, 2))
    _refused_quickly(lambda: read_idx(p, ndim=3), r"train-images.*declares 4,294,967,296 bytes.*max_bytes=")


def test_idx_gzip_bomb_under_a_small_header_stops_at_the_declared_size(tmp_path):
    header = bytes([0, 0, 8, 3]) + struct.pack(">III", 2, 28, 28)  # declares 1,568 bytes ...
    p = tmp_path / "train-images-idx3-ubyte.gz"
    p.write_bytes(_zeros_gzip(header, 64))  # ... and inflates to 64 MiB
    assert p.stat().st_size < 200_000
    _refused_quickly(lambda: read_idx(p, ndim=3), r"shape \(2, 28, 28\).*more than 1,584 bytes.*corrupt")


def test_idx_gzip_ending_early_is_truncated(tmp_path):
    data = idx_file_bytes(np.zeros((5, 4, 4), np.uint8))
    p = tmp_path / "x-idx3-ubyte.gz"
    p.write_bytes(gzip.compress(data[:-3]))
    with pytest.raises(DataError, match=r"shape \(5, 4, 4\).*has 93 bytes.*truncated"):
        read_idx(p, ndim=3)


def test_max_bytes_is_a_data_option(tmp_path):
    folder = tmp_path / "mnist"
    folder.mkdir()
    (folder / "train-images-idx3-ubyte.gz").write_bytes(gzip.compress(idx_file_bytes(np.zeros((10, 8, 8), np.uint8))))
    with pytest.raises(DataError, match=r"declares 640 bytes.*max_bytes=600.*data\.max_bytes"):
        load_data(f"idx:{folder}", max_bytes="600")
    s = load_data(f"idx:{folder}", max_bytes=640, test_fraction=0.2)
    assert len(s.train) == 8 and s.options["max_bytes"] == 640
    assert load_data(f"idx:{folder}").options["max_bytes"] == DEFAULT_MAX_BYTES == 2 * 2**30


def _npy_header(shape, descr="|u1") -> bytes:
    f = io.BytesIO()
    np.lib.format.write_array_header_1_0(f, {"descr": descr, "fortran_order": False, "shape": shape})
    return f.getvalue()


def _zip_raw(path, name: str, raw_deflate: bytes, crc: int, size: int) -> None:
    """A zip with one deflated member whose bytes are given (sizes up to 4 GiB, no zip64)."""
    name_b = name.encode()
    local = struct.pack("<IHHHHHIIIHH", 0x04034B50, 20, 0, 8, 0, 0x21, crc, len(raw_deflate), size,
                        len(name_b), 0) + name_b
    central = struct.pack("<IHHHHHHIIIHHHHHII", 0x02014B50, 20, 20, 0, 8, 0, 0x21, crc, len(raw_deflate),
                          size, len(name_b), 0, 0, 0, 0, 0, 0) + name_b
    offset = len(local) + len(raw_deflate)
    end = struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, 1, 1, len(central), offset, 0)
    path.write_bytes(local + raw_deflate + central + end)


def test_npz_declaring_gigabytes_is_refused_before_inflating(tmp_path):
    shape = (2600, 1024, 1024)  # 2.54 GiB of zeros in a file of about 2.6 MB
    header = _npy_header(shape)
    gz = _zeros_gzip(header, 2600)
    p = tmp_path / "bomb.npz"
    _zip_raw(p, "x.npy", gz[10:-8], 0, len(header) + 2600 * MB)
    assert p.stat().st_size < 4 * MB
    _refused_quickly(lambda: load_data(f"npz:{p}"), r"bomb\.npz.*x \(2600, 1024, 1024\) uint8.*max_bytes=2,147,483,648")
    _refused_quickly(lambda: read_npz_images(p), r"bomb\.npz.*declares 2,726,297,600 bytes")


def test_npz_that_compresses_well_is_refused_above_max_bytes(tmp_path):
    p = tmp_path / "big.npz"
    with zipfile.ZipFile(p, "w", zipfile.ZIP_DEFLATED) as z, z.open("x.npy", "w") as f:  # 32 MiB, written in pieces
        f.write(_npy_header((32, 1024, 1024)))
        for _ in range(32):
            f.write(bytes(MB))
    assert p.stat().st_size < MB
    _refused_quickly(lambda: load_data(f"npz:{p}", max_bytes=8 * MB), r"big\.npz.*more than max_bytes=8,388,608")


def test_npz_whose_header_and_zip_directory_disagree_is_refused(tmp_path):
    p = tmp_path / "lie.npz"
    with zipfile.ZipFile(p, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("x.npy", _npy_header((1000, 1000, 1000)) + bytes(64))  # claims 1 GB, holds 64 bytes
    _refused_quickly(lambda: load_data(f"npz:{p}"), r"lie\.npz.*shape \(1000, 1000, 1000\).*zip directory says")


def test_npz_member_shorter_than_its_declaration_is_refused(tmp_path):
    header = _npy_header((4, 8, 8))
    c = zlib.compressobj(9, zlib.DEFLATED, -15)
    raw = c.compress(header + bytes(100)) + c.flush()  # 100 of the 256 data bytes
    p = tmp_path / "short.npz"
    _zip_raw(p, "x.npy", raw, zlib.crc32(header + bytes(100)), len(header) + 256)
    with pytest.raises(DataError, match=r"short\.npz"):
        load_data(f"npz:{p}")


def test_npy_file_size_must_match_its_header(tmp_path):
    p = tmp_path / "x.npy"
    np.save(p, np.zeros((4, 6, 6), np.uint8))
    assert load_data(f"npz:{p}", test_fraction=0).shape == (1, 6, 6)
    p.write_bytes(p.read_bytes()[:-5])
    with pytest.raises(DataError, match=r"x\.npy.*declares shape \(4, 6, 6\).*file says 267 bytes"):
        load_data(f"npz:{p}")
