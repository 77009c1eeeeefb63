"""Fuzzed checkpoints: every file of a committed checkpoint altered at random (a tensor's shape,
dtype or values, a field of state.json or model.json, a setting of config.yaml) is refused on resume
with a message that names what was wrong, never a crash, an out-of-bounds write or a silent NaN.

The manifest (each file's SHA-256) is recomputed after each alteration, as a careful forger would,
so that the checks behind it are the ones exercised; an alteration without it is refused by the
manifest alone."""

from __future__ import annotations

import json
import random
import shutil

import pytest
import torch
import yaml
from safetensors.torch import save_file

import generativa
from generativa.training import store
from generativa.training.checkpoint import read_safetensors

RUNS = {
    "ae": dict(architecture="mlp", hidden=(16,), latent_dim=4, ema_decay=0.9),
    "lenet5": dict(elastic_alpha=0.3, translate=1),  # augmentation: the model owns a random stream
    "dcgan": dict(base_width=4, latent_dim=4, ema_decay=0.9),  # two players, batch norm buffers
}


@pytest.fixture(scope="module", params=sorted(RUNS))
def run(request, tmp_path_factory):
    name = request.param
    out = tmp_path_factory.mktemp("fuzz") / name
    generativa.train(name, data="digits", steps=3, out=out, progress=False, batch_size=16, log_every=1,
                     sample_every=0, checkpoint_every=0, **RUNS[name])
    return out


def _altered_copy(run, tmp_path):
    dst = tmp_path / "copy"
    shutil.copytree(run, dst)
    return dst, store.latest(dst)


def _corrupt_tensor(t: torch.Tensor, kind: str) -> torch.Tensor:
    if kind == "shape":
        return t.reshape(-1)[:1].clone() if t.numel() > 1 else torch.zeros(2, dtype=t.dtype)
    if kind == "dtype":
        return t.to(torch.float64) if t.dtype != torch.float64 else t.to(torch.float32)
    if t.is_floating_point():
        out = t.clone()
        out.reshape(-1)[0] = float("nan")
        return out
    if t.dtype == torch.int64 and t.dim() == 1 and t.numel() > 1:  # a permutation with a repeated index
        out = t.clone()
        out[1] = out[0]
        return out
    return t.reshape(-1)[:1].clone()


def _resume_must_refuse(run_dir, *needles):
    with pytest.raises(ValueError) as e:  # CheckpointError, SettingsError, ConfigError are ValueErrors
        generativa.resume(run_dir, steps=6, progress=False)
    message = str(e.value)
    assert any(n in message for n in needles), f"{message!r} names none of {needles}"
    return message


def _cases(tensors: dict, rng: random.Random) -> list[tuple[str, str]]:
    return [(key, rng.choice(["shape", "dtype", "value", "missing"])) for key in sorted(tensors)]


@pytest.mark.parametrize("fname", ["state.safetensors", "model.safetensors"])
def test_every_altered_tensor_is_refused_with_its_name(run, tmp_path, fname):
    tensors = read_safetensors(store.latest(run) / fname)
    rng = random.Random(fname + run.name)
    for i, (key, kind) in enumerate(_cases(tensors, rng)):
        if kind == "value" and key.startswith("rng."):
            kind = "shape"  # any byte string is some generator state: only its form can be checked
        dst, folder = _altered_copy(run, tmp_path / str(i))
        altered = dict(tensors)
        if kind == "missing":
            del altered[key]
        else:
            altered[key] = _corrupt_tensor(tensors[key], kind)
        save_file(altered, str(folder / fname))
        store.write_manifest(folder)
        _resume_must_refuse(dst, key, fname)


STATE_FIELDS = {"step": -1, "elapsed": "soon", "cursor": 10**9, "nonfinite_total": -3, "nonfinite_in_row": 1.5,
                "optimizers": [], "world_size": "two"}


def test_every_altered_state_field_is_refused_with_its_name(run, tmp_path):
    info = json.loads((store.latest(run) / "state.json").read_text())
    for i, (field, bad) in enumerate([*STATE_FIELDS.items(), *((f, None) for f in ("cursor", "optimizers"))]):
        dst, folder = _altered_copy(run, tmp_path / str(i))
        altered = dict(info)
        if bad is None:
            del altered[field]
        else:
            altered[field] = bad
        (folder / "state.json").write_text(json.dumps(altered))
        store.write_manifest(folder)
        if field == "world_size":  # a changed process count is allowed: streams are re-derived, said in a note
            generativa.resume(dst, steps=4, progress=False)
            continue
        _resume_must_refuse(dst, field)
    player = next(iter(info["optimizers"]))
    for i, (key, bad) in enumerate([("lr", -1.0), ("betas", [2.0, 0.5]), ("params", [0])]):
        dst, folder = _altered_copy(run, tmp_path / f"group{i}")
        altered = json.loads(json.dumps(info))
        altered["optimizers"][player]["param_groups"][0][key] = bad
        (folder / "state.json").write_text(json.dumps(altered))
        store.write_manifest(folder)
        _resume_must_refuse(dst, f"optimizer.{player}")
    dst, folder = _altered_copy(run, tmp_path / "garbage")
    (folder / "state.json").write_bytes(b"\xff\xfe{ not json")
    store.write_manifest(folder)
    _resume_must_refuse(dst, "state.json")


def test_an_altered_model_json_or_config_yaml_is_refused(run, tmp_path):
    dst, folder = _altered_copy(run, tmp_path / "model_json")
    info = json.loads((folder / "model.json").read_text())
    info["config"]["latent_dim"] = 5
    (folder / "model.json").write_text(json.dumps(info))
    store.write_manifest(folder)
    _resume_must_refuse(dst, "model.json")
    for i, (key, bad) in enumerate([("latent_dim", -5), ("latent_dim", "many"), ("no_such_setting", 1)]):
        dst, _ = _altered_copy(run, tmp_path / f"config{i}")
        config = yaml.safe_load((dst / "config.yaml").read_text())
        config["model_config"][key] = bad
        (dst / "config.yaml").write_text(yaml.safe_dump(config))
        _resume_must_refuse(dst, key)
    dst, _ = _altered_copy(run, tmp_path / "train")
    config = yaml.safe_load((dst / "config.yaml").read_text())
    config["train"]["grad_clip"] = -1
    (dst / "config.yaml").write_text(yaml.safe_dump(config))
    _resume_must_refuse(dst, "grad_clip")


def test_a_file_changed_behind_the_manifest_is_refused_and_named(run, tmp_path):
    for i, fname in enumerate(store.CHECKPOINT_FILES):
        dst, folder = _altered_copy(run, tmp_path / str(i))
        data = bytearray((folder / fname).read_bytes())
        data[len(data) // 2] ^= 0x01  # one flipped bit
        (folder / fname).write_bytes(bytes(data))
        _resume_must_refuse(dst, fname)


def test_one_element_optimizer_moments_are_refused_before_the_fused_step(run, tmp_path):
    """The reported case: every exp_avg / exp_avg_sq replaced by a 1-element tensor made the fused AdamW
    step read and write out of bounds (a segmentation fault); it is refused with the tensor's name."""
    dst, folder = _altered_copy(run, tmp_path)
    tensors = read_safetensors(folder / "state.safetensors")
    moments = [k for k in tensors if k.endswith(("exp_avg", "exp_avg_sq"))]
    assert moments
    save_file({k: (v.reshape(-1)[:1].clone() if k in moments else v) for k, v in tensors.items()},
              str(folder / "state.safetensors"))
    store.write_manifest(folder)
    message = _resume_must_refuse(dst, *moments)
    assert "but its parameter is" in message
