"""What is checked before anything is used: model.json and the weights on load, every training
setting, the run folder named by --out, and --resume's new total."""

from __future__ import annotations

import json
import shutil
import time

import pytest
import torch
import yaml
from safetensors.torch import save_file

import generativa
from generativa.training import checkpoint
from generativa.training.checkpoint import CheckpointError, load, read_safetensors
from generativa.training.config import TrainConfig
from generativa.workflows.train import RunFolderError

TINY = dict(architecture="mlp", hidden=(16,), latent_dim=4, batch_size=32, sample_every=0, log_every=0)


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    return generativa.train("ae", "digits", steps=3, out=tmp_path_factory.mktemp("load") / "run", progress=False,
                            **TINY)


def _copy(run, tmp_path):
    dst = tmp_path / "copy"
    shutil.copytree(run, dst)
    return dst


def _edit_json(path, change):
    info = json.loads(path.read_text())
    change(info)
    path.write_text(json.dumps(info))


def test_a_huge_config_in_model_json_is_refused_before_allocating(run, tmp_path):
    bad = _copy(run, tmp_path)
    _edit_json(bad / "model.json", lambda i: i["config"].update(hidden=[60000, 60000]))
    start = time.perf_counter()
    with pytest.raises(CheckpointError, match="does not match model.json .*wrong shape"):
        load(bad)
    assert time.perf_counter() - start < 3.0  # built on the meta device: nothing of 14 GB was allocated


def test_a_model_larger_than_the_free_memory_is_refused(run, monkeypatch):
    monkeypatch.setattr(checkpoint, "_available_memory", lambda: 1024)
    with pytest.raises(CheckpointError, match="needs .* GiB, more than 80% of"):
        load(run)


@pytest.mark.parametrize("value, needle", [(-5, "latent_dim = -5: sizes and counts must be >= 0"),
                                           ("five", "latent_dim = 'five' is not int"),
                                           (2.5, "latent_dim = 2.5 is not int")])
def test_bad_config_values_in_model_json_name_the_setting(run, tmp_path, value, needle):
    bad = _copy(run, tmp_path)
    _edit_json(bad / "model.json", lambda i: i["config"].update(latent_dim=value))
    with pytest.raises(CheckpointError, match=needle):
        load(bad)


def test_non_finite_and_wrong_dtype_weights_are_refused(run, tmp_path):
    for case in ("nan", "dtype"):
        bad = _copy(run, tmp_path / case)
        tensors = read_safetensors(bad / "model.safetensors")
        key = next(k for k in tensors if k.endswith("weight"))
        tensors[key] = tensors[key].clone()
        if case == "nan":
            tensors[key].view(-1)[0] = float("nan")
        else:
            tensors[key] = tensors[key].double()
        save_file(tensors, str(bad / "model.safetensors"))
        needle = "non-finite values" if case == "nan" else f"wrong dtype {key} F64"
        with pytest.raises(CheckpointError, match=needle):
            load(bad)


@pytest.mark.parametrize("setting, needle", [
    (dict(grad_clip=-1.0), "grad_clip must be > 0"),
    (dict(grad_clip=0.0), "grad_clip must be > 0"),
    (dict(log_every=-1), "log_every must be >= 0"),
    (dict(sample_every=-5), "sample_every must be >= 0"),
    (dict(checkpoint_every=-1), "checkpoint_every must be >= 0"),
    (dict(steps=None), "steps=null needs a time budget"),
    (dict(betas=(0.9, 1.5)), "betas must lie in"),
    (dict(lr="fast"), "lr = 'fast' is not float"),
    (dict(max_nonfinite=0), "max_nonfinite must be >= 1"),
])
def test_settings_that_would_do_something_else_are_refused(setting, needle):
    with pytest.raises(ValueError, match=needle):
        TrainConfig(**setting)


@pytest.mark.skipif(torch.cuda.is_available(), reason="a GPU is present")
def test_device_cuda_without_a_gpu_is_an_error_not_a_silent_cpu_run(tmp_path):
    with pytest.raises(ValueError, match="device=cuda, but torch sees no CUDA GPU"):
        generativa.train("ae", "digits", steps=1, out=tmp_path / "r", progress=False, device="cuda", **TINY)
    assert not (tmp_path / "r").exists()  # nothing left behind


def test_the_device_trained_on_is_recorded(run):
    from helpers import committed

    assert json.loads((committed(run) / "state.json").read_text())["device"] == "cpu"


def test_seed_given_twice_must_agree(tmp_path):
    with pytest.raises(ValueError, match="--seed 1 and train.seed=2 disagree"):
        generativa.train("ae", "digits", steps=1, seed=1, out=tmp_path / "r", progress=False, **TINY,
                         **{"train.seed": 2})
    from typer.testing import CliRunner

    from generativa.cli import app

    result = CliRunner().invoke(app, ["train", "ae", "--steps", "1", "--seed", "1", "seed=2", "--out",
                                      str(tmp_path / "r")])
    assert "--seed 1 and seed=2 disagree" in str(result.exception)


