"""The GAT layer's defining properties, and agreement with PyG's GATConv on the same weights."""
import pytest
import torch
from torch_geometric.nn import GATConv

from gat_model import GATLayer
from reprobook.seeding import generator_for


def one_run_layer(in_features, out_features, heads, concat, dropout=0.0):
    return GATLayer([generator_for(0)], in_features, out_features, heads, concat, dropout).eval()


@pytest.mark.parametrize("concat", [True, False])
def test_matches_pyg_gatconv_on_the_same_weights(small_graph, concat):
    x, edge_index = small_graph
    ours = one_run_layer(x.shape[1], 4, heads=3, concat=concat)
    reference = GATConv(x.shape[1], 4, heads=3, concat=concat, negative_slope=0.2, dropout=0.0,
                        add_self_loops=False).eval()
    with torch.no_grad():
        reference.lin.weight.copy_(ours.weight[0].T)
        reference.att_src.copy_(ours.att_src)
        reference.att_dst.copy_(ours.att_dst)
        ours.bias.normal_()
        reference.bias.copy_(ours.bias[0])
        expected, (_, expected_alpha) = reference(x, edge_index, return_attention_weights=True)
        got, alpha = ours(x[:, None, :], edge_index, return_attention=True)
    torch.testing.assert_close(got[:, 0], expected, rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(alpha[:, 0], expected_alpha, rtol=1e-5, atol=1e-6)


def test_attention_over_each_neighbourhood_sums_to_one(small_graph):
    x, edge_index = small_graph
    layer = one_run_layer(x.shape[1], 4, heads=3, concat=True)
    with torch.no_grad():
        _, alpha = layer(x[:, None, :], edge_index, return_attention=True)
    totals = torch.zeros(x.shape[0], 1, 3).index_add_(0, edge_index[1], alpha)
    torch.testing.assert_close(totals, torch.ones_like(totals))
    assert (alpha > 0).all()


def test_non_neighbours_get_no_attention(small_graph):
    """Changing a node's features changes nothing at nodes it is not adjacent to."""
    x, edge_index = small_graph
    layer = one_run_layer(x.shape[1], 4, heads=2, concat=True)
    node = 0
    neighbours = set(edge_index[1, edge_index[0] == node].tolist())
    others = [i for i in range(x.shape[0]) if i not in neighbours]
    assert others, "the test graph must have a node outside node 0's neighbourhood"
    changed = x.clone()
    changed[node] += 10 * torch.randn(x.shape[1])
    with torch.no_grad():
        before = layer(x[:, None, :], edge_index)
        after = layer(changed[:, None, :], edge_index)
    torch.testing.assert_close(after[others], before[others])
    assert not torch.allclose(after[sorted(neighbours)], before[sorted(neighbours)])


def test_relabelling_the_nodes_permutes_the_output(small_graph):
    x, edge_index = small_graph
    layer = one_run_layer(x.shape[1], 4, heads=3, concat=False)
    permutation = torch.randperm(x.shape[0], generator=torch.Generator().manual_seed(1))
    new_label = torch.empty_like(permutation)
    new_label[permutation] = torch.arange(x.shape[0])     # old node permutation[k] becomes node k
    with torch.no_grad():
        out = layer(x[:, None, :], edge_index)
        out_permuted = layer(x[permutation][:, None, :], new_label[edge_index])
    torch.testing.assert_close(out_permuted, out[permutation], rtol=1e-5, atol=1e-6)
