"""Verb ``anomaly``: reconstruction-error anomaly detection on a run's test split."""

from __future__ import annotations

from pathlib import Path

import typer


def register(app: typer.Typer) -> None:
    @app.command()
    def anomaly(
        run: Path = typer.Argument(..., metavar="RUN", help="a run folder of a model with reconstruct, ideally trained on the normal classes"),
        normal_classes: str = typer.Option(..., "--normal-classes", help="comma-separated class numbers, e.g. 0,1"),
        score: str = typer.Option("mse", "--score", help="reconstruction error: mse, l1 or bce"),
        out: Path = typer.Option(None, "--out", "-o", help="folder for roc.png, histogram.png, anomaly.json "
                                 "(default RUN/anomaly)"),
    ) -> None:
        """Score the test split by reconstruction error; prints AUROC and average precision.

        The other classes are the anomalies. Writes the ROC curve and score histograms and merges
        the numbers into RUN/metrics.json.

        Example:  generativa anomaly runs/ae --normal-classes 0,1
        """
        from generativa.exploration.anomaly import anomaly_run

        folder, result = anomaly_run(run, normal_classes, score=score, out=out)  # type: ignore[arg-type]
        typer.echo(f"normal classes {','.join(map(str, result.normal_classes))}, score {score}: "
                   f"AUROC {result.auroc:.4f}, average precision {result.average_precision:.4f} "
                   f"({int((~result.is_anomaly).sum())} normal, {int(result.is_anomaly.sum())} anomalies)")
        typer.echo(f"figures: {folder}")
