"""The report shows each thing once, legibly: identical curves merged, the players' terms in shared
panels, the fixed-noise grids in one place at their own size, every number with its unit."""

from __future__ import annotations

import re

import pytest
from PIL import Image

import generativa
from generativa.evaluation.protocol import table_rows
from generativa.reporting.report import curve_panels


def test_identical_series_are_drawn_once_and_players_share_panels():
    log = [{"step": s, "loss": 1.0 / s, "reconstruction": 1.0 / s, "mse": 0.5 / s,
            "discriminator/loss": 0.7, "generator/loss": 0.9 + s,
            "discriminator/d_real": 0.6, "discriminator/d_fake": 0.4 - s / 100} for s in (1, 2, 3)]
    panels = dict(curve_panels(log))
    assert sorted(panels["loss = reconstruction"]) == ["discriminator/loss", "generator/loss", "loss"]
    assert panels["mse"] == ["mse"]
    assert panels["d_real / _fake"] == ["discriminator/d_fake", "discriminator/d_real"]
    assert sum(len(keys) for keys in panels.values()) == len(log[0]) - 2  # every series once (step and the copy)


@pytest.mark.parametrize("model, extra", [("ae", dict(architecture="mlp", hidden=(16,), latent_dim=4)),
                                          ("vae", dict(architecture="mlp", hidden=(16,), latent_dim=4))])
def test_models_log_no_term_that_equals_the_loss(tmp_path, model, extra):
    run = generativa.train(model, "digits", steps=2, out=tmp_path / model, progress=False, log_every=1,
                           sample_every=0, **extra)
    import json

    row = json.loads((run / "metrics.jsonl").read_text().splitlines()[0])
    same = [k for k, v in row.items() if k != "loss" and isinstance(v, float) and v == row["loss"]]
    assert same == [], f"{model} logs {same} equal to its loss"


def test_gan_report_shows_the_fixed_noise_grids_once_and_large_enough(tmp_path):
    run = generativa.train("dcgan", "digits", steps=6, out=tmp_path / "gan", progress=False, base_width=4,
                           latent_dim=4, sample_every=2, log_every=1)
    grids = sorted((run / "samples").glob("step_*.png"))
    assert len(grids) == 3
    assert Image.open(grids[0]).width >= 8 * 48  # 8 images a row, each shown at >= 48 px
    page = generativa.report(run).read_text()
    shown = re.findall(r'alt="(step_\d+\.png)"', page)
    assert sorted(shown) == [g.name for g in grids]  # each once, in the Samples section
    assert "one fixed noise draw" in page and "Samples from one fixed z" not in page
    assert page.count("<h2>Training curves</h2>") == 1


def test_every_number_in_the_evaluation_table_has_a_unit():
    result = {"metrics": {"fid": 3.0, "kid": 0.001, "precision": 0.9, "nll_nats": 80.0, "psnr": 20.0},
              "floor": {"fid": 1.0}, "skipped": {}}
    rows = table_rows(result)
    assert all(r["unit"] for r in rows)
    assert next(r for r in rows if r["metric"] == "kid")["unit"].startswith("squared feature distance")
