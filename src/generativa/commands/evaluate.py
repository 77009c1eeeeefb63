"""Verbs ``evaluate`` and ``compare``: the evaluation protocol from the command line.

The work is done by ``generativa.evaluation.protocol.evaluate_run`` and
``generativa.evaluation.compare.compare_runs``; these verbs parse options and print tables.
"""

from __future__ import annotations

import json
from pathlib import Path

import typer

METRICS_HELP = ("comma-separated: fid, kid, precision_recall, density_coverage, inception_score, "
                "mode_coverage, nll, reconstruction, accuracy (default: all the model's capabilities allow)")
FEATURE_HELP = ("feature network for sample metrics: lenet5 (default for labelled images), resnet, pixels, "
                "or torchscript:PATH (your own Inception network; loading it runs its code)")


def register(app: typer.Typer) -> None:
    @app.command(context_settings={"allow_extra_args": True, "ignore_unknown_options": True})
    def evaluate(
        ctx: typer.Context,
        run: Path = typer.Argument(..., metavar="RUN", help="a run folder"),
        metrics: str = typer.Option(None, "--metrics", "-m", help=METRICS_HELP),
        n: int = typer.Option(None, "--n", "-n", help="generated samples (default: the test split's size, at most 10000)"),
        seed: int = typer.Option(0, "--seed", help="seed of the samples and of the floor's train-split draw"),
        feature_net: str = typer.Option(None, "--feature-net", help=FEATURE_HELP),
        as_json: bool = typer.Option(False, "--json", help="print the whole result as JSON instead of a table"),
    ) -> None:
        """Measure a run with the common protocol; merges into RUN/metrics.json and prints a table.

        The model's sampling options follow as --NAME VALUE (`generativa sample RUN --options` lists
        them) and are recorded next to the numbers.

        Examples:

          generativa evaluate runs/demo

          generativa evaluate runs/demo --metrics fid,kid --n 2000 --feature-net resnet
        """
        from generativa.commands.options import parse_sample_options
        from generativa.evaluation.protocol import evaluate_run, format_table, protocol_summary, table_rows

        result = evaluate_run(run, metrics=metrics, n_samples=n, seed=seed, feature_net=feature_net,
                              progress=not as_json, sample_options=parse_sample_options(list(ctx.args)))
        if as_json:
            typer.echo(json.dumps(result, indent=2, default=str))
            return
        typer.echo(format_table(table_rows(result)))
        typer.echo("")
        typer.echo(protocol_summary(result))
        if "confusion_figure" in result["protocol"]:
            typer.echo(f"confusion matrix: {result['protocol']['confusion_figure']}")

    @app.command()
    def compare(
        runs: list[Path] = typer.Argument(..., metavar="RUN...", help="two or more run folders"),
        metrics: str = typer.Option(None, "--metrics", "-m", help=METRICS_HELP + "; re-evaluates every run"),
        n: int = typer.Option(None, "--n", "-n", help="generated samples per run"),
        seed: int = typer.Option(0, "--seed"),
        feature_net: str = typer.Option(None, "--feature-net", help=FEATURE_HELP),
        out: Path = typer.Option(Path("compare.png"), "--out", "-o", help="the figure (PNG)"),
    ) -> None:
        """One table and one figure across runs (evaluating those not yet evaluated).

        Example:  generativa compare runs/vae runs/dcgan --out compare.png
        """
        from generativa.evaluation.compare import compare_runs
        from generativa.evaluation.protocol import format_table

        rows, figure = compare_runs(list(runs), metrics=metrics, n_samples=n, seed=seed,
                                    feature_net=feature_net, out=out)
        typer.echo(format_table(rows))
        if figure is not None:
            typer.echo(f"\nfigure: {figure}")
