"""Verb ``denoise``: clean noisy images with an autoencoder run (``generativa.exploration.denoise``)."""

from __future__ import annotations

from pathlib import Path

import typer


def register(app: typer.Typer) -> None:
    @app.command()
    def denoise(
        run: Path = typer.Argument(..., metavar="RUN", help="a run folder of a model with reconstruct (autoencoder, VAE)"),
        input: Path = typer.Option(None, "--input", "-i", help="an image, a folder of images or an .npz "
                                   "(default: the run's test images)"),
        noise: str = typer.Option("gaussian:0.3", "--noise", help="corrupt the input first: gaussian:SIGMA, "
                                  "mask:P or saltpepper:P; 'none' to clean an input that is already noisy"),
        out: Path = typer.Option(None, "--out", "-o", help="grid PNG (default RUN/denoise/denoise.png)"),
        n: int = typer.Option(16, "--n", "-n", help="test images to use when there is no --input"),
        seed: int = typer.Option(0, "--seed", help="seed of the corruption"),
        resize: bool = typer.Option(False, "--resize", help="convert channels and resize inputs to the model's size"),
    ) -> None:
        """Corrupt (optionally) and clean images; writes a before/after grid and prints PSNR.

        Examples:

          generativa denoise runs/dae --noise gaussian:0.3

          generativa denoise runs/dae --input noisy.png --noise none
        """
        from generativa.exploration.denoise import denoise_run

        path, result = denoise_run(run, input=input, noise=None if noise.lower() == "none" else noise, out=out,
                                   n=n, seed=seed, resize=resize)
        typer.echo(f"grid: {path}  (rows: {'clean, ' if result.clean is not None else ''}noisy, cleaned)")
        numbers = result.psnr()
        if numbers:
            typer.echo(f"PSNR noisy {numbers['psnr_noisy']:.2f} dB -> cleaned {numbers['psnr_restored']:.2f} dB")
