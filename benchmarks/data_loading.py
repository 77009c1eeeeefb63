"""How long the data sources take to build, on one CPU thread.

    .venv/bin/python benchmarks/data_loading.py

Prints seconds for: rendering the default ``shapes`` (20,000 + 2,000 sprites at 32x32) and at
64x64, the supersampling factors 1-3, each toy set at 10,000 points, and decoding a folder of
1,000 PNG files (written to a temporary folder first), and resizing 10,000 MNIST-sized arrays.
"""

import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from generativa.data import load_data
from generativa.data.shapes import render_shapes, sample_factors
from generativa.data.toy import TOY_NAMES

torch.set_num_threads(1)


def timed(label, fn):
    start = time.perf_counter()
    out = fn()
    print(f"{label:<48} {time.perf_counter() - start:6.2f} s")
    return out


# 1. shapes: the default dataset (twice: the first call in a process also pays for fresh memory pages),
#    then one size up.
timed("shapes n=20000 n_test=2000 size=32 (first call)", lambda: load_data("shapes"))
timed("shapes n=20000 n_test=2000 size=32 (again)", lambda: load_data("shapes"))
timed("shapes n=20000 n_test=2000 size=64", lambda: load_data("shapes", size=64))

# 2. the anti-aliasing cost: sub-pixel samples per pixel side.
factors = sample_factors(20000, generator=torch.Generator().manual_seed(0))
for k in (1, 2, 3):
    timed(f"render_shapes 20000 at 32x32, supersample={k}", lambda k=k: render_shapes(factors, size=32, supersample=k))

# 3. toys.
for name in TOY_NAMES:
    timed(f"{name} n=10000", lambda name=name: load_data(name))

# 4. resizing square arrays as a batch (idx/npz/cifar10/digits with size=...).
from generativa.data.images import resize_batch  # noqa: E402

mnist_like = torch.randint(0, 256, (10000, 1, 28, 28), dtype=torch.uint8, generator=torch.Generator().manual_seed(0))
timed("resize_batch 10000 x 1x28x28 -> 32", lambda: resize_batch(mnist_like, 32))

# 5. a folder of 1,000 RGB PNGs, 64x64, in two classes, decoded and resized to 32.
with tempfile.TemporaryDirectory() as root:
    rng = np.random.default_rng(0)
    for i in range(1000):
        folder = Path(root) / ("a" if i % 2 else "b")
        folder.mkdir(exist_ok=True)
        Image.fromarray(rng.integers(0, 256, (64, 64, 3), dtype=np.uint8)).save(folder / f"{i}.png")
    timed("folder: 1000 PNG 64x64 RGB", lambda: load_data(f"folder:{root}"))
    timed("folder: 1000 PNG 64x64 RGB, size=32", lambda: load_data(f"folder:{root}", size=32))
