"""One evaluation protocol for every family: what ``generativa evaluate RUN`` computes.

The model's capabilities choose the metrics:

* ``sample``     -> fid, kid, precision_recall (precision, recall), density_coverage (density,
                    coverage), inception_score and mode_coverage (the last two need a classifier
                    feature network), each next to its real-vs-real floor;
* ``log_prob``   -> nll: nats per example and bits per dimension (a bound where the model says so);
* ``reconstruct``-> reconstruction: MSE, PSNR, SSIM on the test split;
* classifiers    -> accuracy: test accuracy and a confusion matrix (``confusion.png``).
* segmenters     -> pixel IoU / Dice per class, Rand error, touching pairs separated
                    (``evaluation.segmentation``), whatever metrics are asked for.

Sample metrics compare ``n`` generated examples with the whole test split, in the feature space of
the dataset's feature network (``features.py``). The floor compares ``n`` examples of the train
split (seeded draw, without replacement where possible) with the same test split, through the
same code: it is what a perfect generator would score at this sample size, so a number can be read
(FID is biased upward at small n). Everything used -- sample count, split, seed, feature network and
its accuracy, SSIM window, dequantisation, library version -- is written next to the numbers in
``metrics.json`` under ``"evaluation"``.
"""

from __future__ import annotations

import datetime as _dt
import math
import sys
import time
from pathlib import Path
from typing import Any

import torch
from torch import Tensor

from generativa.data.base import DataSplits
from generativa.evaluation import fid as fid_module
from generativa.evaluation.features import FeatureNetwork, classifier_accuracy, resolve_feature_net
from generativa.evaluation.inception_score import inception_score
from generativa.evaluation.kid import kid
from generativa.evaluation.likelihood import likelihood_summary
from generativa.evaluation.mode_coverage import mode_coverage
from generativa.evaluation.precision_recall import density_coverage, precision_recall
from generativa.evaluation.reconstruction import mse, psnr, ssim, ssim_window
from generativa.training.progress import Progress

SAMPLE_METRICS = ("fid", "kid", "precision_recall", "density_coverage", "inception_score", "mode_coverage")
ALL_METRICS = SAMPLE_METRICS + ("nll", "reconstruction", "accuracy")
MAX_DEFAULT_SAMPLES = 10_000
# which number of each metric the table shows, and whether lower is better
HEADLINE = {
    "fid": ("fid", True), "kid": ("kid", True), "precision": ("precision", False), "recall": ("recall", False),
    "density": ("density", False), "coverage": ("coverage", False), "inception_score": ("inception_score", False),
    "mode_coverage": ("mode_coverage", False), "class_kl": ("class_kl", True),
    "nll_nats": ("nll_nats", True), "bits_per_dim": ("bits_per_dim", True),
    "mse": ("mse", True), "psnr": ("psnr", False), "ssim": ("ssim", False), "accuracy": ("accuracy", False),
}
# the unit of each headline number, printed next to it
UNITS = {
    "fid": "squared feature distance", "kid": "squared feature distance (unbiased MMD^2, cubic kernel)",
    "precision": "fraction", "recall": "fraction", "density": "ratio (1 = as dense as the data)",
    "coverage": "fraction", "inception_score": "effective classes (1..K)", "mode_coverage": "fraction of classes",
    "class_kl": "nats", "nll_nats": "nats per example", "bits_per_dim": "bits per dimension",
    "mse": "per value, images in [0, 1]", "psnr": "dB", "ssim": "index (1 = identical)", "accuracy": "fraction",
}


def parse_metrics(metrics: str | list[str] | tuple[str, ...] | None) -> tuple[str, ...] | None:
    """'fid,kid' -> ('fid', 'kid'); aliases: pr = precision_recall, is = inception_score."""
    if metrics is None:
        return None
    if isinstance(metrics, str):
        metrics = [m.strip() for m in metrics.split(",") if m.strip()]
    aliases = {"pr": "precision_recall", "is": "inception_score", "dc": "density_coverage",
               "likelihood": "nll", "bpd": "nll", "ssim": "reconstruction"}
    out = []
    for m in metrics:
        m = aliases.get(m, m)
        if m not in ALL_METRICS:
            raise ValueError(f"unknown metric {m!r}; choose from {', '.join(ALL_METRICS)}")
        out.append(m)
    return tuple(dict.fromkeys(out))


def is_classifier(model) -> bool:
    return model.capabilities.kind == "classifier"