def test_resume_to_a_total_below_the_current_step_is_refused_and_changes_nothing(run, tmp_path):
    copy = _copy(run, tmp_path)
    before = (copy / "config.yaml").read_bytes()
    with pytest.raises(ValueError, match="is at step 3; --steps is the new total, so pass more than 3"):
        generativa.resume(copy, steps=2, progress=False)
    assert (copy / "config.yaml").read_bytes() == before


def test_resume_minutes_train_that_much_longer_than_the_run_already_has(run, tmp_path):
    from helpers import committed

    copy = _copy(run, tmp_path)
    elapsed = json.loads((committed(copy) / "state.json").read_text())["elapsed"]
    before = (copy / "config.yaml").read_bytes()
    with pytest.raises(ValueError, match="--minutes 0 with --resume: pass the minutes to train beyond"):
        generativa.resume(copy, minutes=0, progress=False)
    assert (copy / "config.yaml").read_bytes() == before
    generativa.resume(copy, minutes=0.3 / 60.0, progress=False)   # 0.3 s more
    state = json.loads((committed(copy) / "state.json").read_text())
    assert state["step"] > 3 and elapsed + 0.3 <= state["elapsed"] < elapsed + 30
    budget = yaml.safe_load((copy / "config.yaml").read_text())["train"]["minutes"]
    assert budget == pytest.approx((elapsed + 0.3) / 60.0)


def test_out_must_not_silently_replace_a_run(run, tmp_path):
    copy = _copy(run, tmp_path)
    weights = (copy / "model.safetensors").read_bytes()
    with pytest.raises(RunFolderError, match="already exists and holds files; continue that run with"):
        generativa.train("ae", "digits", steps=1, out=copy, progress=False, **TINY)
    assert (copy / "model.safetensors").read_bytes() == weights
    generativa.train("ae", "digits", steps=2, out=copy, progress=False, overwrite=True, **TINY)
    assert json.loads((copy / "model.json").read_text())["step"] == 2
    rows = [json.loads(line) for line in (copy / "metrics.jsonl").read_text().splitlines()]
    assert max(r["step"] for r in rows) == 2  # nothing of the old run's log is mixed in
    (tmp_path / "notes").mkdir()
    (tmp_path / "notes" / "a.txt").write_text("mine")
    with pytest.raises(RunFolderError, match="does not look like a run folder"):
        generativa.train("ae", "digits", steps=1, out=tmp_path / "notes", progress=False, overwrite=True, **TINY)
    assert (tmp_path / "notes" / "a.txt").read_text() == "mine"


def test_a_start_killed_before_config_yaml_can_be_overwritten(tmp_path):
    # what a SIGKILL between the folder's creation and config.yaml leaves: the marker, an event file, samples/
    killed = tmp_path / "killed"
    (killed / "samples").mkdir(parents=True)
    (killed / ".generativa-run").touch()
    (killed / "events.out.tfevents.1.host.1").write_bytes(b"x")
    with pytest.raises(RunFolderError, match="already exists and holds files"):
        generativa.train("ae", "digits", steps=1, out=killed, progress=False, **TINY)
    generativa.train("ae", "digits", steps=1, out=killed, progress=False, overwrite=True, **TINY)
    assert json.loads((killed / "model.json").read_text())["step"] == 1
    assert not (killed / "events.out.tfevents.1.host.1").exists()


def test_a_start_that_fails_leaves_no_folder_behind(tmp_path, monkeypatch):
    import generativa.workflows.train as workflow

    def broken(settings):
        raise RuntimeError("no data today")

    monkeypatch.setattr(workflow, "_load_data", broken)
    with pytest.raises(RuntimeError, match="no data today"):
        generativa.train("ae", "digits", steps=1, out=tmp_path / "new", progress=False, **TINY)
    assert not (tmp_path / "new").exists()


@pytest.mark.parametrize("out, needle", [("", "would write into the current folder"),
                                         (".", "would write into the current folder")])
def test_out_naming_the_current_folder_is_refused(out, needle):
    with pytest.raises(RunFolderError, match=needle):
        generativa.train("ae", "digits", steps=1, out=out, progress=False, **TINY)


def test_out_that_is_a_file_or_cannot_be_written_is_found_before_the_data_is_loaded(tmp_path, monkeypatch):
    import generativa.workflows.train as workflow

    loaded = []
    monkeypatch.setattr(workflow, "_load_data", lambda settings: loaded.append(1))
    (tmp_path / "file").write_text("x")
    with pytest.raises(RunFolderError, match="is a file, not a folder"):
        generativa.train("ae", "digits", steps=1, out=tmp_path / "file", progress=False, **TINY)
    with pytest.raises(RunFolderError, match="cannot write the run folder"):
        generativa.train("ae", "digits", steps=1, out=tmp_path / "file" / "run", progress=False, **TINY)
    assert loaded == []
