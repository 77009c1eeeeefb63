import dataclasses
import json

import pytest
import torch
from helpers import committed
from training.toy_models import NaNConfig, SometimesNaN, TwoPlayer, TwoPlayerConfig

import generativa
from generativa.registry import build_model
from generativa.training.config import TrainConfig
from generativa.training.trainer import Trainer, TrainingStopped

TINY = dict(architecture="mlp", hidden=(32,), latent_dim=4)


def _cfg(**kw):
    base = dict(steps=10, batch_size=32, lr=1e-3, progress=False, log_every=5, sample_every=0,
                checkpoint_every=0)
    base.update(kw)
    return TrainConfig(**base)


def test_lr_schedule_warmup_and_cosine():
    c = TrainConfig(steps=100, lr=1.0, warmup_steps=10, schedule="cosine", min_lr_ratio=0.1)
    assert c.lr_at(0) == pytest.approx(0.1)
    assert c.lr_at(9) == pytest.approx(1.0)
    assert c.lr_at(10) == pytest.approx(1.0)
    assert c.lr_at(55) == pytest.approx(0.1 + 0.9 * 0.5)
    assert c.lr_at(100) == pytest.approx(0.1)


def test_bad_train_settings_are_refused():
    with pytest.raises(ValueError, match="precision"):
        TrainConfig(precision="fp8")
    with pytest.raises(ValueError, match="batch_size"):
        TrainConfig(batch_size=0)


def test_training_lowers_the_loss(digits):
    torch.manual_seed(0)
    model = build_model("ae", data_shape=(1, 8, 8), **TINY)
    trainer = Trainer(model, digits, _cfg(steps=60, lr=3e-3))
    before = trainer.test_loss()["test/loss"]
    trainer.fit()
    assert trainer.test_loss()["test/loss"] < 0.9 * before


def test_resume_is_bit_for_bit(tmp_path):
    k = 6
    straight = generativa.train("ae", "digits", steps=2 * k, out=tmp_path / "a", progress=False,
                                batch_size=32, log_every=4, sample_every=5, checkpoint_every=0, **TINY)
    generativa.train("ae", "digits", steps=k, out=tmp_path / "b", progress=False,
                     batch_size=32, log_every=4, sample_every=5, checkpoint_every=0, **TINY)
    resumed = generativa.resume(tmp_path / "b", steps=2 * k, progress=False)
    from generativa.training.checkpoint import read_safetensors

    for name in ("model.safetensors", "state.safetensors"):
        a = read_safetensors(committed(straight) / name)
        b = read_safetensors(committed(resumed) / name)
        assert a.keys() == b.keys()
        for key in a:
            assert torch.equal(a[key], b[key]), f"{name}:{key} differs after resume"
    sa = json.loads((committed(straight) / "state.json").read_text())
    sb = json.loads((committed(resumed) / "state.json").read_text())
    assert sa["step"] == sb["step"] == 2 * k and sa["cursor"] == sb["cursor"]


def test_adversarial_players_step_in_order_with_their_counts(digits):
    model = TwoPlayer(TwoPlayerConfig(data_shape=(1, 8, 8), critic_steps=3))
    trainer = Trainer(model, digits, _cfg(steps=4))
    trainer.fit()
    assert model.calls[:8] == ["critic"] * 3 + ["generator"] + ["critic"] * 3 + ["generator"]
    # 4 rounds; the test-loss pass at the end calls each loss once more
    assert model.calls[:16].count("critic") == 12
    groups = [opt.param_groups[0]["lr"] for opt in trainer.optimizers]
    assert groups == [1e-3, 5e-4]


