"""The ``generativa`` command line.

The core verbs live here (list, train, sample, report); every module in ``generativa.commands``
that defines ``register(app)`` adds its own verbs (evaluate, compare, denoise, ...). Each verb is
a thin layer over a Python function of the library.
"""

from __future__ import annotations

import importlib
import os
import pkgutil
import sys
from pathlib import Path

import typer

app = typer.Typer(
    name="generativa",
    help="Deep generative models of images: train, sample, evaluate, explore.\n\n"
         "Start with:  generativa train ae --data digits --steps 500",
    no_args_is_help=True,
    add_completion=True,
    pretty_exceptions_enable=False,
)


class UserError(Exception):
    """An error whose message is the whole story (no traceback)."""


@app.command("list")
def list_cmd(what: str = typer.Argument("models", help="models, presets or datasets")) -> None:
    """List registered models, presets or datasets.

    Example:  generativa list presets
    """
    from generativa import registry

    if what == "models":
        for name in registry.model_names():
            cls = registry.get_model_class(name)
            doc = (sys.modules[cls.__module__].__doc__ or cls.__doc__ or "").strip().splitlines()
            typer.echo(f"{name:<18} {doc[0] if doc else ''}")
    elif what == "presets":
        for name in registry.preset_names():
            p = registry.get_preset(name)
            typer.echo(f"{name:<22} {p.model:<14} {p.data:<12} {p.description}")
    elif what == "datasets":
        from generativa.data import dataset_table

        for spec, description in dataset_table():
            typer.echo(f"{spec:<22} {description}")
    else:
        raise UserError(f"cannot list {what!r}; use models, presets or datasets")


@app.command(context_settings={"allow_extra_args": True, "ignore_unknown_options": True})
def train(
    args: list[str] = typer.Argument(None, metavar="MODEL [KEY=VALUE ...]",
                                     help="a model or preset name (`generativa list presets`), then overrides"),
    data: str = typer.Option(None, "--data", "-d", help="data spec: digits, shapes, toy2d:ring8, folder:PATH, ..."),
    steps: int = typer.Option(None, "--steps", help="optimiser rounds (total, also with --resume)"),
    minutes: float = typer.Option(None, "--minutes", help="wall-clock budget instead of --steps"),
    seed: int = typer.Option(None, "--seed", help="random seed (weights, batches, noise)"),
    out: Path = typer.Option(None, "--out", help="run folder (default runs/<date>_<time>_<model>_<data>)"),
    config: Path = typer.Option(None, "--config", help="repeat a run from its config.yaml"),
    resume: Path = typer.Option(None, "--resume", help="continue this run folder to --steps in total"),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="no progress bar"),
) -> None:
    """Train a model; writes a run folder and prints its path.

    Examples:

      generativa train ae --data digits --steps 1500

      generativa train ae_shapes latent_dim=6 lr=5e-4

      generativa train --resume runs/demo --steps 3000
    """
    from generativa.training import api
    from generativa.training.settings import RunSettings, parse_overrides

    args = list(args or [])
    if resume is not None:
        if args or data or config:
            raise UserError("--resume takes only --steps (the new total); other settings come from the run")
        run = api.resume(resume, steps=steps, progress=not quiet)
    else:
        overrides = parse_overrides([a for a in args if "=" in a])
        names = [a for a in args if "=" not in a]
        if len(names) > 1:
            raise UserError(f"expected one model or preset name, got {', '.join(names)}")
        if config is not None:
            if not config.exists():
                raise UserError(f"{config} does not exist")
            from omegaconf import OmegaConf

            settings = RunSettings.from_dict(OmegaConf.to_container(OmegaConf.load(config), resolve=True))
            if names or data or overrides:
                from generativa.training.settings import resolve

                base = settings.to_dict()
                merged = {**{f"model.{k}": v for k, v in base["model_config"].items() if k not in ("data_shape", "num_classes")},
                          **{f"train.{k}": v for k, v in base["train"].items()}, **overrides}
                settings = resolve(names[0] if names else settings.model, data=data or settings.data,
                                   overrides=merged, data_options=settings.data_options)
            extra = {}
            if steps is not None:
                extra["steps"] = steps
            if seed is not None:
                extra["seed"] = seed
            if minutes is not None:
                extra.update(minutes=minutes, steps=steps or 10**9)
            import dataclasses

            settings.train = dataclasses.replace(settings.train, progress=not quiet, **extra)
            run = api.train(settings=settings, out=out)
        else:
            if not names:
                raise UserError("name a model or preset to train, e.g. `generativa train ae` (see `generativa list presets`)")
            run = api.train(names[0], data=data, steps=steps, minutes=minutes, seed=seed, out=out,
                            progress=not quiet, **overrides)
    typer.echo(str(run))


