"""Verb ``translate``: images of one domain to the other with a translation run (``generativa.exploration.translate``)."""

from __future__ import annotations

from pathlib import Path

import typer


def register(app: typer.Typer) -> None:
    @app.command()
    def translate(
        run: Path = typer.Argument(..., metavar="RUN", help="a run folder of a translation model (cyclegan)"),
        images: list[Path] = typer.Argument(None, metavar="IMAGES...", help="image files, folders or .npz files "
                                            "of the source domain (default: the run's test images of it)"),
        to: str = typer.Option("b", "--to", help="the domain to translate to: b (A -> B) or a (B -> A)"),
        out: Path = typer.Option(None, "--out", "-o", help="grid PNG (default RUN/translate/to_<domain>.png)"),
        n: int = typer.Option(8, "--n", "-n", help="test images to use when no IMAGES are given"),
        resize: bool = typer.Option(False, "--resize", help="convert channels and resize inputs to the model's size"),
    ) -> None:
        """Translate images to the other domain and back; writes a grid (rows: input, translated, cycled).

        Examples:

          generativa translate runs/cyclegan                      # test images of A -> B -> A

          generativa translate runs/cyclegan thin.png more/ --to b

          generativa translate runs/cyclegan thick.npz --to a
        """
        from generativa.exploration.translate import translate_run

        path, result = translate_run(run, [str(p) for p in images] if images else None, domain=to.lower(),
                                     out=out, n=n, resize=resize)
        typer.echo(f"grid: {path}  (rows: input, translated to {result.domain}, back again)")
        typer.echo(f"cycle error (mean |x - back|, pixels in [0, 1]): {result.cycle_error():.4f} over {len(result.inputs)} images")
