"""Ctrl-C (SIGINT) or SIGTERM during training: the current round finishes, a checkpoint is committed,
the command says so and exits with the conventional status (130, 143); the run resumes from there."""

from __future__ import annotations

import json
import re
import signal
import subprocess
import sys
import time

import pytest
from helpers import committed

CLI = [sys.executable, "-m", "generativa.cli"]
ARGS = ["train", "ae", "--data", "digits", "--steps", "1000000", "--quiet", "architecture=mlp", "hidden=[32]",
        "latent_dim=4", "batch_size=32", "checkpoint_every=0", "sample_every=0", "log_every=1", "num_threads=1"]


@pytest.mark.parametrize("sig, status", [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_a_signal_saves_a_checkpoint_and_exits_with_the_conventional_status(tmp_path, sig, status):
    run = tmp_path / "run"
    p = subprocess.Popen([*CLI, *ARGS, "--out", str(run)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 120
    while not (run / "metrics.jsonl").exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(0.3)
    p.send_signal(sig)
    _, err = p.communicate(timeout=120)
    assert p.returncode == status, err
    match = re.search(r"interrupted \((SIGINT|SIGTERM)\) at step (\d+): checkpoint of step \2 saved; continue with "
                      r"`generativa train --resume ", err)
    assert match, err
    assert "Traceback" not in err
    step = int(match.group(2))
    assert step > 0 and json.loads((committed(run) / "state.json").read_text())["step"] == step
    done = subprocess.run([*CLI, "train", "--resume", str(run), "--steps", str(step + 3), "--quiet"],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert json.loads((committed(run) / "state.json").read_text())["step"] == step + 3
