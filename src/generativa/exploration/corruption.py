"""Image corruptions for the ``denoise`` verb: the same ones the denoising autoencoder trains with.

Specs ``gaussian:SIGMA``, ``mask:P``, ``saltpepper:P``; see ``generativa.models.autoencoders.corruption``.
"""

from generativa.models.autoencoders.corruption import (
    CORRUPTION_KINDS,
    Corruption,
    corrupt,
    gaussian_noise,
    masking_noise,
    parse_corruption,
    salt_and_pepper_noise,
)

__all__ = ["CORRUPTION_KINDS", "Corruption", "corrupt", "gaussian_noise", "masking_noise", "parse_corruption",
           "salt_and_pepper_noise"]
