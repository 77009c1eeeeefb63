"""Residual flows: invertible residual blocks (Behrmann, Grathwohl, Chen, Duvenaud & Jacobsen 2019,
arXiv:1811.00995, "i-ResNet") with the unbiased log-determinant of Chen, Behrmann, Duvenaud &
Jacobsen 2019 (arXiv:1906.02735, "Residual Flows").

A block is F(x) = x + g(x) in the density direction (data x -> base z). If Lip(g) < 1, F is
invertible [i-ResNet, Thm. 1]: the inverse is the fixed point x = z - g(x), found by iteration
[i-ResNet, Alg. 1], and

    log |det dF/dx| = log det(I + J_g(x)) = sum_{k>=1} (-1)^{k+1} tr(J_g^k) / k      [i-ResNet, eq. 6]

g is an MLP whose every weight is rescaled to a spectral norm of at most ``coeff`` < 1, computed
exactly (SVD of each small matrix, not power iteration, so the bound holds at every step, not
only when the iteration has converged), with LipSwish activations, x * sigmoid(beta x) / 1.1, of
Lipschitz constant at most 1 [Residual Flows, section 3.3]. So Lip(g) <= coeff^layers < 1.

The log-determinant, chosen by ``log_det``:

* ``exact``: the Jacobian by autograd and its slogdet; D vector-Jacobian products (small D);
* ``series``: the first ``terms`` terms with a Hutchinson estimate of each trace, tr(A) =
  E_v v^T A v, v ~ N(0, I) [i-ResNet, eq. 7]: biased by the truncation;
* ``roulette``: the Russian-roulette estimator [Residual Flows, eq. 6]: the first ``terms`` terms
  always, then term k with probability P(N >= k), N geometric with ``continue_p``, weighted by
  1 / P(N >= k): unbiased.

The random vectors and the roulette draw come from torch's global generator, which the trainer saves.
"""

from __future__ import annotations

from typing import Literal

import torch
from torch import Tensor, nn
from torch.nn import functional as F

from generativa.models.flows.base import FlowLayer

LogDet = Literal["exact", "series", "roulette"]


class LipSwish(nn.Module):
    """x * sigmoid(beta x) / 1.1: Lipschitz at most 1 for any beta > 0 [Residual Flows, section 3.3]."""

    def __init__(self):
        super().__init__()
        self.raw_beta = nn.Parameter(torch.zeros(()))

    def forward(self, x: Tensor) -> Tensor:
        return x * torch.sigmoid(F.softplus(self.raw_beta) * x) / 1.1


class SpectralLinear(nn.Linear):
    """A linear layer whose weight is rescaled to a spectral norm of at most ``coeff``."""

    def __init__(self, in_features: int, out_features: int, coeff: float):
        super().__init__(in_features, out_features)
        self.coeff = coeff

    def normalised_weight(self) -> Tensor:
        sigma = torch.linalg.matrix_norm(self.weight, ord=2)  # the largest singular value, exactly
        return self.weight * torch.clamp(self.coeff / sigma, max=1.0)

    def forward(self, x: Tensor) -> Tensor:
        return F.linear(x, self.normalised_weight(), self.bias)


class ResidualBlock(FlowLayer):
    """One invertible residual block on vectors (B, D)."""

    def __init__(self, dim: int, hidden: tuple[int, ...], *, coeff: float = 0.9, log_det: LogDet = "roulette",
                 terms: int = 2, continue_p: float = 0.5, fixed_point_iterations: int = 200, tolerance: float = 1e-6):
        super().__init__()
        if not 0 < coeff < 1:
            raise ValueError(f"coeff must lie in (0, 1) for the block to be invertible, got {coeff}")
        widths = [dim, *hidden, dim]
        layers: list[nn.Module] = []
        for i, (a, b) in enumerate(zip(widths[:-1], widths[1:])):
            layers.append(SpectralLinear(a, b, coeff))
            if i < len(widths) - 2:
                layers.append(LipSwish())
        self.g = nn.Sequential(*layers)
        self.log_det_kind, self.terms, self.continue_p = log_det, terms, continue_p
        self.iterations, self.tolerance = fixed_point_iterations, tolerance

    def lipschitz_bound(self) -> float:
        """An upper bound of Lip(g): the product of the normalised weights' spectral norms."""
        bound = 1.0
        for layer in self.g:
            if isinstance(layer, SpectralLinear):
                bound *= float(torch.linalg.matrix_norm(layer.normalised_weight().detach(), ord=2))
        return bound

    # -- log det(I + J_g) -------------------------------------------------------------------------
    def _exact(self, x: Tensor, gx: Tensor, graph: bool) -> Tensor:
        d = x.shape[1]
        rows = [torch.autograd.grad(gx[:, i].sum(), x, create_graph=graph, retain_graph=True)[0] for i in range(d)]
        jac = torch.stack(rows, dim=1)  # (B, D, D), row i = d g_i / dx
        return torch.linalg.slogdet(torch.eye(d, dtype=x.dtype, device=x.device) + jac).logabsdet

    def _series(self, x: Tensor, gx: Tensor, graph: bool) -> Tensor:
        v = torch.randn_like(x)
        w = v
        total = x.new_zeros(x.shape[0])
        k, weight = 1, 1.0
        while True:
            if self.log_det_kind == "roulette" and k > self.terms:
                # continue with probability continue_p per extra term; P(N >= k) = continue_p^(k - terms)
                if float(torch.rand(())) >= self.continue_p:
                    break
                weight = weight / self.continue_p
            elif self.log_det_kind == "series" and k > self.terms:
                break
            (w,) = torch.autograd.grad(gx, x, w, create_graph=graph, retain_graph=True)  # w^T J^k
            total = total + weight * ((-1) ** (k + 1) / k) * (w * v).sum(1)
            k += 1
        return total

    def log_det(self, x: Tensor, gx: Tensor, kind: LogDet | None = None, *, graph: bool = True) -> Tensor:
        """log det(I + J_g(x)); ``graph``: keep the graph for a gradient of the result (training)."""
        kind = kind or self.log_det_kind
        return self._exact(x, gx, graph) if kind == "exact" else self._series(x, gx, graph)

    # -- the two directions ------------------------------------------------------------------------
    def inverse(self, x: Tensor, *, log_det: LogDet | None = None) -> tuple[Tensor, Tensor]:
        """Density direction: z = x + g(x), log det(I + J_g(x))."""
        graph = torch.is_grad_enabled()  # training: differentiate through the estimate
        with torch.enable_grad():
            x_in = x if x.requires_grad else x.detach().requires_grad_(True)
            gx = self.g(x_in)
            ld = self.log_det(x_in, gx, log_det, graph=graph)
        if not graph:
            return (x + gx).detach(), ld.detach()
        return x_in + gx, ld

    def forward(self, z: Tensor) -> tuple[Tensor, Tensor]:
        """Sampling direction: x with x + g(x) = z, by fixed-point iteration [i-ResNet, Alg. 1]."""
        with torch.no_grad():
            x = z.clone()
            for _ in range(self.iterations):
                new = z - self.g(x)
                done = (new - x).abs().max() < self.tolerance
                x = new
                if done:
                    break
        _, ld = self.inverse(x, log_det="exact" if z.shape[1] <= 16 else None)
        return x, -ld.detach()
