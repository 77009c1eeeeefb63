"""Training in stages with a picture after each: the 1-D GAN figure of Goodfellow et al. 2014 (Fig. 1)
as it changes during training. ``train_with_snapshots`` trains a preset to the first total, resumes
to each next one (bit for bit the run that was never stopped) and records the densities and D(x)
after each stage in ``RUN/gan_snapshots.json``, which the report's GAN section draws."""

from __future__ import annotations

from pathlib import Path

from generativa.io.atomic import write_json_atomic
from generativa.reporting.sections.gans import SNAPSHOTS, density_snapshot
from generativa.training.run import RunDir
from generativa.workflows.train import resume, train


def train_with_snapshots(preset: str = "gan_toy1d", stages: tuple[int, ...] = (0, 100, 300, 1500), *,
                         out: str | Path, **overrides) -> Path:
    """Train ``preset`` in stages (train to stages[0], then resume to each next total) and record the
    1-D picture after each stage in ``out/gan_snapshots.json``; the report draws them."""
    out = Path(out)
    snaps = []
    for i, steps in enumerate(stages):
        if i == 0:
            train(preset, steps=steps, out=out, **{"progress": False, **overrides})
        else:
            resume(out, steps=steps, progress=False)
        run = RunDir(out)
        spec = run.model_info["data"]["spec"]
        snaps.append({"step": steps, **density_snapshot(run.load_model(ema=False), spec)})
        write_json_atomic(out / SNAPSHOTS, snaps, root=out)
    return out
