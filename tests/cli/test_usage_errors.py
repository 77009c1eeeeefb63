"""What a newcomer meets on the command line: usage errors as one line and the verb's usage (exit
status 2, no traceback), --version, help that names only what exists, and a start that does not
load torch for --help."""

from __future__ import annotations

import subprocess
import sys

import pytest

from generativa import __version__

CLI = [sys.executable, "-m", "generativa.cli"]


def _cli(*args, timeout=120):
    return subprocess.run([*CLI, *map(str, args)], capture_output=True, text=True, timeout=timeout)


@pytest.mark.parametrize("args, needle", [
    ([], "Usage: "),
    (["sample"], "Error: Missing argument 'RUN'"),
    (["nosuchverb"], "No such command 'nosuchverb'"),
    (["train", "ae", "--steps", "abc"], "Error: Invalid value for '--steps'"),
    (["train", "ae", "--stepz", "3"], "no such option: --stepz"),
    (["evaluate", "--n", "3"], "Error: Missing argument 'RUN'"),
])
def test_usage_errors_print_the_usage_and_one_line(args, needle):
    done = _cli(*args)
    assert done.returncode == 2, done.stderr
    text = done.stdout + done.stderr
    assert needle in text, text
    assert "Traceback" not in text
    if args:  # a bare `generativa` shows the whole help; an error shows the usage and one line
        assert len(done.stderr.strip().splitlines()) <= 4, done.stderr


def test_version():
    done = _cli("--version")
    assert done.returncode == 0 and done.stdout.strip() == f"generativa {__version__}"


def test_library_errors_are_one_line(tmp_path):
    done = _cli("train", "ae", "--steps", "1", "grad_clip=-1", "--out", tmp_path / "r")
    assert done.returncode == 2 and done.stderr.startswith("error: grad_clip must be > 0")
    assert len(done.stderr.strip().splitlines()) == 1 and not (tmp_path / "r").exists()
    (tmp_path / "afile").write_text("x")
    done = _cli("train", "ae", "--steps", "1", "--out", tmp_path / "afile" / "run")
    assert done.returncode == 2 and "cannot write the run folder" in done.stderr and "Traceback" not in done.stderr


def test_help_does_not_load_torch_and_names_only_registered_models():
    code = ("import sys; sys.argv = ['generativa', '--help']\n"
            "import generativa.cli as c\n"
            "try:\n    c.main()\nexcept SystemExit:\n    pass\n"
            "print('TORCH' if 'torch' in sys.modules else 'NO TORCH', file=sys.stderr)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert "NO TORCH" in done.stderr
    import typer.main
    from typer.testing import CliRunner

    from generativa import registry
    from generativa.cli import app

    group = typer.main.get_command(app)
    texts = [CliRunner().invoke(app, [verb, "--help"]).output for verb in group.commands]
    for name in ("ddpm", "ddim", "glow", "pixelcnn", "stylegan", "unet"):
        if name not in registry.model_names():
            assert not any(name in t.lower() for t in texts), f"help mentions {name}, which is not registered"


def test_sampling_options_come_from_the_models_declaration(tmp_path):
    import generativa

    run = generativa.train("vae", "digits", steps=2, out=tmp_path / "vae", progress=False, architecture="mlp",
                           hidden=(16,), latent_dim=2, sample_every=0)
    done = _cli("sample", run, "--n", "4", "--truncation", "0.5", "--out", tmp_path / "x.png")
    assert done.returncode == 2
    assert "vae takes no sampling option --truncation; it takes: --temperature FLOAT" in done.stderr
    done = _cli("sample", run, "--n", "4", "--temperature", "0.5", "--out", tmp_path / "x.png")
    assert done.returncode == 0 and (tmp_path / "x.png").is_file()
    done = _cli("sample", run, "--options")
    assert done.returncode == 0 and "--temperature FLOAT (default 1.0" in done.stdout
    done = _cli("sample", run, "--label", "3")
    assert done.returncode == 2 and "--label needs a model that takes labels; vae does not" in done.stderr
