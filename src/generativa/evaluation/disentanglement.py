"""Disentanglement metrics on data with known generative factors (``shapes``).

* MIG, the mutual information gap (Chen, Li, Grosse & Duvenaud 2018, arXiv:1802.04942, eq. 6):

      MIG = (1/K) sum_k  (I(z_{j(1)}; v_k) - I(z_{j(2)}; v_k)) / H(v_k)

  where j(1), j(2) are the latent dimensions with the largest and second largest mutual information
  with factor v_k. As in the reference implementation of disentanglement_lib (Locatello et al. 2019),
  the mean code is discretised into 20 equal-width bins per dimension and the mutual information is
  computed from counts (in nats). The score averages over scale, orientation, x and y; the gap of
  ``shape`` (a categorical factor) is reported apart, as it is in Chen et al.'s dSprites analysis.

* The beta-VAE metric (Higgins et al. 2017, ICLR, openreview Sy2fzU9gl, section 3): fix one factor k,
  draw L pairs of factor vectors sharing v_k, encode their images, average |z_1 - z_2| over the L
  pairs; a linear classifier predicts k from that average. The score is its held-out accuracy
  (chance is 1 / number of factors).

Both work on plain arrays (codes, factor indices) so that they are tested on cases with known answers;
``shapes_encoder`` connects them to a model and the ``shapes`` renderer.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
import torch
from torch import Tensor

MIG_BINS = 20  # Chen et al. 2018 / disentanglement_lib's default discretisation
SHAPES_MIG_FACTORS = ("scale", "orientation", "pos_x", "pos_y")


def discretize(codes: np.ndarray, bins: int = MIG_BINS) -> np.ndarray:
    """Equal-width histogram bin of each value, per column: (N, L) float -> (N, L) int in 0..bins-1."""
    codes = np.asarray(codes, dtype=np.float64)
    out = np.zeros(codes.shape, dtype=np.int64)
    for j in range(codes.shape[1]):
        col = codes[:, j]
        edges = np.histogram_bin_edges(col, bins=bins)
        out[:, j] = np.digitize(col, edges[1:-1])  # interior edges: indices 0..bins-1
    return out


def discrete_mutual_info(a: np.ndarray, b: np.ndarray) -> float:
    """I(a; b) in nats from the joint counts of two integer arrays."""
    a = np.unique(np.asarray(a), return_inverse=True)[1]
    b = np.unique(np.asarray(b), return_inverse=True)[1]
    joint = np.zeros((a.max() + 1, b.max() + 1))
    np.add.at(joint, (a, b), 1.0)
    p = joint / joint.sum()
    pa, pb = p.sum(1, keepdims=True), p.sum(0, keepdims=True)
    nz = p > 0
    return float((p[nz] * np.log(p[nz] / (pa @ pb)[nz])).sum())


def discrete_entropy(a: np.ndarray) -> float:
    """H(a) in nats of an integer array."""
    _, counts = np.unique(np.asarray(a), return_counts=True)
    p = counts / counts.sum()
    return float(-(p * np.log(p)).sum())


@dataclass
class MIGResult:
    mig: float                                   # mean normalised gap over ``factors``
    per_factor: dict[str, float]                 # normalised gap of every factor, ``shape`` included
    mutual_info: np.ndarray                      # (L, K) I(z_j; v_k) in nats
    factor_entropy: dict[str, float]
    factors: tuple[str, ...] = ()                # the factors averaged into ``mig``
    bins: int = MIG_BINS
    notes: list[str] = field(default_factory=list)

    def as_dict(self) -> dict:
        return {"mig": self.mig, "mig_factors": list(self.factors), "bins": self.bins,
                **{f"mig/{k}": v for k, v in self.per_factor.items()}}


def mig(codes: np.ndarray | Tensor, factors: np.ndarray | Tensor, factor_names: Sequence[str], *,
        average_over: Sequence[str] | None = None, bins: int = MIG_BINS) -> MIGResult:
    """MIG of mean codes (N, L) against integer factors (N, K) [Chen et al. 2018, eq. 6].

    ``average_over`` names the factors averaged into ``mig`` (default: all); every factor's gap is
    in ``per_factor``. Constant factors (H = 0) are skipped with a note.
    """
    codes = np.asarray(torch.as_tensor(codes).detach().cpu().double())
    factors = np.asarray(torch.as_tensor(factors).detach().cpu())
    names = tuple(factor_names)
    if factors.shape[1] != len(names):
        raise ValueError(f"factors has {factors.shape[1]} columns but {len(names)} names were given")
    if codes.shape[0] != factors.shape[0]:
        raise ValueError(f"codes has {codes.shape[0]} rows and factors {factors.shape[0]}")
    if codes.shape[1] < 2:
        raise ValueError("MIG needs a latent of at least 2 dimensions (a gap between the top two)")
    chosen = tuple(average_over) if average_over is not None else names
    unknown = [f for f in chosen if f not in names]
    if unknown:
        raise ValueError(f"unknown factor(s) {unknown}; the factors are {list(names)}")
    binned = discretize(codes, bins)
    L, K = codes.shape[1], len(names)
    mi = np.array([[discrete_mutual_info(binned[:, j], factors[:, k]) for k in range(K)] for j in range(L)])
    per_factor: dict[str, float] = {}
    entropy: dict[str, float] = {}
    notes: list[str] = []
    for k, name in enumerate(names):
        h = discrete_entropy(factors[:, k])
        entropy[name] = h
        if h <= 0:
            notes.append(f"factor {name!r} is constant in this sample: no gap")
            continue
        top = np.sort(mi[:, k])[::-1]
        per_factor[name] = float((top[0] - top[1]) / h)
    used = [per_factor[f] for f in chosen if f in per_factor]
    score = float(np.mean(used)) if used else float("nan")
    return MIGResult(score, per_factor, mi, entropy, chosen, bins, notes)


def beta_vae_score(encode_factors: Callable[[Tensor], Tensor], factor_sizes: Sequence[int], *,
                   factor_names: Sequence[str] | None = None, pairs: int = 64, train_points: int = 500,
                   test_points: int = 300, generator: torch.Generator | None = None) -> dict:
    """The beta-VAE metric [Higgins et al. 2017, section 3 and appendix].

    encode_factors: integer factor indices (N, K) -> mean codes (N, L) (render then encode).
    Each point: a factor k uniformly, ``pairs`` pairs of random factor vectors with v_k shared,
    z_diff = mean |z_1 - z_2|. A logistic-regression classifier (linear, as in the paper) is fit on
    ``train_points`` points and scored on ``test_points``. Returns train and test accuracy.
    """
    from sklearn.linear_model import LogisticRegression

    sizes = torch.as_tensor(list(factor_sizes))
    K = len(sizes)

    def points(n: int) -> tuple[np.ndarray, np.ndarray]:
        ks = torch.randint(K, (n,), generator=generator)
        v1 = (torch.rand(n, pairs, K, generator=generator) * sizes).long()
        v2 = (torch.rand(n, pairs, K, generator=generator) * sizes).long()
        idx = torch.arange(n)
        v2[idx, :, ks] = v1[idx, :, ks]                   # the fixed factor is shared within each pair
        z1 = encode_factors(v1.reshape(-1, K)).reshape(n, pairs, -1)
        z2 = encode_factors(v2.reshape(-1, K)).reshape(n, pairs, -1)
        z_diff = (z1 - z2).abs().mean(1)                  # (n, L)
        return z_diff.detach().cpu().double().numpy(), ks.numpy()

    x_train, y_train = points(train_points)
    x_test, y_test = points(test_points)
    mean, std = x_train.mean(0), x_train.std(0) + 1e-8    # standardise so the solver's scale is fair
    clf = LogisticRegression(max_iter=2000)
    clf.fit((x_train - mean) / std, y_train)
    out = {
        "beta_vae_train_accuracy": float(clf.score((x_train - mean) / std, y_train)),
        "beta_vae_accuracy": float(clf.score((x_test - mean) / std, y_test)),
        "beta_vae_chance": 1.0 / K,
        "beta_vae_pairs": pairs,
    }
    if factor_names is not None:
        out["beta_vae_factors"] = list(factor_names)
    return out


def shapes_encoder(model, *, size: int, labels: Tensor | None = None, batch: int = 512
                   ) -> Callable[[Tensor], Tensor]:
    """factor indices (N, 5) -> the model's mean codes of the rendered ``shapes`` images (N, L)."""
    from generativa.data.shapes import render_shapes

    @torch.no_grad()
    def encode(factors: Tensor) -> Tensor:
        out = []
        for chunk in factors.split(batch):
            x = render_shapes(chunk, size=size).float().div_(255.0).to(model.device)
            out.append(model.encode(x).cpu())
        return torch.cat(out)

    return encode