@torch.no_grad()
def draw_samples(model, n: int, *, seed: int, batch_size: int = 500, options: dict[str, Any] | None = None,
                 progress: Progress | None = None) -> tuple[Tensor, dict[str, Any]]:
    """n samples from the model in batches, with one seeded generator (classes in turn where the model
    takes labels); out-of-range image values are clamped to [0, 1] and counted."""
    g = torch.Generator(device=model.device).manual_seed(seed)
    options = options or {}
    parts = []
    for start in range(0, n, batch_size):
        m = min(batch_size, n - start)
        condition = {k: v[start:] if isinstance(v, Tensor) else v  # classes start, start + 1, ... in turn
                     for k, v in model.default_condition(start + m).items()}
        parts.append(model.sample(m, generator=g, **condition, **options).detach().float().cpu())
        if progress is not None:
            progress.update(start + m)
    x = torch.cat(parts)
    info: dict[str, Any] = {}
    if x.dim() == 4:
        outside = ((x < 0) | (x > 1)).double().mean().item()
        if outside > 0:
            info["clamped_fraction"] = outside
            x = x.clamp(0, 1)
    if not torch.isfinite(x).all():
        raise ValueError(f"{type(model).__name__}.sample returned non-finite values; the model has diverged")
    return x, info


def _condition(model, split, start: int, batch_size: int) -> dict:
    """The conditions the model takes (``labels=``), from the split's own labels."""
    labels = None if split.labels is None else split.labels[start:start + batch_size]
    return model.condition(labels=labels) if model.capabilities.conditions else {}


def _sample_metric_values(
    ref_feats: Tensor, feats: Tensor, ref_logits: Tensor | None, logits: Tensor | None,
    ref_labels: Tensor | None, num_classes: int, wanted: tuple[str, ...], seed: int,
) -> dict[str, float]:
    out: dict[str, float] = {}
    if "fid" in wanted:
        out["fid"] = fid_module.fid(ref_feats, feats)
    if "kid" in wanted:
        r = kid(ref_feats, feats, n_subsets=100, subset_size=1000, generator=torch.Generator().manual_seed(seed))
        out.update({"kid": r.mean, "kid_std": r.std, "kid_subset_size": r.subset_size})
    if "precision_recall" in wanted:
        out.update(precision_recall(ref_feats, feats, k=3))
    if "density_coverage" in wanted:
        out.update(density_coverage(ref_feats, feats, k=5))
    if logits is not None and "inception_score" in wanted:
        mean, std = inception_score(logits, splits=10)
        out.update({"inception_score": mean, "inception_score_std": std})
    if logits is not None and ref_labels is not None and "mode_coverage" in wanted:
        mc = mode_coverage(logits.argmax(dim=1), ref_labels, num_classes)
        out.update({"mode_coverage": mc["mode_coverage"], "class_kl": mc["class_kl"]})
    return out


