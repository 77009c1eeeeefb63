"""Report section of normalizing flows (the declaration's ``latent == "invertible"``): the course's
pictures of a flow.

* 2-D data: the learned density as a heat map next to the data; with the ``flow_layers`` trait, the
  transformation itself: base samples pushed through the layers one at a time (the lecture's strip).
* 1-D data: the density over a histogram of the data.
* Images: samples at several temperatures, a straight line in z between two test images decoded,
  and the test bits per dimension with the convention that defines them.
"""

from __future__ import annotations

import html
import math

import torch

from generativa.reporting.html import Section, figure_html, image_grid_html, table_html

TEMPERATURES = (0.5, 0.7, 0.85, 1.0)


def _plt():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def density_figure(model, data_x):
    """Heat map of exp(log p) on a grid around the data, beside the data."""
    plt = _plt()
    lo, hi = data_x.min(0).values - 1.0, data_x.max(0).values + 1.0
    n = 120
    xs, ys = torch.linspace(float(lo[0]), float(hi[0]), n), torch.linspace(float(lo[1]), float(hi[1]), n)
    grid = torch.cartesian_prod(xs, ys)
    with torch.no_grad():
        density = torch.cat([model.log_prob(c).exp() for c in grid.split(4096)]).view(n, n).T
    fig, (a, b) = plt.subplots(1, 2, figsize=(8, 3.8))
    a.scatter(data_x[:2000, 0], data_x[:2000, 1], s=2, c="#444", alpha=0.5)
    a.set_title("data (test split)")
    b.imshow(density.numpy(), origin="lower", extent=(float(lo[0]), float(hi[0]), float(lo[1]), float(hi[1])),
             aspect="auto", cmap="magma")
    b.set_title("learned density p(x)")
    for ax in (a, b):
        ax.set_xlim(float(lo[0]), float(hi[0]))
        ax.set_ylim(float(lo[1]), float(hi[1]))
    fig.tight_layout()
    return fig


def trajectory_figure(model, n: int = 1500, panels: int = 6):
    """Base samples after each layer, at most ``panels`` snapshots from z to x."""
    plt = _plt()
    z = torch.randn(n, model.dims, generator=torch.Generator().manual_seed(0))
    path = model.trajectory(z)
    pick = sorted({round(i * (len(path) - 1) / (panels - 1)) for i in range(panels)})
    fig, axes = plt.subplots(1, len(pick), figsize=(2.3 * len(pick), 2.5), squeeze=False)
    colour = z[:, 0].numpy()  # each point keeps its colour: where it started
    for ax, i in zip(axes.flat, pick):
        p = path[i]
        ax.scatter(p[:, 0], p[:, 1], s=1.5, c=colour, cmap="viridis")
        ax.set_title("z ~ N(0, I)" if i == 0 else ("x" if i == len(path) - 1 else f"after layer {i}"), fontsize=9)
        ax.set_xticks([])
        ax.set_yticks([])
    fig.tight_layout()
    return fig


def _one_dimensional(model, data_x):
    plt = _plt()
    lo, hi = float(data_x.min()) - 1, float(data_x.max()) + 1
    grid = torch.linspace(lo, hi, 400).unsqueeze(1)
    with torch.no_grad():
        density = model.log_prob(grid).exp()
    fig, ax = plt.subplots(figsize=(5, 3))
    ax.hist(data_x[:, 0].numpy(), bins=80, density=True, color="#bbb", label="data")
    ax.plot(grid[:, 0].numpy(), density.numpy(), "k-", label="p(x)")
    ax.legend(fontsize=8)
    return figure_html(fig, "1-D density")


def _images(model, data) -> str:
    parts = []
    rows = [model.sample(10, generator=torch.Generator().manual_seed(0), temperature=t) for t in TEMPERATURES]
    parts.append("<h3>Temperature</h3><p>Rows: z ~ N(0, T<sup>2</sup> I) for T = "
                 + ", ".join(map(str, TEMPERATURES)) + " (the same noise, scaled).</p>"
                 + image_grid_html(torch.cat(rows), nrow=10, alt="samples by temperature"))
    if data is not None and len(data.test) >= 2:
        x = data.test.images(slice(0, 2))
        z = model.encode(x)
        t = torch.linspace(0, 1, 10).view(-1, 1)
        line = model.decode((1 - t) * z[:1] + t * z[1:2])
        parts.append("<h3>Interpolation in z</h3><p>The first two test images (ends) and the decoded points of "
                     "the straight line between their codes.</p>" + image_grid_html(line, nrow=10, alt="interpolation"))
        n = min(500, len(data.test))
        with torch.no_grad():
            lp = model.log_prob(data.test.images(slice(0, n)), generator=torch.Generator().manual_seed(0))
        nll = float(-lp.mean())
        rows_ = [{"quantity": f"test NLL ({n} images)", "nats": nll,
                  "bits/dim": nll / (math.prod(model.data_shape) * math.log(2.0))}]
        parts.append("<h3>Likelihood</h3>" + table_html(rows_) + "<p>"
                     + html.escape(model.capabilities.likelihood_convention) + "</p>")
    return "".join(parts)


def sections(ctx) -> list[Section]:
    model, caps = ctx.model, ctx.capabilities
    if caps.latent != "invertible":
        return []
    model.eval()
    if model.is_image_model:
        return [Section("Flow", _images(model, ctx.data), order=30)]
    if ctx.data is None:
        return []
    x = ctx.data.test.x.float()
    if model.data_shape == (1,):
        return [Section("Flow", _one_dimensional(model, x), order=30)]
    if model.data_shape != (2,):
        return []
    parts = ["<h3>Density</h3>" + figure_html(density_figure(model, x), "density")]
    if caps.has("flow_layers"):
        parts.append("<h3>The transformation</h3><p>Samples of the base distribution pushed through the layers "
                     "one at a time (colour: the first coordinate of z).</p>"
                     + figure_html(trajectory_figure(model), "layers"))
    return [Section("Flow", "".join(parts), order=30)]
