"""Assertions shared by the model-contract tests (importable as ``helpers``: tests/ is on the path)."""

from __future__ import annotations

from pathlib import Path

import torch


def assert_one_step_moves(model: torch.nn.Module, loss: torch.Tensor, *, lr: float = 1e-2) -> None:
    """One Adam step on ``loss`` changes at least one parameter: the loss reaches the weights."""
    before = [p.detach().clone() for p in model.parameters()]
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    opt.zero_grad()
    loss.backward()
    opt.step()
    assert any(not torch.equal(a, p) for a, p in zip(before, model.parameters())), "no parameter moved"


def committed(run) -> Path:
    """The newest committed checkpoint folder of a run (its state.json, state.safetensors, ...)."""
    from generativa.training import store

    folder = store.latest(run)
    assert folder is not None, f"{run} has no committed checkpoint"
    return folder


def report_context(run):
    """The context the report's sections get, for a run folder."""
    from generativa.reporting.report import build_context

    return build_context(run)
