"""Tests of the heterophily chapter: the graphs are the paper's (Minesweeper's grid and its rule), the
metric is ROC AUC, and each graph module aggregates as its equation says (closed forms on small graphs)."""
import itertools

import numpy as np
import pytest
import torch
from torch_geometric.utils import scatter

from reprobook.chapters import get_chapter
from reprobook.contract import contract_problems
from reprobook.errors import ReprobookError
from heterophily_data import DATASETS, heterophilous_graph
from heterophily_model import MODULES, Backbone, GATModule, GCNModule, TransformerAttentionModule
from heterophily_neighbourhood import Neighbourhood
from heterophily_protocol import roc_auc


def test_the_chapter_follows_the_contract():
    assert contract_problems(get_chapter("heterophily")) == []


def test_roc_auc_is_the_share_of_positive_negative_pairs_ranked_right_ties_half():
    rng = np.random.default_rng(0)
    labels = rng.random(60) < 0.3
    scores = rng.integers(0, 6, 60).astype(float)            # many ties
    pairs = [(p, n) for p, n in itertools.product(scores[labels], scores[~labels])]
    expected = np.mean([1.0 if p > n else 0.5 if p == n else 0.0 for p, n in pairs])
    assert roc_auc(labels, scores) == pytest.approx(expected, abs=1e-12)
    assert roc_auc(labels, labels.astype(float)) == 1.0


def test_roc_auc_equals_scikit_learns_on_a_models_scores():
    from sklearn.metrics import roc_auc_score

    graph = heterophilous_graph("minesweeper")
    net = Backbone("GCN", graph.x.size(1), 8, 1, 1, 0.0).eval()
    with torch.no_grad():
        scores = net(graph.x, net.neighbourhood(graph.edge_index, graph.num_nodes)).numpy()
    labels = graph.y.numpy()
    assert roc_auc(labels, scores) == pytest.approx(roc_auc_score(labels, scores), abs=1e-12)


