"""DAGNN's defining properties and the smoothness metric of its analysis."""
import math

import pytest
import torch

from dagnn_model import DAGNN, CoupledGCN, smoothness_metric
from reprobook.graphs import normalized_adjacency, propagate
from reprobook.seedbatch import SparseFeatures
from reprobook.seeding import generator_for


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


def test_retention_scores_are_a_sigmoid_of_each_hops_projection(graph):
    """Eq. (11): S = sigmoid(H s + b), strictly inside (0, 1) even where H s + b lies far outside it."""
    features, adjacency = graph
    net = DAGNN([generator_for(0)], features.num_features, 3, hidden=8, K=5).eval()
    with torch.no_grad():
        z = net.transform_2(torch.relu(net.transform_1(features)))[:, 0]
        dense = adjacency.to_dense()
        hops = torch.stack([torch.linalg.matrix_power(dense, k) @ z for k in range(6)], dim=1)      # [N, K+1, C]
        projection = hops @ net.retention.weight[0, :, 0]
        net.retention.weight.mul_(4.0 / projection.abs().max())      # |H s| up to 4: well outside (0, 1), unsaturated
        logits = hops @ net.retention.weight[0, :, 0] + net.retention.bias[0]
        _, scores = net(features, adjacency, return_scores=True)
    assert scores.shape[-1] == 6 and logits.abs().max() > 1
    torch.testing.assert_close(scores[:, 0], torch.sigmoid(logits), rtol=1e-5, atol=1e-6)
    assert bool((scores > 0).all() and (scores < 1).all())


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


@pytest.mark.parametrize("model", ["CoupledGCN", "DAGNN"])
def test_depth_is_the_number_of_propagation_steps(graph, model, monkeypatch):
    """A coupled GCN of depth L propagates L times, DAGNN with K hops K times (Eq. 10), counted in the forward pass."""
    import dagnn_model

    features, adjacency = graph
    steps = []
    monkeypatch.setattr(dagnn_model, "propagate", lambda a, h: steps.append(1) or propagate(a, h))
    for depth in (1, 3, 6):
        steps.clear()
        if model == "CoupledGCN":
            network = CoupledGCN([generator_for(0)], features.num_features, 3, depth, hidden=8)
        else:
            network = DAGNN([generator_for(0)], features.num_features, 3, hidden=8, K=depth)
        network.eval()(features, adjacency)
        assert len(steps) == depth


def test_smv_of_identical_rows_is_zero():
    rows = torch.tensor([[1.0, 2.0, 3.0]]).repeat(5, 1)
    assert smoothness_metric(rows).item() == pytest.approx(0.0, abs=1e-6)
    assert smoothness_metric(rows * torch.arange(1.0, 6.0)[:, None]).item() == pytest.approx(0.0, abs=1e-6)


def test_smv_of_orthogonal_unit_rows_is_one_over_root_two():
    assert smoothness_metric(torch.eye(4)).item() == pytest.approx(1 / math.sqrt(2))


# Table 3's random splits: the split rule, the largest component, and the protocol's path end to end.

from reprobook import data as reprobook_data
from reprobook.errors import ReprobookError
from dagnn_data import largest_connected_component, per_class_split, shchur_graph


def test_per_class_split_takes_20_and_30_of_each_class_and_tests_on_the_rest():
    y = torch.arange(3).repeat_interleave(torch.tensor([60, 80, 55]))
    split = per_class_split(y, 20, 30, generator_for(0))
    for c, size in enumerate((60, 80, 55)):
        in_class = y == c
        assert (int(split.train_mask[in_class].sum()), int(split.val_mask[in_class].sum()),
                int(split.test_mask[in_class].sum())) == (20, 30, size - 50)
    together = split.train_mask.int() + split.val_mask.int() + split.test_mask.int()
    assert bool((together == 1).all())                               # disjoint, and every node placed
    other = per_class_split(y, 20, 30, generator_for(1))
    assert not torch.equal(split.train_mask, other.train_mask)       # a new split for another stream


def test_per_class_split_keeps_to_the_given_nodes():
    y = torch.arange(2).repeat(100)
    nodes = torch.arange(150)
    split = per_class_split(y, 20, 30, generator_for(0), nodes)
    placed = split.train_mask | split.val_mask | split.test_mask
    assert bool(placed[:150].all()) and not bool(placed[150:].any())


