"""The GAN report section on tiny runs: diagnostics, the 1-D picture with snapshots, the 2-D table,
and the class histogram with its mode-collapse warning."""

from __future__ import annotations

import json

import pytest
import torch
from helpers import report_context

import generativa
from generativa.reporting.sections import gans as section
from generativa.workflows.snapshots import train_with_snapshots

QUICK = dict(progress=False, log_every=2, sample_every=0, checkpoint_every=0, hidden=(8,))


def test_1d_picture_with_snapshots_during_training(tmp_path):
    run = train_with_snapshots("gan_toy1d", (0, 4), out=tmp_path / "r", **QUICK)
    snaps = json.loads((run / section.SNAPSHOTS).read_text())
    assert [s["step"] for s in snaps] == [0, 4]
    first = snaps[0]
    assert len(first["x"]) == len(first["data"]) == len(first["generator"]) == len(first["d"])
    # the data density is N(1, 0.5^2): it peaks at 1 with 1 / (0.5 sqrt(2 pi))
    peak = max(range(len(first["data"])), key=first["data"].__getitem__)
    assert first["x"][peak] == pytest.approx(1.0, abs=0.05)
    assert max(first["data"]) == pytest.approx(1 / (0.5 * (2 * torch.pi) ** 0.5), rel=0.01)
    assert all(0.0 <= d <= 1.0 for d in first["d"])  # D(x) is a probability for this loss
    out = section.sections(report_context(run))
    assert len(out) == 1 and "Densities and discriminator" in out[0].html
    assert "Snapshots during training" in out[0].html
    assert "Diagnostics" in out[0].html


def test_2d_section_has_the_coverage_table(tmp_path):
    run = generativa.train("wgan_gp_toy2d", steps=2, out=tmp_path / "r", batch_size=32,
                           data_options={"n": 256, "n_test": 64}, **QUICK)
    html = section.sections(report_context(run))[0].html
    assert "modes covered" in html and "D gp" in html and "D wasserstein" in html


def test_collapse_warning_names_the_missing_classes(monkeypatch):
    class Stub:
        def describe(self):
            return {"test_accuracy": 0.99}

        def features_and_logits(self, x):
            # a collapsed generator: every sample is classified as 3 or 5
            logits = torch.full((x.shape[0], 10), -10.0)
            logits[:, 3] = 0.0
            logits[::2, 5] = 1.0
            return None, logits

    from generativa.data import load_data
    from generativa.reporting.report import ReportContext

    data = load_data("digits")
    model = generativa.registry.build_model("dcgan", base_width=4, latent_dim=4)
    r = section.class_histogram_of_samples(model, data, Stub(), n=20)
    assert r["histogram"][3] == 10 and r["histogram"][5] == 10
    assert r["mode_coverage"] == pytest.approx(0.2)

    html = section._class_histogram(ReportContext(run=None, model=model, data=data, classifier=Stub()))
    assert "Mode-collapse warning" in html and "8 of 10 classes" in html
