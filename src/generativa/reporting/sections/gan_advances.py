"""Report views of the GAN lesson's recent advances (the ``progressive``, ``styles`` and ``translation`` traits).

* Progressive growing: the fade-in schedule (resolution and alpha against the round, with the
  round the run reached), and samples from one fixed z at every resolution stage.
* Style-based generator: the style-mixing grid of Karras et al. 2019 (Fig. 3): a row of sources
  whose coarse styles are copied, a column of sources giving the rest, each cell one mix; the same
  with the fine styles swapped in; a truncation sweep psi = 1, 0.7, 0.5, 0; and one image with its
  per-pixel noise redrawn, with the per-pixel standard deviation over the draws (what noise controls).
* Translation (CycleGAN): test images of A, their translation to B and back, and the same from B.
"""

from __future__ import annotations

import html

import torch

from generativa.reporting.html import Section, figure_html, image_grid_html

PSIS = (1.0, 0.7, 0.5, 0.0)


def _plt():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def fade_schedule_figure(model):
    """Resolution and fade-in coefficient against the round, a vertical line at the round reached."""
    plt = _plt()
    end = max(model.growth_steps() + model.config.stage_steps, int(model.progress_step) + 1)
    steps = list(range(0, end + 1, max(1, end // 400)))
    stages = [model.schedule(t) for t in steps]
    fig, ax = plt.subplots(figsize=(7, 2.6))
    ax.plot(steps, [a for _, a in stages], color="#d62728", label="alpha (fade-in)")
    ax.set_ylabel("alpha")
    ax.set_xlabel("round")
    ax2 = ax.twinx()
    ax2.step(steps, [model.sizes[k] for k, _ in stages], where="post", color="#1f77b4", label="resolution")
    ax2.set_ylabel("resolution (pixels)")
    ax.axvline(int(model.progress_step), color="#888", ls="--", lw=0.8)
    fig.legend(loc="lower right", fontsize=7)
    fig.tight_layout()
    return fig


def _progressive(model) -> str:
    z = torch.randn(8, model.config.latent_dim, generator=torch.Generator().manual_seed(0))
    stage_now, _ = model.stage
    rows = [model.generate(z, stage=k, alpha=1.0) for k in range(stage_now + 1)]
    sizes = ", ".join(f"{model.sizes[k]}x{model.sizes[k]}" for k in range(stage_now + 1))
    stage, alpha = model.stage
    return ("<h3>Growing</h3><p>Resolution and fade-in coefficient alpha over training (the dashed line: "
            f"round {int(model.progress_step)}, stage {stage} at {model.sizes[stage]} pixels, alpha = {alpha:.2f}).</p>"
            + figure_html(fade_schedule_figure(model), "fade-in schedule")
            + f"<p>The same z at each stage reached ({html.escape(sizes)}; rows), upsampled to the data's size.</p>"
            + image_grid_html(torch.cat(rows), nrow=8, alt="stages"))


def style_mixing_grid(model, *, k: int = 5, cutoff: int | None = None, seed: int = 0) -> tuple[torch.Tensor, int]:
    """(grid images, nrow): the first row is the column sources (blank corner first), each next row
    starts with a row source; cell (i, j) takes layers [0, cutoff) from row source i and the rest
    from column source j [Karras et al. 2019, Fig. 3]. cutoff default: the coarse layers (the two
    lowest resolutions' w's)."""
    cutoff = min(4, model.n_ws - 1) if cutoff is None else cutoff
    g = torch.Generator().manual_seed(seed)
    w_rows, w_cols = model.latents(k, generator=g), model.latents(k, generator=g)
    plain = lambda w: model.style_mix(w, w, model.n_ws)  # noqa: E731
    top = torch.cat([torch.ones(1, *model.data_shape), plain(w_cols)])
    rows = [top]
    for i in range(k):
        mixed = model.style_mix(w_rows[i:i + 1].expand(k, -1), w_cols, cutoff)
        rows.append(torch.cat([plain(w_rows[i:i + 1]), mixed]))
    return torch.cat(rows), k + 1


def _styles(model) -> str:
    coarse = min(2, model.n_ws - 1)
    resolutions = model.synthesis.layer_resolutions()
    parts = ["<h3>Style mixing</h3>"]
    for cutoff, what in ((coarse, "coarse"), (model.n_ws - 2, "all but the finest")):
        grid, nrow = style_mixing_grid(model, cutoff=cutoff)
        res = sorted(set(resolutions[:cutoff]))
        parts.append(f"<p>Rows take the {what} styles (w<sub>0</sub>..w<sub>{cutoff - 1}</sub>, resolutions "
                     f"{', '.join(map(str, res))}) of the source on the left; the rest comes from the source on top.</p>"
                     + image_grid_html(grid, nrow=nrow, alt=f"style mixing {what}"))
    g = torch.Generator().manual_seed(1)
    w = model.latents(8, generator=g)
    sweep = [model.synthesize(model.truncate(w, psi)[:, None].expand(-1, model.n_ws, -1).contiguous(), noise="const")
             for psi in PSIS]
    parts.append("<h3>Truncation</h3><p>The same 8 latents at psi = " + ", ".join(map(str, PSIS))
                 + " (rows): w = w_avg + psi (w - w_avg); psi = 0 is the average image.</p>"
                 + image_grid_html(torch.cat(sweep), nrow=8, alt="truncation"))
    w1 = w[:1].expand(8, -1)[:, None].expand(-1, model.n_ws, -1).contiguous()
    draws = model.synthesize(w1, noise="random", generator=torch.Generator().manual_seed(2))
    spread = draws.std(0, keepdim=True)
    spread = spread / spread.max().clamp_min(1e-8)
    parts.append("<h3>Noise inputs</h3><p>One w with its per-pixel noise drawn 8 times, and (last) the per-pixel "
                 "standard deviation over the draws, scaled to white: noise moves the fine detail, the styles "
                 "keep the rest.</p>" + image_grid_html(torch.cat([draws, spread]), nrow=9, alt="noise"))
    return "".join(parts)


def _translation(model, data) -> str:
    parts = ["<h3>Translation</h3>"]
    for source, target, name in ((data, "b", "A -> B -> A"), (data.domain_b, "a", "B -> A -> B")):
        if source is None or len(source.test) == 0:
            continue
        x = source.test.images(slice(0, 8))
        y = model.translate(x, domain=target)
        back = model.translate(y, domain="a" if target == "b" else "b")
        err = float((back - x).abs().mean())
        parts.append(f"<p>{html.escape(name)}: test images, translated, and back (rows); mean absolute cycle error "
                     f"{err:.4f}.</p>" + image_grid_html(torch.cat([x, y, back]), nrow=len(x), alt=name))
    return "".join(parts)


def sections(ctx) -> list[Section]:
    model, caps = ctx.model, ctx.capabilities
    out = []
    if caps.has("progressive"):
        out.append(Section("Progressive growing", _progressive(model.eval()), order=31))
    if caps.has("styles"):
        out.append(Section("Styles", _styles(model.eval()), order=31))
    if caps.has("translation") and ctx.data is not None:
        out.append(Section("Unpaired translation", _translation(model.eval(), ctx.data), order=31))
    return out
