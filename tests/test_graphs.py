import torch

from reprobook.graphs import normalized_adjacency


def test_normalized_adjacency_is_symmetric_with_largest_eigenvalue_one(small_graph):
    x, edge_index = small_graph
    dense = normalized_adjacency(edge_index, x.shape[0]).to_dense()
    torch.testing.assert_close(dense, dense.T)
    assert abs(torch.linalg.eigvalsh(dense.double()).max().item() - 1.0) < 1e-6


def test_normalized_adjacency_is_d_to_the_minus_half_a_plus_i_d_to_the_minus_half():
    """The closed form, on a connected graph with unequal degrees: entry (i, j) of D^-1/2 (A + I) D^-1/2 is
    1 / sqrt(d_i d_j) on the edges and self-loops (d counts the self-loop), 0 elsewhere, and D^1/2 1 is
    its eigenvector of eigenvalue 1. Another normalisation (D^-1 (A + I) D^-1, D^-1 (A + I)) fails both."""
    edges = torch.tensor([[0, 1], [1, 2], [1, 3], [3, 4], [2, 3]]).T          # a star-like graph, degrees 1 to 3
    edge_index = torch.cat([edges, edges.flip(0)], dim=1)
    dense = normalized_adjacency(edge_index, 5).to_dense().double()
    a_plus_i = torch.eye(5, dtype=torch.float64)
    a_plus_i[edge_index[0], edge_index[1]] = 1.0
    degree = a_plus_i.sum(1)
    torch.testing.assert_close(dense, a_plus_i / torch.sqrt(degree[:, None] * degree[None, :]))
    torch.testing.assert_close(dense @ degree.sqrt(), degree.sqrt())
