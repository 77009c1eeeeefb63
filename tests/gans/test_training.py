"""GANs under the trainer: n_critic, weight clipping, bit-for-bit resume, 2 processes = 1 process."""

from __future__ import annotations

import os
import socket
from types import SimpleNamespace

import pytest
import torch
from helpers import committed

import generativa
from generativa.data import load_data
from generativa.registry import build_model
from generativa.training.checkpoint import read_safetensors
from generativa.training.config import TrainConfig
from generativa.training.trainer import Trainer

QUIET = dict(progress=False, log_every=2, sample_every=0, checkpoint_every=0)


def _cfg(**kw) -> TrainConfig:
    return TrainConfig(**{"steps": 3, "batch_size": 32, **QUIET, **kw})


@pytest.fixture(scope="module")
def ring():
    return load_data("toy2d:ring8", n=512, n_test=64)


def test_n_critic_discriminator_steps_per_generator_step(ring):
    torch.manual_seed(0)
    model = build_model("wgan_gp", data_shape=(2,), latent_dim=2, hidden=(16, 16), n_critic=4)
    calls: list[str] = []

    def counted(name, fn):
        def wrapped(batch):
            calls.append(name)
            return fn(batch)
        return wrapped

    model.discriminator_loss = counted("D", model.discriminator_loss)
    model.generator_loss = counted("G", model.generator_loss)
    trainer = Trainer(model, ring, _cfg(steps=3))
    d_opt, g_opt = trainer.optimizers
    trainer.fit()
    assert calls[:15] == (["D"] * 4 + ["G"]) * 3
    # every call was an optimiser step: Adam's step counter per parameter
    assert all(s["step"].item() == 12 for s in d_opt.state.values())
    assert all(s["step"].item() == 3 for s in g_opt.state.values())
    # the paper's optimiser for each player [Gulrajani et al. 2017, Alg. 1]
    assert d_opt.param_groups[0]["betas"] == (0.0, 0.9) and isinstance(d_opt, torch.optim.Adam)


def test_weight_clipping_keeps_every_critic_weight_in_bounds(ring):
    torch.manual_seed(0)
    model = build_model("wgan", data_shape=(2,), latent_dim=2, hidden=(16, 16), d_lr=0.05, g_lr=0.05)
    c = model.config.clip
    assert any(p.abs().max() > c for p in model.discriminator.parameters())  # clipping has work to do
    trainer = Trainer(model, ring, _cfg(steps=3))
    assert isinstance(trainer.optimizers[0], torch.optim.RMSprop)
    g_before = [p.detach().clone() for p in model.generator.parameters()]
    trainer.fit()
    for name, p in model.discriminator.named_parameters():
        assert p.abs().max().item() <= c, name
    # at lr 0.05 RMSProp moves every weight by about lr per step, so the bound was hit, not idle
    assert sum((p.abs() == c).sum().item() for p in model.discriminator.parameters()) > 0
    # the generator is not clipped
    assert any(p.abs().max() > c for p in model.generator.parameters())
    assert not all(torch.equal(a, b) for a, b in zip(g_before, model.generator.parameters()))


def test_resume_is_bit_for_bit_with_both_optimisers_and_the_ema(tmp_path):
    common = dict(progress=False, batch_size=16, log_every=2, sample_every=3, checkpoint_every=0,
                  base_width=4, latent_dim=8, ema_decay=0.9)
    k = 3
    straight = generativa.train("dcgan_digits", steps=2 * k, out=tmp_path / "a", **common)
    generativa.train("dcgan_digits", steps=k, out=tmp_path / "b", **common)
    resumed = generativa.resume(tmp_path / "b", steps=2 * k, progress=False)
    a, b = read_safetensors(straight / "model.safetensors"), read_safetensors(resumed / "model.safetensors")
    assert any(key.startswith("ema.") for key in a)  # the EMA generator is saved ...
    assert any("running_mean" in key for key in a)  # ... and batch-norm statistics
    state_a = read_safetensors(committed(straight) / "state.safetensors")
    state_b = read_safetensors(committed(resumed) / "state.safetensors")
    assert any(key.startswith("optimizer.discriminator") for key in state_a)
    assert any(key.startswith("optimizer.generator") for key in state_a)
    for x, y in ((a, b), (state_a, state_b)):
        assert x.keys() == y.keys()
        for key in x:
            assert torch.equal(x[key], y[key]), f"{key} differs after resume"
    # and the resumed run really trained on: its weights moved from step k
    ema_keys = [key for key in a if key.startswith("ema.generator")]
    assert ema_keys


# -- two processes -------------------------------------------------------------------------------
def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _fit_tiny_gan(rank: int, world: int, steps: int) -> dict[str, torch.Tensor]:
    torch.set_num_threads(1)
    data = load_data("toy2d:ring8", n=512, n_test=64)
    torch.manual_seed(0)
    model = build_model("wgan_gp", data_shape=(2,), latent_dim=2, hidden=(16, 16), n_critic=2,
                        d_lr=1e-2, g_lr=1e-2)
    accelerator = SimpleNamespace(device=torch.device("cpu"), process_index=rank, num_processes=world,
                                  is_main_process=rank == 0)
    trainer = Trainer(model, data, _cfg(steps=steps, batch_size=32), accelerator=accelerator)
    torch.manual_seed(123)  # one noise stream shared by every process (each keeps its slice of it)
    trainer.fit()
    return {k: v.detach().clone() for k, v in model.state_dict().items()}


def _worker(rank: int, world: int, port: int, steps: int, out: str) -> None:
    import torch.distributed as dist

    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port))
    dist.init_process_group("gloo", rank=rank, world_size=world)
    try:
        state = _fit_tiny_gan(rank, world, steps)
        if rank == 0:
            torch.save(state, out)
        dist.barrier()  # neither process tears gloo down while the other still talks to it (SIGABRT otherwise)
    finally:
        dist.destroy_process_group()


def test_two_processes_match_one_process(tmp_path):
    steps = 4
    one = _fit_tiny_gan(0, 1, steps)
    out = str(tmp_path / "two.pt")
    torch.multiprocessing.spawn(_worker, args=(2, _free_port(), steps, out), nprocs=2, join=True)
    two = torch.load(out, weights_only=True)
    start = build_model("wgan_gp", data_shape=(2,), latent_dim=2, hidden=(16, 16))
    moved = 0
    for key, value in one.items():
        torch.testing.assert_close(two[key], value, rtol=1e-4, atol=1e-5, msg=f"{key} differs")
        moved += int(not torch.equal(value, start.state_dict()[key]))
    assert moved > 0
