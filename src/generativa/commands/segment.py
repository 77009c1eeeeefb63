"""Verb ``segment``: masks, instances and overlays of images with a U-Net run
(``generativa.exploration.segment``)."""

from __future__ import annotations

from pathlib import Path

import typer


def register(app: typer.Typer) -> None:
    @app.command()
    def segment(
        run: Path = typer.Argument(..., metavar="RUN", help="a run folder of a segmentation model (unet)"),
        images: list[Path] = typer.Argument(..., metavar="IMAGES...", help="image files (any size), folders of "
                                            "images or .npz arrays"),
        out: Path = typer.Option(None, "--out", "-o", help="folder for the PNGs (default RUN/segment)"),
    ) -> None:
        """Segment images: for each, NAME_mask.png (background, cell, border as 0, 127, 255),
        NAME_instances.png (instance ids, 16-bit) and NAME_overlay.png.

        Examples:

          generativa segment runs/unet cell.png more_cells/

          generativa segment runs/unet stack.npz --out masks/
        """
        from generativa.exploration.segment import segment_run

        written = segment_run(run, images, out=out)
        typer.echo(f"{len(written)} image(s) segmented; overlays, masks and instances in {written[0].parent}"
                   if written else "no images found")
