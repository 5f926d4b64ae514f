"""The models of Platonov et al. (2023), Sec. 4 and their code (yandex-research/heterophilous-graphs,
``model.py`` and ``modules.py``): one backbone for every graph module,

    x ← GELU(Dropout(W_in x));   x ← x + M(LayerNorm(x))  per residual block;   ŷ = W_out LayerNorm(x)

where each module M ends in the same feed-forward network FFN(z) = Dropout(W₂ GELU(Dropout(W₁ z))).
The module decides how a node hears its neighbours:

* ResNet: no neighbours, FFN(x).
* GCN: FFN(Σ_j x_j / √(d_i d_j)) over the neighbours and the node itself (self-loops added).
* SAGE: FFN([x_i ‖ mean_j x_j]): the ego embedding kept apart from the neighbours' mean.
* GAT: FFN(Σ_j α_ij W x_j), α the softmax over i's neighbourhood (self-loop included) of
  LeakyReLU(a_uᵀ W x_i + a_vᵀ W x_j), per head; GAT-sep: FFN([W x_i ‖ Σ_{j≠i} α_ij W x_j]), no self-loop.
* GT (graph transformer): α the softmax of q_i·k_j/√d_head over the neighbourhood, message
  W_o Σ_j α_ij v_j, then a second residual block, FFN alone; GT-sep: W_o [x_i ‖ Σ_{j≠i} α_ij v_j].
"""
import torch
from torch import nn
from torch_geometric.utils import add_self_loops, degree, scatter, softmax


class FeedForward(nn.Module):
    def __init__(self, in_dim: int, dim: int, dropout: float):
        super().__init__()
        self.net = nn.Sequential(nn.Linear(in_dim, dim), nn.Dropout(dropout), nn.GELU(), nn.Linear(dim, dim), nn.Dropout(dropout))

    def forward(self, x, edges):
        return self.net(x)


def mean_of_neighbours(x, edges):
    source, target = edges
    return scatter(x[source], target, dim=0, dim_size=x.size(0), reduce="mean")


class GCNModule(nn.Module):
    def __init__(self, dim: int, heads: int, dropout: float):
        super().__init__()
        self.ffn = FeedForward(dim, dim, dropout)

    def forward(self, x, edges):
        source, target = edges
        d = degree(target, x.size(0), dtype=x.dtype)
        weight = (d[source] * d[target]).rsqrt()
        return self.ffn(scatter(x[source] * weight[:, None], target, dim=0, dim_size=x.size(0), reduce="sum"), edges)


class SAGEModule(nn.Module):
    def __init__(self, dim: int, heads: int, dropout: float):
        super().__init__()
        self.ffn = FeedForward(2 * dim, dim, dropout)

    def forward(self, x, edges):
        return self.ffn(torch.cat([x, mean_of_neighbours(x, edges)], dim=1), edges)


class GATModule(nn.Module):
    def __init__(self, dim: int, heads: int, dropout: float, separate: bool = False):
        super().__init__()
        self.heads, self.separate = heads, separate
        self.linear = nn.Linear(dim, dim)
        # one bias between the two scores, on the source side, as in the authors' code
        self.score_target, self.score_source = nn.Linear(dim, heads, bias=False), nn.Linear(dim, heads)
        self.ffn = FeedForward(2 * dim if separate else dim, dim, dropout)

    def forward(self, x, edges):
        source, target = edges
        h = self.linear(x)
        scores = nn.functional.leaky_relu(self.score_target(h)[target] + self.score_source(h)[source], 0.2)
        attention = softmax(scores, target, num_nodes=x.size(0))                       # [edges, heads]
        values = h.view(x.size(0), self.heads, -1)[source] * attention[..., None]
        message = scatter(values, target, dim=0, dim_size=x.size(0), reduce="sum").flatten(1)
        return self.ffn(torch.cat([h, message], dim=1) if self.separate else message, edges)


class TransformerAttentionModule(nn.Module):
    def __init__(self, dim: int, heads: int, dropout: float, separate: bool = False):
        super().__init__()
        self.heads, self.separate = heads, separate
        self.query, self.key, self.value = nn.Linear(dim, dim), nn.Linear(dim, dim), nn.Linear(dim, dim)
        self.output = nn.Sequential(nn.Linear(2 * dim if separate else dim, dim), nn.Dropout(dropout))

    def forward(self, x, edges):
        source, target = edges
        n, head_dim = x.size(0), x.size(1) // self.heads
        q, k, v = (f(x).view(n, self.heads, head_dim) for f in (self.query, self.key, self.value))
        attention = softmax((q[target] * k[source]).sum(-1) / head_dim ** 0.5, target, num_nodes=n)
        message = scatter(v[source] * attention[..., None], target, dim=0, dim_size=n, reduce="sum").flatten(1)
        return self.output(torch.cat([x, message], dim=1) if self.separate else message)


# name: (the modules of one layer, whether the node's own edge joins its neighbourhood)
MODULES = {
    "ResNet": ([lambda d, h, p: FeedForward(d, d, p)], False),
    "GCN": ([GCNModule], True),
    "SAGE": ([SAGEModule], False),
    "GAT": ([GATModule], True),
    "GAT-sep": ([lambda d, h, p: GATModule(d, h, p, separate=True)], False),
    "GT": ([TransformerAttentionModule, lambda d, h, p: FeedForward(d, d, p)], True),
    "GT-sep": ([lambda d, h, p: TransformerAttentionModule(d, h, p, separate=True), lambda d, h, p: FeedForward(d, d, p)], False),
}


class Residual(nn.Module):
    """x + M(LayerNorm(x)), the pre-norm residual block of every module."""

    def __init__(self, module: nn.Module, dim: int):
        super().__init__()
        self.norm, self.module = nn.LayerNorm(dim), module

    def forward(self, x, edges):
        return x + self.module(self.norm(x), edges)


class Backbone(nn.Module):
    def __init__(self, model: str, in_dim: int, dim: int, layers: int, heads: int, dropout: float):
        super().__init__()
        modules, self.self_loops = MODULES[model]
        self.input = nn.Sequential(nn.Linear(in_dim, dim), nn.Dropout(dropout), nn.GELU())
        self.blocks = nn.ModuleList(Residual(make(dim, heads, dropout), dim) for _ in range(layers) for make in modules)
        self.output = nn.Sequential(nn.LayerNorm(dim), nn.Linear(dim, 1))

    def forward(self, x, edge_index):
        edges = add_self_loops(edge_index, num_nodes=x.size(0))[0] if self.self_loops else edge_index
        x = self.input(x)
        for block in self.blocks:
            x = block(x, edges)
        return self.output(x).squeeze(-1)
