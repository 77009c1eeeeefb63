"""Report section of classifiers: the feature maps of one test image, layer by layer.

Every convolution of the network (in the order they run) gives one row: the input image, then its
first ``CHANNELS`` output maps (after the convolution, before any norm or non-linearity), each
scaled to its own range. Early rows show edge and blob detectors at full resolution, later rows
coarser, more abstract maps.
"""

from __future__ import annotations

import html

import torch
from torch import nn

from generativa.reporting.html import Section, figure_html

CHANNELS = 8


@torch.no_grad()
def feature_maps(model, x: torch.Tensor) -> list[tuple[str, torch.Tensor]]:
    """(name, maps (C, H, W)) of every convolution of ``model`` for one image x (1, C, H, W)."""
    found: list[tuple[str, torch.Tensor]] = []
    hooks = [m.register_forward_hook(lambda _m, _i, out, name=name: found.append((name, out[0].detach().cpu())))
             for name, m in model.named_modules() if isinstance(m, nn.Conv2d)]
    try:
        model.logits(x.to(model.device))
    finally:
        for h in hooks:
            h.remove()
    return found


def figure(model, x: torch.Tensor):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    layers = feature_maps(model, x)
    rows = max(1, len(layers))
    fig, axes = plt.subplots(rows, CHANNELS + 1, figsize=(1.3 * (CHANNELS + 1), 1.35 * rows), squeeze=False)
    for r, (name, maps) in enumerate(layers):
        axes[r, 0].imshow(x[0].mean(0), cmap="gray")
        axes[r, 0].set_ylabel(f"{name}\n{tuple(maps.shape)}", fontsize=6, rotation=0, ha="right", va="center")
        for c in range(CHANNELS):
            if c < maps.shape[0]:
                axes[r, c + 1].imshow(maps[c], cmap="viridis")
    for a in axes.ravel():
        a.set_xticks([])
        a.set_yticks([])
        for spine in a.spines.values():
            spine.set_visible(False)
    fig.tight_layout()
    return fig


def sections(ctx) -> list[Section]:
    if ctx.capabilities.kind != "classifier" or not ctx.model.is_image_model or ctx.data is None \
            or len(ctx.data.test) == 0:
        return []
    model = ctx.model.eval()
    x = ctx.data.test.images(slice(0, 1))
    label = "" if ctx.data.test.labels is None else f" (label {int(ctx.data.test.labels[0])})"
    return [Section("Feature maps", f"<p>The first test image{html.escape(label)} through every convolution of "
                    f"the network, the first {CHANNELS} maps of each (rows: layers in the order they run, "
                    "with each map's shape).</p>" + figure_html(figure(model, x), "feature maps"), order=35)]
