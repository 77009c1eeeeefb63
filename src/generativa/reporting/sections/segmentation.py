"""Report section of segmentation models (kind ``segmenter``): the weight map of the loss, the
predictions over test images, and the metrics (pixel IoU / Dice per class, Rand error, touching
pairs separated) on the test split."""

from __future__ import annotations

import html

import torch

from generativa.reporting.html import Section, figure_html, table_html

SHOWN = 6
MEASURED = 200


def _plt():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _weight_map(model, data) -> str:
    from generativa.models.vision.segmentation import semantic_from_instances, weight_map

    c = model.config
    if c.masks != "instances":
        return ""
    m = data.test.masks[0, 0].numpy()
    sem = semantic_from_instances(torch.from_numpy(m)).numpy()
    w = weight_map(sem, m, classes=c.classes, w0=c.w0, sigma=c.sigma, balance=c.class_balance)
    plt = _plt()
    fig, axes = plt.subplots(1, 3, figsize=(10, 3.4))
    axes[0].imshow(data.test.images(slice(0, 1))[0].mean(0), cmap="gray", vmin=0, vmax=1)
    axes[0].set_title("test image")
    axes[1].imshow(sem, cmap="viridis", vmin=0, vmax=2)
    axes[1].set_title("classes: background, cell, border")
    im = axes[2].imshow(w, cmap="magma")
    axes[2].set_title(f"weight map (w0 = {c.w0:g}, sigma = {c.sigma:g} px)")
    fig.colorbar(im, ax=axes[2], fraction=0.046)
    for a in axes:
        a.axis("off")
    fig.tight_layout()
    return ("<h3>The weight map</h3><p>w(x) = w<sub>c</sub>(x) + w<sub>0</sub> exp(-(d<sub>1</sub>(x) + "
            "d<sub>2</sub>(x))<sup>2</sup> / 2&sigma;<sup>2</sup>): class balance plus a ridge where two cells "
            "come close (d<sub>1</sub>, d<sub>2</sub>: distances to the nearest and second-nearest cell).</p>"
            + figure_html(fig, "weight map"))


def _predictions(model, data) -> str:
    from generativa.exploration.segment import overlay, segment
    from generativa.models.vision.segmentation import instances_from_semantic, semantic_from_instances

    n = min(SHOWN, len(data.test))
    plt = _plt()
    fig, axes = plt.subplots(3, n, figsize=(2.2 * n, 6.8), squeeze=False)
    for i in range(n):
        x = data.test.images(slice(i, i + 1))[0]
        semantic, instances = segment(model, x)
        truth = data.test.masks[i, 0]
        truth_sem = semantic_from_instances(truth).numpy()
        axes[0, i].imshow(x.mean(0), cmap="gray", vmin=0, vmax=1)
        axes[1, i].imshow(overlay(x, truth_sem, instances_from_semantic(truth_sem)))
        axes[2, i].imshow(overlay(x, semantic, instances))
        for r in range(3):
            axes[r, i].axis("off")
    axes[0, 0].set_title("test images", loc="left", fontsize=9)
    axes[1, 0].set_title("ground truth", loc="left", fontsize=9)
    axes[2, 0].set_title("prediction (instances tinted, borders red)", loc="left", fontsize=9)
    fig.tight_layout()
    return "<h3>Predictions on test images</h3>" + figure_html(fig, "predictions")


def _metrics(model, data) -> str:
    from generativa.evaluation.segmentation import evaluate_segmenter

    m = evaluate_segmenter(model, data.test, max_images=MEASURED)
    rows = [{"metric": k, "value": v} for k, v in m.items()]
    return (f"<h3>Metrics on {m['images']} test images</h3>" + table_html(rows)
            + "<p>IoU / Dice over all pixels of the split; Rand error = 1 - Rand index of the predicted "
            "instances against the true ones, per image; touching_separated: the share of touching cell "
            "pairs whose two cells the prediction puts in different instances.</p>")


def sections(ctx) -> list[Section]:
    model = ctx.model
    if ctx.capabilities.kind != "segmenter":
        return []
    data = ctx.data
    if data is None or data.test.masks is None or len(data.test) == 0:
        return [Section("Segmentation", "<p>The run's test split with masks could not be loaded; "
                        "the segmentation views need it.</p>", order=30)]
    model.eval()
    parts = [_weight_map(model, data), _predictions(model, data), _metrics(model, data)]
    note = html.escape(f"padding={model.config.padding}, depth={model.config.depth}, width={model.config.width}")
    return [Section("Segmentation", f"<p>U-Net ({note}).</p>" + "".join(parts), order=30)]



