"""The fast path computes what the plain loop computes.

The fast path (``reprobook.seedbatch`` + ``reprobook.training``) trains several seeds side by side,
drops out only the non-zero input features and keeps early stopping on the device. Here a plain,
dense, one-seed-at-a-time GAT written out independently, drawing the same random numbers in the
same order, must give the same logits, losses and parameter updates over the first epochs.
"""
import pytest
import torch
import torch.nn.functional as F

from gat_model import GAT, GCN
from reprobook.seedbatch import SparseFeatures
from reprobook.seeding import generator_for
from reprobook.training import NodeClassificationData, fit_node_classifier, masked_loss_and_accuracy

P, LR, WEIGHT_DECAY, EPOCHS = 0.6, 0.005, 5e-4, 3
SEEDS = [3, 11, 42]


@pytest.fixture
def task(small_graph):
    x, edge_index = small_graph
    generator = torch.Generator().manual_seed(5)
    x = x.clamp_min(0.8) - 0.8                      # mostly zeros, like bag-of-words features
    x = x / x.sum(1, keepdim=True).clamp_min(1e-9)
    y = torch.randint(0, 3, (x.shape[0],), generator=generator)
    masks = torch.zeros(3, x.shape[0], dtype=torch.bool)
    masks[0, :5], masks[1, 5:9], masks[2, 9:] = True, True, True
    return x, edge_index, NodeClassificationData(y, *masks)


def plain_gat_logits(params, x, edge_index, generator, training):
    """GAT for one seed, dense and literal: attention as an N x N matrix per head."""
    num_nodes = x.shape[0]
    source, target = edge_index

    def layer(h, weight, att_src, att_dst, bias, heads, concat):
        wh = (h @ weight).view(num_nodes, heads, -1)                       # [N, K, F']
        e = F.leaky_relu((wh * att_dst).sum(-1)[target] + (wh * att_src).sum(-1)[source], 0.2)  # [E, K]
        scores = torch.full((heads, num_nodes, num_nodes), float("-inf"))
        scores[:, target, source] = e.T
        alpha = torch.softmax(scores, dim=-1)[:, target, source].T          # [E, K]
        if training:
            alpha = alpha * (torch.rand(alpha.shape, generator=generator) >= P) / (1 - P)
        dense = torch.zeros(heads, num_nodes, num_nodes)
        dense[:, target, source] = alpha.T
        out = torch.einsum("kij,jkf->ikf", dense, wh)
        return (out.reshape(num_nodes, -1) if concat else out.mean(1)) + bias

    if training:                                                             # dropout on X's non-zeros
        nonzero = x.nonzero(as_tuple=True)
        keep = (torch.rand(len(nonzero[0]), generator=generator) >= P).float() / (1 - P)
        mask = torch.zeros_like(x)
        mask[nonzero] = keep
        x = x * mask
    h = F.elu(layer(x, *params[:4], heads=8, concat=True))
    if training:
        h = h * (torch.rand(h.shape, generator=generator) >= P) / (1 - P)
    return layer(h, *params[4:], heads=1, concat=False)


def one_seed_parameters(model, s):
    return [p.detach()[s].clone().requires_grad_() for p in model.parameters()]


def test_batched_gat_matches_plain_loop_per_seed(task):
    x, edge_index, data = task
    fast = GAT([generator_for(seed) for seed in SEEDS], x.shape[1], 3)
    plain = {s: one_seed_parameters(fast, i) for i, s in enumerate(SEEDS)}
    plain_optim = {s: torch.optim.Adam(plain[s], lr=LR, weight_decay=WEIGHT_DECAY) for s in SEEDS}
    plain_gen = {s: generator_for(s) for s in SEEDS}
    for s in SEEDS:      # the plain run draws its own initialisation first, as the fast one did
        for p in fast.parameters():
            if p.dim() > 2:
                torch.rand(p[0].shape, generator=plain_gen[s])
    features = SparseFeatures(x.to_sparse())
    fast_optim = torch.optim.Adam(fast.parameters(), lr=LR, weight_decay=WEIGHT_DECAY)
    for _ in range(EPOCHS):
        fast.train()
        fast_optim.zero_grad()
        logits = fast(features, edge_index)
        losses, _ = masked_loss_and_accuracy(logits, data.y, data.train_mask)
        losses.sum().backward()
        fast_optim.step()
        for i, s in enumerate(SEEDS):
            plain_optim[s].zero_grad()
            plain_logits = plain_gat_logits(plain[s], x, edge_index, plain_gen[s], training=True)
            loss = F.cross_entropy(plain_logits[data.train_mask], data.y[data.train_mask])
            loss.backward()
            plain_optim[s].step()
            torch.testing.assert_close(logits[:, i].detach(), plain_logits.detach(), rtol=1e-4, atol=1e-5)
            torch.testing.assert_close(losses[i].detach(), loss.detach(), rtol=1e-5, atol=1e-6)
            for p_fast, p_plain in zip(fast.parameters(), plain[s]):
                torch.testing.assert_close(p_fast.detach()[i], p_plain.detach(), rtol=1e-4, atol=1e-6)


def test_glorot_initialisation_draws_from_each_runs_own_stream(task):
    x, _, _ = task
    batch = GAT([generator_for(seed) for seed in SEEDS], x.shape[1], 3)
    for i, seed in enumerate(SEEDS):
        alone = GAT([generator_for(seed)], x.shape[1], 3)
        for p_batch, p_alone in zip(batch.parameters(), alone.parameters()):
            torch.testing.assert_close(p_batch.detach()[i], p_alone.detach()[0], rtol=0, atol=0)


@pytest.mark.parametrize("model_class", [GAT, GCN])
def test_a_seed_trained_in_a_batch_matches_it_trained_alone(task, model_class):
    """Through the real training loop with on-device early stopping: same results, same checkpoint."""
    from reprobook.graphs import normalized_adjacency
    x, edge_index, data = task
    features = SparseFeatures(x.to_sparse())
    structure = edge_index if model_class is GAT else normalized_adjacency(edge_index, x.shape[0])

    def train(seeds):
        net = model_class([generator_for(seed) for seed in seeds], x.shape[1], 3)
        optimizer = torch.optim.Adam(net.parameters(), lr=LR, weight_decay=WEIGHT_DECAY)
        return fit_node_classifier(net, (features, structure), optimizer, data,
                                   num_runs=len(seeds), max_epochs=30, patience=5, sync_every=4)

    batch = train(SEEDS)
    for i, seed in enumerate(SEEDS):
        alone = train([seed])
        assert batch["runs"][i]["best_epoch"] == alone["runs"][0]["best_epoch"]
        assert batch["runs"][i]["epochs"] == alone["runs"][0]["epochs"]
        assert batch["runs"][i]["test_accuracy"] == pytest.approx(alone["runs"][0]["test_accuracy"])
        for name, value in alone["checkpoint"].items():
            torch.testing.assert_close(batch["checkpoint"][name][i], value[0], rtol=1e-4, atol=1e-6)


def test_sparse_features_matmul_equals_dense(task):
    x, _, _ = task
    weight = torch.randn(len(SEEDS), x.shape[1], 4)
    features = SparseFeatures(x.to_sparse())
    multipliers = torch.rand(len(SEEDS), features.nnz)
    got = features.matmul(weight, multipliers)
    for s in range(len(SEEDS)):
        dense = torch.zeros_like(x)
        dense[x.nonzero(as_tuple=True)] = x[x.nonzero(as_tuple=True)] * multipliers[s]
        torch.testing.assert_close(got[:, s], dense @ weight[s], rtol=1e-5, atol=1e-6)