def test_minesweeper_is_a_100_by_100_kings_graph_whose_features_count_the_neighbouring_mines():
    graph = heterophilous_graph("minesweeper")
    source, target = graph.edge_index
    rows, cols = source // 100, source % 100
    step = (target // 100 - rows, target % 100 - cols)
    assert graph.num_nodes == 10_000 and graph.edge_index.size(1) == 2 * 39_402
    assert int(step[0].abs().max()) == int(step[1].abs().max()) == 1 and bool(((step[0] != 0) | (step[1] != 0)).all())
    degrees = torch.bincount(target, minlength=graph.num_nodes)
    assert dict(zip(*np.unique(degrees.numpy(), return_counts=True))) == {3: 4, 5: 392, 8: 9604}
    assert float(graph.y.float().mean()) == pytest.approx(0.2)
    known = graph.x[:, 0] == 0
    assert int(known.sum()) == 5_000
    mines_around = scatter(graph.y[source].float(), target, dim=0, dim_size=graph.num_nodes, reduce="sum")
    shown = graph.x[known, 1:].argmax(1).float()
    assert torch.equal(shown, mines_around[known].clamp(max=5))   # counts above 5 share the last column


@pytest.mark.parametrize("name", DATASETS)
def test_the_ten_splits_are_disjoint_and_cover_half_a_quarter_and_a_quarter(name):
    graph = heterophilous_graph(name)
    masks = torch.stack([graph.train_mask, graph.val_mask, graph.test_mask]).int()
    assert masks.shape[2] == 10 and bool((masks.sum(0) == 1).all())
    shares = masks.sum(1).float() / graph.num_nodes
    assert torch.allclose(shares, torch.tensor([0.5, 0.25, 0.25])[:, None], atol=1e-3)


def small_graph(n=7, seed=0):
    rng = np.random.default_rng(seed)
    pairs = [(i, j) for i in range(n) for j in range(i + 1, n) if rng.random() < 0.5]
    edges = torch.tensor(pairs + [(j, i) for i, j in pairs]).t()
    adjacency = torch.zeros(n, n, dtype=torch.float64)
    adjacency[edges[1], edges[0]] = 1.0                                   # row: the receiving node
    return edges, adjacency


class PassThrough(torch.nn.Module):
    def forward(self, z, edges):
        return z


def test_gcn_aggregates_with_the_symmetric_normalisation_of_a_plus_i():
    edges, adjacency = small_graph()
    with_loops = torch.cat([edges, torch.arange(7).repeat(2, 1)], dim=1)
    module = GCNModule(4, 1, 0.0).double()
    module.ffn = PassThrough()
    x = torch.randn(7, 4, dtype=torch.float64)
    a = adjacency + torch.eye(7, dtype=torch.float64)
    d = a.sum(1).rsqrt()
    assert torch.allclose(module(x, Neighbourhood(with_loops, 7)), d[:, None] * a * d[None, :] @ x)


@pytest.mark.parametrize("separate", [False, True])
def test_graph_transformer_attention_is_scaled_dot_product_attention_over_the_neighbourhood(separate):
    edges, adjacency = small_graph(seed=1)
    heads, dim = 2, 6
    module = TransformerAttentionModule(dim, heads, 0.0, separate=separate).double().eval()
    x = torch.randn(7, dim, dtype=torch.float64)
    q, k, v = (f(x).view(7, heads, dim // heads).transpose(0, 1) for f in (module.query, module.key, module.value))
    scores = (q @ k.transpose(1, 2)) / (dim // heads) ** 0.5
    scores = scores.masked_fill(adjacency[None] == 0, float("-inf"))
    attention = torch.nan_to_num(torch.softmax(scores, dim=-1))         # an isolated node hears nothing
    message = (attention @ v).transpose(0, 1).reshape(7, dim)
    expected = module.output(torch.cat([x, message], 1) if separate else message)
    assert torch.allclose(module(x, Neighbourhood(edges, 7)), expected)


@pytest.mark.parametrize("model", MODULES)
def test_every_model_is_equivariant_to_relabelling_the_nodes(model):
    edges, _ = small_graph(seed=2)
    net = Backbone(model, 3, 16, 2, 4, 0.0).double().eval()
    x = torch.randn(7, 3, dtype=torch.float64)
    permutation = torch.randperm(7, generator=torch.Generator().manual_seed(3))
    inverse = torch.argsort(permutation)
    assert torch.allclose(net(x[permutation], net.neighbourhood(inverse[edges], 7)),
                          net(x, net.neighbourhood(edges, 7))[permutation])


def test_resnet_ignores_the_graph_and_the_sep_models_keep_the_node_apart_from_its_neighbours():
    edges, _ = small_graph(seed=4)
    x = torch.randn(7, 3, dtype=torch.float64)
    resnet = Backbone("ResNet", 3, 16, 2, 4, 0.0).double().eval()
    assert torch.equal(resnet(x, resnet.neighbourhood(edges, 7)), resnet(x, resnet.neighbourhood(edges[:, :0], 7)))
    for model in ("SAGE", "GAT-sep", "GT-sep"):
        net = Backbone(model, 3, 16, 1, 4, 0.0).double().eval()
        isolated = net(x, net.neighbourhood(edges[:, :0], 7))      # no neighbours: the node's own embedding alone
        assert torch.isfinite(isolated).all() and not torch.allclose(isolated, net(x, net.neighbourhood(edges, 7)))


@pytest.mark.parametrize("separate", [False, True])
def test_gat_attends_over_the_neighbourhood_and_gat_sep_sets_w_x_beside_the_message(separate):
    edges, adjacency = small_graph(seed=5)
    heads, dim = 2, 6
    module = GATModule(dim, heads, 0.0, separate=separate).double().eval()
    module.ffn = PassThrough()
    x = torch.randn(7, dim, dtype=torch.float64)
    h = module.linear(x)
    scores = module.score_target(h)[:, None, :] + module.score_source(h)[None, :, :]     # [target, source, head]
    scores = torch.nn.functional.leaky_relu(scores, 0.2).masked_fill(adjacency[..., None] == 0, float("-inf"))
    attention = torch.nan_to_num(torch.softmax(scores, dim=1))
    message = torch.einsum("tsk,skd->tkd", attention, h.view(7, heads, dim // heads)).reshape(7, dim)
    expected = torch.cat([h, message], 1) if separate else message
    assert torch.allclose(module(x, Neighbourhood(edges, 7)), expected)


def test_neighbour_sums_and_edge_dots_and_their_gradients_are_the_edge_by_edge_definitions():
    generator = torch.Generator().manual_seed(6)
    edges = torch.randint(0, 9, (2, 30), generator=generator)
    neighbourhood = Neighbourhood(edges[:, edges[0] != edges[1]], 9)
    source, target = neighbourhood.source, neighbourhood.target
    weights = torch.randn(source.numel(), 3, dtype=torch.float64, generator=generator, requires_grad=True)
    x, q = (torch.randn(9, 3, 4, dtype=torch.float64, generator=generator, requires_grad=True) for _ in range(2))
    by_edge = torch.zeros(9, 3, 4, dtype=torch.float64).index_add(0, target, weights[..., None] * x[source])
    assert torch.allclose(neighbourhood.weighted_sum(weights, x), by_edge)
    assert torch.allclose(neighbourhood.dot(q, x), (q[target] * x[source]).sum(-1))
    assert torch.autograd.gradcheck(neighbourhood.weighted_sum, (weights, x))
    assert torch.autograd.gradcheck(neighbourhood.dot, (q, x))


def test_background_training_jobs_name_a_graph_a_model_and_splits():
    import heterophily_train_runs
    assert heterophily_train_runs.parse_job("minesweeper:GAT-sep:0-1") == [("minesweeper", "GAT-sep", 0), ("minesweeper", "GAT-sep", 1)]
    for wrong in ("questions:GCN:0", "minesweeper:H2GCN:0"):
        with pytest.raises(ReprobookError, match="GRAPH:MODEL:SPLITS"):
            heterophily_train_runs.parse_job(wrong)
