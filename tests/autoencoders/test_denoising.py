import torch

from generativa.evaluation.reconstruction import psnr
from generativa.models.autoencoders.ae import AEConfig, Autoencoder
from generativa.models.autoencoders.corruption import corrupt
from generativa.models.autoencoders.denoising import DenoisingAEConfig, DenoisingAutoencoder
from generativa.models.base import Batch

from .conftest import fit


def test_corruption_only_in_training_mode():
    torch.manual_seed(0)
    model = DenoisingAutoencoder(DenoisingAEConfig(data_shape=(1, 8, 8), architecture="mlp", hidden=(32,),
                                                   corruption="saltpepper", noise_level=0.5))
    x = torch.rand(8, 1, 8, 8)
    model.eval()
    assert model.loss(Batch(x)).loss.item() == model.loss(Batch(x)).loss.item()
    model.train()
    assert model.loss(Batch(x)).loss.item() != model.loss(Batch(x)).loss.item()


def test_denoising_raises_psnr_above_the_input_and_a_plain_autoencoder(digits):
    x, _, xt, _ = digits
    cfg = dict(data_shape=(1, 8, 8), latent_dim=16, architecture="mlp", hidden=(128,))
    plain = fit(Autoencoder(AEConfig(**cfg)), x, steps=800)
    dae = fit(DenoisingAutoencoder(DenoisingAEConfig(**cfg, corruption="gaussian", noise_level=0.3)), x, steps=800)
    noisy = corrupt(xt, "gaussian:0.3", generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        p_noisy = psnr(noisy, xt).mean().item()
        p_plain = psnr(plain.reconstruct(noisy), xt).mean().item()
        p_dae = psnr(dae.reconstruct(noisy), xt).mean().item()
    assert p_dae > p_noisy + 3 and p_dae > p_plain + 0.5, (p_noisy, p_plain, p_dae)
