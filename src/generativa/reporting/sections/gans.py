"""Report section of the GAN family: the adversarial game's diagnostics and the course's pictures.

* Diagnostics (every GAN): discriminator and generator losses, mean D(real) and D(fake), the
  gradient penalty and the Wasserstein estimate where logged, from ``metrics.jsonl``.
* Image GANs: the grids the trainer wrote from one fixed z over training (``samples/``), and the
  class histogram of 1,000 samples under the dataset's evaluation classifier with a mode-collapse
  warning when it degenerates (``evaluation.mode_coverage``: a class is missing when it gets less
  than a quarter of its uniform share); for a conditional GAN, how often a sample is classified
  as the class it was asked for; and "which one is real?", pairs of a real test image and a sample
  in a random order with the answer key folded away (``generativa.exploration.quiz``).
* 2-D toys: samples scattered over the data and, for the Gaussian mixtures, mode coverage
  (``evaluation.toy_modes``).
* 1-D toys: the picture of Goodfellow et al. 2014 (Fig. 1): data density (dotted), generator
  density (solid) and D(x) (dashed). The final state is always drawn; snapshots during training are
  drawn when the run folder holds ``gan_snapshots.json``, which ``generativa.workflows.snapshots.train_with_snapshots`` writes
  by training in stages (``generativa.train`` then ``generativa.resume``, bit for bit the same run).
"""

from __future__ import annotations

import html
import json
import math
from pathlib import Path

import torch

from generativa.reporting.html import Section, figure_html, image_grid_html, table_html

SNAPSHOTS = "gan_snapshots.json"
COLLAPSE_SHARE = 0.25  # a class is missing below a quarter of its uniform share (evaluation.mode_coverage)


def sections(ctx) -> list[Section]:
    """Views of a model with a critic (the declaration's ``critic`` trait)."""
    model, run = ctx.model, ctx.run
    if not ctx.capabilities.has("critic"):
        return []
    import matplotlib

    matplotlib.use("Agg")
    parts = [_diagnostics(ctx.log)]
    spec = ((run.model_info.get("data") or {}).get("spec")) or ""
    if model.is_image_model:
        parts.append(_class_histogram(ctx))
        parts.append(_quiz(ctx))
    elif model.data_shape == (2,) and ctx.data is not None:
        parts.append(_toy2d(ctx.data, model, spec))
    elif model.data_shape == (1,):
        parts.append(_toy1d(run, ctx.log, model, spec))
    return [Section("Adversarial training", "".join(p for p in parts if p), order=30)]


# -- diagnostics -------------------------------------------------------------------------------------
def _diagnostics(log: list[dict]) -> str:
    """The last logged value of every player's term, and how to read D(real) and D(fake) (their
    curves are in "Training curves")."""
    log = [r for r in log if "discriminator/loss" in r or "generator/loss" in r]
    if not log:
        return "<p><em>No adversarial losses were logged.</em></p>"
    last = log[-1]
    rows = [{"quantity": k.replace("discriminator/", "D ").replace("generator/", "G "), "last logged": v}
            for k, v in last.items() if k.startswith(("discriminator/", "generator/")) and "grad_norm" not in k]
    note = ("<p>D(real) and D(fake) (panel <em>d_real / _fake</em> of the training curves) are D's "
            "probabilities for the minimax and non-saturating losses, raw critic values for hinge and "
            "Wasserstein critics. A discriminator that wins outright (D(real) near 1, D(fake) near 0 for a "
            "long time) starves a minimax generator of gradient.</p>")
    return "<h3>Diagnostics</h3>" + note + table_html(rows)


