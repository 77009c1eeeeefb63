"""``generativa report RUN``: one self-contained HTML page for a run.

Core sections come from this file (summary, curves, samples, reconstructions, metrics, config);
each module in ``generativa.reporting.sections`` that defines ``sections(context)`` adds the
views of what the model declares (a latent space, a critic, a corruption, ...). A section that
fails is replaced by a note saying why, so one broken view never costs the whole page.

Each thing is shown once: a curve that repeats another (the loss of a model whose loss is its
reconstruction term) is drawn once under both names; the terms of several players share a panel;
train and test values of a term share a panel. The report trains nothing: views that need the
dataset's evaluation classifier use it when ``generativa evaluate`` (or ``report``'s workflow) has
cached it, and say so otherwise.
"""

from __future__ import annotations

import html
import importlib
import pkgutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")

import torch  # noqa: E402

from generativa.reporting.html import Section, figure_html, image_grid_html, img_html, page, table_html  # noqa: E402
from generativa.training.run import RunDir  # noqa: E402

SKIP_CURVES = {"step", "time", "lr", "images_per_s", "nonfinite_steps"}


@dataclass
class ReportContext:
    """What every section gets: the run, its model (EMA weights), its data (None when it cannot be
    loaded: a user's path that moved), the metrics log, and the evaluation classifier if cached."""

    run: RunDir
    model: Any
    data: Any = None
    log: list[dict] = field(default_factory=list)
    classifier: Any = None

    @property
    def capabilities(self):
        return self.model.capabilities


def _summary(ctx: ReportContext) -> Section:
    info = ctx.run.model_info
    last = ctx.log[-1] if ctx.log else {}
    n_params = sum(p.numel() for p in ctx.model.parameters())
    rows = [
        {"setting": "model", "value": info["model"]},
        {"setting": "can", "value": ctx.capabilities.describe()},
        {"setting": "data", "value": (info.get("data") or {}).get("spec", "?")},
        {"setting": "data shape", "value": "x".join(map(str, info.get("data_shape", [])))},
        {"setting": "parameters", "value": f"{n_params:,}"},
        {"setting": "steps", "value": info.get("step", last.get("step", 0))},
        {"setting": "training time (s)", "value": last.get("time", 0.0)},
        {"setting": "EMA weights", "value": "yes" if info.get("has_ema") else "no"},
        {"setting": "library version", "value": info.get("library_version", "?")},
    ]
    note = ""
    if ctx.run.skipped_log_lines:
        note = (f"<p><strong>Note:</strong> {ctx.run.skipped_log_lines} line(s) of metrics.jsonl could not be "
                "read (damaged or cut by a crash) and are left out of the curves.</p>")
    return Section("Summary", table_html(rows) + note, order=0)


def curve_panels(log: list[dict]) -> list[tuple[str, list[str]]]:
    """Panels of the training curves: (title, keys). The same term of several players shares a
    panel (``discriminator/loss`` and ``generator/loss``: "loss"), as do ``X_real`` and ``X_fake``;
    a series identical to an earlier one is dropped and its name added to that panel's title."""
    keys = sorted({k for r in log for k, v in r.items() if k not in SKIP_CURVES and isinstance(v, int | float)
                   and not isinstance(v, bool) and not k.startswith("test/") and not k.endswith("grad_norm")})
    series = {k: tuple((r["step"], r[k]) for r in log if k in r) for k in keys}
    panels: dict[str, list[str]] = {}
    titles: dict[str, list[str]] = {}
    seen: dict[tuple, str] = {}
    for k in keys:
        if series[k] in seen:  # the same numbers under another name: show them once
            titles[_panel_of(seen[series[k]])].append(k)
            continue
        seen[series[k]] = k
        panel = _panel_of(k)
        panels.setdefault(panel, []).append(k)
        titles.setdefault(panel, [])
    return [(" = ".join([panel, *titles[panel]]), members) for panel, members in panels.items()]


def _panel_of(key: str) -> str:
    term = key.split("/")[-1]
    for suffix in ("_real", "_fake"):
        if term.endswith(suffix):
            return term[: -len(suffix)] + "_real / _fake"
    return term


def _curves(ctx: ReportContext) -> Section | None:
    import matplotlib.pyplot as plt

    log = ctx.log
    panels = curve_panels(log)
    if not panels:
        return None
    cols = min(3, len(panels))
    rows = (len(panels) + cols - 1) // cols
    fig, axes = plt.subplots(rows, cols, figsize=(4.2 * cols, 3.0 * rows), squeeze=False)
    for ax, (title, keys) in zip(axes.flat, panels):
        for key in keys:
            pts = [(r["step"], r[key]) for r in log if key in r]
            ax.plot(*zip(*pts), label=key if len(keys) > 1 else "train", lw=1.3)
            test_pts = [(r["step"], r["test/" + key]) for r in log if "test/" + key in r]
            if test_pts:
                ax.plot(*zip(*test_pts), "o-", label=f"test {key}" if len(keys) > 1 else "test", ms=3)
        if len(keys) > 1 or any("test/" + k in r for r in log for k in keys):
            ax.legend(fontsize=8)
        ax.set_title(title, fontsize=10)
        ax.set_xlabel("step")
        ax.grid(alpha=.3)
    for ax in list(axes.flat)[len(panels):]:
        ax.axis("off")
    fig.tight_layout()
    rate = [r["images_per_s"] for r in log if "images_per_s" in r]
    note = f"<p>Median throughput {sorted(rate)[len(rate) // 2]:.0f} images/s.</p>" if rate else ""
    return Section("Training curves", figure_html(fig, "training curves") + note, order=10)


