"""Verb ``quiz``: "which one is real?", real test images paired with samples (``generativa.exploration.quiz``)."""

from __future__ import annotations

from pathlib import Path

import typer


def register(app: typer.Typer) -> None:
    @app.command()
    def quiz(
        run: Path = typer.Argument(..., metavar="RUN", help="a run folder of a model that samples images"),
        pairs: int = typer.Option(8, "--pairs", "-n", help="number of real/generated pairs"),
        seed: int = typer.Option(0, "--seed"),
        out: Path = typer.Option(None, "--out", "-o", help="grid PNG (default RUN/quiz/quiz.png); the answers "
                                 "go beside it in <name>_answers.txt"),
        answers: bool = typer.Option(False, "--answers", help="also print the answer key here"),
    ) -> None:
        """Which one is real? Writes a grid with one pair per row, a real test image and a sample in
        a random order, and the answer key in a separate file, so you can guess first.

        Examples:

          generativa quiz runs/dcgan

          generativa quiz runs/stylegan --pairs 12 --seed 3 --out quiz.png
        """
        from generativa.exploration.quiz import quiz_run

        path, key, result = quiz_run(run, pairs=pairs, seed=seed, out=out)
        typer.echo(f"quiz: {path}  ({len(result.answers())} rows; in each, one image is real and one generated)")
        typer.echo(f"answers: {key}")
        if answers:
            typer.echo(result.key_text().rstrip())
