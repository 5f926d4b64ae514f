"""DAGNN's defining properties and the smoothness metric of its analysis."""
import math
import sys
from pathlib import Path

import pytest
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "replications" / "dagnn"))

from dagnn_model import DAGNN, CoupledGCN, smoothness_metric  # noqa: E402
from reprobook.graphs import normalized_adjacency  # noqa: E402
from reprobook.seedbatch import SparseFeatures  # noqa: E402
from reprobook.seeding import generator_for  # noqa: E402


@pytest.fixture
def graph(small_graph):
    x, edge_index = small_graph
    return SparseFeatures(x.abs().to_sparse()), normalized_adjacency(edge_index, x.shape[0])


def test_with_no_propagation_dagnn_is_its_mlp(graph):
    features, adjacency = graph
    net = DAGNN([generator_for(0), generator_for(1)], features.num_features, 3, hidden=8, K=0).eval()
    with torch.no_grad():
        out, scores = net(features, adjacency, return_scores=True)
        mlp = net.transform_2(torch.relu(net.transform_1(features)))
    torch.testing.assert_close(out, scores[..., 0:1] * mlp)       # one hop: the MLP, scaled per node
    assert torch.equal(out.argmax(-1), mlp.argmax(-1))             # so it predicts what the MLP predicts


def test_retention_scores_lie_strictly_between_zero_and_one(graph):
    features, adjacency = graph
    net = DAGNN([generator_for(0)], features.num_features, 3, hidden=8, K=5).eval()
    with torch.no_grad():
        _, scores = net(features, adjacency, return_scores=True)
    assert scores.shape[-1] == 6 and bool((scores > 0).all() and (scores < 1).all())


def test_dagnn_combines_hops_with_its_scores(graph):
    features, adjacency = graph
    net = DAGNN([generator_for(0)], features.num_features, 3, hidden=8, K=3).eval()
    with torch.no_grad():
        out, scores = net(features, adjacency, return_scores=True)
        z = net.transform_2(torch.relu(net.transform_1(features)))[:, 0]
        dense = adjacency.to_dense()
        hops = [torch.linalg.matrix_power(dense, k) @ z for k in range(4)]
        expected = sum(scores[:, 0, k:k + 1] * hops[k] for k in range(4))
    torch.testing.assert_close(out[:, 0], expected, rtol=1e-5, atol=1e-6)


def test_coupled_gcn_depth_is_its_number_of_propagations(graph):
    features, adjacency = graph
    for depth in (1, 3):
        assert len(CoupledGCN([generator_for(0)], features.num_features, 3, depth, hidden=8).layers) == depth


def test_smv_of_identical_rows_is_zero():
    rows = torch.tensor([[1.0, 2.0, 3.0]]).repeat(5, 1)
    assert smoothness_metric(rows).item() == pytest.approx(0.0, abs=1e-6)
    assert smoothness_metric(rows * torch.arange(1.0, 6.0)[:, None]).item() == pytest.approx(0.0, abs=1e-6)


def test_smv_of_orthogonal_unit_rows_is_one_over_root_two():
    assert smoothness_metric(torch.eye(4)).item() == pytest.approx(1 / math.sqrt(2))
