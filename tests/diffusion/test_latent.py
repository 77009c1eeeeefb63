"""Latent diffusion on a frozen autoencoder run: the run is recorded in the new run's config and its
weights come through unchanged (frozen); the latents are rescaled to unit variance on the first
batch; the new run is self-contained (it loads with the autoencoder's folder gone); with no run
given, the autoencoder's preset is trained first; a run that cannot serve is refused with a reason."""

from __future__ import annotations

import shutil

import pytest
import torch

import generativa
from generativa import registry
from generativa.models.vae.vae import VAEConfig
from generativa.registry import Preset
from generativa.training.checkpoint import read_safetensors
from generativa.training.run import RunDir

FAST = {"progress": False, "num_threads": 1}


@pytest.fixture(scope="module")
def vae_run(tmp_path_factory):
    torch.manual_seed(0)
    return generativa.train("vae_digits", steps=20, out=tmp_path_factory.mktemp("vae") / "run", **FAST)


def test_the_autoencoder_run_is_recorded_and_kept_frozen(vae_run, tmp_path):
    run = generativa.train("latent_diffusion_digits", steps=12, out=tmp_path / "ld", **FAST,
                           overrides={"model.autoencoder.path": str(vae_run)})
    model = generativa.load(run)
    spec = model.config.autoencoder
    assert spec.path == str(RunDir(vae_run).path) and spec.model == "vae"
    assert spec.config["latent_dim"] == RunDir(vae_run).model_info["config"]["latent_dim"]
    trained = RunDir(vae_run).load_model()
    for key, value in trained.state_dict().items():
        assert torch.equal(model.autoencoder.state_dict()[key], value), key  # not moved by training

    x = RunDir(run).load_data().train.images(slice(0, 128))
    with torch.no_grad():
        z = trained.encode(x)
    assert float(model.latent_scale) == pytest.approx(1.0 / float(z.std()), rel=0.05)  # first batch's estimate
    samples = model.sample(6, generator=torch.Generator().manual_seed(0))
    assert samples.shape == (6, 1, 8, 8) and 0.0 <= float(samples.min()) and float(samples.max()) <= 1.0

    shutil.rmtree(vae_run.parent / "moved", ignore_errors=True)
    vae_copy = vae_run.parent / "moved"
    shutil.copytree(vae_run, vae_copy)
    shutil.rmtree(vae_run)  # the new run does not need the old folder
    try:
        again = generativa.load(run)
        torch.testing.assert_close(again.sample(6, generator=torch.Generator().manual_seed(0)), samples)
        assert "autoencoder.encoder" in " ".join(read_safetensors(run / "model.safetensors"))
    finally:
        shutil.copytree(vae_copy, vae_run)


def test_without_a_run_the_autoencoder_preset_is_trained_first(tmp_path, monkeypatch, capsys):
    def tiny_vae_for_test() -> Preset:
        return Preset("vae", VAEConfig(data_shape=(1, 8, 8), latent_dim=4), "digits", train={"steps": 6})

    monkeypatch.setitem(registry._PRESETS, "tiny_vae_for_test", tiny_vae_for_test)
    run = generativa.train("latent_diffusion", data="digits", steps=4, out=tmp_path / "ld", **FAST,
                           overrides={"model.autoencoder.preset": "tiny_vae_for_test"})
    assert "tiny_vae_for_test preset is trained first" in capsys.readouterr().out
    model = generativa.load(run)
    assert model.config.autoencoder.path == str((tmp_path / "ld" / "autoencoder").resolve())
    assert model.space_shape == (4,)
    assert RunDir(tmp_path / "ld" / "autoencoder").metrics_log()[-1]["step"] == 6


def test_runs_that_cannot_serve_are_refused(vae_run, tmp_path):
    with pytest.raises(ValueError, match="trained on images of shape"):
        generativa.train("latent_diffusion", data="shapes", steps=2, out=tmp_path / "a", **FAST,
                         overrides={"model.autoencoder.path": str(vae_run)})
    gan = generativa.train("dcgan_digits", steps=2, out=tmp_path / "gan", **FAST)
    with pytest.raises(ValueError, match="cannot serve as the autoencoder"):
        generativa.train("latent_diffusion_digits", steps=2, out=tmp_path / "b", **FAST,
                         overrides={"model.autoencoder.path": str(gan)})
    with pytest.raises(Exception, match="not a run folder|does not exist|no such"):
        generativa.train("latent_diffusion_digits", steps=2, out=tmp_path / "c", **FAST,
                         overrides={"model.autoencoder.path": str(tmp_path / "missing")})
