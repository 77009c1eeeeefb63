"""The lecture's 2x2 -> 4x4 upsampling examples and 4x4 -> 2x2 pooling, drawn with their numbers
(docs/building_blocks.md); the same numbers are pinned in tests/nn/test_lecture_examples.py.

    python benchmarks/resampling_figure.py     # writes docs/figures/resampling.png
"""

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import torch  # noqa: E402

from generativa.nn import ConvBlock  # noqa: E402

X = torch.tensor([[[[1.0, 2.0], [3.0, 4.0]]]])
POOL_IN = torch.tensor([[[[1.0, 1.0, 2.0, 4.0], [5.0, 6.0, 7.0, 8.0], [3.0, 2.0, 1.0, 0.0], [1.0, 2.0, 3.0, 4.0]]]])


def ones(**options) -> ConvBlock:
    block = ConvBlock(1, 1, kernel_size=options.pop("kernel_size", 1), activation="none", **options)
    with torch.no_grad():
        block.conv.weight.fill_(1.0)
        block.conv.bias.zero_()
    return block


with torch.no_grad():
    pooled, indices = ones(down="maxpool", return_indices=True)(POOL_IN)
    panels = [
        ("4x4 input", POOL_IN), ("max pooling 2x2", pooled), ("average pooling 2x2", ones(down="avgpool")(POOL_IN)),
        ("2x2 input", X), ("nearest neighbour", ones(up="nearest")(X)), ("bilinear", ones(up="bilinear")(X)),
        ("max unpooling (positions\nof the max pooling)", ones(up="unpool")(X, indices=indices)),
        ("transposed conv 3x3, stride 2\n(all-ones kernel)", ones(up="transposed", kernel_size=3)(X, output_size=4)),
    ]
fig, axes = plt.subplots(2, 4, figsize=(12, 6.4))
for ax, (title, t) in zip(axes.ravel(), panels):
    m = t[0, 0]
    ax.imshow(m, cmap="Blues", vmin=0, vmax=max(float(m.max()), 1.0))
    for (i, j), v in zip(torch.cartesian_prod(torch.arange(m.shape[0]), torch.arange(m.shape[1])).tolist(),
                         m.flatten().tolist()):
        ax.text(j, i, f"{v:g}", ha="center", va="center", fontsize=11)
    ax.set_title(title, fontsize=10)
    ax.set_xticks([])
    ax.set_yticks([])
fig.tight_layout()
out = Path(__file__).resolve().parents[1] / "docs" / "figures" / "resampling.png"
fig.savefig(out, dpi=80)
print("wrote", out)