# -- images ------------------------------------------------------------------------------------------
def class_histogram_of_samples(model, data, classifier, *, n: int = 1000, seed: int = 0) -> dict:
    """Classify n samples with the dataset's evaluation classifier: the class histogram, mode coverage
    and, for a model that takes labels, the share classified as the asked class."""
    from generativa.evaluation.mode_coverage import mode_coverage

    k = data.num_classes
    g = torch.Generator(device=model.device).manual_seed(seed)
    condition = model.default_condition(n)
    asked = condition.get("labels")
    x = model.sample(n, generator=g, **condition)
    _, logits = classifier.features_and_logits(x.float().clamp(0, 1))
    predicted = logits.argmax(dim=1).cpu()
    out = mode_coverage(predicted, data.test.labels, k, min_fraction=COLLAPSE_SHARE / k)
    out["histogram"] = torch.bincount(predicted, minlength=k).tolist()
    out["classifier_accuracy"] = classifier.describe().get("test_accuracy")
    if asked is not None:
        out["conditional_accuracy"] = float((predicted == asked.cpu()).double().mean())
    return out


def _class_histogram(ctx) -> str:
    import matplotlib.pyplot as plt

    data, model = ctx.data, ctx.model
    if data is None or data.num_classes < 2 or data.train.labels is None:
        return ""
    if ctx.classifier is None:
        return ("<h3>Class histogram of samples</h3><p>Not drawn: the dataset's evaluation classifier is not "
                f"cached yet. Run <code>generativa evaluate {html.escape(str(ctx.run.path))}</code> or "
                "<code>generativa report</code> from the command line, which train it once.</p>")
    r = class_histogram_of_samples(model, data, ctx.classifier)
    k = data.num_classes
    names = list(data.train.class_names) or [str(i) for i in range(k)]
    fig, ax = plt.subplots(figsize=(6, 2.6))
    share = [h / sum(r["histogram"]) for h in r["histogram"]]
    ax.bar(range(k), share)
    ax.axhline(COLLAPSE_SHARE / k, color="red", lw=1, ls="--", label="collapse threshold")
    ax.axhline(1 / k, color="gray", lw=1, ls=":", label="uniform")
    ax.set_xticks(range(k), names, fontsize=8)
    ax.set_ylabel("share of samples")
    ax.legend(fontsize=8)
    ax.set_title("classes of 1000 samples (evaluation classifier)", fontsize=10)
    missing = [names[i] for i, s in enumerate(share) if s < COLLAPSE_SHARE / k]
    out = "<h3>Class histogram of samples</h3>" + figure_html(fig, "class histogram")
    if missing:
        out += ("<p style='color:#b00'><strong>Mode-collapse warning:</strong> "
                f"{len(missing)} of {k} classes get less than a quarter of their share of the samples "
                f"({html.escape(', '.join(missing))}); KL(samples || data) = {r['class_kl']:.3f} nats.</p>")
    else:
        out += f"<p>Every class is drawn (KL(samples || data) = {r['class_kl']:.3f} nats).</p>"
    if "conditional_accuracy" in r:
        out += (f"<p>Class-conditional samples classified as the asked class: "
                f"<strong>{100 * r['conditional_accuracy']:.1f}%</strong> (classifier test accuracy "
                f"{100 * (r['classifier_accuracy'] or 0):.1f}%).</p>")
    return out


def _quiz(ctx) -> str:
    """"Which one is real?": eight pairs of a real test image and a sample, the key folded away."""
    from generativa.exploration.quiz import make_quiz

    data = ctx.data
    if data is None or len(data.test) < 8:
        return ""
    n = min(len(data.test), 4096)
    quiz = make_quiz(ctx.model, data.test.images(slice(0, n)), data.test.labels[:n] if data.test.labels is not None else None)
    key = "".join(f"<li>{side}</li>" for side in quiz.answers())
    return ("<h3>Which one is real?</h3><p>Each row pairs a real test image with a sample (of the asked class "
            "for a conditional model), in a random order. Guess, then open the key.</p>"
            + image_grid_html(quiz.grid(), nrow=2, alt="which one is real")
            + f"<details><summary>Answer key (where the real image is, row by row)</summary><ol>{key}</ol></details>")


