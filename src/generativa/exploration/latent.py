"""Looking into a latent space: traversals, interpolations, the manifold grid, the latent scatter.

Works with any model that has ``encode`` and ``decode`` (autoencoders, VAEs); conditional models
take ``labels=``. Images are (B, C, H, W) in [0, 1].

* Traversal: one code, each latent dimension swept from -3 to +3 with the others fixed; for a VAE the
  dimensions are ordered by their KL to the prior (the informative ones first; Higgins et al. 2017
  show traversals this way), the KL averaged over a batch of data.
* Interpolation between two inputs: linear, or spherical (slerp, Shoemake 1985; White 2016,
  arXiv:1609.04468 argues for it under a Gaussian prior), as an image strip and an animated GIF.
* Manifold grid (2-D latents; Kingma & Welling 2014, fig. 4): decode z at the Gaussian quantiles
  Phi^{-1}(p) of an evenly spaced grid of p, so that each cell covers the same prior mass.
* Latent scatter: the mean codes of a dataset, coloured by label.
"""

from __future__ import annotations

import io
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import torch
from torch import Tensor

Method = Literal["linear", "spherical"]


def _cond(labels: Tensor | int | None, n: int, device) -> dict:
    if labels is None:
        return {}
    labels = torch.as_tensor(labels, device=device).long().reshape(-1)
    return {"labels": labels.expand(n) if labels.numel() == 1 else labels}


def _check_latent_model(model) -> None:
    if model.capabilities.latent == "none":
        raise model.refuse("encode")


@torch.no_grad()
def kl_order(model, x: Tensor, *, labels: Tensor | None = None) -> tuple[list[int], Tensor | None]:
    """Latent dimensions sorted by their mean KL on ``x`` (largest first) and the KLs.

    Models without a posterior (plain autoencoders) are ordered by the variance of their codes.
    """
    cond = _cond(labels, x.shape[0], x.device)
    if model.capabilities.latent == "gaussian":
        score = model.kl_per_dimension(x, **cond)
    else:
        score = model.encode(x, **cond).var(0)
    order = torch.argsort(score, descending=True).tolist()
    return order, score


@dataclass
class Traversal:
    images: Tensor          # (len(dims) * points, C, H, W), one row per dimension
    dims: list[int]         # the dimension of each row
    values: Tensor          # (points,) the swept values
    kl: Tensor | None       # (L,) mean KL of every dimension (None for models without a posterior)


@torch.no_grad()
def latent_traversal(model, x: Tensor | None = None, *, data: Tensor | None = None, points: int = 9,
                     span: float = 3.0, dims: list[int] | None = None, max_dims: int | None = 10,
                     labels: Tensor | int | None = None, data_labels: Tensor | None = None) -> Traversal:
    """Sweep each latent dimension over [-span, span] with the others fixed at the code of ``x``.

    x: one input (1, C, H, W) whose mean code is the base (None: the prior mean, z = 0).
    data: a batch used to order the dimensions by KL (None: ``x`` if given, else natural order);
    data_labels: its labels, for conditional models. labels: the condition of the traversal itself.
    dims: the dimensions to show (default: ordered by KL, at most ``max_dims``).
    """
    _check_latent_model(model)
    device = model.device
    L = model.config.latent_dim
    kl = None
    if dims is None:
        ref = data if data is not None else x
        if ref is not None and ref.shape[0] > 1:
            ref_labels = data_labels if data is not None else labels
            if ref_labels is not None:
                ref_labels = torch.as_tensor(ref_labels, device=device).long().reshape(-1).expand(ref.shape[0])
            dims, kl = kl_order(model, ref.to(device), labels=ref_labels)
        else:
            dims = list(range(L))
        if max_dims is not None:
            dims = dims[:max_dims]
    bad = [d for d in dims if not 0 <= d < L]
    if bad:
        raise ValueError(f"dimensions {bad} are outside 0..{L - 1}")
    if x is not None:
        base = model.encode(x[:1].to(device), **_cond(labels, 1, device))[0]
    else:
        base = torch.zeros(L, device=device)
    values = torch.linspace(-span, span, points, device=device)
    z = base.repeat(len(dims) * points, 1)                    # (rows * points, L)
    for row, d in enumerate(dims):
        z[row * points:(row + 1) * points, d] = values
    images = model.decode(z, **_cond(labels, z.shape[0], device))
    return Traversal(images.cpu(), list(dims), values.cpu(), None if kl is None else kl.cpu())


