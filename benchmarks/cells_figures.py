"""The pictures of ``cells`` in docs/data.md and of the U-Net's weight map in docs/segmentation.md.

    python benchmarks/cells_figures.py          # writes docs/figures/cells_64.png, cells_256.png
"""

from pathlib import Path

import torch

from generativa.data import load_data
from generativa.data.cells import semantic_from_instances
from generativa.io.grids import make_grid, to_pil

FIGURES = Path(__file__).resolve().parents[1] / "docs" / "figures"

small = load_data("cells", n=16, n_test=0).train
semantic = semantic_from_instances(small.masks).float() / 2  # background 0, cell 0.5, border 1
to_pil(make_grid(torch.cat([small.images(), semantic]), 8), 3).save(FIGURES / "cells_64.png")
large = load_data("cells", n=4, n_test=0, size=256).train
to_pil(make_grid(large.images(), 4), 1).save(FIGURES / "cells_256.png")
print("wrote", FIGURES / "cells_64.png", FIGURES / "cells_256.png")
