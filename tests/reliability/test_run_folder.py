"""The run folder's other files: never written through a symbolic link, a damaged log line skipped
and counted, evaluations merged metric by metric, every file with the same permissions."""

from __future__ import annotations

import json
import os
import stat

import pytest

import generativa
from generativa.evaluation.protocol import evaluate_run
from generativa.io.atomic import UnsafePathError
from generativa.training.run import RunDir

TINY = dict(architecture="mlp", hidden=(16,), latent_dim=4, batch_size=32, sample_every=0, log_every=1)


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    return generativa.train("ae", "digits", steps=4, out=tmp_path_factory.mktemp("folder") / "run", progress=False,
                            **TINY)


def test_a_symlinked_log_is_refused_and_the_file_outside_untouched(tmp_path):
    first = generativa.train("ae", "digits", steps=2, out=tmp_path / "r", progress=False, **TINY)
    outside = tmp_path / "outside.txt"
    outside.write_text("precious\n")
    (first / "metrics.jsonl").unlink()
    (first / "metrics.jsonl").symlink_to(outside)
    with pytest.raises(UnsafePathError, match="metrics.jsonl is a symbolic link"):
        generativa.resume(first, steps=4, progress=False)
    assert outside.read_text() == "precious\n"


def test_a_symlinked_samples_folder_is_refused(tmp_path):
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    out = tmp_path / "r"
    out.mkdir()
    (out / "samples").symlink_to(elsewhere, target_is_directory=True)
    (out / "model.json").write_text("{}")
    with pytest.raises(UnsafePathError, match="samples is a symbolic link"):
        _train_into(out)
    assert list(elsewhere.iterdir()) == []


def _train_into(out):
    from generativa.training.settings import resolve
    from generativa.training.trainer import Trainer
    from generativa.workflows.train import _load_data, build_for_data

    settings = resolve("ae", data="digits", overrides={**TINY, "steps": 2, "progress": False, "sample_every": 1})
    data = _load_data(settings)
    Trainer(build_for_data(settings, data), data, settings.train, out).fit()


def test_a_damaged_log_line_is_skipped_and_said(run, tmp_path):
    import shutil

    copy = tmp_path / "copy"
    shutil.copytree(run, copy)
    lines = (copy / "metrics.jsonl").read_bytes().splitlines()
    lines[1] = lines[1][:5] + b"\xff\xfe" + lines[1][5:]
    (copy / "metrics.jsonl").write_bytes(b"\n".join(lines) + b"\n{\"step\": \n")
    rd = RunDir(copy)
    assert len(rd.metrics_log()) == len(lines) - 1 and rd.skipped_log_lines == 2
    page = generativa.report(copy).read_text()
    assert "2 line(s) of metrics.jsonl could not be read" in page and "Training curves" in page


def test_evaluating_one_metric_keeps_the_others_of_the_same_weights(run):
    evaluate_run(run, metrics="reconstruction")
    evaluate_run(run, metrics="fid", n_samples=64, feature_net="pixels")
    stored = json.loads((run / "metrics.json").read_text())["evaluation"]
    assert {"mse", "psnr", "ssim", "fid"} <= set(stored["metrics"])
    assert "kept the earlier mse" in stored["protocol"]["merge"]
    generativa.resume(run, steps=6, progress=False)  # other weights: the stored numbers no longer apply
    evaluate_run(run, metrics="reconstruction")
    stored = json.loads((run / "metrics.json").read_text())["evaluation"]
    assert "fid" not in stored["metrics"] and "replaced" in stored["protocol"]["merge"]


def test_files_written_atomically_have_the_permissions_of_the_others(run):
    umask = os.umask(0)
    os.umask(umask)
    expected = 0o666 & ~umask
    for name in ("model.safetensors", "model.json", "config.yaml", "metrics.jsonl", "state/COMMITTED"):
        assert stat.S_IMODE((run / name).stat().st_mode) == expected, name
