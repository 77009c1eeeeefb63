"""Two processes with batch B/2 each end where one process with batch B ends (gloo on the CPU)."""

import os
import shutil
import subprocess
import sys

import pytest
import torch
from helpers import committed

from generativa.training.checkpoint import read_safetensors

ARGS = ["train", "ae", "--data", "digits", "--steps", "5", "--quiet", "architecture=mlp", "hidden=[64]",
        "latent_dim=8", "batch_size=64", "lr=3e-3", "sample_every=0", "log_every=1"]


def _torchrun() -> str | None:
    path = os.path.join(os.path.dirname(sys.executable), "torchrun")
    return path if os.path.exists(path) else shutil.which("torchrun")


def test_two_processes_match_one(tmp_path):
    torchrun = _torchrun()
    if torchrun is None:
        pytest.skip("torchrun is not installed")
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    one = tmp_path / "one"
    two = tmp_path / "two"
    subprocess.run([sys.executable, "-m", "generativa.cli", *ARGS, "--out", str(one)], check=True, env=env,
                   timeout=300)
    command = [torchrun, "--standalone", "--nproc_per_node", "2", "-m", "generativa.cli", *ARGS, "--out", str(two)]
    for attempt in range(2):
        done = subprocess.run(command, env=env, timeout=300, capture_output=True, text=True)
        # gloo's C++ teardown at interpreter exit occasionally aborts a process that has finished
        # its work ("terminate called without an active exception"; about 1 run in 30 here, even
        # after the CLI closes the process group): run again once, any other failure is an error
        if done.returncode == 0 or "terminate called" not in done.stderr or attempt == 1:
            break
        shutil.rmtree(two, ignore_errors=True)
    assert done.returncode == 0, f"torchrun failed:\n{done.stderr[-3000:]}"
    a = read_safetensors(one / "model.safetensors")
    b = read_safetensors(two / "model.safetensors")
    assert a.keys() == b.keys()
    for key in a:
        torch.testing.assert_close(a[key], b[key], rtol=0, atol=1e-5, msg=f"{key} differs")
    # and the run really moved: the weights are not the initial ones of a fresh build
    import json

    assert json.loads((committed(two) / "state.json").read_text())["world_size"] == 2
    assert json.loads((committed(one) / "state.json").read_text())["world_size"] == 1
    rows = [json.loads(line) for line in (two / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in rows if "loss" in r] == [1, 2, 3, 4, 5]
