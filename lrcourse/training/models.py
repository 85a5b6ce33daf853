"""A batched MLP: M independent networks stored as stacked weights and trained as one model.

Layer l of member m computes ``h @ W[m] + b[m]`` with ``W`` of shape (M, in, out); one
``torch.baddbmm`` call does it for all members at once. Members share no parameter, so
the gradient of ``sum_m loss_m`` with respect to member m's weights is the gradient of
``loss_m`` alone: training the stack is training M separate networks, only faster.

Member m is initialised exactly as ``torch.manual_seed(seeds[m])`` followed by
``nn.Sequential(nn.Linear(64, 128), nn.ReLU(), nn.Linear(128, 10))`` would initialise it
(weights stored transposed), so a batched run can be checked against textbook PyTorch.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from lrcourse.validate import seeds as validate_seeds

__all__ = ["BatchedMLP", "mlp_forward", "mlp_loss", "mse_loss", "member_losses"]


def _linear_init(n_in: int, n_out: int, gen: torch.Generator, dtype: torch.dtype):
    """nn.Linear's default init, drawn from ``gen``: W, b ~ U(-1/sqrt(n_in), 1/sqrt(n_in))."""
    weight = torch.empty(n_out, n_in, dtype=dtype)  # nn.Linear's (out, in) layout
    nn.init.kaiming_uniform_(weight, a=math.sqrt(5), generator=gen)
    bound = 1 / math.sqrt(n_in)
    bias = torch.empty(n_out, dtype=dtype).uniform_(-bound, bound, generator=gen)
    return weight.T.contiguous(), bias


def mlp_forward(params: Sequence[Tensor], x: Tensor) -> Tensor:
    """Logits of an MLP with ReLU between layers: h_{l+1} = relu(h_l W_l + b_l).

    ``params`` is ``[W_0, b_0, W_1, b_1, ...]``. Either one network (W: (in, out),
    b: (out,), x: (B, in)) or a batch of M (W: (M, in, out), b: (M, 1, out), x: (M, B, in)
    or a shared (B, in)).
    """
    h = x
    n_layers = len(params) // 2
    for layer in range(n_layers):
        W, b = params[2 * layer], params[2 * layer + 1]
        if W.dim() == 3:
            if (
                h.dim() == 2
            ):  # the same inputs for every member (full batch, evaluation)
                h = h.expand(W.shape[0], *h.shape)
            h = torch.baddbmm(b, h, W)
        else:
            h = torch.addmm(b, h, W)
        if layer < n_layers - 1:
            h = torch.relu(h)
    return h


def mlp_loss(params: Sequence[Tensor], X: Tensor, y: Tensor) -> Tensor:
    """Mean cross-entropy of ONE network on (X, y), a differentiable function of ``params``.

    With ``params = model.member_params(m)`` (each with ``requires_grad_()``) this is member
    m's full-batch loss: the function whose Hessian the sharpness lessons need.
    """
    return F.cross_entropy(mlp_forward(params, X), y)


def mse_loss(params: Sequence[Tensor], X: Tensor, y: Tensor) -> Tensor:
    """Half the mean squared distance of ONE network's outputs from the one-hot labels.

    L = (1 / 2N) sum_i |f(x_i) - e_{y_i}|^2. For a linear model (``params = [W, b]``, no
    hidden layer) this is a quadratic in the weights: its Hessian is the same everywhere,
    ``[X 1]^T [X 1] / N`` once per output, so ``2 / lam_max`` is an exact stability limit.
    """
    out = mlp_forward(params, X)
    target = F.one_hot(y, out.shape[-1]).to(out.dtype)
    return 0.5 * (out - target).pow(2).sum(dim=-1).mean()


def member_losses(logits: Tensor, y: Tensor) -> Tensor:
    """Each member's mean cross-entropy: logits (M, B, C), labels (M, B) or (B,) -> (M,)."""
    M, B, C = logits.shape
    per_sample = F.cross_entropy(
        logits.reshape(M * B, C), y.expand(M, B).reshape(M * B), reduction="none"
    )
    return per_sample.view(M, B).mean(dim=1)


class BatchedMLP(nn.Module):
    """M independent MLPs of the same shape; member m is initialised from ``seeds[m]`` only.

    ``sizes`` lists the layer widths, input first: the default (64, 128, 10) fits digits.
    Parameters: ``weights[l]`` of shape (M, in, out) and ``biases[l]`` of shape (M, 1, out).
    """

    def __init__(
        self,
        seeds: Sequence[int],
        sizes: Sequence[int] = (64, 128, 10),
        *,
        dtype: torch.dtype = torch.float32,
    ) -> None:
        super().__init__()
        seeds = validate_seeds(seeds)
        if len(sizes) < 2 or any(
            isinstance(n, bool) or int(n) != n or n < 1 for n in sizes
        ):
            raise ValueError(
                f"sizes must be >= 2 positive integers, got {tuple(sizes)!r}"
            )
        self.seeds = tuple(seeds)
        self.sizes = tuple(int(n) for n in sizes)
        per_member = []
        for seed in seeds:
            gen = torch.Generator().manual_seed(seed)
            per_member.append(
                [
                    _linear_init(a, b, gen, dtype)
                    for a, b in zip(sizes[:-1], sizes[1:], strict=True)
                ]
            )
        n_layers = len(self.sizes) - 1
        self.weights = nn.ParameterList(
            nn.Parameter(torch.stack([m[layer][0] for m in per_member]))
            for layer in range(n_layers)
        )
        self.biases = nn.ParameterList(
            nn.Parameter(torch.stack([m[layer][1] for m in per_member]).unsqueeze(1))
            for layer in range(n_layers)
        )

    @property
    def n_members(self) -> int:
        return len(self.seeds)

    def params(self) -> list[Tensor]:
        """``[W_0, b_0, W_1, b_1, ...]``, the layout ``mlp_forward`` takes."""
        return [p for pair in zip(self.weights, self.biases, strict=True) for p in pair]

    def forward(self, x: Tensor) -> Tensor:
        """Logits (M, B, n_classes) for inputs (M, B, in), or (B, in) shared by all members."""
        return mlp_forward(self.params(), x)

    def member_params(self, m: int) -> list[Tensor]:
        """Detached copies of member m's ``[W_0, b_0, ...]``, shapes (in, out) and (out,)."""
        if not 0 <= m < self.n_members:
            raise ValueError(f"m must be in [0, {self.n_members - 1}], got {m!r}")
        out = []
        for W, b in zip(self.weights, self.biases, strict=True):
            out += [W[m].detach().clone(), b[m, 0].detach().clone()]
        return out
