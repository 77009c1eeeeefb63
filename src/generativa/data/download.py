"""``mnist`` and ``fashion_mnist`` by name: the published IDX files, downloaded once into a cache.

MNIST (LeCun, Bottou, Bengio & Haffner 1998) and Fashion-MNIST (Xiao, Rasul & Vollgraf 2017,
arXiv:1708.07747) are each four gzipped IDX files: ``train-images-idx3-ubyte.gz`` (60,000 images
of 28x28), ``train-labels-idx1-ubyte.gz``, ``t10k-images-idx3-ubyte.gz`` (10,000) and
``t10k-labels-idx1-ubyte.gz``. They are read from ``cache_dir() / NAME`` and, where a file is
missing, downloaded there from the first of ``MIRRORS[NAME]`` that serves it with the MD5 digest
its distributor publishes (``DIGESTS[NAME]``; MNIST's as listed by torchvision, Fashion-MNIST's
in its README at github.com/zalandoresearch/fashion-mnist).

A download is written to a temporary name in the same folder, checked (length against
Content-Length, then the digest) and only then renamed into place, so an interrupted or refused
download never leaves a file behind; a mirror that fails, drops the connection or serves other
bytes is skipped for the next one. A cached file is checked against its digest each time it is
used (about 0.1 s for all four), and one that no longer matches is downloaded again.

The cache folder is ``$GENERATIVA_DATA`` when set, else the platform's user cache:
``$XDG_CACHE_HOME/generativa/data`` or ``~/.cache/generativa/data`` on Linux,
``~/Library/Caches/generativa/data`` on macOS, ``%LOCALAPPDATA%\\generativa\\Cache\\data`` on
Windows. Without a network, put the four files in ``cache_dir() / NAME`` (or use ``idx:PATH``).
"""

from __future__ import annotations

import hashlib
import http.client
import os
import sys
import tempfile
import urllib.error
import urllib.request
import warnings
from pathlib import Path

from tqdm.auto import tqdm

from generativa.data.errors import DataError

FILES = ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz",
         "t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz")

# MD5 of each file as published: MNIST's by torchvision (datasets/mnist.py, the files of
# yann.lecun.com/exdb/mnist), Fashion-MNIST's in the table of its README.
DIGESTS: dict[str, dict[str, str]] = {
    "mnist": {
        "train-images-idx3-ubyte.gz": "f68b3c2dcbeaaa9fbdd348bbdeb94873",
        "train-labels-idx1-ubyte.gz": "d53e105ee54ea40749a09fcbcd1e9432",
        "t10k-images-idx3-ubyte.gz": "9fb629c4189551a2d022fa330f9573f3",
        "t10k-labels-idx1-ubyte.gz": "ec29112dd5afa0611ce80d1b7f02629c",
    },
    "fashion_mnist": {
        "train-images-idx3-ubyte.gz": "8d4fb7e6c68d591d4c3dfef9ec88bf0d",
        "train-labels-idx1-ubyte.gz": "25c81989df183df01b3e8a0aad5dffbe",
        "t10k-images-idx3-ubyte.gz": "bef4ecab320f06d8554ea6380940ec79",
        "t10k-labels-idx1-ubyte.gz": "bb300cfdad3c16e7a12a480ee83cd310",
    },
}

# Tried in order; HTTPS first. The original MNIST site (yann.lecun.com) now often refuses
# downloads, so it comes last.
MIRRORS: dict[str, tuple[str, ...]] = {
    "mnist": ("https://ossci-datasets.s3.amazonaws.com/mnist/",
              "https://storage.googleapis.com/cvdf-datasets/mnist/",
              "http://yann.lecun.com/exdb/mnist/"),
    "fashion_mnist": ("https://raw.githubusercontent.com/zalandoresearch/fashion-mnist/master/data/fashion/",
                      "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/"),
}

CLASS_NAMES: dict[str, tuple[str, ...]] = {
    "mnist": tuple(str(d) for d in range(10)),
    "fashion_mnist": ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker",
                      "Bag", "Ankle boot"),
}

MAX_DOWNLOAD = 64 * 2**20  # bytes; the largest of these files (Fashion-MNIST train images) is 26 MB
TIMEOUT = 30.0  # seconds without data before a mirror is given up
CHUNK = 1 << 16


