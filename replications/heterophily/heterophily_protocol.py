"""The training protocol of Platonov et al. (2023), from their code (``train.py``, ``utils.py``): full
batch, AdamW at 3·10⁻⁵ without weight decay, binary cross-entropy, 1000 steps; ROC AUC on the
validation and test nodes after every step, and the test ROC AUC reported at the step of the best
validation ROC AUC. One run is one of the data set's ten fixed splits (the seed picks the split and the
initialisation); the depth is chosen among 1 to 5 by the mean validation ROC AUC over the splits.
"""
import numpy as np
import torch
from scipy.stats import rankdata

from reprobook.runs import run_seeds
from reprobook.seeding import seed_everything

from heterophily_data import heterophilous_graph
from heterophily_model import Backbone

# The authors' defaults (train.py's argument parser) for every model and data set.
PAPER_HYPERPARAMETERS = {"hidden_dim": 512, "heads": 8, "dropout": 0.2, "lr": 3e-5, "weight_decay": 0.0,
                         "steps": 1000, "depths": (1, 2, 3, 4, 5)}


def roc_auc(labels: np.ndarray, scores: np.ndarray) -> float:
    """The probability that a random positive scores above a random negative, ties counting one half
    (the Mann-Whitney statistic over the two classes' sizes)."""
    labels = np.asarray(labels, dtype=bool)
    ranks = rankdata(scores)
    positives, negatives = labels.sum(), (~labels).sum()
    return float((ranks[labels].sum() - positives * (positives + 1) / 2) / (positives * negatives))


def train_run(model: str, graph, split: int, depth: int, h: dict, device) -> dict:
    seed_everything(split)  # the initialisation and every dropout mask come from torch's default stream
    x, y = graph.x.to(device), graph.y.float().to(device)
    masks = {part: getattr(graph, f"{part}_mask")[:, split].to(device) for part in ("train", "val", "test")}
    net = Backbone(model, x.size(1), h["hidden_dim"], depth, h["heads"], h["dropout"]).to(device)
    neighbourhood = net.neighbourhood(graph.edge_index.to(device), graph.num_nodes)
    optimizer = torch.optim.AdamW(net.parameters(), lr=h["lr"], weight_decay=h["weight_decay"])
    labels = {part: y[mask].cpu().numpy() for part, mask in masks.items() if part != "train"}
    best = {"val_roc_auc": -1.0}
    curve = {"val_roc_auc": [], "test_roc_auc": []}
    for step in range(1, h["steps"] + 1):
        net.train()
        optimizer.zero_grad()
        loss = torch.nn.functional.binary_cross_entropy_with_logits(net(x, neighbourhood)[masks["train"]], y[masks["train"]])
        loss.backward()
        optimizer.step()
        net.eval()
        with torch.no_grad():
            logits = net(x, neighbourhood)
        scores = {part: roc_auc(labels[part], logits[masks[part]].cpu().numpy()) for part in labels}
        curve["val_roc_auc"].append(scores["val"])
        curve["test_roc_auc"].append(scores["test"])
        if scores["val"] > best["val_roc_auc"]:
            best = {"val_roc_auc": scores["val"], "test_roc_auc": scores["test"], "best_step": step}
    return best | {"curve": curve}


def run_model(dataset: str, model: str, depth: int, splits: list[int], device, steps: int | None = None,
              hidden_dim: int | None = None, log=print) -> list[dict]:
    """``model`` with ``depth`` layers on each of ``splits``, each run once and then read back from the run
    store. ``steps`` and ``hidden_dim`` default to the paper's (the smoke tier and our CPU runs ask for less)."""
    h = PAPER_HYPERPARAMETERS | ({"steps": steps} if steps else {}) | ({"hidden_dim": hidden_dim} if hidden_dim else {})
    h = {key: value for key, value in h.items() if key != "depths"}
    config = {"hyperparameters": h, "dataset": dataset, "model": model, "depth": depth}

    def train_batch(batch):
        graph = heterophilous_graph(dataset)
        return [train_run(model, graph, split, depth, h, device) for split in batch]

    return run_seeds(f"heterophily/{dataset}/{model}-{depth}", config, splits, train_batch, batch_size=1, device=device, log=log)
