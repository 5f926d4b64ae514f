"""Sums over each node's neighbours as sparse-matrix products, the fused kernels that the authors' modules
call through DGL (``ops.u_mul_e_sum``, ``ops.u_dot_v``, ``edge_softmax``).

Written edge by edge (gather ``x[source]``, weigh, scatter to ``target``), every layer makes copies of
the features the size of the edge list: on Tolokers (about a million edges) a step of a width-64 GCN
then takes seconds on one CPU core, spent moving those copies. As products with the sparse adjacency
(rows: the receiving nodes) the same sums never make them, and the gradients are products too:

    out_i = Σ_j w_ij x_j            forward  W x,            backward  ∂x = Wᵀ ∂out,   ∂w_ij = ∂out_i · x_j
    s_ij  = q_i · k_j  (edges only)  forward  sampled Q Kᵀ,  backward  ∂Q = S' K,       ∂K = S'ᵀ Q

with one weight per edge and attention head.
"""
import warnings

import torch
from torch.autograd.function import once_differentiable
from torch_geometric.utils import softmax

# torch flags every compressed-row tensor as beta; the two products used here are long-standing ones.
# The layouts are built sorted by construction, so torch's per-tensor checks (check_invariants) are off.
warnings.filterwarnings("ignore", "Sparse CSR tensor support is in beta", UserWarning)


def _row_pointers(rows: torch.Tensor, num_nodes: int) -> torch.Tensor:
    counts = torch.bincount(rows, minlength=num_nodes)
    return torch.cat([counts.new_zeros(1), counts.cumsum(0)])


class Neighbourhood:
    """The edges ``source → target`` of a graph, sorted by target, with the compressed-row layout of the
    adjacency and of its transpose."""

    def __init__(self, edge_index: torch.Tensor, num_nodes: int):
        order = torch.argsort(edge_index[1] * num_nodes + edge_index[0], stable=True)
        self.source, self.target = edge_index[:, order]
        self.num_nodes = num_nodes
        self.rows = _row_pointers(self.target, num_nodes)
        self.by_source = torch.argsort(self.source * num_nodes + self.target, stable=True)
        self.transposed_rows = _row_pointers(self.source[self.by_source], num_nodes)
        self.transposed_columns = self.target[self.by_source]

    def degree(self, dtype=torch.float32) -> torch.Tensor:
        """The number of edges into each node."""
        return (self.rows[1:] - self.rows[:-1]).to(dtype)

    def matrix(self, weights: torch.Tensor) -> torch.Tensor:
        """The adjacency with one weight per edge (in this neighbourhood's order): row i sums over i's neighbours."""
        return torch.sparse_csr_tensor(self.rows, self.source, weights, (self.num_nodes,) * 2, check_invariants=False)

    def transposed(self, weights: torch.Tensor) -> torch.Tensor:
        return torch.sparse_csr_tensor(self.transposed_rows, self.transposed_columns, weights[self.by_source],
                                       (self.num_nodes,) * 2, check_invariants=False)

    def edge_dots(self, queries: torch.Tensor, keys: torch.Tensor) -> torch.Tensor:
        """queries_target · keys_source for every edge, for one head ([nodes, dim] each)."""
        pattern = self.matrix(queries.new_zeros(self.source.numel()))
        return torch.sparse.sampled_addmm(pattern, queries, keys.t(), beta=0.0).values()

    def weighted_sum(self, weights: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        """Σ_j w_ij x_j per head: ``weights`` [edges, heads], ``x`` [nodes, heads, dim]."""
        return _WeightedSum.apply(self, weights, x)

    def dot(self, queries: torch.Tensor, keys: torch.Tensor) -> torch.Tensor:
        """q_i · k_j per edge and head: [nodes, heads, dim] each, [edges, heads] out."""
        return _EdgeDot.apply(self, queries, keys)

    def softmax(self, scores: torch.Tensor) -> torch.Tensor:
        """Scores [edges, heads] normalised over each node's neighbourhood."""
        return softmax(scores, self.target, num_nodes=self.num_nodes)


def _per_head(product, weights: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    return torch.stack([product(weights[:, head].contiguous()) @ x[:, head] for head in range(weights.size(1))], dim=1)


class _WeightedSum(torch.autograd.Function):
    @staticmethod
    def forward(ctx, neighbourhood, weights, x):
        ctx.neighbourhood = neighbourhood
        ctx.save_for_backward(weights, x)
        return _per_head(neighbourhood.matrix, weights, x)

    @staticmethod
    @once_differentiable
    def backward(ctx, grad):
        neighbourhood, (weights, x) = ctx.neighbourhood, ctx.saved_tensors
        grad_weights = grad_x = None
        if ctx.needs_input_grad[1]:
            grad_weights = torch.stack([neighbourhood.edge_dots(grad[:, head], x[:, head])
                                        for head in range(weights.size(1))], dim=1)
        if ctx.needs_input_grad[2]:
            grad_x = _per_head(neighbourhood.transposed, weights, grad)
        return None, grad_weights, grad_x


class _EdgeDot(torch.autograd.Function):
    @staticmethod
    def forward(ctx, neighbourhood, queries, keys):
        ctx.neighbourhood = neighbourhood
        ctx.save_for_backward(queries, keys)
        return torch.stack([neighbourhood.edge_dots(queries[:, head], keys[:, head])
                            for head in range(queries.size(1))], dim=1)

    @staticmethod
    @once_differentiable
    def backward(ctx, grad):
        neighbourhood, (queries, keys) = ctx.neighbourhood, ctx.saved_tensors
        grad_queries = _per_head(neighbourhood.matrix, grad, keys) if ctx.needs_input_grad[1] else None
        grad_keys = _per_head(neighbourhood.transposed, grad, queries) if ctx.needs_input_grad[2] else None
        return None, grad_queries, grad_keys
