"""Compare runs side by side: one table and one figure (what ``generativa compare`` prints and writes).

Each run's numbers come from its metrics.json (``"evaluation"``, written by ``evaluate_run``); a run
without them, or evaluated under a different protocol than asked (sample count, seed, feature
network), is evaluated first. Runs on different datasets can share the table, but their sample
metrics live in different feature spaces: the table says which dataset each row is on and the
figure groups bars by dataset.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from generativa.evaluation.protocol import HEADLINE, evaluate_run

DEFAULT_COLUMNS = ("fid", "kid", "precision", "recall", "coverage", "inception_score", "mode_coverage",
                   "bits_per_dim", "nll_nats", "psnr", "ssim", "accuracy")


def _matches(result: dict[str, Any], n_samples: int | None, seed: int, feature_net: str | None) -> bool:
    p = result.get("protocol", {})
    if p.get("seed") != seed:
        return False
    if n_samples is not None and "n_samples" in p and p["n_samples"] != n_samples:
        return False
    if feature_net is not None and "feature_net" in p:
        net = p["feature_net"]
        name = net.get("architecture") or (f"torchscript:{net.get('path')}" if net.get("kind") == "torchscript"
                                           else net.get("kind"))
        if name != feature_net:
            return False
    return True


def compare_runs(
    runs: list[str | Path],
    *,
    metrics: str | None = None,
    n_samples: int | None = None,
    seed: int = 0,
    feature_net: str | None = None,
    out: str | Path | None = None,
    reuse: bool = True,
) -> tuple[list[dict[str, Any]], Path | None]:
    """Rows (one per run) of headline metrics with their floors, and the path of the figure."""
    from generativa.training.run import RunDir

    results = []
    for r in runs:
        run = RunDir(r)
        existing = run.metrics().get("evaluation") if reuse else None
        if existing is None or metrics is not None or not _matches(existing, n_samples, seed, feature_net):
            existing = evaluate_run(run.path, metrics=metrics, n_samples=n_samples, seed=seed, feature_net=feature_net)
        results.append((run, existing))
    rows = []
    for run, res in results:
        row: dict[str, Any] = {"run": run.path.name, "model": res["protocol"].get("model"),
                               "data": res["protocol"].get("dataset")}
        for key in DEFAULT_COLUMNS:
            if key in res.get("metrics", {}):
                row[key] = res["metrics"][key]
                if key in res.get("floor", {}):
                    row[f"{key} floor"] = res["floor"][key]
        rows.append(row)
    figure = None
    if out is not None:
        figure = Path(out)
        save_compare_figure(rows, figure)
    return rows, figure


def save_compare_figure(rows: list[dict[str, Any]], path: Path) -> Path:
    """One panel per metric, one bar per run, the real-vs-real floor as a dashed line."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    keys = [k for k in DEFAULT_COLUMNS if any(k in r for r in rows)]
    if not keys:
        keys = ["(no metrics)"]
    cols = min(4, len(keys))
    nrows = (len(keys) + cols - 1) // cols
    fig, axes = plt.subplots(nrows, cols, figsize=(3.2 * cols, 2.8 * nrows), squeeze=False)
    labels = [f"{r['model']}\n{r['data']}" for r in rows]
    for ax, key in zip(axes.flat, keys):
        values = [r.get(key, float("nan")) for r in rows]
        values = [v if isinstance(v, (int, float)) else float("nan") for v in values]
        ax.bar(range(len(rows)), values, color="tab:blue")
        floors = [r.get(f"{key} floor") for r in rows]
        for i, f in enumerate(floors):
            if isinstance(f, (int, float)):
                ax.hlines(f, i - 0.4, i + 0.4, colors="black", linestyles="dashed", label="real vs real" if i == 0 else None)
        lower = HEADLINE.get(key, (key, False))[1]
        ax.set_title(f"{key} ({'lower' if lower else 'higher'} is better)", fontsize=9)
        ax.set_xticks(range(len(rows)), labels, fontsize=7)
        if any(isinstance(f, (int, float)) for f in floors):
            ax.legend(fontsize=7)
    for ax in list(axes.flat)[len(keys):]:
        ax.axis("off")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path