def test_largest_connected_component():
    edge_index = torch.tensor([[0, 1, 3, 5, 6, 7], [1, 2, 4, 6, 7, 8]])   # {0,1,2}, {3,4}, {5,6,7,8}, {9}
    assert largest_connected_component(edge_index, 10).tolist() == [5, 6, 7, 8]


def test_a_table3_graph_missing_offline_names_its_canonical_address(tmp_path, monkeypatch):
    monkeypatch.setenv(reprobook_data.MIRROR_ENV, str(tmp_path / "mirror"))
    monkeypatch.setenv(reprobook_data.CACHE_ENV, str(tmp_path / "cache"))
    with pytest.raises(ReprobookError, match="ms_academic_cs.npz.*not in the offline mirror.*shchur/gnn-benchmark"):
        shchur_graph("CoauthorCS")
    with pytest.raises(ReprobookError, match="choose one of: CoauthorCS"):
        shchur_graph("Coauthor CS")


def test_a_table3_graph_loads_from_the_mirror_with_its_checksum(tmp_path, monkeypatch):
    import hashlib

    import numpy as np
    import scipy.sparse as sp

    features = sp.csr_matrix(np.array([[1, 0, 2], [0, 3, 0], [4, 0, 0], [0, 0, 5]], dtype=np.float32))
    adjacency = sp.csr_matrix(np.array([[0, 1, 0, 0], [0, 0, 1, 0], [0, 0, 0, 0], [0, 0, 0, 0]], dtype=np.float32))
    raw = tmp_path / "mirror" / "Coauthor" / "CS" / "raw" / "ms_academic_cs.npz"
    raw.parent.mkdir(parents=True)
    np.savez(raw, attr_data=features.data, attr_indices=features.indices, attr_indptr=features.indptr,
             attr_shape=features.shape, adj_data=adjacency.data, adj_indices=adjacency.indices,
             adj_indptr=adjacency.indptr, adj_shape=adjacency.shape, labels=np.array([0, 1, 0, 1]))
    monkeypatch.setenv(reprobook_data.MIRROR_ENV, str(tmp_path / "mirror"))
    monkeypatch.setenv(reprobook_data.CACHE_ENV, str(tmp_path / "cache"))

    graph, raw_sha256 = shchur_graph("CoauthorCS")
    assert raw_sha256 == hashlib.sha256(raw.read_bytes()).hexdigest()
    assert (graph.num_nodes, graph.num_edges, graph.y.tolist()) == (4, 4, [0, 1, 0, 1])   # edges made undirected
    torch.testing.assert_close(graph.x.sum(1), torch.ones(4))                              # binarised, row-normalised


def test_table3_protocol_trains_each_run_on_its_own_split(tmp_path, monkeypatch):
    from torch_geometric.data import Data

    import dagnn_protocol as protocol

    generator = torch.Generator().manual_seed(0)
    num_nodes, num_classes = 300, 3
    y = torch.arange(num_classes).repeat(num_nodes // num_classes)
    x = (torch.rand(num_nodes, 40, generator=generator) < 0.1).float() + torch.nn.functional.one_hot(y, 40)
    path = torch.stack([torch.arange(num_nodes - 2), torch.arange(1, num_nodes - 1)])   # nodes 0..298; 299 alone
    graph = Data(x=x / x.sum(1, keepdim=True), edge_index=torch.cat([path, path.flip(0)], dim=1), y=y)
    monkeypatch.setattr(protocol, "shchur_graph", lambda name: (graph, "sha256-of-the-raw-file"))
    monkeypatch.setenv("REPROBOOK_RUNS", str(tmp_path / "runs"))

    runs = protocol.run_protocol("AmazonPhoto", [0, 1], torch.device("cpu"), max_epochs=5, log=lambda *a: None)
    assert [r["seed"] for r in runs] == [0, 1] and all(r["data_sha256"] == "sha256-of-the-raw-file" for r in runs)
    assert all(0.0 <= r["test_accuracy"] <= 1.0 for r in runs)
    nodes = largest_connected_component(graph.edge_index, num_nodes)
    first, second = (protocol.random_split(y, seed, nodes) for seed in (0, 1))
    assert not torch.equal(first.train_mask, second.train_mask)
    assert not bool(first.test_mask[num_nodes - 1])                  # off the largest component: never tested
