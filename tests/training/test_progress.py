"""Progress on a terminal is a bar (over the time budget when there is no step count); elsewhere a
short line every so often, never a carriage-return line per update."""

from __future__ import annotations

import io

import generativa
from generativa.training.progress import Progress


class _Tty(io.StringIO):
    def isatty(self):
        return True


def test_a_log_gets_a_line_now_and_then_not_one_per_step():
    out = io.StringIO()
    p = Progress("ae", total_steps=1000, budget_s=None, stream=out, interval=0.0)
    for step in range(1, 1001):
        p.update(step, elapsed=step / 100, loss=1.0 / step)
    p.close()
    lines = out.getvalue().splitlines()
    assert "\r" not in out.getvalue()
    assert lines[-1].startswith("ae  step 1000/1000 (100%)") and lines[-1].endswith("done")
    quiet = io.StringIO()
    p = Progress("ae", total_steps=1000, budget_s=None, stream=quiet, interval=3600)
    for step in range(1, 1001):
        p.update(step, elapsed=0.01)
    p.close()
    assert len(quiet.getvalue().splitlines()) == 1  # only the final line within the interval


def test_a_time_budget_without_steps_shows_the_budget_not_a_billion_steps():
    out = _Tty()
    p = Progress("dcgan", total_steps=None, budget_s=300.0, stream=out)
    p.update(50, elapsed=30.0, loss=0.7)
    p.close()
    text = out.getvalue()
    assert "of the time budget" in text and "300" in text and "1000000000" not in text


def test_training_for_minutes_alone_has_no_step_count(tmp_path, capsys):
    run = generativa.train("ae", "digits", minutes=0.01, out=tmp_path / "r", architecture="mlp", hidden=(16,),
                           latent_dim=4, sample_every=0, log_every=5)
    import yaml

    assert yaml.safe_load((run / "config.yaml").read_text())["train"]["steps"] is None
    err = capsys.readouterr().err
    assert "1000000000" not in err and "done" in err