def slerp(a: Tensor, b: Tensor, t: Tensor) -> Tensor:
    """Spherical interpolation between rows a and b (L,) at fractions t (T,) -> (T, L).

    sin((1-t) omega)/sin(omega) a + sin(t omega)/sin(omega) b, omega the angle between a and b;
    falls back to linear interpolation when a and b are (anti-)parallel.
    """
    cos = torch.dot(a, b) / (a.norm() * b.norm()).clamp_min(1e-12)
    omega = torch.arccos(cos.clamp(-1.0, 1.0))
    t = t[:, None]
    if omega.abs() < 1e-6 or (math.pi - omega).abs() < 1e-6:
        return (1 - t) * a + t * b
    s = torch.sin(omega)
    return torch.sin((1 - t) * omega) / s * a + torch.sin(t * omega) / s * b


def lerp(a: Tensor, b: Tensor, t: Tensor) -> Tensor:
    """Linear interpolation (T, L)."""
    t = t[:, None]
    return (1 - t) * a + t * b


@torch.no_grad()
def interpolate(model, x_a: Tensor, x_b: Tensor, *, points: int = 10, method: Method = "linear",
                labels: Tensor | int | None = None) -> Tensor:
    """Decode codes between those of x_a and x_b (each (1, C, H, W) or (C, H, W)): (points, C, H, W)."""
    _check_latent_model(model)
    if method not in ("linear", "spherical"):
        raise ValueError(f"method must be 'linear' or 'spherical', got {method!r}")
    if points < 2:
        raise ValueError(f"points must be >= 2 (the two ends), got {points}")
    device = model.device
    pair = torch.stack([x_a.reshape(model.data_shape), x_b.reshape(model.data_shape)]).to(device)
    if labels is not None and torch.as_tensor(labels).numel() == 2:
        za = model.encode(pair[:1], labels=torch.as_tensor(labels)[:1].to(device))
        zb = model.encode(pair[1:], labels=torch.as_tensor(labels)[1:].to(device))
        codes = torch.cat([za, zb])
        labels = torch.as_tensor(labels)[0]
    else:
        codes = model.encode(pair, **_cond(labels, 2, device))
    t = torch.linspace(0, 1, points, device=device)
    z = (slerp if method == "spherical" else lerp)(codes[0], codes[1], t)
    return model.decode(z, **_cond(labels, points, device)).cpu()


def save_gif(frames: Tensor, path: str | Path, *, duration_ms: int = 80, scale: int | None = None,
             boomerang: bool = True) -> Path:
    """Frames (T, C, H, W) in [0, 1] -> an animated GIF that loops (there and back with ``boomerang``)."""
    from generativa.io.atomic import write_bytes_atomic
    from generativa.io.grids import auto_scale, to_pil

    scale = auto_scale(frames.shape[-2]) if scale is None else scale
    seq = list(frames) + (list(frames.flip(0))[1:-1] if boomerang and len(frames) > 2 else [])
    images = [to_pil(f, scale).convert("P") for f in seq]
    buf = io.BytesIO()
    images[0].save(buf, format="GIF", save_all=True, append_images=images[1:], duration=duration_ms, loop=0)
    path = Path(path)
    write_bytes_atomic(path, buf.getvalue())
    return path


