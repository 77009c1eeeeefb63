""""Which one is real?": the pairs hold one real image and one sample each, the key says which side
is real, a conditional model is asked for the real image's class, and the verb writes both files."""

from __future__ import annotations

import pytest
import torch
from helpers import report_context
from typer.testing import CliRunner

import generativa
from generativa.cli import app
from generativa.exploration.quiz import make_quiz
from generativa.registry import build_model
from generativa.reporting.sections import gans as section

QUICK = dict(progress=False, log_every=2, sample_every=0, checkpoint_every=0, batch_size=16)


def _real(n: int = 20) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(1)
    return torch.rand(n, 1, 8, 8, generator=g), torch.arange(n) % 10


def test_each_pair_holds_one_real_image_on_the_side_the_key_names():
    torch.manual_seed(0)
    model = build_model("dcgan", data_shape=(1, 8, 8)).eval()
    real, _ = _real()
    quiz = make_quiz(model, real, pairs=6, seed=3)
    sides = quiz.answers()
    assert len(sides) == 6 and set(sides) <= {"left", "right"}
    for i, side in enumerate(sides):
        shown_real = quiz.left[i] if side == "left" else quiz.right[i]
        shown_fake = quiz.right[i] if side == "left" else quiz.left[i]
        assert any(torch.equal(shown_real, r) for r in real)       # an actual test image
        assert not any(torch.equal(shown_fake, r) for r in real)   # and a sample
    assert quiz.grid().shape == (12, 1, 8, 8) and torch.equal(quiz.grid()[2], quiz.left[1])
    assert quiz.key_text().splitlines()[0].startswith("pair 1 (row 1): the real image is on the ")
    again = make_quiz(model, real, pairs=6, seed=3)  # the seed fixes everything
    assert torch.equal(again.left, quiz.left) and again.answers() == sides
    with pytest.raises(ValueError, match="at least 30 real images"):
        make_quiz(model, real, pairs=30)


def test_a_conditional_model_is_asked_for_the_real_image_class():
    model = build_model("cgan", data_shape=(1, 8, 8), num_classes=10).eval()
    real, labels = _real()
    asked = []
    sample = model.sample
    model.sample = lambda n, **kw: asked.append(kw["labels"].clone()) or sample(n, **kw)
    quiz = make_quiz(model, real, labels, pairs=5, seed=0)
    picked = torch.randperm(len(real), generator=torch.Generator().manual_seed(0))[:5]
    assert torch.equal(asked[0], labels[picked]) and len(quiz.answers()) == 5


def test_quiz_verb_and_report_view(tmp_path):
    run = generativa.train("dcgan_digits", steps=2, out=tmp_path / "d", **QUICK)
    result = CliRunner().invoke(app, ["quiz", str(run), "--pairs", "4", "--answers", "--out", str(tmp_path / "q.png")])
    assert result.exit_code == 0, result.output
    key = tmp_path / "q_answers.txt"
    assert (tmp_path / "q.png").exists() and len(key.read_text().splitlines()) == 4
    assert "the real image is on the" in result.output
    bad = CliRunner().invoke(app, ["quiz", str(run), "--out", str(tmp_path / "q.jpg")])
    assert bad.exit_code != 0 and ".png grid" in str(bad.exception)  # main() prints it as one line
    html = section.sections(report_context(run))[0].html
    assert "Which one is real?" in html and "<details>" in html and html.count("<li>") >= 8