def test_adversarial_resume_is_bit_for_bit(digits, tmp_path):
    def run(steps, path, resume_from=None):
        torch.manual_seed(0)
        model = TwoPlayer(TwoPlayerConfig(data_shape=(1, 8, 8)))
        if resume_from is not None:
            from generativa.training.checkpoint import read_safetensors

            model.load_state_dict({k: v for k, v in read_safetensors(resume_from / "model.safetensors").items()
                                   if not k.startswith("ema.")})
        t = Trainer(model, digits, _cfg(steps=steps, ema_decay=0.9), path)
        if resume_from is not None:
            t.load_state(resume_from)
        t.fit()
        return t

    a = run(8, tmp_path / "a")
    run(4, tmp_path / "b")
    b = run(8, tmp_path / "b", resume_from=tmp_path / "b")
    for (ka, va), vb in zip(a.model.state_dict().items(), b.model.state_dict().values()):
        assert torch.equal(va, vb), ka
    for ka in a.ema.shadow:
        assert torch.equal(a.ema.shadow[ka], b.ema.shadow[ka]), ka
    for oa, ob in zip(a.optimizers, b.optimizers):
        for pa, pb in zip(oa.state.values(), ob.state.values()):
            for key in pa:
                assert torch.equal(torch.as_tensor(pa[key]), torch.as_tensor(pb[key]))


def test_ema_matches_hand_computation(digits):
    torch.manual_seed(0)
    model = build_model("ae", data_shape=(1, 8, 8), **TINY)
    start = {k: v.clone() for k, v in model.state_dict().items()}
    trainer = Trainer(model, digits, _cfg(steps=0, ema_decay=0.5, ema_warmup=False))
    expected = {k: v.clone() for k, v in start.items()}
    for _ in range(3):
        trainer.train_round()
        for k, v in model.named_parameters():
            expected[k] = 0.5 * expected[k] + 0.5 * v.detach()
    for k, _ in model.named_parameters():
        torch.testing.assert_close(trainer.ema.shadow[k], expected[k], rtol=0, atol=1e-7)
    live = dict(model.named_parameters())
    assert any(not torch.equal(trainer.ema.shadow[k], live[k].detach()) for k in live)


def test_ema_warm_up_averages_the_first_rounds_almost_uniformly(digits):
    """d_t = min(d, (1 + t) / (10 + t)): with d = 0.999 the first updates weigh the new weights
    0.9, 0.818, ... so after 20 rounds the average holds almost none of the initial weights."""
    from generativa.training.ema import ema_decay_at

    assert ema_decay_at(0.999, 0) == pytest.approx(0.1)
    assert ema_decay_at(0.999, 10) == pytest.approx(11 / 20)
    assert ema_decay_at(0.999, 100_000) == 0.999
    torch.manual_seed(0)
    model = build_model("ae", data_shape=(1, 8, 8), **TINY)
    start = {k: v.clone() for k, v in model.named_parameters()}
    trainer = Trainer(model, digits, _cfg(steps=0, ema_decay=0.999))
    expected = {k: v.clone() for k, v in start.items()}
    for t in range(20):
        trainer.train_round()
        d = min(0.999, (1 + t) / (10 + t))
        for k, v in model.named_parameters():
            expected[k] = d * expected[k] + (1 - d) * v.detach()
    share_of_start = 1.0
    for t in range(20):
        share_of_start *= min(0.999, (1 + t) / (10 + t))
    assert share_of_start < 1e-6  # without warm-up it would be 0.999 ** 20 = 0.98
    for k in expected:
        torch.testing.assert_close(trainer.ema.shadow[k], expected[k], rtol=0, atol=1e-6)


def test_non_finite_steps_are_skipped_and_counted(digits):
    model = SometimesNaN(NaNConfig(data_shape=(1, 8, 8), bad_from=3, bad_until=5))
    trainer = Trainer(model, digits, _cfg(steps=10, max_nonfinite=3))
    before = model.lin.weight.detach().clone()
    trainer.fit()
    assert trainer.nonfinite_total == 2 and trainer.step == 10
    assert torch.isfinite(model.lin.weight).all() and not torch.equal(before, model.lin.weight)


