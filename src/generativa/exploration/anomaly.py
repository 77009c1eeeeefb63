"""Anomaly detection by reconstruction error.

A model trained on the normal classes only reconstructs them well; an anomaly reconstructs worse.
score(x) = distance(x, reconstruct(x)) per image, with ``score`` one of

* ``mse``: mean squared error over pixels (the default);
* ``l1``: mean absolute error over pixels (less dominated by a few bad pixels);
* ``bce``: mean binary cross-entropy of x against the reconstruction (clamped to [1e-6, 1 - 1e-6]),
  the autoencoder's own training loss.

``evaluate_anomaly`` scores a split whose labels say which examples are normal and reports AUROC
and average precision (``generativa.evaluation.detection``; anomaly = positive class).
``roc_figure`` and ``histogram_figure`` draw the ROC curve and the score histograms;
``anomaly_run`` is the ``generativa anomaly`` verb. One model per normal class over every class
(the one-vs-rest table) is ``benchmarks/ae_anomaly.py``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal, get_args

import numpy as np
from torch import Tensor

from generativa.exploration.inputs import batched, load_run, require

Score = Literal["mse", "l1", "bce"]
SCORES: tuple[str, ...] = get_args(Score)


def anomaly_scores(model, x: Tensor, *, score: Score = "mse") -> Tensor:
    """Reconstruction error per image, (N,); higher = more anomalous."""
    if score not in SCORES:
        raise ValueError(f"unknown anomaly score {score!r}; use one of {', '.join(SCORES)}")
    require(model, "reconstruct", "anomaly")
    model.check_input(x)
    r = batched(model.reconstruct, x)
    if score == "mse":
        return (r - x).pow(2).flatten(1).mean(1)
    if score == "l1":
        return (r - x).abs().flatten(1).mean(1)
    r = r.clamp(1e-6, 1 - 1e-6)
    return -(x * r.log() + (1 - x) * (1 - r).log()).flatten(1).mean(1)


def parse_classes(spec: str | list[int] | tuple[int, ...], num_classes: int) -> list[int]:
    """``"0,1"`` -> [0, 1], each checked against the dataset's classes."""
    if isinstance(spec, str):
        try:
            classes = [int(c) for c in spec.split(",") if c.strip()]
        except ValueError:
            raise ValueError(f"--normal-classes {spec!r}: write class numbers separated by commas, e.g. 0,1") from None
    else:
        classes = [int(c) for c in spec]
    if not classes:
        raise ValueError("name at least one normal class (--normal-classes 0)")
    bad = [c for c in classes if not 0 <= c < num_classes]
    if bad:
        raise ValueError(f"classes {bad} are outside 0..{num_classes - 1}")
    if len(set(classes)) == num_classes:
        raise ValueError("every class is normal: leave at least one class out as the anomalies")
    return sorted(set(classes))


@dataclass
class AnomalyResult:
    scores: np.ndarray  # (N,)
    is_anomaly: np.ndarray  # (N,) bool
    labels: np.ndarray  # (N,) class labels
    normal_classes: list[int]
    score: str
    auroc: float
    average_precision: float
    per_class: dict[int, float] = field(default_factory=dict)  # mean score per class

    def summary(self) -> dict:
        return {"normal_classes": self.normal_classes, "score": self.score, "auroc": self.auroc,
                "average_precision": self.average_precision, "n_normal": int((~self.is_anomaly).sum()),
                "n_anomalies": int(self.is_anomaly.sum()),
                "mean_score_per_class": {str(k): v for k, v in self.per_class.items()}}


def _detection():
    try:
        from generativa.evaluation.detection import auroc, average_precision
    except ImportError:  # pragma: no cover - the library's module is the reference
        from sklearn.metrics import average_precision_score as average_precision
        from sklearn.metrics import roc_auc_score

        def auroc(scores, labels):
            return float(roc_auc_score(labels, scores))
    return auroc, average_precision


