""""Which one is real?": real test images paired with samples of a run, each pair in a random order,
with the answer key kept apart so a reader can guess first (``generativa quiz``, and a view of the
GAN report).

``make_quiz(model, real, labels)`` pairs ``pairs`` real images (drawn at random from ``real``) with
as many samples; a model that takes labels is asked for the real image's class, so the two images
of a pair show the same digit. ``quiz_run(run)`` does this with the run's test images and writes a
grid (one pair per row) and, beside it, a text file with the answers.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch
from torch import Tensor

from generativa.exploration.inputs import load_run


@dataclass
class Quiz:
    left: Tensor          # (P, C, H, W) in [0, 1]
    right: Tensor         # (P, C, H, W)
    real_on_left: Tensor  # (P,) bool: where the real image of each pair is

    def grid(self) -> Tensor:
        """(2P, C, H, W): pair i is row i, left then right (draw with two images per row)."""
        return torch.stack([self.left, self.right], dim=1).flatten(0, 1)

    def answers(self) -> list[str]:
        return ["left" if r else "right" for r in self.real_on_left.tolist()]

    def key_text(self) -> str:
        """The answer key, one line per pair."""
        lines = [f"pair {i + 1} (row {i + 1}): the real image is on the {side}" for i, side in enumerate(self.answers())]
        return "\n".join(lines) + "\n"


def make_quiz(model, real: Tensor, labels: Tensor | None = None, *, pairs: int = 8, seed: int = 0) -> Quiz:
    """Pair ``pairs`` images of ``real`` (N, C, H, W) in [0, 1] with samples of ``model``, each pair
    in a random order; everything is drawn from ``seed``."""
    if pairs < 1:
        raise ValueError(f"pairs must be at least 1, got {pairs}")
    if len(real) < pairs:
        raise ValueError(f"{pairs} pairs need at least {pairs} real images, got {len(real)}")
    caps = model.capabilities
    if not caps.sample or not model.is_image_model:
        raise ValueError(f"a quiz needs a model that samples images; {model.name!r} declares {caps.describe()}")
    order = torch.Generator().manual_seed(seed)
    pick = torch.randperm(len(real), generator=order)[:pairs]
    real = real[pick].float().cpu()
    if caps.accepts("labels") and labels is not None:
        condition = {"labels": labels[pick].to(model.device)}
    else:
        condition = model.default_condition(pairs)
    with torch.no_grad():
        fake = model.sample(pairs, generator=torch.Generator(device=model.device).manual_seed(seed), **condition)
    fake = fake.detach().float().cpu().clamp(0, 1)
    if fake.shape[1:] != real.shape[1:]:
        raise ValueError(f"the model's samples are {tuple(fake.shape[1:])}, the real images {tuple(real.shape[1:])}")
    real_on_left = torch.rand(pairs, generator=order) < 0.5
    mask = real_on_left[:, None, None, None]
    return Quiz(torch.where(mask, real, fake), torch.where(mask, fake, real), real_on_left)


def quiz_run(run: str | Path, *, pairs: int = 8, seed: int = 0,
             out: str | Path | None = None) -> tuple[Path, Path, Quiz]:
    """Write ``out`` (default RUN/quiz/quiz.png: one pair per row) and ``<out>_answers.txt``; return
    both paths and the quiz."""
    from generativa.io.atomic import write_bytes_atomic
    from generativa.io.grids import save_grid

    model, rd = load_run(run)
    out = Path(out) if out is not None else rd.path / "quiz" / "quiz.png"
    if out.suffix.lower() != ".png":
        raise ValueError(f"--out {out}: the quiz is a .png grid")
    data = rd.load_data()
    n = min(len(data.test), 4096)
    quiz = make_quiz(model, data.test.images(slice(0, n)),
                     None if data.test.labels is None else data.test.labels[:n], pairs=pairs, seed=seed)
    save_grid(quiz.grid(), out, nrow=2)
    key = out.with_name(out.stem + "_answers.txt")
    write_bytes_atomic(key, quiz.key_text().encode("utf-8"))
    return out, key, quiz
