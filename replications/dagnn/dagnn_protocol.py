"""DAGNN's protocol (the authors' ``run.sh`` and ``train_eval.py``) and the depth study of Sec. 3.

Defaults are the paper's; per-data-set overrides sit in ``OVERRIDES``, in one visible place.
"""
import torch

from reprobook.data import planetoid
from reprobook.graphs import normalized_adjacency
from reprobook.runs import FAST_PATH, SEEDS_PER_BATCH, run_seeds
from reprobook.seedbatch import SparseFeatures
from reprobook.seeding import generator_for
from reprobook.training import NodeClassificationData, fit_node_classifier

from dagnn_data import largest_connected_component, per_class_split, shchur_graph
from dagnn_model import DAGNN, CoupledGCN, smoothness_metric


class WindowedValidationLoss:
    """The DAGNN authors' early stopping (``train_eval.py`` in divelab/DeeperGNN), one state per run.

    The model is checkpointed at every new lowest validation loss. After half of ``max_epochs``, a run
    stops at the first epoch whose validation loss exceeds the mean of the previous ``window`` ones.
    """

    def __init__(self, num_runs: int, window: int, max_epochs: int, device):
        self.window, self.start_after, self.epoch = window, max_epochs // 2, 0
        self.best_loss = torch.full((num_runs,), float("inf"), device=device)
        self.stopped = torch.zeros(num_runs, dtype=torch.bool, device=device)
        self.recent: list[torch.Tensor] = []

    def step(self, val_loss: torch.Tensor, val_accuracy: torch.Tensor) -> torch.Tensor:
        self.epoch += 1
        active = ~self.stopped
        checkpoint = active & (val_loss < self.best_loss)
        self.best_loss = torch.where(checkpoint, val_loss, self.best_loss)
        if self.epoch > self.start_after and self.recent:
            self.stopped = self.stopped | (active & (val_loss > torch.stack(self.recent).mean(0)))
        self.recent = (self.recent + [val_loss])[-self.window:]
        return checkpoint

FIXED_SPLIT_DATASETS = ("Cora", "CiteSeer", "PubMed")
RANDOM_SPLIT_DATASETS = ("CoauthorCS", "CoauthorPhysics", "AmazonComputers", "AmazonPhoto")
# Table 3's random splits (Sec. 6.1, after Shchur et al.): 20 training and 30 validation nodes per class,
# every other node tests; a new split for every run. On the Amazon graphs the authors split the largest
# connected component only.
RANDOM_SPLIT = {"train_per_class": 20, "val_per_class": 30}
LARGEST_COMPONENT_ONLY = ("AmazonComputers", "AmazonPhoto")
# Run s draws its split from stream SPLIT_STREAM + s, never from its model's stream s.
SPLIT_STREAM = 1_000_000

# Sec. 6.1 and the authors' run.sh: Adam lr 0.01, 64 hidden units, at most 1000 epochs; the reported
# test accuracy is the one at the lowest validation loss; after half the epochs, training stops when
# the validation loss exceeds the mean of the previous 100.
PAPER_HYPERPARAMETERS = {"lr": 0.01, "hidden": 64, "max_epochs": 1000, "window": 100,
                         "K": 10, "dropout": 0.5, "weight_decay": 0.005}
OVERRIDES = {
    "Cora": {"K": 10, "dropout": 0.8, "weight_decay": 0.005},
    "CiteSeer": {"K": 10, "dropout": 0.5, "weight_decay": 0.02},
    "PubMed": {"K": 20, "dropout": 0.8, "weight_decay": 0.005},
    "CoauthorCS": {"K": 5, "dropout": 0.8, "weight_decay": 0.0},
    "CoauthorPhysics": {"K": 5, "dropout": 0.8, "weight_decay": 0.0},
    "AmazonComputers": {"K": 5, "dropout": 0.5, "weight_decay": 5e-5, "max_epochs": 3000, "window": 300},
    "AmazonPhoto": {"K": 5, "dropout": 0.5, "weight_decay": 5e-4},
}
# The depth study (Sec. 3): the same optimiser for every model and depth, 200 epochs, the
# checkpoint at the lowest validation loss.
DEPTH_STUDY = {"lr": 0.01, "hidden": 64, "dropout": 0.5, "weight_decay": 5e-4, "max_epochs": 200, "window": 100}


def hyperparameters(dataset: str) -> dict:
    return PAPER_HYPERPARAMETERS | OVERRIDES.get(dataset, {})


def features_and_adjacency(data, device):
    """The model's inputs from a PyG graph: sparse features X and Â."""
    return SparseFeatures(data.x).to(device), normalized_adjacency(data.edge_index, data.num_nodes).to(device)


def load(dataset: str, device):
    """(features, Â, labels) of a data set with a public fixed split."""
    data = planetoid(dataset)[0]
    features, adjacency = features_and_adjacency(data, device)
    labels = NodeClassificationData(data.y.to(device), data.train_mask.to(device), data.val_mask.to(device),
                                    data.test_mask.to(device))
    return features, adjacency, labels


