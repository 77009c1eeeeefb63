"""``generativa train`` and ``generativa train --resume`` as Python functions.

Everything a user can get wrong is checked before the data is loaded and before a file is written:
the settings (``training.settings``), the run folder (``--out``: an existing run is never
overwritten silently, an empty name is refused, a read-only or full disk is found at once), and for
resume the new total against the run's current step. Only then is the folder created and
``config.yaml`` written, the data loaded and the model trained.
"""

from __future__ import annotations

import dataclasses
import shutil
from pathlib import Path
from typing import Any

import torch

from generativa.training.settings import RunSettings, SettingsError, resolve

STARTED = ".generativa-run"  # written first into a new run folder, so a start killed early is still a run
RUN_MARKERS = ("model.json", "config.yaml", "state", "metrics.jsonl", STARTED)


class RunFolderError(ValueError):
    """A run folder that cannot be used as asked (exists, is a file, is not writable)."""


def _load_data(settings: RunSettings):
    from generativa.data import load_data

    return load_data(settings.data, **settings.data_options)


def build_for_data(settings: RunSettings, data) -> torch.nn.Module:
    """Fill data_shape / num_classes from the data and build the model (seeded)."""
    from generativa.registry import get_model_class

    config = dataclasses.replace(settings.model_config, data_shape=tuple(data.shape),
                                 num_classes=data.num_classes)
    settings.model_config = config
    torch.manual_seed(settings.train.seed)
    return get_model_class(settings.model)(config)


def resolve_run_inputs(settings: RunSettings, run_dir: Path, *, progress: bool = True,
                       accelerator=None) -> dict[str, torch.nn.Module]:
    """Every run the model builds on (its config's ``RunInput`` fields, e.g. a latent diffusion model's
    autoencoder): with no ``path``, train the field's ``preset`` on the same data into
    ``<run_dir>/<field>`` first; then record the run's folder, model name and config in the field and
    load its weights (EMA where saved, through safetensors). Returns the trained models by field name
    for ``Model.adopt_run``."""
    from generativa.models.base import RunInput, run_inputs
    from generativa.training.run import RunDir

    trained: dict[str, torch.nn.Module] = {}
    config = settings.model_config
    for name, spec in run_inputs(config).items():
        path = spec.path
        if not path:
            if not spec.preset:
                raise SettingsError(f"{settings.model} builds on a trained run: set model.{name}.path=RUN")
            path = str(run_dir / name)
            print(f"{settings.model}: no model.{name}.path given, so the {spec.preset} preset is trained first "
                  f"into {path} (pass model.{name}.path=RUN to reuse a trained run)", flush=True)
            extra = {f"train.{k}": v for k in ("device", "num_threads")
                     if (v := getattr(settings.train, k)) is not None}
            train(spec.preset, data=settings.data, data_options=dict(settings.data_options), out=path,
                  seed=settings.train.seed, progress=progress, accelerator=accelerator, overwrite=True,
                  overrides=extra)
        run = RunDir(path)
        model = run.load_model()
        config = dataclasses.replace(config, **{name: RunInput(path=str(run.path), model=run.model_name,
                                                               config=dict(run.model_info.get("config", {})),
                                                               preset=spec.preset)})
        trained[name] = model
    settings.model_config = config
    return trained


