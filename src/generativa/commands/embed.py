"""Verb ``embed``: a 2-D map of the test set in code space (``generativa.exploration.embed``)."""

from __future__ import annotations

from pathlib import Path

import typer


def register(app: typer.Typer) -> None:
    @app.command()
    def embed(
        run: Path = typer.Argument(..., metavar="RUN", help="a run folder of a model with encode"),
        method: str = typer.Option("auto", "--method", help="auto (the code if 2-D, else pca), code, pca, tsne, umap"),
        out: Path = typer.Option(None, "--out", "-o", help="PNG (default RUN/embed/embed_METHOD.png)"),
        n: int = typer.Option(2000, "--n", "-n", help="at most this many test images"),
        seed: int = typer.Option(0, "--seed"),
    ) -> None:
        """Draw the test set's codes in 2-D, coloured by label.

        Examples:

          generativa embed runs/ae

          generativa embed runs/ae --method tsne
        """
        from generativa.exploration.embed import embed_run

        path, used = embed_run(run, method=method, out=out, n=n, seed=seed)  # type: ignore[arg-type]
        typer.echo(f"map ({used}): {path}")
