"""Verb ``inpaint``: fill a masked region with an autoencoder run (``generativa.exploration.inpaint``)."""

from __future__ import annotations

from pathlib import Path

import typer


def register(app: typer.Typer) -> None:
    @app.command()
    def inpaint(
        run: Path = typer.Argument(..., metavar="RUN", help="a run folder of a model with reconstruct"),
        mask: str = typer.Option(None, "--mask", help="rect:x,y,w,h (pixels; x = left column, y = top row)"),
        mask_file: Path = typer.Option(None, "--mask-file", help="a PNG the size of the images, white = missing"),
        input: Path = typer.Option(None, "--input", "-i", help="an image, a folder or an .npz (default: test images)"),
        out: Path = typer.Option(None, "--out", "-o", help="grid PNG (default RUN/inpaint/inpaint.png)"),
        n: int = typer.Option(8, "--n", "-n", help="test images to use when there is no --input"),
        iterations: int = typer.Option(50, "--iterations", help="reconstruction passes with the known pixels clamped"),
        resize: bool = typer.Option(False, "--resize", help="convert channels and resize inputs to the model's size"),
    ) -> None:
        """Fill the masked pixels by iterated reconstruction; writes original / masked / filled rows.

        Examples:

          generativa inpaint runs/ae --mask rect:2,2,4,3

          generativa inpaint runs/ae --input face.png --mask-file hole.png
        """
        from generativa.exploration.inpaint import inpaint_run

        path, numbers = inpaint_run(run, mask=mask, mask_file=mask_file, input=input, out=out, n=n, iterations=iterations,
                                    resize=resize)
        typer.echo(f"grid: {path}  (rows: original, masked, filled)")
        typer.echo(f"MSE in the hole: {numbers['hole_mse']:.5f} (grey fill: {numbers['hole_mse_fill']:.5f}), "
                   f"{numbers['missing_pixels']} pixels filled")
