"""The lecture's 2x2 -> 4x4 upsampling examples and 4x4 -> 2x2 pooling, drawn with their numbers
(docs/building_blocks.md); the same numbers are pinned in tests/nn/test_lecture_examples.py.

    python benchmarks/resampling_figure.py     # writes docs/figures/resampling.png
"""

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import torch  # noqa: E402

from generativa.nn.lecture import resampling_examples  # noqa: E402

panels = resampling_examples()
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
