"""``generativa report RUN``: one self-contained HTML page for a run.

Core sections come from this file (summary, curves, samples, reconstructions, metrics, config);
each module in ``generativa.reporting.sections`` that defines ``sections(run, model)`` adds the
family's own views. A section that fails is replaced by a note saying why, so one broken view never
costs the whole page.
"""

from __future__ import annotations

import html
import importlib
import pkgutil
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import torch  # noqa: E402

from generativa.reporting.html import Section, figure_html, image_grid_html, page, table_html  # noqa: E402
from generativa.training.run import RunDir  # noqa: E402


def _summary(run: RunDir, model) -> Section:
    info = run.model_info
    log = run.metrics_log()
    last = log[-1] if log else {}
    n_params = sum(p.numel() for p in model.parameters())
    rows = [
        {"setting": "model", "value": info["model"]},
        {"setting": "data", "value": (info.get("data") or {}).get("spec", "?")},
        {"setting": "data shape", "value": "x".join(map(str, info.get("data_shape", [])))},
        {"setting": "parameters", "value": f"{n_params:,}"},
        {"setting": "steps", "value": last.get("step", 0)},
        {"setting": "training time (s)", "value": last.get("time", 0.0)},
        {"setting": "EMA weights", "value": "yes" if info.get("has_ema") else "no"},
        {"setting": "library version", "value": info.get("library_version", "?")},
    ]
    return Section("Summary", table_html(rows), order=0)


def _curves(run: RunDir) -> Section | None:
    import matplotlib.pyplot as plt

    log = run.metrics_log()
    if not log:
        return None
    skip = {"step", "time", "lr", "images_per_s", "nonfinite_steps"}
    keys = sorted({k for r in log for k, v in r.items() if k not in skip and isinstance(v, int | float)})
    train_keys = [k for k in keys if not k.startswith("test/") and not k.endswith("grad_norm")]
    if not train_keys:
        return None
    n = len(train_keys)
    cols = min(3, n)
    rows = (n + cols - 1) // cols
    fig, axes = plt.subplots(rows, cols, figsize=(4.2 * cols, 3.0 * rows), squeeze=False)
    for ax, key in zip(axes.flat, train_keys):
        pts = [(r["step"], r[key]) for r in log if key in r]
        ax.plot(*zip(*pts), label="train", lw=1.3)
        test_key = "test/" + key
        test_pts = [(r["step"], r[test_key]) for r in log if test_key in r]
        if test_pts:
            ax.plot(*zip(*test_pts), "o-", label="test", ms=3)
            ax.legend(fontsize=8)
        ax.set_title(key, fontsize=10)
        ax.set_xlabel("step")
        ax.grid(alpha=.3)
    for ax in list(axes.flat)[n:]:
        ax.axis("off")
    fig.tight_layout()
    rate = [r["images_per_s"] for r in log if "images_per_s" in r]
    note = f"<p>Median throughput {sorted(rate)[len(rate) // 2]:.0f} images/s.</p>" if rate else ""
    return Section("Training curves", figure_html(fig, "training curves") + note, order=10)


def _samples(run: RunDir, model) -> Section | None:
    if not model.is_image_model:
        return None
    parts = []
    try:
        g = torch.Generator().manual_seed(0)
        kwargs = {}
        if getattr(model, "conditional", False) and model.config.num_classes:
            kwargs["labels"] = torch.arange(64) % model.config.num_classes
        x = model.sample(64, generator=g, **kwargs)
        parts.append(f"<figure>{image_grid_html(x, 8, 'samples')}<figcaption>64 samples (seed 0)"
                     f"{', one class per column' if kwargs else ''}</figcaption></figure>")
    except NotImplementedError:
        return None
    grids = run.sample_grids()
    steps = [p for p in grids if p.name.startswith("step_")]
    if len(steps) > 1:
        from generativa.reporting.html import img_html

        pick = steps if len(steps) <= 4 else [steps[int(i * (len(steps) - 1) / 3)] for i in range(4)]
        for p in pick:
            step = int(p.stem.split("_")[1])
            parts.append(f"<figure>{img_html(p.read_bytes(), p.name, 220)}<figcaption>step {step} "
                         "(fixed noise)</figcaption></figure>")
    return Section("Samples", f'<div class="grids">{"".join(parts)}</div>', order=20)


def _reconstructions(run: RunDir, model, data) -> Section | None:
    if not model.has_capability("reconstruct") or data is None or not model.is_image_model:
        return None
    x = data.test.images(slice(0, 32))
    condition = {}
    if getattr(model, "conditional", False) and data.test.labels is not None:
        condition["labels"] = data.test.labels[:32]
    with torch.no_grad():
        r = model.reconstruct(x, **condition)
    rows = torch.cat([torch.stack([x[i:i + 8], r[i:i + 8]]).flatten(0, 1) for i in range(0, 32, 8)])
    mse = float(((r - x) ** 2).mean())
    return Section("Reconstructions",
                   f"<p>Test images (odd rows) and their reconstructions (even rows). "
                   f"MSE on these 32: {mse:.5f}.</p>{image_grid_html(rows, 8, 'reconstructions')}", order=30)


def _metrics(run: RunDir) -> Section | None:
    # The "evaluation" entry has its own section (reporting/sections/metrics.py).
    m = {k: v for k, v in run.metrics().items() if k != "evaluation"}
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
    text = path.read_text() if path.exists() else "(no config.yaml)"
    return Section("Configuration",
                   f"<p>Repeat this run with <code>generativa train --config {html.escape(str(path))}</code>.</p>"
                   f"<pre>{html.escape(text)}</pre>", order=100)


def _plugin_sections(run: RunDir, model) -> list[Section]:
    import generativa.reporting.sections as pkg

    out: list[Section] = []
    for info in sorted(pkgutil.iter_modules(pkg.__path__), key=lambda i: i.name):
        try:
            module = importlib.import_module(f"generativa.reporting.sections.{info.name}")
            fn = getattr(module, "sections", None)
            if fn is not None:
                out.extend(fn(run, model) or [])
        except Exception as e:  # noqa: BLE001 - one broken view must not cost the page
            out.append(Section(f"{info.name} (not shown)",
                               f"<p>This view failed: {html.escape(type(e).__name__)}: {html.escape(str(e))}</p>",
                               order=90))
    return out


def build_sections(run: RunDir, model) -> list[Section]:
    try:
        data = run.load_data()
    except Exception:  # noqa: BLE001 - the data may be a user's path that moved
        data = None
    sections: list[Section] = [_summary(run, model)]
    for make in (lambda: _curves(run), lambda: _samples(run, model),
                 lambda: _reconstructions(run, model, data), lambda: _metrics(run)):
        try:
            s = make()
        except Exception as e:  # noqa: BLE001
            s = Section("(a view failed)", f"<p>{html.escape(type(e).__name__)}: {html.escape(str(e))}</p>", 90)
        if s is not None:
            sections.append(s)
    sections.extend(_plugin_sections(run, model))
    sections.append(_config(run))
    return sorted(sections, key=lambda s: s.order)


def write_report(run_path: str | Path) -> Path:
    """Write ``report.html`` into the run folder and return its path."""
    from generativa.training.safeio import write_text_atomic

    run = RunDir(run_path)
    model = run.load_model()
    sections = build_sections(run, model)
    info = run.model_info
    title = f"{info['model']} on {(info.get('data') or {}).get('spec', '?')}"
    out = run.path / "report.html"
    write_text_atomic(out, page(title, sections, subtitle=html.escape(str(run.path))))
    return out