def _samples(ctx: ReportContext) -> Section | None:
    model = ctx.model
    if not model.is_image_model or not ctx.capabilities.sample:
        return None
    g = torch.Generator().manual_seed(0)
    condition = model.default_condition(64)
    x = model.sample(64, generator=g, **condition)
    parts = [f"<figure>{image_grid_html(x, 8, 'samples')}<figcaption>64 samples (seed 0)"
             f"{', classes in turn along each row' if condition else ''}</figcaption></figure>"]
    grids = ctx.run.sample_grids()
    if len(grids) > 1:
        pick = grids if len(grids) <= 4 else [grids[int(round(i * (len(grids) - 1) / 3))] for i in range(4)]
        for p in pick:
            step = int(p.stem.split("_")[1])
            parts.append(f"<figure>{img_html(p.read_bytes(), p.name)}<figcaption>step {step}, one fixed noise "
                         "draw throughout training</figcaption></figure>")
    return Section("Samples", f'<div class="grids">{"".join(parts)}</div>', order=20)


def _reconstructions(ctx: ReportContext) -> Section | None:
    model, data = ctx.model, ctx.data
    if not ctx.capabilities.reconstruct or data is None or not model.is_image_model:
        return None
    x = data.test.images(slice(0, 32))
    labels = None if data.test.labels is None else data.test.labels[:32]
    with torch.no_grad():
        r = model.reconstruct(x, **model.condition(labels=labels))
    rows = torch.cat([torch.stack([x[i:i + 8], r[i:i + 8]]).flatten(0, 1) for i in range(0, 32, 8)])
    mse = float(((r - x) ** 2).mean())
    return Section("Reconstructions",
                   f"<p>Test images (odd rows) and their reconstructions (even rows). "
                   f"MSE on these 32: {mse:.5f}.</p>{image_grid_html(rows, 8, 'reconstructions')}", order=30)


def _metrics(ctx: ReportContext) -> Section | None:
    # The "evaluation" entry has its own section (reporting/sections/metrics.py).
    m = {k: v for k, v in ctx.run.metrics().items() if k != "evaluation"}
    if not m:
        return None
    flat = [{"metric": k, "value": v} for k, v in m.items() if isinstance(v, int | float | str)]
    nested = {k: v for k, v in m.items() if isinstance(v, dict | list)}
    extra = ""
    if nested:
        import json

        extra = f"<details><summary>protocol and details</summary><pre>{html.escape(json.dumps(nested, indent=2))}</pre></details>"
    return Section("Other metrics", table_html(flat) + extra, order=41)


def _config(run: RunDir) -> Section:
    path = run.path / "config.yaml"
    text = path.read_text(encoding="utf-8", errors="replace") if path.exists() else "(no config.yaml)"
    return Section("Configuration",
                   f"<p>Repeat this run with <code>generativa train --config {html.escape(str(path))}</code>.</p>"
                   f"<pre>{html.escape(text)}</pre>", order=100)


def _failed(title: str, e: Exception) -> Section:
    return Section(f"{title} (not shown)", f"<p>This view failed: {html.escape(type(e).__name__)}: "
                   f"{html.escape(str(e))}</p>", order=90)


def _plugin_sections(ctx: ReportContext) -> list[Section]:
    import generativa.reporting.sections as pkg

    out: list[Section] = []
    for info in sorted(pkgutil.iter_modules(pkg.__path__), key=lambda i: i.name):
        try:
            module = importlib.import_module(f"generativa.reporting.sections.{info.name}")
            fn = getattr(module, "sections", None)
            if fn is not None:
                out.extend(fn(ctx) or [])
        except Exception as e:  # noqa: BLE001 - one broken view must not cost the page
            out.append(_failed(info.name, e))
    return out


def build_context(run_path: str | Path, *, classifier: Any = None) -> ReportContext:
    run = RunDir(run_path)
    model = run.load_model()
    try:
        data = run.load_data()
    except Exception:  # noqa: BLE001 - the data may be a user's path that moved
        data = None
    if classifier is None and data is not None:
        from generativa.evaluation.features import cached_feature_network

        classifier = cached_feature_network(data)
    return ReportContext(run, model, data, run.metrics_log(), classifier)


def build_sections(ctx: ReportContext) -> list[Section]:
    sections: list[Section] = [_summary(ctx)]
    for title, make in (("Training curves", _curves), ("Samples", _samples),
                        ("Reconstructions", _reconstructions), ("Other metrics", _metrics)):
        try:
            s = make(ctx)
        except Exception as e:  # noqa: BLE001
            s = _failed(title, e)
        if s is not None:
            sections.append(s)
    sections.extend(_plugin_sections(ctx))
    sections.append(_config(ctx.run))
    return sorted(sections, key=lambda s: s.order)


def write_report(run_path: str | Path, *, classifier: Any = None) -> Path:
    """Write ``report.html`` into the run folder and return its path."""
    from generativa.io.atomic import write_text_atomic

    ctx = build_context(run_path, classifier=classifier)
    info = ctx.run.model_info
    title = f"{info['model']} on {(info.get('data') or {}).get('spec', '?')}"
    out = ctx.run.path / "report.html"
    write_text_atomic(out, page(title, build_sections(ctx), subtitle=html.escape(str(ctx.run.path))),
                      root=ctx.run.path)
    return out
