"""Retrieval in code space: the k nearest training images of a query by Euclidean distance between codes.

codes z = encode(x) (B, D);  neighbours(q) = the k database images with the smallest ||z_q - z_i||_2.
``precision_at_k`` measures retrieval by label: for each test image, the fraction of its k nearest
training images that share its label, averaged over the test split (a query is never its own
neighbour: queries come from the test split, the database is the training split).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch
from torch import Tensor

from generativa.exploration.inputs import batched, load_run, read_images, require


def codes(model, x: Tensor) -> Tensor:
    """encode(x) in batches, flattened to (N, D)."""
    require(model, "encode", "retrieve")
    model.check_input(x)
    z = batched(model.encode, x)
    return z.flatten(1).float()


@dataclass
class Neighbours:
    index: Tensor  # (Q, k) rows of the database
    distance: Tensor  # (Q, k) code-space distances, ascending


def nearest(query_codes: Tensor, database_codes: Tensor, k: int) -> Neighbours:
    """The k nearest database codes of each query code (Euclidean)."""
    if not 1 <= k <= len(database_codes):
        raise ValueError(f"k must lie in 1..{len(database_codes)} (the database size), got {k}")
    d = torch.cdist(query_codes, database_codes)  # (Q, N)
    dist, index = d.topk(k, dim=1, largest=False)
    return Neighbours(index, dist)


def precision_at_k(model, database: Tensor, database_labels: Tensor, queries: Tensor, query_labels: Tensor,
                   k: int = 8) -> float:
    """Mean over queries of the fraction of their k nearest database images with the query's label."""
    nb = nearest(codes(model, queries), codes(model, database), k)
    hits = database_labels[nb.index] == query_labels[:, None]
    return float(hits.float().mean())


def retrieve_run(run: str | Path, *, query: str | Path | None = None, k: int = 8, out: str | Path | None = None,
                 n_queries: int = 8, resize: bool = False) -> tuple[Path, dict]:
    """The ``retrieve`` verb: a grid (one row per query: the query, then its k neighbours from the
    training split) and precision@k by label over the whole test split."""
    from generativa.io.grids import save_grid

    model, rd = load_run(run)
    require(model, "encode", "retrieve")
    data = rd.load_data()
    db = data.train.images()
    q = data.test.images(slice(0, n_queries)) if query is None else read_images(query, model.data_shape, resize=resize)
    nb = nearest(codes(model, q), codes(model, db), k)
    rows = torch.cat([torch.cat([q[i:i + 1], db[nb.index[i]]]) for i in range(len(q))])
    out = Path(out) if out is not None else rd.path / "retrieve" / "retrieve.png"
    save_grid(rows, out, nrow=k + 1)
    numbers: dict = {"k": k, "neighbours": nb.index.tolist()}
    if data.train.labels is not None and data.test.labels is not None:
        p = precision_at_k(model, db, data.train.labels, data.test.images(), data.test.labels, k)
        numbers[f"precision_at_{k}"] = p
        rd.update_metrics({f"retrieve/precision_at_{k}": p})
    return out, numbers