def cache_dir() -> Path:
    """Where downloaded datasets live: ``$GENERATIVA_DATA``, else the platform's user cache folder."""
    env = os.environ.get("GENERATIVA_DATA", "").strip()
    if env:
        return Path(env).expanduser()
    home = Path.home()
    if sys.platform == "win32":
        base = Path(os.environ.get("LOCALAPPDATA") or home / "AppData" / "Local")
        return base / "generativa" / "Cache" / "data"
    if sys.platform == "darwin":
        return home / "Library" / "Caches" / "generativa" / "data"
    xdg = os.environ.get("XDG_CACHE_HOME", "").strip()
    return (Path(xdg) if xdg else home / ".cache") / "generativa" / "data"


def md5_of(path: Path) -> str:
    h = hashlib.md5(usedforsecurity=False)
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


class _Refused(Exception):
    """One mirror did not deliver the file; the message says why."""


def _download(url: str, target: Path, digest: str, *, progress: bool | None, timeout: float) -> None:
    """Fetch url into a temporary file beside ``target``; rename it to ``target`` only if its MD5 is ``digest``."""
    fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".part", dir=target.parent)
    tmp = Path(tmp_name)
    try:
        h = hashlib.md5(usedforsecurity=False)
        got = 0
        with os.fdopen(fd, "wb") as out:
            try:
                with urllib.request.urlopen(url, timeout=timeout) as response:
                    length = response.headers.get("Content-Length")
                    total = int(length) if length and length.isdigit() else None
                    if total is not None and total > MAX_DOWNLOAD:
                        raise _Refused(f"the server announces {total:,} bytes, more than the {MAX_DOWNLOAD:,} "
                                       "this file can have")
                    with tqdm(total=total, unit="B", unit_scale=True, unit_divisor=1024, desc=target.name,
                              disable=None if progress is None else not progress) as bar:
                        while True:
                            block = response.read(CHUNK)
                            if not block:
                                break
                            got += len(block)
                            if got > MAX_DOWNLOAD:
                                raise _Refused(f"more than {MAX_DOWNLOAD:,} bytes arrived; this file is smaller")
                            h.update(block)
                            out.write(block)
                            bar.update(len(block))
            except urllib.error.HTTPError as err:
                raise _Refused(f"HTTP {err.code} {err.reason}") from None
            except (urllib.error.URLError, http.client.HTTPException, OSError) as err:
                raise _Refused(f"{type(err).__name__}: {getattr(err, 'reason', None) or err}") from None
            if total is not None and got != total:
                raise _Refused(f"the connection ended after {got:,} of {total:,} bytes")
            out.flush()
            os.fsync(out.fileno())
        found = h.hexdigest()
        if found != digest:
            raise _Refused(f"its MD5 is {found}, not the published {digest} ({got:,} bytes); refused")
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)


def fetch(name: str, *, folder: Path | None = None, mirrors: tuple[str, ...] | None = None,
          digests: dict[str, str] | None = None, progress: bool | None = None,
          timeout: float = TIMEOUT) -> Path:
    """The folder holding the four verified IDX files of dataset ``name``, downloading what is missing.

    folder: default ``cache_dir() / name``. mirrors, digests: default ``MIRRORS[name]`` and
    ``DIGESTS[name]``. progress: a tqdm bar per file on stderr; None shows it on a terminal.
    """
    if name not in DIGESTS:
        raise DataError(f"no downloadable dataset {name!r}; choose one of {', '.join(DIGESTS)}")
    folder = Path(folder) if folder is not None else cache_dir() / name
    mirrors = MIRRORS[name] if mirrors is None else tuple(mirrors)
    digests = DIGESTS[name] if digests is None else digests
    for file in FILES:
        target = folder / file
        if target.is_file():
            if md5_of(target) == digests[file]:
                continue
            warnings.warn(f"{target}: its MD5 is not the published {digests[file]}; downloading it again",
                          stacklevel=2)
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as err:
            raise DataError(f"{name}: cannot create the cache folder {folder} ({err}); set GENERATIVA_DATA to a "
                            "writable folder") from None
        failures = []
        for mirror in mirrors:
            url = mirror.rstrip("/") + "/" + file
            try:
                _download(url, target, digests[file], progress=progress, timeout=timeout)
                break
            except _Refused as why:
                failures.append(f"  {url}: {why}")
                if mirror != mirrors[-1]:
                    warnings.warn(f"{name}: {url} failed ({why}); trying the next mirror", stacklevel=2)
        else:
            tried = "\n".join(failures) or "  (no mirrors)"
            raise DataError(f"{name}: could not download {file}; every mirror failed:\n{tried}\n"
                            f"Check the network, or download the four files ({', '.join(FILES)}) yourself into "
                            f"{folder} (GENERATIVA_DATA sets the cache folder), or use idx:PATH on a folder "
                            "that holds them")
    return folder
