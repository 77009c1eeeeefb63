"""Variational autoencoders: VAE and beta-VAE, IWAE, conditional VAE, flow posterior (see docs/vae.md)."""