# -- toys --------------------------------------------------------------------------------------------
def _toy2d(data, model, spec: str) -> str:
    import matplotlib.pyplot as plt

    x = model.sample(2500, generator=torch.Generator().manual_seed(0))
    real = data.test.x[:2500]
    fig, ax = plt.subplots(figsize=(4.5, 4.5))
    ax.scatter(real[:, 0], real[:, 1], s=3, c="#999", alpha=0.5, label="data")
    ax.scatter(x[:, 0], x[:, 1], s=3, c="#c22", alpha=0.5, label="samples")
    ax.set_aspect("equal")
    ax.legend(fontsize=8, markerscale=3)
    out = "<h3>Samples over the data</h3>" + figure_html(fig, "2-D samples")
    try:
        from generativa.evaluation.toy_modes import toy_mode_coverage_for

        r = toy_mode_coverage_for(spec, x)
    except Exception:  # noqa: BLE001 - not a Gaussian mixture: no modes to count
        return out
    out += table_html([{"modes covered": f"{r['modes_covered']} / {r['modes']}",
                        "high-quality samples (within 3 std)": f"{100 * r['high_quality']:.1f}%",
                        "samples per mode": ", ".join(map(str, r["counts"]))}])
    return out


def density_snapshot(model, spec: str, *, n: int = 20000, points: int = 200) -> dict:
    """Data density, generator density (Gaussian KDE of n samples) and D(x) on a grid, as lists."""
    from generativa.data.toy import MIXTURES, toy_log_prob

    mixture = MIXTURES.get(spec)
    lo, hi = (-4.0, 4.0)
    if mixture is not None:
        c = [cc[0] for cc in mixture.centres]
        lo, hi = min(c) - 4 * mixture.std, max(c) + 4 * mixture.std
    grid = torch.linspace(lo, hi, points).unsqueeze(1)  # (P, 1)
    samples = model.sample(n, generator=torch.Generator().manual_seed(0))[:, 0].double()
    bandwidth = 1.06 * float(samples.std()) * n ** (-1 / 5) + 1e-6  # Silverman's rule
    z = (grid.double() - samples.unsqueeze(0)) / bandwidth  # (P, n)
    g_density = torch.exp(-0.5 * z**2).mean(1) / (bandwidth * math.sqrt(2 * math.pi))
    was = model.training
    model.eval()
    with torch.no_grad():
        f = model.critic(grid)
    model.train(was)
    probability = model.config.loss in ("minimax", "non_saturating")
    return {
        "x": grid[:, 0].tolist(),
        "data": toy_log_prob(spec, grid).exp().tolist(),
        "generator": g_density.tolist(),
        "d": (torch.sigmoid(f) if probability else f).tolist(),
        "d_is_probability": probability,
    }


def _draw_1d(ax, snap: dict, title: str) -> None:
    ax.plot(snap["x"], snap["data"], "k:", label="data p(x)")
    ax.plot(snap["x"], snap["generator"], "g-", label="generator p_g(x)")
    d_ax = ax if snap["d_is_probability"] else ax.twinx()
    d_ax.plot(snap["x"], snap["d"], "b--", label="D(x)")
    ax.set_title(title, fontsize=10)


def _toy1d(run, log: list[dict], model, spec: str) -> str:
    import matplotlib.pyplot as plt

    snaps = []
    path = Path(run.path) / SNAPSHOTS
    if path.exists():
        snaps = json.loads(path.read_text())
    if not snaps or snaps[-1]["step"] != (log or [{"step": -1}])[-1].get("step"):
        snaps = snaps + [{"step": (log or [{"step": 0}])[-1].get("step", 0),
                          **density_snapshot(model, spec)}]
    fig, axes = plt.subplots(1, len(snaps), figsize=(3.6 * len(snaps), 3.0), squeeze=False, sharey=True)
    for ax, snap in zip(axes.flat, snaps):
        _draw_1d(ax, snap, f"step {snap['step']}")
    axes.flat[0].legend(fontsize=7, loc="upper left")
    fig.tight_layout()
    return ("<h3>Densities and discriminator</h3><p>Data density (dotted), generator density (solid, "
            "kernel estimate from 20,000 samples) and D(x) (dashed) as in Goodfellow et al. 2014, Fig. 1. "
            + ("Snapshots during training from " + SNAPSHOTS + "." if len(snaps) > 1 else
               "Final state; <code>train_with_snapshots</code> records the picture during training.")
            + "</p>" + figure_html(fig, "1-D GAN"))
