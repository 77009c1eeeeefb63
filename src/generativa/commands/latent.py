"""Verbs that look into a latent space: ``traverse``, ``interpolate``, ``manifold``, ``latent-scatter``,
``disentanglement``.

Each calls a function of ``generativa.exploration.latent`` (``traverse_run``, ``interpolate_run``,
``manifold_run``, ``scatter_run``) and prints the path it wrote, or of
``generativa.evaluation.disentanglement`` (``disentanglement_run``) and prints the scores.
"""

from __future__ import annotations

from pathlib import Path

import typer


def register(app: typer.Typer) -> None:
    @app.command()
    def traverse(
        run: Path = typer.Argument(..., metavar="RUN", help="a run folder of a latent model (ae, vae, ...)"),
        index: int = typer.Option(0, "--index", "-i", help="test image whose code is the base; -1: z = 0"),
        points: int = typer.Option(9, "--points", help="values per dimension, from -span to +span"),
        span: float = typer.Option(3.0, "--span", help="sweep each dimension over [-span, span]"),
        dims: int = typer.Option(10, "--dims", help="show at most this many dimensions (largest KL first)"),
        out: Path = typer.Option(None, "--out", "-o", help="PNG (default RUN/samples/traversal.png)"),
    ) -> None:
        """Latent traversal: each dimension swept from -3 to +3 with the others fixed, ordered by KL.

        Example:  generativa traverse runs/vae --index 5 --out traversal.png
        """
        from generativa.exploration.latent import traverse_run

        path = traverse_run(run, index=None if index < 0 else index, points=points, span=span, max_dims=dims, out=out)
        typer.echo(str(path))

    @app.command()
    def interpolate(
        run: Path = typer.Argument(..., metavar="RUN", help="a run folder of a latent model"),
        a: int = typer.Option(0, "--a", help="index of the first test image"),
        b: int = typer.Option(1, "--b", help="index of the second test image"),
        points: int = typer.Option(10, "--points", help="decoded points, the two ends included"),
        method: str = typer.Option("linear", "--method", help="linear or spherical (slerp)"),
        out: Path = typer.Option(None, "--out", "-o", help="strip.png or animation.gif"),
    ) -> None:
        """Interpolate between two test images in latent space, as an image strip or an animated GIF.

        Examples:

          generativa interpolate runs/vae --a 3 --b 10 --method spherical

          generativa interpolate runs/vae --a 3 --b 10 --out morph.gif
        """
        from generativa.exploration.latent import interpolate_run

        typer.echo(str(interpolate_run(run, a, b, points=points, method=method, out=out)))  # type: ignore[arg-type]

    @app.command()
    def manifold(
        run: Path = typer.Argument(..., metavar="RUN", help="a run folder of a model with a 2-d latent"),
        n: int = typer.Option(15, "--n", "-n", help="grid of n x n Gaussian quantiles"),
        label: int = typer.Option(None, "--label", help="class label for conditional models"),
        out: Path = typer.Option(None, "--out", "-o", help="PNG (default RUN/samples/manifold.png)"),
    ) -> None:
        """Decode a grid of Gaussian quantiles of a 2-d latent (train with preset vae_2d_digits).

        Example:  generativa manifold runs/vae2d --n 20
        """
        from generativa.exploration.latent import manifold_run

        typer.echo(str(manifold_run(run, n=n, out=out, label=label)))

    @app.command("latent-scatter")
    def latent_scatter(
        run: Path = typer.Argument(..., metavar="RUN", help="a run folder of a latent model"),
        n: int = typer.Option(2000, "--n", "-n", help="test examples to plot"),
        out: Path = typer.Option(None, "--out", "-o", help="PNG (default RUN/samples/latent_scatter.png)"),
    ) -> None:
        """The test set in latent space, coloured by label (the two dimensions of largest KL).

        Example:  generativa latent-scatter runs/vae2d --out scatter.png
        """
        from generativa.exploration.latent import scatter_run

        typer.echo(str(scatter_run(run, n=n, out=out)))

    @app.command()
    def disentanglement(
        run: Path = typer.Argument(..., metavar="RUN", help="a run folder of a latent model trained on shapes"),
        n: int = typer.Option(5000, "--n", "-n", help="training images used for MIG"),
        no_beta_vae: bool = typer.Option(False, "--no-beta-vae", help="skip the beta-VAE metric (renders pairs)"),
        seed: int = typer.Option(0, "--seed"),
    ) -> None:
        """MIG (scale, orientation, x, y; shape apart) and the beta-VAE metric; writes RUN/metrics.json.

        Example:  generativa disentanglement runs/beta_vae_shapes
        """
        from generativa.evaluation.disentanglement import disentanglement_run

        result = disentanglement_run(run, n=n, beta_vae=not no_beta_vae, seed=seed)
        for key, value in result.items():
            typer.echo(f"{key:<26} {value:.4f}" if isinstance(value, float) else f"{key:<26} {value}")
