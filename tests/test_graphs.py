import torch

from reprobook.graphs import normalized_adjacency


def test_normalized_adjacency_is_symmetric_with_largest_eigenvalue_one(small_graph):
    x, edge_index = small_graph
    dense = normalized_adjacency(edge_index, x.shape[0]).to_dense()
    torch.testing.assert_close(dense, dense.T)
    assert abs(torch.linalg.eigvalsh(dense.double()).max().item() - 1.0) < 1e-6