def gaussian_quantile_grid(n: int, *, lo: float = 0.05, hi: float = 0.95) -> Tensor:
    """n values Phi^{-1}(p) for p evenly spaced in [lo, hi] (Kingma & Welling 2014, fig. 4)."""
    p = torch.linspace(lo, hi, n, dtype=torch.float64)
    return (math.sqrt(2.0) * torch.erfinv(2 * p - 1)).float()


@torch.no_grad()
def manifold_grid(model, n: int = 15, *, lo: float = 0.05, hi: float = 0.95,
                  labels: Tensor | int | None = None) -> Tensor:
    """Decode an n x n grid of Gaussian quantiles of a 2-D latent: (n * n, C, H, W), row-major,
    z_1 increasing left to right and z_2 increasing bottom to top."""
    _check_latent_model(model)
    L = model.config.latent_dim
    if L != 2:
        raise ValueError(f"the manifold grid needs a 2-d latent, this model has latent_dim={L}; "
                         "train with latent_dim=2 (preset vae_2d_digits)")
    q = gaussian_quantile_grid(n, lo=lo, hi=hi).to(model.device)
    z1 = q.repeat(n)                                   # columns
    z2 = q.flip(0).repeat_interleave(n)                # rows, top = largest
    z = torch.stack([z1, z2], dim=1)
    return model.decode(z, **_cond(labels, n * n, model.device)).cpu()


@torch.no_grad()
def latent_codes(model, x: Tensor, *, labels: Tensor | None = None, batch: int = 512) -> Tensor:
    """Mean codes (N, L) of inputs x (N, ...), in batches."""
    _check_latent_model(model)
    out = []
    for i in range(0, x.shape[0], batch):
        cond = {} if labels is None else {"labels": labels[i:i + batch].to(model.device)}
        out.append(model.encode(x[i:i + batch].to(model.device), **cond).cpu())
    return torch.cat(out)