def random_split(y: torch.Tensor, seed: int, nodes: torch.Tensor | None) -> NodeClassificationData:
    return per_class_split(y, RANDOM_SPLIT["train_per_class"], RANDOM_SPLIT["val_per_class"],
                           generator_for(SPLIT_STREAM + seed), nodes)


def _fit(net, h, features, adjacency, labels, num_runs):
    optimizer = torch.optim.Adam(net.parameters(), lr=h["lr"], weight_decay=h["weight_decay"])
    stopping = WindowedValidationLoss(num_runs, h["window"], h["max_epochs"], labels.y.device)
    return fit_node_classifier(net, (features, adjacency), optimizer, labels, num_runs=num_runs,
                               max_epochs=h["max_epochs"], stopping=stopping)


def train_dagnn(dataset: str, seeds: list[int], device, graph=None, max_epochs=None) -> dict:
    features, adjacency, labels = graph or load(dataset, device)
    h = hyperparameters(dataset) | ({"max_epochs": max_epochs} if max_epochs else {})
    generators = [generator_for(seed, device) for seed in seeds]
    net = DAGNN(generators, features.num_features, int(labels.y.max()) + 1, h["hidden"], h["K"], h["dropout"]).to(device)
    return _fit(net, h, features, adjacency, labels, len(seeds)) | {"model": net}


def run_protocol(dataset: str, seeds: list[int], device, max_epochs=None, log=print) -> list[dict]:
    """Per-seed results of DAGNN, resuming from stored seeds: on the fixed split (Table 2), or on a new
    random split per run (Table 3; each run trains alone, as its split is its own)."""
    config = {"model": "DAGNN", "dataset": dataset, "hyperparameters": hyperparameters(dataset),
              "max_epochs": max_epochs, "path": FAST_PATH}
    if dataset in FIXED_SPLIT_DATASETS:
        graph = load(dataset, device)
        return run_seeds(f"dagnn/DAGNN-{dataset}", config, seeds,
                         lambda batch: train_dagnn(dataset, batch, device, graph, max_epochs)["runs"],
                         batch_size=SEEDS_PER_BATCH[device.type], device=device, log=log)
    data, raw_sha256 = shchur_graph(dataset)
    features, adjacency = features_and_adjacency(data, device)
    nodes = largest_connected_component(data.edge_index, data.num_nodes) if dataset in LARGEST_COMPONENT_ONLY else None
    y = data.y.to(device)

    def train_alone(batch):
        (seed,) = batch
        graph = (features, adjacency, random_split(y, seed, nodes))
        return [run | {"data_sha256": raw_sha256} for run in train_dagnn(dataset, batch, device, graph, max_epochs)["runs"]]

    return run_seeds(f"dagnn/DAGNN-{dataset}", config | {"split": RANDOM_SPLIT, "data_sha256": raw_sha256}, seeds,
                     train_alone, batch_size=1, device=device, log=log)


def depth_model(kind: str, depth: int, generators, num_features: int, num_classes: int):
    h = DEPTH_STUDY
    if kind == "GCN (coupled)":
        return CoupledGCN(generators, num_features, num_classes, depth, h["hidden"], h["dropout"])
    if kind == "decoupled":
        return DAGNN(generators, num_features, num_classes, h["hidden"], depth, h["dropout"], adaptive=False)
    return DAGNN(generators, num_features, num_classes, h["hidden"], depth, h["dropout"])


def depth_study(kinds, depths, seeds, device, dataset="Cora", max_epochs=None, log=print) -> list[dict]:
    """Test accuracy and SMV of each model kind at each depth: one dict per (kind, depth, seed)."""
    graph = load(dataset, device)
    features, adjacency, labels = graph
    num_classes = int(labels.y.max()) + 1
    h = DEPTH_STUDY | ({"max_epochs": max_epochs} if max_epochs else {})
    results = []
    for kind in kinds:
        for depth in depths:
            def train_batch(batch, kind=kind, depth=depth):
                generators = [generator_for(seed, device) for seed in batch]
                net = depth_model(kind, depth, generators, features.num_features, num_classes).to(device)
                outcome = _fit(net, h, features, adjacency, labels, len(batch))
                net.load_state_dict(outcome["checkpoint"])
                net.eval()
                with torch.no_grad():
                    out = net(features, adjacency)
                for s, run in enumerate(outcome["runs"]):
                    run["smv"] = float(smoothness_metric(out[:, s]))
                    del run["curves"]
                return outcome["runs"]

            config = {"study": "depth", "kind": kind, "depth": depth, "dataset": dataset, "hyperparameters": h}
            runs = run_seeds(f"dagnn/depth-{dataset}", config, seeds, train_batch,
                             batch_size=SEEDS_PER_BATCH[device.type], device=device, log=log)
            results += [{"kind": kind, "depth": depth, "seed": r["seed"], "test_accuracy": r["test_accuracy"],
                         "smv": r["smv"], "train_seconds": r["train_seconds"], "resumed": r["resumed"]} for r in runs]
    return results