@app.command()
def sample(
    run: Path = typer.Argument(..., help="a run folder"),
    n: int = typer.Option(64, "--n", "-n", help="number of samples"),
    out: Path = typer.Option(None, "--out", "-o", help="grid.png (default RUN/samples/sample.png) or samples.npz"),
    label: int = typer.Option(None, "--label", help="class label for conditional models"),
    seed: int = typer.Option(0, "--seed"),
    sampler: str = typer.Option(None, "--sampler", help="sampler where the model has several (ddpm, ddim)"),
    sampler_steps: int = typer.Option(None, "--steps", help="sampler steps where the model takes them"),
    no_ema: bool = typer.Option(False, "--no-ema", help="use the live weights, not the EMA"),
) -> None:
    """Draw samples from a trained model as a PNG grid or an .npz array.

    Example:  generativa sample runs/demo --n 64 --out grid.png
    """
    from generativa.exploration.sampling import sample_run

    path = sample_run(run, n=n, out=out, label=label, seed=seed, sampler=sampler, steps=sampler_steps,
                      ema=not no_ema)
    typer.echo(str(path))


@app.command()
def report(run: Path = typer.Argument(..., help="a run folder"),
           open_browser: bool = typer.Option(False, "--open", help="open the page in a browser")) -> None:
    """Write RUN/report.html: curves, samples, reconstructions, latent views, metrics, config.

    Example:  generativa report runs/demo
    """
    from generativa.reporting.report import write_report

    path = write_report(run)
    typer.echo(str(path))
    if open_browser:
        import webbrowser

        webbrowser.open(path.resolve().as_uri())


def _register_plugins() -> None:
    import generativa.commands as commands

    for info in sorted(pkgutil.iter_modules(commands.__path__), key=lambda i: i.name):
        module = importlib.import_module(f"generativa.commands.{info.name}")
        register = getattr(module, "register", None)
        if register is not None:
            register(app)


_register_plugins()


def _user_error_types() -> tuple[type[BaseException], ...]:
    return (UserError, ValueError, KeyError, FileNotFoundError, NotImplementedError, TypeError)


def _end_distributed(completed: bool) -> None:
    """Under torchrun: wait for every process, then close the process group. Left to interpreter
    exit, gloo's teardown can race a peer still finishing and abort the process (SIGABRT)."""
    import torch.distributed as dist

    if not (dist.is_available() and dist.is_initialized()):
        return
    try:
        if completed:  # after an error a peer may never arrive: do not wait for it
            dist.barrier()
        dist.destroy_process_group()
    except Exception:  # noqa: BLE001, S110 - shutting down; the command's own result stands
        pass


def main() -> None:
    completed = False
    try:
        app(standalone_mode=False)
        completed = True
    except SystemExit as e:
        completed = not e.code
        raise
    except Exception as e:  # noqa: BLE001 - one place turns errors into messages
        import click

        if isinstance(e, click.exceptions.Abort):
            typer.echo("aborted", err=True)
            sys.exit(130)
        if isinstance(e, click.ClickException):
            e.show()
            sys.exit(e.exit_code)
        if os.environ.get("GENERATIVA_DEBUG") or not isinstance(e, _user_error_types()):
            raise
        msg = e.args[0] if isinstance(e, KeyError) and e.args else str(e)
        typer.echo(f"error: {msg}", err=True)
        sys.exit(2)
    finally:
        _end_distributed(completed)


if __name__ == "__main__":  # pragma: no cover
    main()
