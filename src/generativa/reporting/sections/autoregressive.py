"""Report section of pixel-level autoregressive models (the declaration's ``completion`` trait): the
course's pictures of p(x) = prod_t p(x_t | x_<t).

* Samples, drawn one value at a time in raster order (a row per class for a conditional model).
* Completions: the bottom half of test images removed and drawn again from p(bottom | top), which is
  an exact conditional sample because the missing values are a suffix in raster order.
* Where the model is surprised: -log p(x_t | x_<t) of every pixel of test images, as heat maps.
* The exact test NLL in nats per image and bits per dimension, with the convention that defines it.
"""

from __future__ import annotations

import html
import math

import torch

from generativa.reporting.html import Section, figure_html, image_grid_html, table_html

N_TEST = 8


def _conditional(model) -> bool:
    return model.capabilities.accepts("labels")


def _samples(model) -> str:
    g = torch.Generator().manual_seed(0)
    if _conditional(model):
        labels = torch.arange(model.config.num_classes).repeat_interleave(8)
        x = model.sample(len(labels), generator=g, labels=labels)
        caption = "Samples, a row per class (labels 0, 1, ...), drawn one value at a time in raster order."
    else:
        x = model.sample(32, generator=g)
        caption = "Samples, drawn one value at a time in raster order."
    return f"<h3>Samples</h3><p>{caption}</p>" + image_grid_html(x, nrow=8, alt="samples")


def _condition(model, data, n: int) -> dict:
    """The test labels of the first n images for a conditional model (log p(x | y), completions given y)."""
    if not _conditional(model):
        return {}
    labels = data.test.labels
    return {"labels": labels[:n] if labels is not None else torch.arange(n) % model.config.num_classes}


def _completions(model, data) -> str:
    x = data.test.images(slice(0, N_TEST))
    n = len(x)
    mask = torch.zeros_like(x, dtype=torch.bool)
    mask[:, :, x.shape[2] // 2:, :] = True
    shown = x.masked_fill(mask, 0.5)
    rows = [x, shown] + [model.complete(x, mask, generator=torch.Generator().manual_seed(k), **_condition(model, data, n))
                         for k in range(2)]
    return ("<h3>Completions</h3><p>Rows: test images; their top halves (grey: removed); two completions "
            "of each, drawn from p(bottom half | top half).</p>"
            + image_grid_html(torch.cat(rows), nrow=n, alt="completions"))


def _surprise(model, data) -> str:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    x = data.test.images(slice(0, N_TEST))
    with torch.no_grad():
        nats = -model.log_prob_map(x, **_condition(model, data, len(x))).sum(1)   # (B, H, W), channels summed
    fig, axes = plt.subplots(2, len(x), figsize=(1.3 * len(x), 2.9), squeeze=False)
    top = float(nats.max())
    for k in range(len(x)):
        image = x[k].permute(1, 2, 0).squeeze(-1).numpy()
        axes[0, k].imshow(image, cmap="gray" if image.ndim == 2 else None, vmin=0, vmax=1)
        axes[1, k].imshow(nats[k].numpy(), cmap="magma", vmin=0, vmax=top)
        axes[1, k].set_title(f"{float(nats[k].sum()):.0f} nats", fontsize=7)
        for ax in axes[:, k]:
            ax.set_xticks([])
            ax.set_yticks([])
    fig.tight_layout()
    return ("<h3>Where the model is surprised</h3><p>Top: test images; bottom: −log p(x<sub>t</sub> | "
            "x<sub>&lt;t</sub>) of every pixel (bright: surprising), the same colour scale for all, with "
            "the image's total. Unusually high totals flag anomalies.</p>" + figure_html(fig, "likelihood maps"))


def _likelihood(model, data) -> str:
    n = min(500, len(data.test))
    x = data.test.images(slice(0, n))
    condition = _condition(model, data, n)
    with torch.no_grad():
        nll = torch.cat([-model.log_prob(x[i:i + 100], **{k: v[i:i + 100] for k, v in condition.items()})
                         for i in range(0, n, 100)])
    mean, se = float(nll.mean()), float(nll.std() / math.sqrt(max(n - 1, 1)))
    dims = math.prod(model.data_shape)
    given = " given the label" if condition else ""
    rows = [{"quantity": f"test NLL{given} ({n} images)", "nats": mean, "± (s.e.)": se,
             "bits/dim": mean / (dims * math.log(2.0))}]
    return ("<h3>Likelihood</h3>" + table_html(rows) + "<p>"
            + html.escape(model.capabilities.likelihood_convention) + "</p>")


def sections(ctx) -> list[Section]:
    model, caps = ctx.model, ctx.capabilities
    if not caps.has("completion") or len(model.data_shape) != 3:
        return []
    model.eval()
    parts = [_samples(model)]
    if ctx.data is not None and len(ctx.data.test) >= 2:
        parts += [_completions(model, ctx.data), _surprise(model, ctx.data), _likelihood(model, ctx.data)]
    return [Section("Autoregressive model", "".join(parts), order=30)]
