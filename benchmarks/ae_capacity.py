"""Capacity study: the same conv autoencoder with a 2-, 5- and 16-dimensional code on digits.

    python benchmarks/ae_capacity.py [--steps 3000] [--device auto] [--out benchmarks/figures/ae_capacity.png]

Like the course's "2-D vs 5-D latent" figure: one row of test images, then their reconstructions
through each code size, side by side; the test MSE of each size is printed and written in the figure.
A 2-D code keeps the class and rough shape only; 5 dimensions bring back most strokes; 16 the details.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).parent))
from ae_common import fit_preset, test_mse  # noqa: E402

from generativa.data import load_data  # noqa: E402

parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
parser.add_argument("--steps", type=int, default=3000)
parser.add_argument("--device", default="auto")
parser.add_argument("--threads", type=int, default=2)
parser.add_argument("--sizes", default="2,5,16")
parser.add_argument("--out", default=str(Path(__file__).parent / "figures" / "ae_capacity.png"))
args = parser.parse_args()
torch.set_num_threads(args.threads)

digits = load_data("digits")
xt = digits.test.images()
shown = xt[:12]
sizes = [int(s) for s in args.sizes.split(",")]

rows, errors = [shown], {}
for k in sizes:
    model, seconds = fit_preset("ae_digits", digits, steps=args.steps, device=args.device, latent_dim=k)
    errors[k] = test_mse(model, xt)
    with torch.no_grad():
        rows.append(model.reconstruct(shown))
    print(f"code size {k:>2}: test MSE {errors[k]:.5f}  ({args.steps} steps, {seconds:.1f} s)", flush=True)

import matplotlib  # noqa: E402

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

fig, axes = plt.subplots(len(rows), len(shown), figsize=(len(shown) * 0.8, len(rows) * 0.9))
titles = ["test images"] + [f"{k}-D code, MSE {errors[k]:.4f}" for k in sizes]
for r, (row, title) in enumerate(zip(rows, titles)):
    for c in range(len(shown)):
        ax = axes[r, c]
        ax.imshow(row[c, 0].numpy(), cmap="gray", vmin=0, vmax=1)
        ax.set_xticks([])
        ax.set_yticks([])
    axes[r, 0].set_ylabel(title, rotation=0, ha="right", va="center", fontsize=8)
fig.suptitle("conv autoencoder on digits: reconstructions by code size")
out = Path(args.out)
out.parent.mkdir(parents=True, exist_ok=True)
fig.savefig(out, dpi=120, bbox_inches="tight")
print(f"figure: {out}")
