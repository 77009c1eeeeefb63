"""A 2-D map of a split in code space, coloured by label.

``method``: ``code`` (the code itself; only for 2-D codes), ``pca`` (scikit-learn PCA of the codes),
``tsne`` (scikit-learn t-SNE, perplexity 30, PCA initialisation, seeded), ``umap`` (umap-learn, an
optional extra: ``pip install generativa[umap]``), or ``auto``: the code when it is 2-D, else PCA.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal, get_args

import numpy as np
from torch import Tensor

from generativa.exploration.inputs import load_run, require

Method = Literal["auto", "code", "pca", "tsne", "umap"]
METHODS: tuple[str, ...] = get_args(Method)


def embed_2d(z: Tensor | np.ndarray, method: Method = "auto", *, seed: int = 0) -> tuple[np.ndarray, str]:
    """Codes (N, D) -> (points (N, 2), the method used)."""
    if method not in METHODS:
        raise ValueError(f"unknown embedding method {method!r}; use one of {', '.join(METHODS)}")
    z = np.asarray(z.detach().cpu() if isinstance(z, Tensor) else z, dtype=np.float64).reshape(len(z), -1)
    D = z.shape[1]
    if method == "auto":
        method = "code" if D == 2 else "pca"
    if method == "code":
        if D != 2:
            raise ValueError(f"method=code needs a 2-D code; this one is {D}-D: use pca, tsne or umap")
        return z, "code"
    if D < 2:
        raise ValueError(f"a 2-D map needs codes of at least 2 dimensions, got {D}")
    if method == "pca":
        from sklearn.decomposition import PCA

        return PCA(2, random_state=seed).fit_transform(z), "pca"
    if method == "tsne":
        from sklearn.manifold import TSNE

        perplexity = min(30.0, max(2.0, (len(z) - 1) / 3))
        return TSNE(2, perplexity=perplexity, init="pca", random_state=seed).fit_transform(z), "tsne"
    try:
        import umap  # type: ignore[import-not-found]
    except ImportError:
        raise ValueError("method=umap needs the optional umap-learn package: pip install 'generativa[umap]'; "
                         "or use method=tsne") from None
    return umap.UMAP(n_components=2, random_state=seed).fit_transform(z), "umap"


def embedding_figure(points: np.ndarray, labels=None, *, method: str = "", class_names=(), title: str = ""):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(5.2, 4.6))
    if labels is None:
        ax.scatter(points[:, 0], points[:, 1], s=5, alpha=0.7)
    else:
        lab = np.asarray(labels)
        cmap = "tab10" if lab.max() < 10 else "tab20"
        sc = ax.scatter(points[:, 0], points[:, 1], c=lab, cmap=cmap, s=5, alpha=0.8, vmin=-0.5,
                        vmax=(9.5 if lab.max() < 10 else 19.5))
        if lab.max() < 20:
            ticks = sorted(set(lab.tolist()))
            cbar = fig.colorbar(sc, ax=ax, ticks=ticks)
            if class_names:
                cbar.ax.set_yticklabels([class_names[i] for i in ticks])
    axis = {"code": "z", "pca": "PC", "tsne": "t-SNE ", "umap": "UMAP "}.get(method, "")
    ax.set_xlabel(f"{axis}1" if method != "code" else "z0")
    ax.set_ylabel(f"{axis}2" if method != "code" else "z1")
    ax.set_title(title or f"test set, 2-D map ({method})")
    return fig


def embed_run(run: str | Path, *, method: Method = "auto", out: str | Path | None = None, n: int = 2000,
              seed: int = 0) -> tuple[Path, str]:
    """The ``embed`` verb: writes a PNG of (up to n) test images' codes in 2-D, coloured by label."""
    import matplotlib.pyplot as plt

    from generativa.exploration.retrieve import codes

    if method not in METHODS:
        raise ValueError(f"unknown embedding method {method!r}; use one of {', '.join(METHODS)}")
    model, rd = load_run(run)
    require(model, "encode", "embed")
    test = rd.load_data().test
    n = min(n, len(test))
    z = codes(model, test.images(slice(0, n)))
    points, used = embed_2d(z, method, seed=seed)
    labels = None if test.labels is None else test.labels[:n].numpy()
    fig = embedding_figure(points, labels, method=used, class_names=tuple(test.class_names),
                           title=f"{test.name} test set, {z.shape[1]}-D code, {used}")
    out = Path(out) if out is not None else rd.path / "embed" / f"embed_{used}.png"
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=110, bbox_inches="tight")
    plt.close(fig)
    return out, used
