"""The latent verbs and the report section on a tiny trained run."""

import pytest
from helpers import report_context
from PIL import Image
from typer.testing import CliRunner

import generativa
from generativa.cli import app


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    out = tmp_path_factory.mktemp("runs") / "vae2d"
    return generativa.train("vae_2d_digits", steps=30, out=out, progress=False, widths=(8, 16),
                            sample_every=0, checkpoint_every=0, log_every=10)


def test_latent_verbs_write_their_pictures(run, tmp_path):
    runner = CliRunner()
    for args, name in [(["traverse", str(run), "--points", "5"], "t.png"),
                       (["interpolate", str(run), "--a", "2", "--b", "7", "--points", "6"], "i.png"),
                       (["interpolate", str(run), "--method", "spherical"], "i.gif"),
                       (["manifold", str(run), "--n", "6"], "m.png"),
                       (["latent-scatter", str(run), "--n", "200"], "s.png")]:
        target = tmp_path / name
        result = runner.invoke(app, [*args, "--out", str(target)])
        assert result.exit_code == 0, result.output
        assert Image.open(target).size[0] > 0
    # traversal: 2 dimensions x 5 steps of 8x8 images, enlarged 8 times, 1-pixel borders
    assert Image.open(tmp_path / "t.png").size == ((5 * 9 + 1) * 8, (2 * 9 + 1) * 8)


def test_interpolate_rejects_unknown_method(run):
    from generativa.exploration.latent import interpolate_run

    with pytest.raises(ValueError, match="spherical"):
        interpolate_run(run, 0, 1, method="cubic")


def test_report_section_shows_the_latent_space(run):
    from generativa.reporting.sections.vae import sections
    from generativa.training.run import RunDir

    run_dir = RunDir(run)
    out = sections(report_context(run_dir.path))
    assert len(out) == 1 and "Traversal" in out[0].html and "Manifold" in out[0].html
    assert "non-normalised" in out[0].html


def test_disentanglement_verb_writes_metrics(tmp_path):
    import json

    run = generativa.train("vae_shapes", steps=5, out=tmp_path / "shapes", progress=False, hidden=(32,),
                           data_options={"n": 300, "n_test": 50, "size": 16}, sample_every=0, checkpoint_every=0)
    result = CliRunner().invoke(app, ["disentanglement", str(run), "--n", "300", "--no-beta-vae"])
    assert result.exit_code == 0, result.output
    metrics = json.loads((run / "metrics.json").read_text())
    assert 0.0 <= metrics["mig"] <= 1.0 and "mig/shape" in metrics and metrics["mig_examples"] == 300


def test_disentanglement_needs_factors(run):
    from generativa.evaluation.disentanglement import disentanglement_run

    with pytest.raises(ValueError, match="shapes"):
        disentanglement_run(run)
