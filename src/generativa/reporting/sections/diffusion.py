"""Report section of diffusion models (the ``denoising_process`` trait): the course's pictures.

* Images: the forward process (one test image at t = 0, 0.1, ..., 1); the reverse process (x_t and the
  denoiser's estimate of x_0 at each step of one sampling run); the same noise through every sampler
  (with its number of network evaluations); and the variational bound in bits per dimension where the model has one.
* 2-D data: samples beside the data, and the paths of a few points from noise to data.
"""

from __future__ import annotations

import html
import math

import torch

from generativa.reporting.html import Section, figure_html, image_grid_html, table_html

FORWARD_TIMES = tuple(i / 10 for i in range(11))
BOUND_IMAGES = 256


def _plt():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _forward(model, data) -> str:
    x = data.test.images(slice(0, 1))
    strip = model.forward_process(x, torch.tensor(FORWARD_TIMES), generator=torch.Generator().manual_seed(0))
    return ("<h3>The forward process</h3><p>One test image noised to t = 0, 0.1, ..., 1 (x<sub>t</sub> = "
            "&alpha;(t) x<sub>0</sub> + &sigma;(t) &epsilon;, one draw of &epsilon;; schedule "
            f"<code>{html.escape(model.config.schedule)}</code>).</p>"
            + image_grid_html(strip[:, 0], nrow=len(FORWARD_TIMES), alt="forward process"))


def _reverse(model) -> str:
    run = model.trajectory(4, generator=torch.Generator().manual_seed(0))
    steps = len(run["times"])
    rows = []
    for i in range(run["x_t"].shape[1]):
        rows += [run["x_t"][:, i], run["x0"][:, i]]
    times = ", ".join(f"{t:.2f}" for t in run["times"].tolist())
    return ("<h3>The reverse process</h3><p>Four sampling runs (" + html.escape(model.config.sampler)
            + f", {steps} steps): in each pair of rows, the state x<sub>t</sub> (top) and the denoiser's estimate "
            f"of x<sub>0</sub> (bottom) at t = {times}.</p>"
            + image_grid_html(torch.cat(rows), nrow=steps, alt="reverse process"))


def _samplers(model) -> str:
    from generativa.models.diffusion.samplers import SAMPLERS, nfe

    steps = model.config.sampling_steps
    rows, names = [], []
    for sampler in SAMPLERS:
        rows.append(model.sample(10, generator=torch.Generator().manual_seed(1), sampler=sampler,
                                 steps=steps))
        names.append(f"{sampler} ({nfe(sampler, steps)} evaluations)")
    return ("<h3>Samplers</h3><p>The same noise through each sampler with " + str(steps) + " steps; rows: "
            + html.escape("; ".join(names)) + ".</p>" + image_grid_html(torch.cat(rows), nrow=10, alt="samplers"))


def _bound(model, data) -> str:
    n = min(BOUND_IMAGES, len(data.test))
    x = data.test.images(slice(0, n))
    lp = model.log_prob(x, k=4, generator=torch.Generator().manual_seed(0))
    nll = float(-lp.mean())
    dims = math.prod(model.data_shape)
    row = {"quantity": f"test NLL bound ({n} images)", "nats": nll, "bits/dim": nll / (dims * math.log(2.0)),
           "standard error (bits/dim)": float(lp.std()) / math.sqrt(n) / (dims * math.log(2.0))}
    return ("<h3>Variational bound</h3>" + table_html([row]) + "<p>"
            + html.escape(model.capabilities.likelihood_convention) + "</p>")


def toy_figure(model, data_x, n: int = 1500, paths: int = 40):
    """Samples beside the data, and the sampling paths of a few points from noise (grey) to data."""
    plt = _plt()
    run = model.trajectory(n, generator=torch.Generator().manual_seed(0), sampler="euler", steps=40)
    xs = torch.cat([run["x_t"], run["samples"].unsqueeze(0)])  # (steps + 1, n, 2)
    fig, (a, b, c) = plt.subplots(1, 3, figsize=(11, 3.6))
    a.scatter(data_x[:n, 0], data_x[:n, 1], s=2, c="#444", alpha=0.5)
    a.set_title("data (test split)")
    b.scatter(run["samples"][:, 0], run["samples"][:, 1], s=2, c="#1f77b4", alpha=0.5)
    b.set_title("samples")
    for i in range(paths):
        c.plot(xs[:, i, 0].numpy(), xs[:, i, 1].numpy(), "-", lw=0.7, color="#888")
    c.scatter(xs[0, :paths, 0], xs[0, :paths, 1], s=6, c="#bbb", label="noise (t = 1)")
    c.scatter(xs[-1, :paths, 0], xs[-1, :paths, 1], s=6, c="#d62728", label="sample (t = 0)")
    c.legend(fontsize=7, loc="lower right")
    c.set_title("paths from noise to data (Euler, 40 steps)")
    lo, hi = data_x.min(0).values - 0.5, data_x.max(0).values + 0.5
    for ax in (a, b):
        ax.set_xlim(float(lo[0]), float(hi[0]))
        ax.set_ylim(float(lo[1]), float(hi[1]))
    fig.tight_layout()
    return fig


def sections(ctx) -> list[Section]:
    model, caps = ctx.model, ctx.capabilities
    if not caps.has("denoising_process"):
        return []
    model.eval()
    if model.is_image_model:
        parts = []
        if ctx.data is not None and len(ctx.data.test) >= 1:
            parts.append(_forward(model, ctx.data))
        parts += [_reverse(model), _samplers(model)]
        if caps.can("log_prob") and ctx.data is not None and len(ctx.data.test) >= 2:
            parts.append(_bound(model, ctx.data))
        return [Section("Diffusion", "".join(parts), order=30)]
    if ctx.data is None or model.data_shape != (2,):
        return []
    return [Section("Diffusion", "<h3>Samples and paths</h3>"
                    + figure_html(toy_figure(model, ctx.data.test.x.float()), "toy"), order=30)]
