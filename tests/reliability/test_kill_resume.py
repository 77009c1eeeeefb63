"""A training process killed (SIGKILL) at random moments, many times, always resumes to the bit-for-bit
result of a run that was never interrupted; the run folder keeps no temporaries, no uncommitted
checkpoint is ever read, and metrics.jsonl never repeats a step."""

from __future__ import annotations

import json
import random
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
from helpers import committed

from generativa.training import store
from generativa.training.checkpoint import read_safetensors

CLI = [sys.executable, "-m", "generativa.cli"]
TINY = ["architecture=mlp", "hidden=[32]", "latent_dim=4", "batch_size=32", "checkpoint_every=1",
        "sample_every=7", "log_every=3", "num_threads=1", "ema_decay=0.9"]


def _commit_record(run: Path) -> str:
    try:
        return (run / "state" / "COMMITTED").read_text()
    except OSError:
        return ""


def _command(run: Path, train_args: list[str]) -> list[str]:
    if store.committed_names(run) and (run / "config.yaml").exists():
        return [*CLI, "train", "--resume", str(run), "--quiet"]
    return [*CLI, "train", *train_args, "--quiet", "--out", str(run), "--overwrite"]


def _finished(run: Path, steps: int) -> bool:
    folder = store.latest(run) if (run / "state").is_dir() else None
    return folder is not None and json.loads((folder / "state.json").read_text())["step"] == steps


def kill_and_resume(run: Path, train_args: list[str], *, kills: int, seed: int, window: float) -> int:
    """Start (or resume) training, kill it at a random moment after it has started committing (or, once
    in a while, before), until it has been killed ``kills`` times; then let it finish. Returns the kills."""
    rng = random.Random(seed)
    steps = int(train_args[train_args.index("--steps") + 1])
    done = 0
    for _ in range(kills * 4):
        if _finished(run, steps):  # killed after its last commit: nothing is left to do
            return done
        before = _commit_record(run)
        p = subprocess.Popen(_command(run, train_args), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        early = done < kills and rng.random() < 0.15  # now and then during start-up
        deadline = time.monotonic() + 120
        while not early and _commit_record(run) == before and p.poll() is None and time.monotonic() < deadline:
            time.sleep(0.01)
        if done < kills:
            time.sleep(rng.uniform(0, window if not early else 2.0))
            if p.poll() is None:
                p.kill()
                p.wait()
                done += 1
                continue
        _, err = p.communicate(timeout=300)
        assert p.returncode == 0, err[-2000:]
        if done >= kills:
            return done
    raise AssertionError("training did not finish")


def assert_same_result(a: Path, b: Path) -> None:
    for fname in ("model.safetensors", "state.safetensors"):
        ta, tb = read_safetensors(committed(a) / fname), read_safetensors(committed(b) / fname)
        assert ta.keys() == tb.keys()
        for key in ta:
            assert torch.equal(ta[key], tb[key]), f"{fname}:{key} differs from the uninterrupted run"
    sa = json.loads((committed(a) / "state.json").read_text())
    sb = json.loads((committed(b) / "state.json").read_text())
    assert sa["step"] == sb["step"] and sa["cursor"] == sb["cursor"]


def assert_clean(run: Path, steps_of_reference: list[int]) -> None:
    leftovers = [p.name for p in run.rglob("*") if p.name.endswith(".tmp") or p.name.startswith(".partial-")]
    assert leftovers == []
    assert set(store.committed_names(run)) == {p.name for p in (run / "state").iterdir() if p.is_dir()}
    steps = [json.loads(line)["step"] for line in (run / "metrics.jsonl").read_text().splitlines()]
    rows = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    train_steps = [r["step"] for r in rows if "loss" in r]
    assert train_steps == sorted(set(train_steps)), "metrics.jsonl repeats a step"
    assert set(train_steps) == set(steps_of_reference), (steps, steps_of_reference)


def test_killed_at_random_moments_it_resumes_to_the_uninterrupted_result(tmp_path):
    args = ["ae", "--data", "digits", "--steps", "400", *TINY]
    reference = tmp_path / "reference"
    subprocess.run([*CLI, "train", *args, "--quiet", "--out", str(reference)], check=True, capture_output=True)
    run = tmp_path / "killed"
    kills = kill_and_resume(run, args, kills=8, seed=0, window=0.3)
    assert kills == 8
    assert_same_result(reference, run)
    ref_rows = [json.loads(line) for line in (reference / "metrics.jsonl").read_text().splitlines()]
    assert_clean(run, [r["step"] for r in ref_rows if "loss" in r])


SLOW_PRESETS = ["ae_digits", "denoising_ae_digits", "vae_digits", "cvae_digits", "iwae_digits", "dcgan_digits",
                "wgan_gp_digits", "cgan_digits", "lenet5_digits", "resnet_digits", "sparse_ae_digits",
                "contractive_ae_digits", "flow_vae_digits", "gan_toy2d", "wgan_toy2d", "glow_digits",
                "flow_matching_digits", "gated_pixelcnn_digits", "pixel_rnn_digits", "vqvae_digits", "progan_digits",
                "stylegan_digits", "cyclegan_digits", "unet_cells"]


@pytest.mark.slow
@pytest.mark.parametrize("preset", SLOW_PRESETS)
def test_every_family_survives_random_kills(preset, tmp_path):
    args = [preset, "--steps", "40", "checkpoint_every=2", "sample_every=10", "log_every=5", "num_threads=1"]
    reference = tmp_path / "reference"
    subprocess.run([*CLI, "train", *args, "--quiet", "--out", str(reference)], check=True, capture_output=True)
    run = tmp_path / "killed"
    kill_and_resume(run, args, kills=4, seed=1, window=2.0)
    assert_same_result(reference, run)
