"""Report section of latent-variable models (VAE family; autoencoders where they have encode/decode):
KL per dimension, traversal ordered by KL, interpolations, the manifold grid and latent scatter
(2-d latents), a quick importance-sampled NLL, and disentanglement scores where they were measured."""

from __future__ import annotations

import html

import torch

from generativa.reporting.html import Section, figure_html, image_grid_html, table_html

QUICK_K = 100  # importance samples of the report's NLL (the benchmark uses 1000)


def sections(ctx) -> list[Section]:
    """Views of a Gaussian latent space (the declaration's ``latent == "gaussian"``)."""
    model, run = ctx.model, ctx.run
    if ctx.capabilities.latent != "gaussian" or not model.is_image_model or ctx.data is None:
        return []
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from generativa.exploration.latent import interpolate, latent_scatter, latent_traversal, manifold_grid

    test = ctx.data.test
    n = min(512, len(test))
    x = test.images(slice(0, n))
    cond = ctx.capabilities.accepts("labels")
    labels = test.labels[:n] if cond and test.labels is not None else None
    parts: list[str] = []
    with torch.no_grad():
        kl = model.kl_per_dimension(x, **model.condition(labels=labels))
    order = torch.argsort(kl, descending=True)
    fig, ax = plt.subplots(figsize=(6, 2.4))
    ax.bar(range(len(kl)), kl[order].numpy())
    ax.set_xticks(range(len(kl)), [f"z{int(i)}" for i in order])
    ax.set_ylabel("KL (nats)")
    ax.set_title("mean KL(q(z_j|x) || N(0,1)) per dimension, test set")
    parts.append(figure_html(fig, "KL per dimension"))

    base_label = labels[:1] if labels is not None else None
    t = latent_traversal(model, x[:1], data=x, points=9, max_dims=10, labels=base_label, data_labels=labels)
    parts.append("<h3>Traversal</h3><p>One row per dimension, largest KL first; each swept from -3 to +3 "
                 "with the others fixed at the code of the first test image.</p>")
    parts.append(image_grid_html(t.images, nrow=9, alt="latent traversal"))

    pair_labels = labels[:2] if labels is not None else None
    strips = [interpolate(model, x[0], x[1], points=10, method=m, labels=pair_labels) for m in ("linear", "spherical")]
    parts.append("<h3>Interpolation</h3><p>Between the first two test images: linear (top), spherical (bottom).</p>")
    parts.append(image_grid_html(torch.cat(strips), nrow=10, alt="interpolation"))

    if model.config.latent_dim == 2:
        grid_labels = torch.zeros(1, dtype=torch.long) if cond else None
        parts.append("<h3>Manifold</h3><p>Decoded Gaussian quantiles (5% to 95%) of the 2-d latent.</p>")
        parts.append(image_grid_html(manifold_grid(model, 15, labels=grid_labels), nrow=15, alt="manifold"))
    if test.labels is not None:
        parts.append(figure_html(latent_scatter(model, test, n=2000), "latent scatter"))

    g = torch.Generator().manual_seed(0)
    m = min(200, len(test))
    with torch.no_grad():
        lp = model.log_prob(test.images(slice(0, m)), k=QUICK_K, generator=g,
                            **({"labels": test.labels[:m]} if cond else {}))
    nll = float(-lp.mean())
    from generativa.models.vae.vae import bits_per_dim

    rows = [{"quantity": f"test NLL (IWAE estimate, k={QUICK_K}, {m} images)", "nats": nll,
             "bits/dim": float(bits_per_dim(nll, model.data_shape))}]
    parts.append("<h3>Likelihood</h3>" + table_html(rows) + "<p>"
                 + html.escape(ctx.capabilities.likelihood_convention) + "</p>")
    metrics = run.metrics()
    dis = {k: v for k, v in metrics.items() if k.startswith(("mig", "beta_vae"))}
    if dis:
        parts.append("<h3>Disentanglement</h3>" + table_html([{"metric": k, "value": v} for k, v in dis.items()]))
    return [Section("Latent space", "".join(parts), order=30)]
