"""One tiny autoencoder run on digits, trained once per session and shared by the exploration tests."""

from __future__ import annotations

import pytest
import torch


@pytest.fixture(scope="session")
def ae_run(tmp_path_factory):
    import generativa

    torch.set_num_threads(1)
    out = tmp_path_factory.mktemp("runs") / "ae"
    return generativa.train("ae", data="digits", steps=300, out=out, progress=False, architecture="mlp",
                            hidden=(64,), latent_dim=8, lr=3e-3, sample_every=0, checkpoint_every=0, log_every=100)


@pytest.fixture(scope="session")
def ae_model(ae_run):
    return generativa_load(ae_run)


def generativa_load(run):
    import generativa

    return generativa.load(run).eval()
