"""The linear autoencoder finds PCA's subspace [Baldi & Hornik 1989]."""

import numpy as np
import pytest
import torch
from scipy.linalg import subspace_angles
from sklearn.decomposition import PCA

from generativa.models.autoencoders.linear import LinearAEConfig, LinearAutoencoder
from generativa.models.base import Batch


def test_linear_autoencoder_matches_pca(digits):
    x, _, xt, _ = digits
    D = 8
    torch.manual_seed(0)
    model = LinearAutoencoder(LinearAEConfig(data_shape=(1, 8, 8), latent_dim=D))
    # Full-batch L-BFGS reaches the minimum in ~2 s; the Adam-trained preset is measured in
    # benchmarks/ae_variants.py.
    opt = torch.optim.LBFGS(model.parameters(), lr=1, max_iter=600, history_size=50,
                            line_search_fn="strong_wolfe", tolerance_grad=1e-12, tolerance_change=1e-15)

    def closure():
        opt.zero_grad()
        loss = model.loss(Batch(x)).loss
        loss.backward()
        return loss

    opt.step(closure)
    with torch.no_grad():
        ae_mse = ((model.reconstruct_linear(xt) - xt) ** 2).mean().item()
    pca = PCA(D).fit(x.flatten(1).numpy())
    flat = xt.flatten(1).numpy()
    pca_mse = float(((pca.inverse_transform(pca.transform(flat)) - flat) ** 2).mean())
    assert abs(ae_mse / pca_mse - 1) < 0.02
    largest_angle = np.degrees(subspace_angles(model.decoder_weight.detach().numpy(), pca.components_.T).max())
    assert largest_angle < 2.0, largest_angle


def test_linear_autoencoder_is_linear():
    torch.manual_seed(0)
    model = LinearAutoencoder(LinearAEConfig(data_shape=(1, 8, 8), latent_dim=4))
    a, b = torch.rand(3, 1, 8, 8), torch.rand(3, 1, 8, 8)
    f = lambda v: model.encode(v) - model.encode(torch.zeros_like(v))
    torch.testing.assert_close(f(a + b), f(a) + f(b))
    out = model.decode(torch.randn(5, 4) * 10)
    assert out.min() >= 0 and out.max() <= 1  # the public decode clamps to the image range
    raw = model.decode_logits(torch.randn(5, 4) * 10)
    assert raw.min() < 0 or raw.max() > 1  # the raw map is not squashed


@pytest.mark.parametrize("override, needle", [({"hidden": (16,)}, "hidden=()"), ({"reconstruction_loss": "bce"}, "mse")])
def test_linear_autoencoder_refuses_non_linear_settings(override, needle):
    with pytest.raises(ValueError, match=needle):
        LinearAutoencoder(LinearAEConfig(**override))
