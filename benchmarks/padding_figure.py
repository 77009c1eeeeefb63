"""The padding modes of a convolution and the border artefacts each causes (docs/building_blocks.md).

    python benchmarks/padding_figure.py        # writes docs/figures/padding.png

One cells image is blurred 6 times by a 5x5 box filter (``ConvBlock(kernel_size=5)`` with all weights
1/25) under each padding: zeros darken the border (the filter averages in black), circular brings in
the opposite side (the image becomes a torus), reflect keeps the border's own values, none (valid)
loses 2 pixels a side per pass. The bottom row shows each result minus the reflect one.
"""

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import torch  # noqa: E402

from generativa.data import load_data  # noqa: E402
from generativa.nn import ConvBlock  # noqa: E402

x = load_data("cells", n=1, n_test=0, seed=3).train.images()[:1]
x[..., :, :12] = 1.0  # a bright band at the left edge, so the circular padding's leak shows on the right
results = {}
for padding in ("zeros", "circular", "reflect", "none"):
    block = ConvBlock(1, 1, kernel_size=5, padding=padding, activation="none")
    with torch.no_grad():
        block.conv.weight.fill_(1 / 25)
        block.conv.bias.zero_()
        y = x
        for _ in range(6):
            y = block(y)
    results[padding] = y[0, 0]

fig, axes = plt.subplots(2, 5, figsize=(13, 5.6))
axes[0, 0].imshow(x[0, 0], cmap="gray", vmin=0, vmax=1)
axes[0, 0].set_title("input 64x64")
axes[1, 0].axis("off")
for i, (padding, y) in enumerate(results.items(), start=1):
    axes[0, i].imshow(y, cmap="gray", vmin=0, vmax=1)
    axes[0, i].set_title(f"{padding}: {tuple(y.shape)}")
    if padding != "none":
        axes[1, i].imshow(y - results["reflect"], cmap="coolwarm", vmin=-0.5, vmax=0.5)
        axes[1, i].set_title(f"{padding} - reflect")
    else:
        axes[1, i].axis("off")
for a in axes.ravel():
    a.set_xticks([])
    a.set_yticks([])
fig.suptitle("6 passes of a 5x5 box filter under each padding")
fig.tight_layout()
out = Path(__file__).resolve().parents[1] / "docs" / "figures" / "padding.png"
fig.savefig(out, dpi=90)
print("wrote", out)
