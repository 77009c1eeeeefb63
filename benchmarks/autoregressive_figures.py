"""The course's pictures of autoregressive models: receptive fields and per-pixel likelihood maps.

    python benchmarks/autoregressive_figures.py receptive --out docs/figures/receptive_field.png
    python benchmarks/autoregressive_figures.py surprise --run runs/benchmarks/autoregressive_gated_pixelcnn_mnist_4min_cond \
        --out docs/figures/likelihood_maps.png

``receptive``: which input pixels the output at the centre of a 15x15 image depends on, computed from
gradients (64 random images through randomly initialised networks of 4 layers after the first), for
PixelCNN (the staircase with its blind spot to the upper right) and Gated PixelCNN (every pixel above
and to the left). ``surprise``: test digits and -log p(x_t | x_<t) of every pixel under a trained run.
"""

from __future__ import annotations

import argparse

import matplotlib
import torch

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from generativa.models.autoregressive.gated_pixelcnn import GatedPixelCNN, GatedPixelCNNConfig  # noqa: E402
from generativa.models.autoregressive.pixelcnn import PixelCNN, PixelCNNConfig  # noqa: E402
from generativa.training.run import RunDir  # noqa: E402

parser = argparse.ArgumentParser()
parser.add_argument("what", choices=["receptive", "surprise"])
parser.add_argument("--out", required=True)
parser.add_argument("--run", default=None)
args = parser.parse_args()


def receptive_field(model, size: int) -> torch.Tensor:
    x = torch.randn(64, 1, size, size, requires_grad=True)
    out = model.network(x)[:, 0, 0, size // 2, size // 2].sum()
    (g,) = torch.autograd.grad(out, x)
    return (g.abs().sum(0)[0] != 0).float()


if args.what == "receptive":
    size = 15
    torch.manual_seed(0)
    fields = {
        "PixelCNN (4 mask-B layers)": PixelCNN(PixelCNNConfig(data_shape=(1, size, size), filters=16, layers=4)),
        "Gated PixelCNN (4 gated layers)": GatedPixelCNN(GatedPixelCNNConfig(data_shape=(1, size, size), filters=16,
                                                                            layers=4)),
    }
    fig, axes = plt.subplots(1, 2, figsize=(6.4, 3.4))
    for ax, (title, model) in zip(axes, fields.items()):
        field = receptive_field(model, size)
        picture = field.clone()
        picture[size // 2, size // 2] = 0.5                      # the output pixel
        ax.imshow(picture, cmap="Blues", vmin=0, vmax=1)
        ax.set_title(f"{title}\n{int(field.sum())} pixels seen", fontsize=9)
        ax.set_xticks([]), ax.set_yticks([])
    fig.tight_layout()
    fig.savefig(args.out, dpi=120)
else:
    run = RunDir(args.run)
    model, data = run.load_model(), run.load_data()
    x, labels = data.test.images(slice(0, 8)), data.test.labels[:8]
    condition = model.condition(labels=labels)
    with torch.no_grad():
        surprise = -model.log_prob_map(x, **condition)[:, 0]      # nats per pixel
    fig, axes = plt.subplots(2, 8, figsize=(9, 2.6))
    for k in range(8):
        axes[0, k].imshow(x[k, 0], cmap="gray"), axes[0, k].axis("off")
        axes[1, k].imshow(surprise[k], cmap="magma"), axes[1, k].axis("off")
        axes[1, k].set_title(f"{float(surprise[k].sum()):.0f} nats", fontsize=7)
    fig.suptitle("test digits and -log p(x_t | x_<t) per pixel", fontsize=9)
    fig.tight_layout()
    fig.savefig(args.out, dpi=120)
print(f"figure: {args.out}")
