import json
import subprocess
import sys

import pytest
from helpers import committed
from typer.testing import CliRunner

from generativa.cli import app

runner = CliRunner()
TINY = ["architecture=mlp", "hidden=[32]", "latent_dim=4", "batch_size=32", "sample_every=0"]


def invoke(*args):
    result = runner.invoke(app, [str(a) for a in args])
    return result


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    out = tmp_path_factory.mktemp("cli") / "run"
    result = invoke("train", "ae", "--data", "digits", "--steps", "8", "--quiet", "--out", out, *TINY)
    assert result.exit_code == 0, result.output
    assert str(out) in result.output
    return out


def test_train_sample_evaluate_report(run, tmp_path):
    png = tmp_path / "grid.png"
    assert invoke("sample", run, "--n", "16", "--out", png).exit_code == 0
    from PIL import Image

    assert Image.open(png).size[0] > 8 * 4
    npz = tmp_path / "s.npz"
    assert invoke("sample", run, "--n", "5", "--out", npz).exit_code == 0
    import numpy as np

    with np.load(npz, allow_pickle=False) as f:
        assert f["x"].shape == (5, 1, 8, 8) and f["x"].dtype == np.uint8
    result = invoke("evaluate", run, "--metrics", "reconstruction")
    assert result.exit_code == 0, result.output
    metrics = json.loads((run / "metrics.json").read_text())
    assert any("psnr" in k for k in json.dumps(metrics).split('"'))
    result = invoke("report", run)
    assert result.exit_code == 0, result.output
    page = (run / "report.html").read_text()
    assert "Reconstructions" in page and "Training curves" in page and "data:image/png;base64," in page
    assert "src=\"http" not in page  # self-contained


def test_config_repeats_the_run(run, tmp_path):
    again = tmp_path / "again"
    result = invoke("train", "--config", run / "config.yaml", "--quiet", "--out", again)
    assert result.exit_code == 0, result.output
    a = (run / "config.yaml").read_text()
    b = (again / "config.yaml").read_text()
    assert a == b
    assert (run / "model.safetensors").read_bytes() == (again / "model.safetensors").read_bytes()


def test_resume_from_the_cli(tmp_path):
    out = tmp_path / "r"
    assert invoke("train", "ae", "--steps", "4", "--quiet", "--out", out, *TINY).exit_code == 0
    result = invoke("train", "--resume", out, "--steps", "6", "--quiet")
    assert result.exit_code == 0, result.output
    assert json.loads((committed(out) / "state.json").read_text())["step"] == 6


def _cli(*args):
    return subprocess.run([sys.executable, "-m", "generativa.cli", *map(str, args)], capture_output=True,
                          text=True, timeout=120)


@pytest.mark.parametrize(
    "args, message",
    [
        (["train", "autoencoder"], "unknown model 'autoencoder'"),
        (["train", "ae", "latnt_dim=3"], "did you mean latent_dim"),
        (["train", "ae", "architecture=rnn"], "is not one of 'mlp', 'conv'"),
        (["train", "ae", "--data", "nosuch"], "nosuch"),
        (["sample", "/no/such/run"], "does not exist"),
        (["list", "things"], "cannot list 'things'"),
    ],
)
def test_errors_say_what_to_do(args, message):
    result = _cli(*args)
    assert result.returncode == 2, result.stderr
    assert message in result.stderr
    assert "Traceback" not in result.stderr


def test_sample_rejects_a_bad_output_suffix(run, tmp_path):
    result = _cli("sample", run, "--out", tmp_path / "x.jpg")
    assert result.returncode == 2 and ".png grid or an .npz" in result.stderr


def test_every_verb_has_help_with_an_example():
    import typer.main

    group = typer.main.get_command(app)
    assert {"list", "train", "sample", "evaluate", "report"} <= set(group.commands)
    for name in group.commands:
        result = invoke(name, "--help")
        assert result.exit_code == 0, name
        assert "xample" in result.output, f"`generativa {name} --help` shows no example"


def test_list_shows_models_presets_and_datasets():
    assert "ae" in invoke("list", "models").output
    assert "ae_digits" in invoke("list", "presets").output
    assert "digits" in invoke("list", "datasets").output