def evaluate_anomaly(model, x: Tensor, labels: Tensor, normal_classes, *, score: Score = "mse") -> AnomalyResult:
    """AUROC and AP of reconstruction-error scores on (x, labels); anomalies = classes not in normal_classes."""
    labels_np = labels.cpu().numpy()
    normal = parse_classes(normal_classes, int(labels_np.max()) + 1)
    s = anomaly_scores(model, x, score=score).double().numpy()
    is_anomaly = ~np.isin(labels_np, normal)
    if is_anomaly.all() or not is_anomaly.any():
        raise ValueError(f"the split has no {'normal' if is_anomaly.all() else 'anomalous'} examples for classes {normal}")
    auroc, ap = _detection()
    per_class = {int(c): float(s[labels_np == c].mean()) for c in np.unique(labels_np)}
    return AnomalyResult(s, is_anomaly, labels_np, normal, score, float(auroc(s, is_anomaly.astype(int))),
                         float(ap(s, is_anomaly.astype(int))), per_class)


def roc_curve(scores: np.ndarray, is_anomaly: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(false positive rate, true positive rate) at every distinct threshold, from (0, 0) to (1, 1)."""
    order = np.argsort(-scores, kind="mergesort")
    s, y = scores[order], is_anomaly[order]
    last = np.r_[np.nonzero(np.diff(s))[0], s.size - 1]
    tp, fp = np.cumsum(y)[last], np.cumsum(~y)[last]
    return np.r_[0.0, fp / max((~y).sum(), 1)], np.r_[0.0, tp / max(y.sum(), 1)]


def roc_figure(result: AnomalyResult):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fpr, tpr = roc_curve(result.scores, result.is_anomaly)
    fig, ax = plt.subplots(figsize=(4.2, 4))
    ax.plot(fpr, tpr, lw=2, label=f"AUROC {result.auroc:.3f}")
    ax.plot([0, 1], [0, 1], "k--", lw=1, label="chance")
    ax.set_xlabel("false positive rate (normal flagged)")
    ax.set_ylabel("true positive rate (anomalies caught)")
    ax.set_title(f"normal classes {','.join(map(str, result.normal_classes))}, score {result.score}")
    ax.legend(loc="lower right")
    return fig


def histogram_figure(result: AnomalyResult):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(5, 3.5))
    bins = np.histogram_bin_edges(result.scores, bins=40)
    ax.hist(result.scores[~result.is_anomaly], bins=bins, alpha=0.6, density=True, label="normal")
    ax.hist(result.scores[result.is_anomaly], bins=bins, alpha=0.6, density=True, label="anomaly")
    ax.set_xlabel(f"anomaly score ({result.score} reconstruction error)")
    ax.set_ylabel("density")
    ax.legend()
    return fig


def anomaly_run(run: str | Path, normal_classes: str | list[int], *, score: Score = "mse",
                out: str | Path | None = None) -> tuple[Path, AnomalyResult]:
    """The ``anomaly`` verb: score the run's test split, write roc.png, histogram.png and anomaly.json,
    and merge AUROC / AP into the run's metrics.json (keys ``anomaly/...``)."""
    import json

    import matplotlib.pyplot as plt

    model, rd = load_run(run)
    require(model, "reconstruct", "anomaly")
    test = rd.load_data().test
    if test.labels is None:
        raise ValueError(f"the run's data {rd.model_info.get('data')} has no labels to say which images are normal")
    result = evaluate_anomaly(model, test.images(), test.labels, normal_classes, score=score)
    out = Path(out) if out is not None else rd.path / "anomaly"
    out.mkdir(parents=True, exist_ok=True)
    for name, fig in (("roc.png", roc_figure(result)), ("histogram.png", histogram_figure(result))):
        fig.savefig(out / name, dpi=110, bbox_inches="tight")
        plt.close(fig)
    (out / "anomaly.json").write_text(json.dumps(result.summary(), indent=2))
    rd.update_metrics({"anomaly/auroc": result.auroc, "anomaly/average_precision": result.average_precision,
                       "anomaly/normal_classes": ",".join(map(str, result.normal_classes)), "anomaly/score": score})
    return out, result
