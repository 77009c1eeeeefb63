"""VQ-VAE: the quantiser's losses and gradients checked by hand on a tiny case, and the dead-code restart."""

from __future__ import annotations

import pytest
import torch

from generativa.models.autoregressive.vqvae import VQVAE, VectorQuantizer, VQVAEConfig
from generativa.models.base import Batch


def tiny_quantizer():
    q = VectorQuantizer(2, 2)
    with torch.no_grad():
        q.codebook.copy_(torch.tensor([[1.0, 0.0], [0.0, 1.0]]))
    return q


def test_nearest_code_and_the_two_losses_by_hand():
    q = tiny_quantizer()
    z_e = torch.tensor([0.9, 0.1]).view(1, 2, 1, 1).requires_grad_(True)
    out = q(z_e)
    assert out.codes.tolist() == [[[0]]]
    assert torch.allclose(out.z_q.detach().flatten(), torch.tensor([1.0, 0.0]))
    # mean over the D = 2 numbers of (0.9 - 1)^2 and (0.1 - 0)^2
    assert torch.allclose(out.codebook_loss, torch.tensor(0.01)) and torch.allclose(out.commitment_loss, torch.tensor(0.01))
    # the codebook loss moves only the chosen code: d/de_0 mean((e_0 - z)^2) = (e_0 - z) (D = 2), not z_e
    (g_code,) = torch.autograd.grad(out.codebook_loss, q.codebook, retain_graph=True)
    assert torch.allclose(g_code, torch.tensor([[0.1, -0.1], [0.0, 0.0]]))
    assert torch.autograd.grad(out.codebook_loss, z_e, retain_graph=True, allow_unused=True)[0] is None
    # the commitment loss moves only the encoder: d/dz mean((z - e_0)^2) = (z - e_0)
    (g_z,) = torch.autograd.grad(out.commitment_loss, z_e, retain_graph=True)
    assert torch.allclose(g_z.flatten(), torch.tensor([-0.1, 0.1]))
    assert torch.autograd.grad(out.commitment_loss, q.codebook, retain_graph=True, allow_unused=True)[0] is None


def test_straight_through_copies_the_gradient_of_z_q_to_z_e():
    q = tiny_quantizer()
    z_e = torch.tensor([0.2, 0.7]).view(1, 2, 1, 1).requires_grad_(True)
    out = q(z_e)
    w = torch.tensor([3.0, -2.0]).view(1, 2, 1, 1)
    (g,) = torch.autograd.grad((w * out.z_q).sum(), z_e)
    assert torch.equal(g, w)                                           # identity through the quantiser
    assert torch.autograd.grad((w * out.z_q).sum(), q.codebook, allow_unused=True)[0] is None


def test_dead_codes_are_restarted_on_the_worst_fitted_encoder_outputs():
    torch.manual_seed(0)
    model = VQVAE(VQVAEConfig(data_shape=(1, 8, 8), codebook_size=8, code_dim=4, widths=(16,))).train()
    x = torch.rand(4, 1, 8, 8)
    model.loss(Batch(x))                                                # fills the usage and the pool
    with torch.no_grad():
        model.usage.fill_(1.0 / 8)
        model.usage[3] = 0.0                                            # code 3 is dead
    pool = model.restart_pool[0].clone()
    before = model.quantizer.codebook.detach().clone()
    out = model.loss(Batch(x))
    after = model.quantizer.codebook.detach()
    assert out.terms["restarted_codes"] == 1.0
    assert torch.equal(after[3], pool) and torch.equal(after[:3], before[:3]) and torch.equal(after[4:], before[4:])
    # the pool holds the cell whose code fits worst
    z = model.encoder(x * 2 - 1).permute(0, 2, 3, 1).reshape(-1, 4)
    err = ((z - model.quantizer.codebook[model.quantizer.nearest(model.encoder(x * 2 - 1)).flatten()]) ** 2).sum(1)
    assert torch.allclose(model.restart_pool[0], z[err.argmax()], atol=1e-5)


def test_usage_and_perplexity():
    model = VQVAE(VQVAEConfig(data_shape=(1, 8, 8), codebook_size=4, code_dim=2, widths=(8,)))
    assert torch.allclose(model.perplexity(), torch.tensor(4.0))        # uniform usage: all K codes
    with torch.no_grad():
        model.usage.copy_(torch.tensor([1.0, 0.0, 0.0, 0.0]))
    assert torch.allclose(model.perplexity(), torch.tensor(1.0))


def test_codes_round_trip_and_shapes():
    model = VQVAE(VQVAEConfig(data_shape=(1, 28, 28), codebook_size=16, code_dim=4, widths=(8, 16))).eval()
    x = torch.rand(2, 1, 28, 28)
    codes = model.encode(x)
    assert codes.shape == (2, 7, 7) and codes.dtype == torch.long and codes.max() < 16
    assert torch.equal(model.reconstruct(x), model.decode(codes))
    with pytest.raises(ValueError, match="multiples of 8"):
        VQVAE(VQVAEConfig(data_shape=(1, 28, 28), widths=(8, 8, 8)))
