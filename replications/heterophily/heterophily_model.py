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
from torch_geometric.utils import add_self_loops

from heterophily_neighbourhood import Neighbourhood


class FeedForward(nn.Module):
    def __init__(self, in_dim: int, dim: int, dropout: float):
        super().__init__()
        self.net = nn.Sequential(nn.Linear(in_dim, dim), nn.Dropout(dropout), nn.GELU(), nn.Linear(dim, dim), nn.Dropout(dropout))

    def forward(self, x, neighbourhood):
        return self.net(x)


class GCNModule(nn.Module):
    def __init__(self, dim: int, heads: int, dropout: float):
        super().__init__()
        self.ffn = FeedForward(dim, dim, dropout)

    def forward(self, x, neighbourhood):
        d = neighbourhood.degree(x.dtype)
        weight = (d[neighbourhood.source] * d[neighbourhood.target]).rsqrt()
        return self.ffn(neighbourhood.weighted_sum(weight[:, None], x[:, None])[:, 0], neighbourhood)


class SAGEModule(nn.Module):
    def __init__(self, dim: int, heads: int, dropout: float):
        super().__init__()
        self.ffn = FeedForward(2 * dim, dim, dropout)

    def forward(self, x, neighbourhood):
        d = neighbourhood.degree(x.dtype)
        mean = neighbourhood.weighted_sum(d[neighbourhood.target, None].reciprocal(), x[:, None])[:, 0]
        return self.ffn(torch.cat([x, mean], dim=1), neighbourhood)


class GATModule(nn.Module):
    def __init__(self, dim: int, heads: int, dropout: float, separate: bool = False):
        super().__init__()
        self.heads, self.separate = heads, separate
        self.linear = nn.Linear(dim, dim)
        # one bias between the two scores, on the source side, as in the authors' code
        self.score_target, self.score_source = nn.Linear(dim, heads, bias=False), nn.Linear(dim, heads)
        self.ffn = FeedForward(2 * dim if separate else dim, dim, dropout)

    def forward(self, x, neighbourhood):
        source, target = neighbourhood.source, neighbourhood.target
        h = self.linear(x)
        scores = nn.functional.leaky_relu(self.score_target(h)[target] + self.score_source(h)[source], 0.2)
        attention = neighbourhood.softmax(scores)                                        # [edges, heads]
        message = neighbourhood.weighted_sum(attention, h.view(x.size(0), self.heads, -1)).flatten(1)
        return self.ffn(torch.cat([h, message], dim=1) if self.separate else message, neighbourhood)


class TransformerAttentionModule(nn.Module):
    def __init__(self, dim: int, heads: int, dropout: float, separate: bool = False):
        super().__init__()
        self.heads, self.separate = heads, separate
        self.query, self.key, self.value = nn.Linear(dim, dim), nn.Linear(dim, dim), nn.Linear(dim, dim)
        self.output = nn.Sequential(nn.Linear(2 * dim if separate else dim, dim), nn.Dropout(dropout))

    def forward(self, x, neighbourhood):
        n, head_dim = x.size(0), x.size(1) // self.heads
        q, k, v = (f(x).view(n, self.heads, head_dim) for f in (self.query, self.key, self.value))
        attention = neighbourhood.softmax(neighbourhood.dot(q, k) / head_dim ** 0.5)
        message = neighbourhood.weighted_sum(attention, v).flatten(1)
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

    def forward(self, x, neighbourhood):
        return x + self.module(self.norm(x), neighbourhood)


class Backbone(nn.Module):
    def __init__(self, model: str, in_dim: int, dim: int, layers: int, heads: int, dropout: float):
        super().__init__()
        modules, self.self_loops = MODULES[model]
        self.input = nn.Sequential(nn.Linear(in_dim, dim), nn.Dropout(dropout), nn.GELU())
        self.blocks = nn.ModuleList(Residual(make(dim, heads, dropout), dim) for _ in range(layers) for make in modules)
        self.output = nn.Sequential(nn.LayerNorm(dim), nn.Linear(dim, 1))

    def neighbourhood(self, edge_index, num_nodes: int) -> Neighbourhood:
        """The neighbourhoods this model sums over: the graph's edges, with each node's own where the model wants it."""
        return Neighbourhood(add_self_loops(edge_index, num_nodes=num_nodes)[0] if self.self_loops else edge_index, num_nodes)

    def forward(self, x, neighbourhood: Neighbourhood):
        x = self.input(x)
        for block in self.blocks:
            x = block(x, neighbourhood)
        return self.output(x).squeeze(-1)