def test_repeated_non_finite_steps_stop_training_and_keep_the_checkpoint(digits, tmp_path):
    model = SometimesNaN(NaNConfig(data_shape=(1, 8, 8), bad_from=6, bad_until=100))
    trainer = Trainer(model, digits, _cfg(steps=50, max_nonfinite=3, checkpoint_every=4), tmp_path)
    with pytest.raises(TrainingStopped, match="non-finite"):
        trainer.fit()
    assert trainer.step == 8
    info = json.loads((committed(tmp_path) / "state.json").read_text())
    assert info["step"] == 4  # the last good checkpoint is intact


def test_minutes_budget_stops_early(digits):
    model = build_model("ae", data_shape=(1, 8, 8), **TINY)
    trainer = Trainer(model, digits, dataclasses.replace(_cfg(steps=10**9), minutes=0.02))
    trainer.fit()
    assert 0 < trainer.step < 10**9


def test_bf16_and_channels_last_train(digits):
    torch.manual_seed(0)
    model = build_model("ae", data_shape=(1, 8, 8), latent_dim=4, widths=(8, 16))
    trainer = Trainer(model, digits, _cfg(steps=5, precision="bf16", channels_last=True))
    trainer.fit()
    assert all(torch.isfinite(p).all() for p in model.parameters())


def test_run_folder_contents_and_tensorboard_events(tmp_path):
    run = generativa.train("ae", "digits", steps=12, out=tmp_path / "r", progress=False, batch_size=32,
                           log_every=4, sample_every=6, **TINY)
    names = {p.name for p in run.iterdir()}
    assert {"config.yaml", "model.safetensors", "model.json", "state", "metrics.jsonl", "samples"} <= names
    rows = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in rows if "loss" in r] == [4, 8, 12]
    assert any("test/loss" in r for r in rows)
    assert sorted(p.name for p in (run / "samples").iterdir()) == ["step_0000006.png", "step_0000012.png"]
    events = list(run.glob("events.out.tfevents.*"))
    assert len(events) == 1
    ea = pytest.importorskip("tensorboard.backend.event_processing.event_accumulator")
    acc = ea.EventAccumulator(str(events[0]))
    acc.Reload()
    losses = [(e.step, e.value) for e in acc.Scalars("loss")]
    expected = [(r["step"], r["loss"]) for r in rows if "loss" in r]
    assert [s for s, _ in losses] == [s for s, _ in expected]
    for (_, got), (_, want) in zip(losses, expected):
        assert got == pytest.approx(want, rel=1e-6)


def test_auto_precision_follows_the_cpu(monkeypatch):
    from generativa.training import config as config_module

    c = TrainConfig(precision="auto")
    monkeypatch.setattr(config_module, "cpu_has_native_bf16", lambda: True)
    assert c.resolved_precision("cpu") == "bf16" and c.resolved_precision("cuda") == "fp32"
    monkeypatch.setattr(config_module, "cpu_has_native_bf16", lambda: False)
    assert c.resolved_precision("cpu") == "fp32"
    assert TrainConfig(precision="bf16").resolved_precision("cpu") == "bf16"


def test_a_run_of_bad_steps_never_replaces_the_last_good_checkpoint(digits, tmp_path):
    model = SometimesNaN(NaNConfig(data_shape=(1, 8, 8), bad_from=6, bad_until=100))
    trainer = Trainer(model, digits, _cfg(steps=50, max_nonfinite=3, checkpoint_every=1), tmp_path)
    with pytest.raises(TrainingStopped, match="Nothing was written during the non-finite steps: the checkpoint of "
                                              "step 5 is kept"):
        trainer.fit()
    assert json.loads((committed(tmp_path) / "state.json").read_text())["step"] == 5


def test_without_any_checkpoint_the_guard_says_so(digits, tmp_path):
    model = SometimesNaN(NaNConfig(data_shape=(1, 8, 8), bad_from=1, bad_until=100))
    trainer = Trainer(model, digits, _cfg(steps=50, max_nonfinite=3, checkpoint_every=10), tmp_path)
    with pytest.raises(TrainingStopped, match="no checkpoint had been written yet"):
        trainer.fit()
    assert not (tmp_path / "state").exists()
