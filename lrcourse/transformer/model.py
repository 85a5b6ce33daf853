"""A tiny character-level Transformer, Post-LN or Pre-LN, batched: M independent models.

One block, in the two places a layer norm can go (Xiong et al., ICML 2020, arXiv
2002.04745)::

    Post-LN (Vaswani et al. 2017):  x = LN(x + Attn(x));     x = LN(x + MLP(x))
    Pre-LN  (GPT-2, Llama):         x = x + Attn(LN(x));     x = x + MLP(LN(x))

with causal multi-head self-attention and an MLP d -> 4d -> d (GELU). Pre-LN ends with a
final layer norm before the output layer; Post-LN's last block already ends in one.

Batched like ``lrcourse.training.models.BatchedMLP``: every parameter carries a leading
member dimension M, a weight matrix is (M, in, out) and a bias (M, 1, out), and member m is
initialised from ``seeds[m]`` alone (``init_member``). Members share no parameter, so the
gradient of the summed loss with respect to member m's weights is the gradient of member
m's own loss: training the stack trains M separate models. ``TransformerLM`` is the same
model for one member written with ``torch.nn`` layers, as a textbook would write it; the
tests check that a member equals it, at initialisation and in training.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from lrcourse.validate import integer
from lrcourse.validate import seeds as validate_seeds

__all__ = ["Config", "init_member", "lm_forward", "BatchedTransformer", "TransformerLM"]


@dataclass(frozen=True)
class Config:
    """The model's shape. The defaults are the course's: 4 layers of width 64, 4 heads,
    a context of 32 characters, the 103 characters of the course's text."""

    vocab: int = 103
    d_model: int = 64
    heads: int = 4
    layers: int = 4
    context: int = 32
    post_ln: bool = True

    def __post_init__(self) -> None:
        for name in ("vocab", "d_model", "heads", "layers", "context"):
            integer(name, getattr(self, name), 1)
        if self.d_model % self.heads:
            raise ValueError(
                f"d_model must be a multiple of heads={self.heads}, got {self.d_model}"
            )

    @property
    def name(self) -> str:
        return "Post-LN" if self.post_ln else "Pre-LN"

    def as_dict(self) -> dict:
        return asdict(self)


def _shapes(c: Config) -> dict[str, tuple[int, ...]]:
    """Every parameter of one member, in initialisation order; weights as (in, out)."""
    d, V = c.d_model, c.vocab
    shapes: dict[str, tuple[int, ...]] = {"embed": (V, d), "pos": (c.context, d)}
    for layer in range(c.layers):
        for name, shape in (
            ("qkv_w", (d, 3 * d)), ("qkv_b", (3 * d,)),
            ("proj_w", (d, d)), ("proj_b", (d,)),
            ("ln1_g", (d,)), ("ln1_b", (d,)),
            ("fc_w", (d, 4 * d)), ("fc_b", (4 * d,)),
            ("out_w", (4 * d, d)), ("out_b", (d,)),
            ("ln2_g", (d,)), ("ln2_b", (d,)),
        ):  # fmt: skip
            shapes[f"h{layer}_{name}"] = shape
    if not c.post_ln:
        shapes["lnf_g"], shapes["lnf_b"] = (d,), (d,)
    shapes["head_w"] = (d, V)
    return shapes


def init_member(
    seed: int, config: Config, dtype: torch.dtype = torch.float32
) -> dict[str, Tensor]:
    """One member's parameters, drawn from ``torch.Generator().manual_seed(seed)``.

    Embeddings and the output layer ~ N(0, 0.02^2); every other weight matrix
    ~ N(0, 1/fan_in); biases 0; layer-norm gains 1. Post-LN and Pre-LN members of the
    same seed start from the same weights (Pre-LN adds its final layer norm).
    """
    gen = torch.Generator().manual_seed(int(seed))
    params = {}
    for name, shape in _shapes(config).items():
        if name.endswith("_g"):
            params[name] = torch.ones(shape, dtype=dtype)
        elif name.endswith("_b"):
            params[name] = torch.zeros(shape, dtype=dtype)
        else:
            std = 0.02 if name in ("embed", "pos", "head_w") else shape[0] ** -0.5
            params[name] = torch.randn(shape, generator=gen, dtype=torch.float64)
            params[name] = (params[name] * std).to(dtype)
    return params


