"""Report sections of the autoencoder family, and of the application verbs' results.

Models with deterministic codes (the declaration's ``latent == "deterministic"``: ae, linear_ae,
sparse_ae, denoising_ae, contractive_ae; reconstructions are in the common "Reconstructions"
section): the 2-D map of the test codes; with the ``training_corruption`` trait: clean, corrupted and
cleaned rows with PSNR; ``sparse_code``: histograms of the code activations and the mean activation
per unit; ``encoder_jacobian``: the mean encoder-Jacobian norm on test images. Any run on which
``generativa anomaly`` was run: its ROC curve, score histograms and numbers.
"""

from __future__ import annotations

import html
import json

import torch

from generativa.reporting.html import Section, figure_html, image_grid_html, img_html, table_html

N_TEST = 512  # test images the views use


def _plt():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _map(model, test) -> str:
    from generativa.exploration.embed import embed_2d, embedding_figure
    from generativa.exploration.retrieve import codes

    n = min(N_TEST * 2, len(test))
    z = codes(model, test.images(slice(0, n)))
    points, used = embed_2d(z, "auto")
    labels = None if test.labels is None else test.labels[:n].numpy()
    fig = embedding_figure(points, labels, method=used, class_names=tuple(test.class_names),
                           title=f"{n} test images, {z.shape[1]}-D code ({'the code itself' if used == 'code' else used})")
    return "<h3>2-D map of the codes</h3>" + figure_html(fig, "2-D map")


def _denoising(model, x) -> str:
    from generativa.evaluation.reconstruction import psnr
    from generativa.models.autoencoders.corruption import corrupt

    noisy = corrupt(x, model.corruption, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        cleaned = model.reconstruct(noisy)
    rows = torch.cat([x[:8], noisy[:8], cleaned[:8]])
    p_noisy, p_clean = float(psnr(noisy, x).mean()), float(psnr(cleaned, x).mean())
    return (f"<h3>Denoising ({html.escape(str(model.corruption))})</h3>"
            f"<p>Rows: clean test images, corrupted with the training corruption, cleaned. Mean PSNR over "
            f"{len(x)} test images: corrupted {p_noisy:.2f} dB, cleaned {p_clean:.2f} dB.</p>"
            + image_grid_html(rows, 8, "denoising"))


def _sparse(model, x) -> str:
    plt = _plt()
    with torch.no_grad():
        h = model.encode(x)  # (N, D)
    fig, (a, b) = plt.subplots(1, 2, figsize=(9, 3))
    a.hist(h.flatten().numpy(), bins=50, log=True)
    a.set_xlabel("code activation")
    a.set_ylabel("count (log)")
    a.set_title("all units, test images")
    b.bar(range(h.shape[1]), h.mean(0).numpy())
    if model.config.sparsity == "kl":
        b.axhline(model.config.rho, color="k", ls="--", label=f"rho = {model.config.rho}")
        b.legend()
    b.set_xlabel("unit")
    b.set_ylabel("mean activation")
    b.set_title("mean activation per unit")
    rows = [{"sparsity": model.config.sparsity, "code activation": model.code_activation,
             "mean activation": float(h.mean()), "mean |activation|": float(h.abs().mean()),
             "non-zero fraction": float((h != 0).float().mean()),
             "non-zeros per example": float((h != 0).float().sum(1).mean())}]
    return "<h3>Code activations</h3>" + figure_html(fig, "code activations") + table_html(rows)


def _contractive(model, x) -> str:
    from generativa.models.autoencoders.contractive import jacobian_frobenius_sq

    j = jacobian_frobenius_sq(model.encode, x[:128], method="exact").sqrt()
    return (f"<h3>Contraction</h3><p>Mean encoder Jacobian norm ||J_f(x)||_F on 128 test images (exact, by "
            f"autograd): {float(j.mean()):.4f} (penalty weight {model.config.contraction_weight}, "
            f"computed by {html.escape(model.jacobian)} in training).</p>")


def _anomaly(run) -> Section | None:
    folder = run.path / "anomaly"
    if not (folder / "anomaly.json").exists():
        return None
    summary = json.loads((folder / "anomaly.json").read_text())
    figs = "".join(img_html((folder / name).read_bytes(), name, 360)
                   for name in ("roc.png", "histogram.png") if (folder / name).exists())
    rows = [{"normal classes": ",".join(map(str, summary["normal_classes"])), "score": summary["score"],
             "AUROC": summary["auroc"], "average precision": summary["average_precision"],
             "normal": summary["n_normal"], "anomalies": summary["n_anomalies"]}]
    return Section("Anomaly detection",
                   "<p>Reconstruction-error scores on the test split (<code>generativa anomaly</code>).</p>"
                   + table_html(rows) + f'<div class="grids">{figs}</div>', order=45)


def sections(ctx) -> list[Section]:
    model, caps = ctx.model, ctx.capabilities
    out: list[Section] = []
    anomaly = _anomaly(ctx.run)
    if anomaly is not None:
        out.append(anomaly)
    if caps.latent != "deterministic" or not model.is_image_model or ctx.data is None:
        return out
    test = ctx.data.test
    x = test.images(slice(0, min(N_TEST, len(test))))
    model.eval()
    parts = [_map(model, test)]
    if caps.has("training_corruption"):
        parts.append(_denoising(model, x))
    if caps.has("sparse_code"):
        parts.append(_sparse(model, x))
    if caps.has("encoder_jacobian"):
        parts.append(_contractive(model, x))
    out.append(Section("Autoencoder", "".join(parts), order=35))
    return out