def prepare_run_folder(out: Path, *, overwrite: bool = False) -> bool:
    """Check and create the run folder before anything else happens.

    An existing folder with files in it is refused unless ``overwrite`` (then it must look like a run
    folder, which is emptied); a file in its place, an empty name or a folder that cannot be written
    is an error that says so. The first file written is the empty marker ``.generativa-run``, so a
    start that is killed before ``config.yaml`` exists still leaves a folder that ``--overwrite``
    recognises. A probe file is then written and removed, so a read-only or full disk shows up now
    rather than after the data is loaded.
    """
    if str(out).strip() in ("", "."):
        raise RunFolderError(f"--out {str(out)!r} would write into the current folder; name a new folder, "
                             "for example --out runs/first")
    if out.exists() and not out.is_dir():
        raise RunFolderError(f"--out {out} is a file, not a folder; choose another path")
    if out.is_symlink():
        raise RunFolderError(f"--out {out} is a symbolic link; pass the real folder")
    if out.is_dir() and any(out.iterdir()):
        if not overwrite:
            raise RunFolderError(
                f"--out {out} already exists and holds files; continue that run with "
                f"`generativa train --resume {out}`, replace it with --overwrite, or choose another --out"
            )
        if not any((out / m).exists() for m in RUN_MARKERS):
            raise RunFolderError(f"--overwrite: {out} does not look like a run folder (no model.json, config.yaml "
                                 "or state/), so it is not emptied; choose another --out")
        # the markers go last, so an emptying killed half-way still leaves a folder --overwrite accepts
        for child in sorted(out.iterdir(), key=lambda c: c.name in RUN_MARKERS):
            if child.is_dir() and not child.is_symlink():
                shutil.rmtree(child)
            else:
                child.unlink()
    created = not out.exists()
    try:
        out.mkdir(parents=True, exist_ok=True)
        (out / STARTED).touch()
        probe = out / ".write-test.tmp"
        probe.write_bytes(b"0" * 4096)
        probe.unlink()
    except OSError as e:
        raise RunFolderError(f"cannot write the run folder {out}: {e.strerror or e}; choose a writable place "
                             "with free space (--out)") from None
    return created


def train(model: str = "ae", data: str | None = None, *, steps: int | None = None,
          minutes: float | None = None, seed: int | None = None, out: str | Path | None = None,
          runs_root: str | Path = "runs", data_options: dict[str, Any] | None = None,
          progress: bool = True, settings: RunSettings | None = None, accelerator=None,
          overwrite: bool = False, overrides: dict[str, Any] | None = None, **settings_: Any) -> Path:
    """Train a registered model or preset and return its run folder.

        run = generativa.train("ae", data="digits", steps=500, latent_dim=8)

    Further keywords are model or training settings (``latent_dim=8``, ``lr=3e-4``); ``overrides``
    takes them as a dict too, for names that are also parameters here (``{"steps": 10}`` or
    ``{"train.seed": 1}``); ``data_options`` are data-spec options (``{"size": 32}``). ``out`` fixes the run folder; an existing run there is
    replaced only with ``overwrite=True``. ``minutes`` alone trains until the time is up.
    """
    from generativa.training.run import new_run_path
    from generativa.training.trainer import Trainer

    by_name = settings is None
    overrides = {**(overrides or {}), **settings_}
    if settings is None:
        extra = dict(overrides)
        for name, value in (("seed", seed), ("steps", steps), ("minutes", minutes)):
            clash = [k for k in (name, f"train.{name}") if value is not None and k in overrides
                     and overrides[k] != value]
            if clash:
                raise SettingsError(f"--{name} {value} and {clash[0]}={overrides[clash[0]]} disagree; "
                                    f"give the {name} once")
        if seed is not None:
            extra["train.seed"] = seed
        if steps is not None:
            extra["train.steps"] = steps
        if minutes is not None:
            extra["train.minutes"] = minutes
            if steps is None:
                extra["train.steps"] = None  # until the time is up
        extra["train.progress"] = progress
        settings = resolve(model, data=data, overrides=extra, data_options=data_options)
    run_dir = Path(out) if out is not None else new_run_path(runs_root, settings.model, settings.data)
    is_main = accelerator.is_main_process if accelerator is not None else _is_main_process()
    created = prepare_run_folder(run_dir, overwrite=overwrite) if is_main else False
    try:
        splits = _load_data(settings)
        if by_name and settings.preset is None:  # no preset by name: the model's preset for this data shape
            shaped = resolve(model, data=data, overrides=extra, data_options=data_options,
                             data_shape=tuple(splits.shape))
            if shaped.preset is not None:
                settings = shaped
        inputs = resolve_run_inputs(settings, run_dir, progress=progress, accelerator=accelerator)
        net = build_for_data(settings, splits)
        for name, trained in inputs.items():
            net.adopt_run(name, trained)
        trainer = Trainer(net, splits, settings.train, run_dir, accelerator=accelerator)
    except BaseException:
        if created and run_dir.is_dir() and {p.name for p in run_dir.iterdir()} <= {STARTED}:
            shutil.rmtree(run_dir)  # nothing but the marker was written: leave no empty run folder behind
        raise
    if trainer.is_main:
        from generativa.io.atomic import write_text_atomic

        write_text_atomic(run_dir / "config.yaml", settings.to_yaml(), root=run_dir)  # data_shape filled in
    trainer.fit()
    _report_notes(trainer)
    return run_dir