def _norm(x: Tensor, g: Tensor, b: Tensor) -> Tensor:
    """Layer norm over the last dimension with a gain and a bias per member."""
    return F.layer_norm(x, x.shape[-1:]) * g + b


def lm_forward(p: dict[str, Tensor], idx: Tensor, config: Config) -> Tensor:
    """Logits (M, B, T, vocab) of M members for character ids ``idx`` (M, B, T).

    ``p`` holds the stacked parameters: a weight (M, in, out), a bias or gain (M, 1, out).
    """
    M, B, T = idx.shape
    d, H, V = config.d_model, config.heads, config.vocab
    # member m's ids index rows m*V ... m*V + V - 1 of the stacked embedding tables
    rows = idx + V * torch.arange(M).view(M, 1, 1)
    x = F.embedding(rows, p["embed"].reshape(M * V, d)) + p["pos"][:, None, :T]
    x = x.reshape(M, B * T, d)

    def attention(h: Tensor, layer: str) -> Tensor:
        qkv = torch.baddbmm(p[f"{layer}qkv_b"], h, p[f"{layer}qkv_w"])  # (M, B*T, 3d)
        q, k, v = qkv.view(M * B, T, 3, H, d // H).permute(2, 0, 3, 1, 4)
        y = F.scaled_dot_product_attention(q, k, v, is_causal=True)  # (M*B, H, T, dh)
        y = y.transpose(1, 2).reshape(M, B * T, d)
        return torch.baddbmm(p[f"{layer}proj_b"], y, p[f"{layer}proj_w"])

    def mlp(h: Tensor, layer: str) -> Tensor:
        h = F.gelu(torch.baddbmm(p[f"{layer}fc_b"], h, p[f"{layer}fc_w"]))
        return torch.baddbmm(p[f"{layer}out_b"], h, p[f"{layer}out_w"])

    for i in range(config.layers):
        n = f"h{i}_"
        ln1 = (p[f"{n}ln1_g"], p[f"{n}ln1_b"])
        ln2 = (p[f"{n}ln2_g"], p[f"{n}ln2_b"])
        if config.post_ln:
            x = _norm(x + attention(x, n), *ln1)
            x = _norm(x + mlp(x, n), *ln2)
        else:
            x = x + attention(_norm(x, *ln1), n)
            x = x + mlp(_norm(x, *ln2), n)
    if not config.post_ln:
        x = _norm(x, p["lnf_g"], p["lnf_b"])
    return torch.bmm(x, p["head_w"]).view(M, B, T, V)


class BatchedTransformer(nn.Module):
    """M independent character LMs of one ``config``; member m initialised from
    ``seeds[m]`` (``init_member``). A seed may repeat: its members start equal."""

    def __init__(
        self,
        seeds: Sequence[int],
        config: Config = Config(),
        *,
        dtype: torch.dtype = torch.float32,
    ) -> None:
        super().__init__()
        seeds = validate_seeds(seeds)
        self.seeds, self.config = seeds, config
        members = [init_member(s, config, dtype) for s in seeds]
        self.p = nn.ParameterDict()
        for name, value in members[0].items():
            stacked = torch.stack([m[name] for m in members])
            if value.dim() == 1:  # a bias or gain: (M, 1, out), to broadcast over rows
                stacked = stacked.unsqueeze(1)
            self.p[name] = nn.Parameter(stacked)

    @property
    def n_members(self) -> int:
        return len(self.seeds)

    def forward(self, idx: Tensor) -> Tensor:
        """Logits (M, B, T, vocab) for ids (M, B, T)."""
        return lm_forward(dict(self.p.items()), idx, self.config)

    def member_params(self, m: int) -> dict[str, Tensor]:
        """Detached copies of member m's parameters, shaped as ``init_member``'s."""
        if not 0 <= m < self.n_members:
            raise ValueError(f"m must be in [0, {self.n_members - 1}], got {m!r}")
        return {
            n: (p[m, 0] if n[-2:] in ("_b", "_g") else p[m]).detach().clone()
            for n, p in self.p.items()
        }

    def weight_matrices(self) -> list[str]:
        """The names of the weight matrices: the parameters that are 2-D per member."""
        return [n for n, p in self.p.items() if n[-2:] not in ("_b", "_g")]


class Block(nn.Module):
    """One Transformer block with ``torch.nn`` layers and attention written out."""

    def __init__(self, c: Config) -> None:
        super().__init__()
        d = c.d_model
        self.heads, self.post_ln = c.heads, c.post_ln
        self.qkv, self.proj = nn.Linear(d, 3 * d), nn.Linear(d, d)
        self.fc, self.out = nn.Linear(d, 4 * d), nn.Linear(4 * d, d)
        self.ln1, self.ln2 = nn.LayerNorm(d), nn.LayerNorm(d)

    def attention(self, x: Tensor) -> Tensor:
        B, T, d = x.shape
        dh = d // self.heads
        q, k, v = self.qkv(x).split(d, dim=-1)
        q, k, v = (z.view(B, T, self.heads, dh).transpose(1, 2) for z in (q, k, v))
        scores = q @ k.transpose(-2, -1) / math.sqrt(dh)  # (B, heads, T, T)
        future = torch.ones(T, T, dtype=torch.bool).triu(1)
        weights = scores.masked_fill(future, -math.inf).softmax(dim=-1)
        return self.proj((weights @ v).transpose(1, 2).reshape(B, T, d))

    def mlp(self, x: Tensor) -> Tensor:
        return self.out(F.gelu(self.fc(x)))

    def forward(self, x: Tensor) -> Tensor:
        if self.post_ln:
            x = self.ln1(x + self.attention(x))
            return self.ln2(x + self.mlp(x))
        x = x + self.attention(self.ln1(x))
        return x + self.mlp(self.ln2(x))


class TransformerLM(nn.Module):
    """One member, as plain ``torch.nn``: the reference ``BatchedTransformer`` is tested
    against. ``TransformerLM(config).load(init_member(seed, config))`` starts it where a
    member of that seed starts."""

    def __init__(self, config: Config = Config()) -> None:
        super().__init__()
        c = self.config = config
        self.embed = nn.Embedding(c.vocab, c.d_model)
        self.pos = nn.Parameter(torch.zeros(c.context, c.d_model))
        self.blocks = nn.ModuleList(Block(c) for _ in range(c.layers))
        self.lnf = None if c.post_ln else nn.LayerNorm(c.d_model)
        self.head = nn.Linear(c.d_model, c.vocab, bias=False)

    def forward(self, idx: Tensor) -> Tensor:
        """Logits (B, T, vocab) for ids (B, T)."""
        x = self.embed(idx) + self.pos[: idx.shape[1]]
        for block in self.blocks:
            x = block(x)
        if self.lnf is not None:
            x = self.lnf(x)
        return self.head(x)

    def named(self) -> dict[str, Tensor]:
        """This model's parameters under ``init_member``'s names (weights as (in, out)
        views where torch stores (out, in): compare with ``.T``, see ``load``)."""
        out = {"embed": self.embed.weight, "pos": self.pos}
        for i, b in enumerate(self.blocks):
            for layer in ("qkv", "proj", "fc", "out"):
                out[f"h{i}_{layer}_w"] = getattr(b, layer).weight.T
                out[f"h{i}_{layer}_b"] = getattr(b, layer).bias
            for ln in ("ln1", "ln2"):
                out[f"h{i}_{ln}_g"] = getattr(b, ln).weight
                out[f"h{i}_{ln}_b"] = getattr(b, ln).bias
        if self.lnf is not None:
            out["lnf_g"], out["lnf_b"] = self.lnf.weight, self.lnf.bias
        out["head_w"] = self.head.weight.T
        return out

    @torch.no_grad()
    def load(self, params: dict[str, Tensor]) -> TransformerLM:
        """Copy ``params`` (``init_member``'s names and shapes) into the layers."""
        self.to(next(iter(params.values())).dtype)
        for name, target in self.named().items():
            target.copy_(params[name])  # a .T view writes through to (out, in)
        return self
