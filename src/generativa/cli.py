"""The ``generativa`` command line.

The core verbs live here (list, train, sample, report); every module in ``generativa.commands``
that defines ``register(app)`` adds its own verbs (evaluate, compare, denoise, ...). Each verb is
a thin layer over a Python function of the library (``generativa.workflows`` and below).

Errors: a usage error (unknown verb or option, missing argument, a value of the wrong type) prints
the verb's usage and one line, exit status 2; an error the library raises for bad input prints
``error: ...`` in one line, exit status 2; an operating-system error (a full disk, a read-only
folder) prints ``error: ...``, exit status 1; Ctrl-C during training commits a checkpoint and exits
with 130 (SIGTERM: 143). ``GENERATIVA_DEBUG=1`` shows the traceback instead. Nothing heavy is
imported before a verb runs, so ``--help`` answers at once.
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
    rich_markup_mode=None,  # plain usage errors: the usage, then one "Error: ..." line
)


class UserError(Exception):
    """An error whose message is the whole story (no traceback)."""


def _version(value: bool) -> None:
    if value:
        from generativa import __version__

        typer.echo(f"generativa {__version__}")
        raise typer.Exit()


@app.callback()
def _root(version: bool = typer.Option(False, "--version", callback=_version, is_eager=True,
                                       help="print the version and exit")) -> None:
    """Deep generative models of images: train, sample, evaluate, explore."""


@app.command("list")
def list_cmd(what: str = typer.Argument("models", help="models, presets or datasets")) -> None:
    """List registered models (with what each can do), presets or datasets.

    Example:  generativa list presets
    """
    from generativa import registry

    if what == "models":
        import torch

        for name in registry.model_names():
            cls = registry.get_model_class(name)
            doc = (sys.modules[cls.__module__].__doc__ or cls.__doc__ or "").strip().splitlines()
            try:  # the declaration of the default config (a cgan takes labels), built without memory
                with torch.device("meta"):
                    caps = cls(cls.config_class()).capabilities
            except (ValueError, TypeError, RuntimeError):
                caps = cls.CAPABILITIES
            typer.echo(f"{name:<16} {doc[0] if doc else ''}")
            typer.echo(f"{'':<16} can: {caps.describe()}")
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
    data: str = typer.Option(None, "--data", "-d", help="data spec: digits, shapes, faces, toy2d:ring8, idx:PATH, ..."),
    steps: int = typer.Option(None, "--steps", help="optimiser rounds (total, also with --resume)"),
    minutes: float = typer.Option(None, "--minutes", help="wall-clock budget; alone, train until it is spent (with --resume: minutes more)"),
    seed: int = typer.Option(None, "--seed", help="random seed (weights, batches, noise)"),
    out: Path = typer.Option(None, "--out", help="run folder (default runs/<date>_<time>_<model>_<data>)"),
    overwrite: bool = typer.Option(False, "--overwrite", help="replace the run already in --out"),
    config: Path = typer.Option(None, "--config", help="repeat a run from its config.yaml"),
    resume: Path = typer.Option(None, "--resume", help="continue this run folder to --steps in total, or for --minutes more"),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="no progress output"),
) -> None:
    """Train a model; writes a run folder and prints its path.

    Examples:

      generativa train ae --data digits --steps 1500

      generativa train ae_shapes latent_dim=6 lr=5e-4

      generativa train --resume runs/demo --steps 3000
    """
    from generativa.training.settings import parse_overrides
    from generativa.workflows import train as workflow

    args = list(args or [])
    if resume is not None:
        if args or data or config or out or seed is not None or overwrite:
            raise UserError("--resume takes only --steps (the new total) or --minutes; the other settings come "
                            "from the run")
        run = workflow.resume(resume, steps=steps, minutes=minutes, progress=not quiet)
    else:
        unknown = [a for a in args if a.startswith("-")]
        if unknown:
            raise UserError(f"no such option: {unknown[0]} (see `generativa train --help`)")
        overrides = parse_overrides([a for a in args if "=" in a])
        names = [a for a in args if "=" not in a]
        if len(names) > 1:
            raise UserError(f"expected one model or preset name, got {', '.join(names)}")
        if config is not None:
            settings = workflow.read_settings(config)
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
                extra.update(minutes=minutes, steps=steps)
            import dataclasses

            settings.train = dataclasses.replace(settings.train, progress=not quiet, **extra)
            run = workflow.train(settings=settings, out=out, overwrite=overwrite)
        else:
            if not names:
                raise UserError("name a model or preset to train, e.g. `generativa train ae` (see `generativa list presets`)")
            run = workflow.train(names[0], data=data, steps=steps, minutes=minutes, seed=seed, out=out,
                                 progress=not quiet, overwrite=overwrite, overrides=overrides)
    typer.echo(str(run))


@app.command(context_settings={"allow_extra_args": True, "ignore_unknown_options": True})
def sample(
    ctx: typer.Context,
    run: Path = typer.Argument(..., metavar="RUN", help="a run folder"),
    n: int = typer.Option(64, "--n", "-n", help="number of samples"),
    out: Path = typer.Option(None, "--out", "-o", help="grid.png (default RUN/samples/sample.png) or samples.npz"),
    label: int = typer.Option(None, "--label", help="class label, for models that take labels"),
    seed: int = typer.Option(0, "--seed"),
    no_ema: bool = typer.Option(False, "--no-ema", help="use the live weights, not the EMA"),
    show_options: bool = typer.Option(False, "--options", help="list the sampling options this run's model takes"),
) -> None:
    """Draw samples from a trained model as a PNG grid or an .npz array.

    The model's own sampling options follow as --NAME VALUE (a VAE's --temperature, a GAN's
    --truncation); `--options` lists those of RUN, and an option the model does not take is
    refused with that list.

    Examples:

      generativa sample runs/demo --n 64 --out grid.png

      generativa sample runs/vae --temperature 0.7
    """
    from generativa.commands.options import parse_sample_options
    from generativa.workflows.sample import sample_options, sample_run

    if show_options:
        for line in sample_options(run):
            typer.echo(line)
        return
    path = sample_run(run, n=n, out=out, label=label, seed=seed, ema=not no_ema,
                      options=parse_sample_options(list(ctx.args)))
    typer.echo(str(path))


@app.command()
def report(run: Path = typer.Argument(..., metavar="RUN", help="a run folder"),
           open_browser: bool = typer.Option(False, "--open", help="open the page in a browser")) -> None:
    """Write RUN/report.html: curves, samples, reconstructions, latent views, metrics, config.

    Example:  generativa report runs/demo
    """
    from generativa.workflows.report import report_run

    path = report_run(run)
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
    if "torch" not in sys.modules:  # torch never loaded (--help, usage errors): nothing to close
        return
    import torch.distributed as dist

    if not (dist.is_available() and dist.is_initialized()):
        return
    try:
        if completed:  # after an error a peer may never arrive: do not wait for it
            dist.barrier()
        dist.destroy_process_group()
    except Exception:  # noqa: BLE001, S110 - shutting down; the command's own result stands
        pass


def _message(e: BaseException) -> str:
    return str(e.args[0]) if isinstance(e, KeyError) and e.args else str(e)


def main() -> None:
    completed = False
    try:
        app(standalone_mode=True)  # usage errors: the verb's usage and one line, exit status 2
        completed = True
    except SystemExit as e:
        completed = not e.code
        raise
    except Exception as e:  # noqa: BLE001 - one place turns errors into messages
        if os.environ.get("GENERATIVA_DEBUG"):
            raise
        from generativa.training.trainer import TrainingInterrupted, TrainingStopped

        if isinstance(e, TrainingInterrupted):
            typer.echo(f"error: {e}", err=True)
            sys.exit(128 + e.signal_number)
        if isinstance(e, TrainingStopped):
            typer.echo(f"error: {e}", err=True)
            sys.exit(1)
        if isinstance(e, _user_error_types()):
            typer.echo(f"error: {_message(e)}", err=True)
            sys.exit(2)
        if isinstance(e, OSError):
            where = f" ({e.filename})" if e.filename and str(e.filename) not in str(e) else ""
            typer.echo(f"error: {e.strerror or e}{where}", err=True)
            sys.exit(1)
        raise
    finally:
        _end_distributed(completed)


if __name__ == "__main__":  # pragma: no cover
    main()
