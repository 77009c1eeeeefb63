"""ActNorm: inverse undoes forward, the log-determinant is autograd's, data initialisation standardises."""

import torch

from generativa.models.flows.actnorm import ActNorm
from generativa.models.flows.base import jacobian_log_det


def _randomised(channels: int) -> ActNorm:
    layer = ActNorm(channels)
    g = torch.Generator().manual_seed(0)
    with torch.no_grad():
        layer.log_scale.copy_(torch.randn(channels, generator=g) * 0.5)
        layer.bias.copy_(torch.randn(channels, generator=g))
    return layer


def test_inverse_undoes_forward_and_log_dets_cancel():
    layer = _randomised(3)
    z = torch.randn(5, 3, 4, 4, generator=torch.Generator().manual_seed(1))
    x, ld = layer(z)
    back, ld_inv = layer.inverse(x)
    torch.testing.assert_close(back, z, rtol=0, atol=1e-6)
    torch.testing.assert_close(ld + ld_inv, torch.zeros(5))


def test_log_det_matches_autograd_on_vectors_and_images():
    layer = _randomised(3)
    z = torch.randn(4, 3, dtype=torch.float64)
    layer = layer.double()
    torch.testing.assert_close(layer(z)[1], jacobian_log_det(lambda v: layer(v)[0], z))
    img = torch.randn(2, 3, 2, 2, dtype=torch.float64)
    flat = lambda v: layer(v.view(-1, 3, 2, 2))[0].flatten(1)  # noqa: E731
    torch.testing.assert_close(layer(img)[1], jacobian_log_det(flat, img.flatten(1)))


def test_data_init_standardises_the_batch_through_the_inverse():
    x = torch.randn(64, 2, 5, 5) * torch.tensor([3.0, 0.2]).view(1, 2, 1, 1) + torch.tensor([1.0, -4.0]).view(1, 2, 1, 1)
    layer = ActNorm(2)
    layer.data_init(x)
    z, _ = layer.inverse(x)
    torch.testing.assert_close(z.mean(dim=(0, 2, 3)), torch.zeros(2), rtol=0, atol=1e-5)
    torch.testing.assert_close(z.std(dim=(0, 2, 3), unbiased=False), torch.ones(2), rtol=0, atol=1e-4)
