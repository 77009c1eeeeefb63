"""Verb ``retrieve``: nearest neighbours in code space (``generativa.exploration.retrieve``)."""

from __future__ import annotations

from pathlib import Path

import typer


def register(app: typer.Typer) -> None:
    @app.command()
    def retrieve(
        run: Path = typer.Argument(..., metavar="RUN", help="a run folder of a model with encode"),
        query: Path = typer.Option(None, "--query", "-q", help="an image, a folder or an .npz (default: test images)"),
        k: int = typer.Option(8, "-k", "--k", help="neighbours per query"),
        out: Path = typer.Option(None, "--out", "-o", help="grid PNG (default RUN/retrieve/retrieve.png)"),
        resize: bool = typer.Option(False, "--resize", help="convert channels and resize queries to the model's size"),
    ) -> None:
        """The k nearest training images of each query in code space, and precision@k by label.

        Example:  generativa retrieve runs/ae --query my_digit.png -k 8
        """
        from generativa.exploration.retrieve import retrieve_run

        path, numbers = retrieve_run(run, query=query, k=k, out=out, resize=resize)
        typer.echo(f"grid: {path}  (one row per query: the query, then its {k} neighbours)")
        if f"precision_at_{k}" in numbers:
            typer.echo(f"precision@{k} by label over the test split: {numbers[f'precision_at_{k}']:.4f}")
