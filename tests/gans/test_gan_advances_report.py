"""Report views and the translate verb on tiny runs of progan, stylegan and cyclegan."""

from __future__ import annotations

from helpers import report_context
from typer.testing import CliRunner

import generativa
from generativa.cli import app
from generativa.exploration.translate import translate_run
from generativa.reporting.sections import gan_advances as section

QUICK = dict(progress=False, log_every=2, sample_every=0, checkpoint_every=0, batch_size=16)


def test_progressive_views(tmp_path):
    run = generativa.train("progan_digits", steps=3, out=tmp_path / "p", stage_steps=1, fade_steps=1, **QUICK)
    (out,) = section.sections(report_context(run))
    assert "Growing" in out.html and "stage 1 at 8 pixels" in out.html and out.html.count("<img") == 2


def test_style_views(tmp_path):
    run = generativa.train("stylegan_digits", steps=2, out=tmp_path / "s", **QUICK)
    model = generativa.load(run)
    grid, nrow = section.style_mixing_grid(model, k=3, cutoff=2)
    assert nrow == 4 and grid.shape == (16, 1, 8, 8)
    (out,) = section.sections(report_context(run))
    assert "Style mixing" in out.html and "psi = 1.0, 0.7, 0.5, 0.0" in out.html and "Noise inputs" in out.html


def test_translation_views_and_the_translate_verb(tmp_path):
    run = generativa.train("cyclegan_digits", steps=2, out=tmp_path / "c", **QUICK)
    (out,) = section.sections(report_context(run))
    assert "A -&gt; B -&gt; A" in out.html and "B -&gt; A -&gt; B" in out.html
    path, result = translate_run(run, n=4)
    assert path.exists() and result.translated.shape == (4, 1, 8, 8) and result.cycle_error() >= 0
    result = CliRunner().invoke(app, ["translate", str(run), "--to", "a", "--n", "3", "--out", str(tmp_path / "g.png")])
    assert result.exit_code == 0, result.output
    assert "cycle error" in result.output and (tmp_path / "g.png").exists()
    help_text = CliRunner().invoke(app, ["translate", "--help"]).output
    assert "IMAGES" in help_text and "--to" in help_text