def evaluate_model(
    model,
    data: DataSplits,
    *,
    metrics: str | list[str] | tuple[str, ...] | None = None,
    n_samples: int | None = None,
    seed: int = 0,
    feature_net: str | FeatureNetwork | None = None,
    batch_size: int = 500,
    feature_cache: str | Path | None = None,
    artifacts: Path | None = None,
    progress: bool = False,
    sample_options: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Evaluate one model on its data; returns ``{"protocol", "metrics", "floor", "skipped"}``.

    sample_options: options of the model's ``sample`` (checked against its declaration), recorded
    in the protocol next to the numbers. progress: stage lines and bars on standard error.
    """
    import generativa

    wanted = parse_metrics(metrics) or ALL_METRICS
    model.eval()
    caps = model.capabilities
    test = data.test
    say = _stages(progress, model.name)
    options = caps.check_sample_options(dict(sample_options or {}), owner=model.name)
    protocol: dict[str, Any] = {
        "model": model.name,
        "dataset": data.spec,
        "dataset_options": data.options,
        "dataset_hash": data.content_hash(),
        "split": "test",
        "seed": seed,
        "library_version": generativa.__version__,
        "torch_version": torch.__version__,
        "date": _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
    }
    if "step" in model.run_info:  # a model loaded from a run: the step its weights are from
        protocol["step"] = model.run_info["step"]
    values: dict[str, Any] = {}
    floor: dict[str, Any] = {}
    skipped: dict[str, str] = {}
    is_image = len(data.shape) == 3

    # -- classifiers: accuracy and confusion matrix ------------------------------------------------
    if is_classifier(model):
        if "accuracy" in wanted:
            say(f"test accuracy on {len(test)} examples")
            accuracy, confusion = classifier_accuracy(model, test, batch_size)
            values["accuracy"] = accuracy
            values["confusion_matrix"] = confusion.tolist()
            protocol["n_test"] = len(test)
            if artifacts is not None:
                protocol["confusion_figure"] = str(save_confusion_figure(confusion, artifacts / "confusion.png",
                                                                         class_names=test.class_names))
        if metrics is not None:
            for m in wanted:
                if m in SAMPLE_METRICS + ("nll", "reconstruction"):
                    skipped[m] = "a classifier does not generate"
        return {"protocol": protocol, "metrics": values, "floor": floor, "skipped": skipped}
    # -- segmenters: pixel IoU / Dice per class, Rand error, touching pairs separated --------------------
    if caps.kind == "segmenter":
        from generativa.evaluation.segmentation import evaluate_segmenter

        say(f"segmentation metrics on {len(test)} test images")
        values.update(evaluate_segmenter(model, test, batch_size=min(batch_size, 64)))
        protocol["n_test"] = len(test)
        if metrics is not None:
            for m in wanted:
                skipped[m] = "a segmenter is measured by IoU, Dice, Rand error and touching pairs separated"
        return {"protocol": protocol, "metrics": values, "floor": floor, "skipped": skipped}
    if "accuracy" in wanted and metrics is not None:
        skipped["accuracy"] = "not a classifier"

    # -- sample quality ---------------------------------------------------------------------------
    sample_wanted = tuple(m for m in wanted if m in SAMPLE_METRICS)
    if sample_wanted and caps.sample:
        n = n_samples or min(len(test), MAX_DEFAULT_SAMPLES)
        feature_options: dict[str, Any] = {"progress": progress}
        if feature_cache:
            feature_options["cache"] = feature_cache
        net = feature_net if isinstance(feature_net, FeatureNetwork) else resolve_feature_net(
            feature_net, data, **feature_options)
        bar = _bar(progress, f"{model.name}: sampling", n)
        start = time.perf_counter()
        fake, sample_info = draw_samples(model, n, seed=seed, batch_size=batch_size, options=options, progress=bar)
        if bar is not None:
            bar.close()
        protocol["sampling_seconds"] = round(time.perf_counter() - start, 3)
        if options:
            protocol["sample_options"] = options
        protocol["feature_net"] = net.describe()
        protocol["n_samples"] = n
        protocol["n_reference"] = len(test)
        protocol.update(sample_info)
        say(f"features of {n} samples, {len(test)} test and {min(n, len(data.train))} train examples ({net.kind})")
        ref_feats, ref_logits = net.features_and_logits(test, batch_size)
        feats, logits = net.features_and_logits(fake, batch_size)
        g = torch.Generator().manual_seed(seed)
        n_floor = min(n, len(data.train))
        train_index = torch.randperm(len(data.train), generator=g)[:n_floor].sort().values
        floor_feats, floor_logits = net.features_and_logits(data.train.subset(train_index), batch_size)
        protocol["floor"] = f"{n_floor} train-split examples (seeded draw) against the test split"
        ref_labels = test.labels if ref_logits is not None else None
        num_classes = net.num_classes
        if logits is None:
            for m in ("inception_score", "mode_coverage"):
                if m in sample_wanted:
                    skipped[m] = f"needs a classifier feature network (this one: {net.kind})"
        say(f"{', '.join(sample_wanted)} and their real-vs-real floor")
        values.update(_sample_metric_values(ref_feats, feats, ref_logits, logits, ref_labels, num_classes,
                                            sample_wanted, seed))
        floor.update(_sample_metric_values(ref_feats, floor_feats, ref_logits, floor_logits, ref_labels,
                                           num_classes, sample_wanted, seed))
    elif sample_wanted:
        for m in sample_wanted:
            skipped[m] = f"{model.name} does not sample"

    # -- likelihood -------------------------------------------------------------------------------
    if "nll" in wanted:
        if caps.can("log_prob"):
            lp = []
            bar = _bar(progress, f"{model.name}: log-likelihood", len(test))
            with torch.no_grad():
                for i in range(0, len(test), batch_size):
                    x = test.images(slice(i, i + batch_size)).to(model.device)
                    lp.append(model.log_prob(x, **_condition(model, test, i, batch_size)).double().cpu())
                    if bar is not None:
                        bar.update(min(i + batch_size, len(test)))
            if bar is not None:
                bar.close()
            dims = math.prod(data.shape)
            summary = likelihood_summary(torch.cat(lp), dims, is_image=is_image, is_bound=caps.log_prob == "bound")
            protocol["dequantisation"] = summary.pop("dequantisation")
            if caps.likelihood_convention:  # the model says what its nats mean
                protocol["dequantisation"] = caps.likelihood_convention
            protocol["log_prob_is_bound"] = summary.pop("log_prob_is_bound")
            protocol["n_test"] = len(test)
            values.update(summary)
        elif metrics is not None:
            skipped["nll"] = f"{model.name} has no log_prob"

    # -- reconstruction ---------------------------------------------------------------------------
    if "reconstruction" in wanted:
        if caps.reconstruct:
            say(f"reconstructions of {len(test)} test examples")
            errs, peaks, sims = [], [], []
            with torch.no_grad():
                for i in range(0, len(test), batch_size):
                    x = test.images(slice(i, i + batch_size)).to(model.device)
                    x_hat = model.reconstruct(x, **_condition(model, test, i, batch_size)).float()
                    errs.append(mse(x, x_hat).cpu())
                    peaks.append(psnr(x, x_hat).cpu())
                    if is_image:
                        sims.append(ssim(x.cpu(), x_hat.cpu().clamp(0, 1)).cpu())
            values["mse"] = float(torch.cat(errs).mean())
            values["psnr"] = float(torch.cat(peaks).mean())
            if sims:
                values["ssim"] = float(torch.cat(sims).mean())
                window = ssim_window(*data.shape[1:])
                protocol["ssim"] = f"Gaussian window {window}, sigma 1.5, valid region, data range 1" + (
                    "" if window == 11 else f" (11 does not fit {data.shape[1]}x{data.shape[2]})")
            protocol["n_test"] = len(test)
        elif metrics is not None:
            skipped["reconstruction"] = f"{model.name} has no reconstruct"
    return {"protocol": protocol, "metrics": values, "floor": floor, "skipped": skipped}


def _stages(enabled: bool, name: str):
    """A function that prints one stage line to standard error (or nothing)."""
    def say(text: str) -> None:
        if enabled:
            print(f"{name}: {text} ...", file=sys.stderr, flush=True)

    return say


def _bar(enabled: bool, name: str, total: int) -> Progress | None:
    return Progress(name, total_steps=total, budget_s=None, enabled=True, interval=10.0) if enabled else None


def merge_results(old: dict[str, Any] | None, new: dict[str, Any]) -> tuple[dict[str, Any], str]:
    """``new`` merged over ``old`` metric by metric, when both measured the same weights (same step and
    dataset); otherwise ``new`` alone. Returns the result and a note on what was kept."""
    if not old or not isinstance(old, dict):
        return new, ""
    op, np_ = old.get("protocol", {}), new.get("protocol", {})
    same = (op.get("step") == np_.get("step") and op.get("dataset_hash") == np_.get("dataset_hash")
            and op.get("model") == np_.get("model"))
    if not same:
        return new, "the stored evaluation was of other weights or data and was replaced"
    merged = {key: {**(old.get(key) or {}), **(new.get(key) or {})} for key in ("protocol", "metrics", "floor")}
    skipped = {**(old.get("skipped") or {}), **(new.get("skipped") or {})}
    merged["skipped"] = {k: v for k, v in skipped.items() if k not in new.get("metrics", {})
                         and not any(k in (m, f"{m}_std") for m in merged["metrics"])}
    kept = sorted(set(old.get("metrics", {})) - set(new.get("metrics", {})))
    return merged, (f"kept the earlier {', '.join(kept)}" if kept else "")


def evaluate_run(
    run_dir: str | Path,
    metrics: str | list[str] | tuple[str, ...] | None = None,
    n_samples: int | None = None,
    seed: int = 0,
    *,
    feature_net: str | FeatureNetwork | None = None,
    write: bool = True,
    feature_cache: str | Path | None = None,
    progress: bool = False,
    sample_options: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Evaluate a run folder and merge the result into its metrics.json under ``"evaluation"``
    (metric by metric: ``--metrics fid`` keeps the stored reconstruction numbers of the same weights)."""
    from generativa.training.run import RunDir

    run = RunDir(run_dir)
    model = run.load_model()
    data = run.load_data()
    result = evaluate_model(model, data, metrics=metrics, n_samples=n_samples, seed=seed,
                            feature_net=feature_net, feature_cache=feature_cache,
                            artifacts=run.path if write else None, progress=progress,
                            sample_options=sample_options)
    result["protocol"]["run"] = str(run.path)
    if write:
        merged, note = merge_results(run.metrics().get("evaluation"), result)
        if note:
            merged["protocol"]["merge"] = note
        run.update_metrics({"evaluation": merged})
        return merged
    return result


def table_rows(result: dict[str, Any]) -> list[dict[str, Any]]:
    """One row per headline number: metric, value, real-vs-real floor."""
    rows = []
    values, floor = result.get("metrics", {}), result.get("floor", {})
    for key, (name, lower_better) in HEADLINE.items():
        if key in values:
            row = {"metric": name, "value": values[key], "floor": floor.get(key, ""), "unit": UNITS[key],
                   "better": "lower" if lower_better else "higher"}
            rows.append(row)
    for key, why in result.get("skipped", {}).items():
        rows.append({"metric": key, "value": "skipped", "floor": "", "better": why})
    return rows


def format_value(v: Any) -> str:
    if isinstance(v, float):
        if v != 0 and (abs(v) < 1e-3 or abs(v) >= 1e5):
            return f"{v:.3e}"
        return f"{v:.4f}"
    return str(v)


def format_table(rows: list[dict[str, Any]]) -> str:
    """A plain-text table of dict rows (same keys), columns padded."""
    if not rows:
        return "(nothing to show)"
    keys = list(rows[0])
    for r in rows[1:]:
        keys += [k for k in r if k not in keys]
    cells = [[format_value(r.get(k, "")) for k in keys] for r in rows]
    widths = [max(len(k), *(len(c[i]) for c in cells)) for i, k in enumerate(keys)]
    line = lambda parts: "  ".join(p.ljust(w) for p, w in zip(parts, widths)).rstrip()  # noqa: E731
    return "\n".join([line(keys), line(["-" * w for w in widths]), *(line(c) for c in cells)])


def protocol_summary(result: dict[str, Any]) -> str:
    """One line per protocol field worth reading under the table."""
    p = result.get("protocol", {})
    parts = [f"model {p.get('model')} on {p.get('dataset')} ({p.get('split')} split), seed {p.get('seed')}, "
             f"generativa {p.get('library_version')}"]
    if "n_samples" in p:
        net = p.get("feature_net", {})
        acc = net.get("test_accuracy")
        parts.append(f"{p['n_samples']} samples vs {p['n_reference']} test examples; features: {net.get('kind')}"
                     + (f" {net.get('architecture')} (test accuracy {acc:.4f})" if acc is not None else "")
                     + f"; floor: {p.get('floor')}")
    for key in ("dequantisation", "ssim", "clamped_fraction"):
        if key in p:
            parts.append(f"{key}: {p[key]}")
    if p.get("log_prob_is_bound"):
        parts.append("log_prob is a lower bound (NLL is an upper bound)")
    return "\n".join(parts)


def save_confusion_figure(confusion: Tensor, path: Path, class_names: tuple[str, ...] = ()) -> Path:
    """Confusion matrix as a heat map with counts (rows: true class, columns: predicted)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig = confusion_figure(confusion, class_names)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=100, bbox_inches="tight")
    plt.close(fig)
    return path


def confusion_figure(confusion, class_names: tuple[str, ...] = ()):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    c = torch.as_tensor(confusion)
    k = c.shape[0]
    names = list(class_names) if len(class_names) == k else [str(i) for i in range(k)]
    fig, ax = plt.subplots(figsize=(0.45 * k + 2, 0.45 * k + 1.6))
    ax.imshow(c.numpy(), cmap="Blues")
    for i in range(k):
        for j in range(k):
            v = int(c[i, j])
            if v:
                ax.text(j, i, str(v), ha="center", va="center", fontsize=7,
                        color="white" if v > c.max() / 2 else "black")
    ax.set_xticks(range(k), names, rotation=90 if k > 10 else 0)
    ax.set_yticks(range(k), names)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    acc = float(c.diagonal().sum() / c.sum().clamp_min(1))
    ax.set_title(f"test accuracy {acc:.4f}")
    fig.tight_layout()
    return fig