@torch.no_grad()
def shapes_disentanglement(model, data, *, n: int = 5000, beta_vae: bool = True,
                           generator: torch.Generator | None = None) -> dict:
    """MIG on ``n`` examples of a shapes split (``ArrayData`` with factors) and the beta-VAE metric.

    MIG averages scale, orientation, pos_x, pos_y; ``mig/shape`` is reported apart.
    """
    if data.factors is None:
        raise ValueError(f"dataset {data.name!r} has no generative factors; disentanglement needs data='shapes'")
    n = min(n, len(data))
    index = torch.randperm(len(data), generator=generator)[:n]
    x = data.images(index)
    was_training = model.training
    model.eval()
    codes = torch.cat([model.encode(chunk.to(model.device)).cpu() for chunk in x.split(512)])
    names = tuple(data.factor_names)
    result = mig(codes, data.factors[index], names,
                 average_over=[f for f in SHAPES_MIG_FACTORS if f in names]).as_dict()
    result["mig_examples"] = n
    if beta_vae:
        from generativa.data.shapes import FACTOR_SIZES

        result.update(beta_vae_score(shapes_encoder(model, size=data.shape[-1]), FACTOR_SIZES,
                                     factor_names=names, generator=generator))
    model.train(was_training)
    return result


def disentanglement_run(run, *, n: int = 5000, beta_vae: bool = True, seed: int = 0) -> dict:
    """MIG and the beta-VAE metric of a run trained on ``shapes``; merged into RUN/metrics.json
    (the report's "Latent space" section shows them)."""
    from generativa.training.run import RunDir

    run_dir = RunDir(run)
    model = run_dir.load_model()
    if not model.capabilities.can("encode"):
        raise ValueError(f"{run_dir.model_name} cannot encode; disentanglement needs a latent model (ae, vae, ...)")
    data = run_dir.load_data()
    if data.train.factors is None:
        raise ValueError(f"{run_dir.path} was trained on {data.spec!r}, which has no generative factors; "
                         "disentanglement needs a model trained on shapes")
    result = shapes_disentanglement(model, data.train, n=n, beta_vae=beta_vae,
                                    generator=torch.Generator().manual_seed(seed))
    run_dir.update_metrics(result)
    return result