def _is_main_process() -> bool:
    import os

    return os.environ.get("RANK", "0") == "0"


def _report_notes(trainer) -> None:
    if trainer.notes and trainer.is_main and trainer.config.progress:
        import sys

        for note in trainer.notes:
            print(f"note: {note}", file=sys.stderr)


def read_settings(path: Path) -> RunSettings:
    """The settings a config.yaml records (parsed safely; errors name the file)."""
    if not path.is_file():
        raise RunFolderError(f"{path} does not exist; pass the config.yaml of a run (or its run folder)")
    import yaml

    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (yaml.YAMLError, UnicodeDecodeError) as e:
        raise SettingsError(f"{path} is not valid YAML ({e})") from None
    if not isinstance(raw, dict):
        raise SettingsError(f"{path} does not hold a mapping of settings")
    try:
        return RunSettings.from_dict(raw)
    except (ValueError, KeyError, TypeError) as e:
        msg = e.args[0] if isinstance(e, KeyError) and e.args else str(e)
        raise SettingsError(f"{path}: {msg}") from None


def run_settings(run_dir: Path) -> RunSettings:
    """The settings of a run folder (its config.yaml)."""
    if not (run_dir / "config.yaml").is_file():
        raise RunFolderError(f"{run_dir} has no config.yaml; pass a run folder written by `generativa train`")
    return read_settings(run_dir / "config.yaml")


def resume(run: str | Path, steps: int | None = None, *, minutes: float | None = None, progress: bool = True,
           accelerator=None) -> Path:
    """Continue a run to a new total of ``steps`` rounds (default: its configured total), or for
    ``minutes`` more (the run's budget becomes the minutes already trained plus these; with ``steps``
    too, whichever ends first).

    On the CPU the continuation is bit for bit what an uninterrupted run would have computed
    (for a cosine schedule, only when the total is unchanged: the schedule is planned over it).
    """
    import json

    from generativa.training import store
    from generativa.training.trainer import Trainer

    run_dir = Path(run)
    if not run_dir.is_dir():
        raise RunFolderError(f"{run_dir} is not a run folder; pass a folder written by `generativa train`")
    settings = run_settings(run_dir)
    folder, _ = store.resolve(run_dir)
    try:
        saved = json.loads((folder / "state.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        saved = {}
    current, elapsed = saved.get("step"), saved.get("elapsed")
    if steps is not None and isinstance(current, int) and steps <= current:
        raise SettingsError(f"{run_dir} is at step {current}; --steps is the new total, so pass more than "
                            f"{current} (for example --steps {current * 2 or 100})")
    if minutes is not None:
        if not minutes > 0:
            raise SettingsError(f"--minutes {minutes} with --resume: pass the minutes to train beyond the "
                                "run's, a number above 0 (for example --minutes 5)")
        # the trainer's clock continues from the time already spent, so its budget is the sum
        minutes += elapsed / 60.0 if isinstance(elapsed, (int, float)) else 0.0
    train_cfg = dataclasses.replace(settings.train, progress=progress)
    if steps is not None:
        train_cfg = dataclasses.replace(train_cfg, steps=steps, minutes=minutes)
    elif minutes is not None:
        train_cfg = dataclasses.replace(train_cfg, steps=None, minutes=minutes)
    elif train_cfg.steps is None:
        raise SettingsError(f"{run_dir} was trained for a time budget; pass --steps N (a new total) or --minutes M")
    elif isinstance(current, int) and train_cfg.steps <= current:
        raise SettingsError(f"{run_dir} has already reached its {train_cfg.steps} steps; pass --steps with a "
                            "larger total to train further")
    settings.train = train_cfg
    splits = _load_data(settings)
    net = build_for_data(settings, splits)
    trainer = Trainer(net, splits, train_cfg, run_dir, accelerator=accelerator)
    trainer.load_state(run_dir)
    if trainer.is_main:
        from generativa.io.atomic import write_text_atomic

        write_text_atomic(run_dir / "config.yaml", settings.to_yaml(), root=run_dir)
    trainer.fit()
    _report_notes(trainer)
    return run_dir


__all__ = ["build_for_data", "prepare_run_folder", "read_settings", "resume", "run_settings", "train"]