def latent_scatter_figure(codes: Tensor, labels: Tensor | None = None, *, dims: tuple[int, int] = (0, 1),
                          class_names: tuple[str, ...] = (), title: str = "", ax=None):
    """Scatter of two latent dimensions coloured by label; returns the matplotlib figure."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    if codes.shape[1] < 2:
        raise ValueError(f"a scatter needs at least 2 latent dimensions, got {codes.shape[1]}")
    if ax is None:
        fig, ax = plt.subplots(figsize=(5, 4.5))
    else:
        fig = ax.figure
    a, b = codes[:, dims[0]].numpy(), codes[:, dims[1]].numpy()
    if labels is None:
        ax.scatter(a, b, s=4, alpha=0.6)
    else:
        lab = labels.numpy()
        sc = ax.scatter(a, b, c=lab, cmap="tab10", s=4, alpha=0.7, vmin=-0.5, vmax=9.5 if lab.max() < 10 else None)
        if lab.max() < 20:
            cbar = fig.colorbar(sc, ax=ax, ticks=sorted(set(lab.tolist())))
            if class_names:
                cbar.ax.set_yticklabels([class_names[i] for i in sorted(set(lab.tolist()))])
    ax.set_xlabel(f"z{dims[0]}")
    ax.set_ylabel(f"z{dims[1]}")
    if title:
        ax.set_title(title)
    return fig


def latent_scatter(model, data, *, n: int = 2000, path: str | Path | None = None, dims: tuple[int, int] | None = None):
    """The mean codes of (up to n of) a split ``data`` (ArrayData) coloured by label.

    2-D latents show both dimensions; larger ones the two with the largest KL. Returns the figure,
    or writes a PNG when ``path`` is given and returns the path.
    """
    n = min(n, len(data))
    x = data.images(slice(0, n))
    labels = None if data.labels is None else data.labels[:n]
    cond_labels = labels if model.capabilities.accepts("labels") else None
    codes = latent_codes(model, x, labels=cond_labels)
    if dims is None:
        dims = (0, 1)
        if codes.shape[1] > 2:
            order, _ = kl_order(model, x[:512].to(model.device),
                                labels=None if cond_labels is None else cond_labels[:512].to(model.device))
            dims = (order[0], order[1])
    fig = latent_scatter_figure(codes, labels, dims=dims, class_names=tuple(data.class_names),
                                title=f"{data.name} test set in latent space")
    if path is None:
        return fig
    import matplotlib.pyplot as plt

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110, bbox_inches="tight")
    plt.close(fig)
    return path


# -- from a run folder (what the CLI verbs call) ------------------------------------------------------
def _run_model_and_test(run):
    from generativa.training.run import RunDir

    run_dir = RunDir(run)
    model = run_dir.load_model()
    _check_latent_model(model)
    return run_dir, model, run_dir.load_data().test


def _pick(split, index: int):
    if not 0 <= index < len(split):
        raise ValueError(f"--index {index} is outside the test split (0..{len(split) - 1})")
    x = split.images(slice(index, index + 1))
    label = None if split.labels is None else split.labels[index:index + 1]
    return x, label


def traverse_run(run, *, index: int | None = 0, points: int = 9, span: float = 3.0, max_dims: int = 10,
                 out: str | Path | None = None) -> Path:
    """Traversal PNG of a run: one row per latent dimension (ordered by KL), base code of test image
    ``index`` (None: z = 0). Rows from top: the most informative dimension first."""
    from generativa.io.grids import save_grid

    run_dir, model, test = _run_model_and_test(run)
    cond = model.capabilities.accepts("labels")
    x, label = _pick(test, index) if index is not None else (None, None)
    data = test.images(slice(0, 512))
    data_labels = test.labels[:512] if cond and test.labels is not None else None
    if cond and label is None:
        label = torch.zeros(1, dtype=torch.long)
    t = latent_traversal(model, x, data=data, points=points, span=span, max_dims=max_dims,
                         labels=label if cond else None, data_labels=data_labels)
    out = Path(out) if out is not None else run_dir.path / "samples" / "traversal.png"
    return save_grid(t.images, out, nrow=points)


def interpolate_run(run, a: int = 0, b: int = 1, *, points: int = 10, method: Method = "linear",
                    out: str | Path | None = None) -> Path:
    """Interpolation between test images ``a`` and ``b`` of a run: a PNG strip, or a GIF when ``out``
    ends in .gif."""
    from generativa.io.grids import save_grid

    run_dir, model, test = _run_model_and_test(run)
    (xa, la), (xb, lb) = _pick(test, a), _pick(test, b)
    labels = torch.cat([la, lb]) if model.capabilities.accepts("labels") and la is not None else None
    frames = interpolate(model, xa, xb, points=points, method=method, labels=labels)
    out = Path(out) if out is not None else run_dir.path / "samples" / f"interpolation_{method}.png"
    if out.suffix.lower() == ".gif":
        return save_gif(frames, out)
    if out.suffix.lower() != ".png":
        raise ValueError(f"--out {out}: write a .png strip or a .gif animation")
    return save_grid(torch.cat([xa, frames, xb]), out, nrow=points + 2)


def manifold_run(run, *, n: int = 15, out: str | Path | None = None, label: int | None = None) -> Path:
    """Manifold grid PNG of a run with a 2-d latent."""
    from generativa.io.grids import save_grid

    run_dir, model, _ = _run_model_and_test(run)
    labels = None
    if model.capabilities.accepts("labels"):
        labels = torch.tensor([0 if label is None else label])
    out = Path(out) if out is not None else run_dir.path / "samples" / "manifold.png"
    return save_grid(manifold_grid(model, n, labels=labels), out, nrow=n)


def scatter_run(run, *, n: int = 2000, out: str | Path | None = None) -> Path:
    """Test set in latent space, coloured by label (PNG)."""
    run_dir, model, test = _run_model_and_test(run)
    out = Path(out) if out is not None else run_dir.path / "samples" / "latent_scatter.png"
    return latent_scatter(model, test, n=n, path=out)
