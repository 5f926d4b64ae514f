"""Graph operators shared by the graph chapters."""
import torch
from torch_geometric.utils import add_remaining_self_loops, degree


def normalized_adjacency(edge_index: torch.Tensor, num_nodes: int) -> torch.Tensor:
    """``D^-1/2 (A + I) D^-1/2`` as a sparse CSR matrix (Kipf and Welling, 2017, Eq. 2).

    Symmetric whenever the graph is undirected; its largest eigenvalue is 1.
    """
    edge_index, _ = add_remaining_self_loops(edge_index, num_nodes=num_nodes)
    row, col = edge_index
    deg = degree(col, num_nodes, dtype=torch.float32)
    inv_sqrt = deg.pow(-0.5)
    weight = inv_sqrt[row] * inv_sqrt[col]
    return torch.sparse_coo_tensor(edge_index, weight, (num_nodes, num_nodes)).coalesce().to_sparse_csr()


def propagate(adjacency: torch.Tensor, h: torch.Tensor) -> torch.Tensor:
    """``adjacency @ h`` for node tensors with trailing axes (``[N, ...]``), e.g. a seed axis."""
    return (adjacency @ h.reshape(h.shape[0], -1)).view(h.shape)


