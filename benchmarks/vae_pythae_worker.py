"""Train pythae's VAE with generativa's exact encoder and decoder; run by benchmarks/vae_speed.py.

Runs inside a separate virtual environment that has pythae (see vae_speed.py for how it is made).
generativa's ``nn`` and ``models`` need only torch, so ``src/`` is put on the path to build the very
same modules. Prints one JSON line: images/s of pythae's trainer, and writes the trained weights
(generativa's parameter names) so the parent scores both models with the same NLL estimator.

    python benchmarks/vae_pythae_worker.py --steps 600 --batch-size 128 --out /tmp/pythae_vae.pt
"""

import argparse
import json
import logging
import math
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

import torch  # noqa: E402
from pythae.data.datasets import BaseDataset  # noqa: E402
from pythae.models import VAE as PythaeVAE  # noqa: E402
from pythae.models import VAEConfig as PythaeVAEConfig  # noqa: E402
from pythae.models.base.base_utils import ModelOutput  # noqa: E402
from pythae.models.nn import BaseDecoder, BaseEncoder  # noqa: E402
from pythae.trainers import BaseTrainer, BaseTrainerConfig  # noqa: E402

from generativa.data.digits import load_digits  # noqa: E402
from generativa.registry import build_model, get_preset  # noqa: E402


class Encoder(BaseEncoder):
    def __init__(self, net, latent_dim):
        super().__init__()
        self.net, self.latent_dim = net, latent_dim

    def forward(self, x):
        mu, log_var = self.net(x).chunk(2, dim=-1)
        return ModelOutput(embedding=mu, log_covariance=log_var)


class Decoder(BaseDecoder):
    def __init__(self, net):
        super().__init__()
        self.net = net

    def forward(self, z):
        return ModelOutput(reconstruction=torch.sigmoid(self.net(z)))  # pythae's BCE takes probabilities


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--steps", type=int, default=600)
    ap.add_argument("--batch-size", type=int, default=128)
    ap.add_argument("--lr", type=float, default=2e-3)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--out", type=str, default="")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    logging.getLogger("pythae").setLevel(logging.WARNING)
    logging.disable(logging.INFO)

    preset = get_preset("vae_digits")
    torch.manual_seed(args.seed)
    ours = build_model(preset.model, preset.config)          # same init as the generativa side
    data = load_digits()
    x_train = data.train.images()                            # (N, 1, 8, 8) float in [0, 1]
    steps_per_epoch = math.ceil(len(x_train) / args.batch_size)
    epochs = max(1, round(args.steps / steps_per_epoch))

    config = PythaeVAEConfig(input_dim=(1, 8, 8), latent_dim=preset.config.latent_dim, reconstruction_loss="bce")
    model = PythaeVAE(config, encoder=Encoder(ours.encoder, preset.config.latent_dim), decoder=Decoder(ours.decoder))
    with tempfile.TemporaryDirectory() as tmp:
        train_config = BaseTrainerConfig(output_dir=tmp, num_epochs=epochs, learning_rate=args.lr,
                                         per_device_train_batch_size=args.batch_size, optimizer_cls="Adam",
                                         no_cuda=True, seed=args.seed, keep_best_on_train=True)
        trainer = BaseTrainer(model, BaseDataset(x_train, torch.zeros(len(x_train))), training_config=train_config)
        start, cpu_start = time.perf_counter(), time.process_time()
        trainer.train()
        seconds, cpu_seconds = time.perf_counter() - start, time.process_time() - cpu_start
    images = epochs * len(x_train)
    if args.out:
        torch.save({k: v for k, v in ours.state_dict().items()}, args.out)
    print(json.dumps({"images_per_s": images / seconds, "seconds": seconds, "images": images,
                      "images_per_cpu_s": images / cpu_seconds, "cpu_seconds": cpu_seconds,
                      "steps": epochs * steps_per_epoch, "epochs": epochs, "torch": torch.__version__}))


if __name__ == "__main__":
    main()
