"""Speed of the heterophily chapter's neighbour sums against the plain edge-by-edge loop, in one process.

Both sides train the chapter's models (``replications/heterophily/heterophily_model.py``) with the
chapter's step: a training step and an evaluation pass. Ours sums over neighbours with sparse-matrix
products (``heterophily_neighbourhood.Neighbourhood``); the plain side hands the same models a
neighbourhood that does what one writes from PyG's examples, gathering ``x[source]``, weighting it and
scattering it to ``target``. The two sides start from the same weights and must give the same logits to
float32 rounding. Prints seconds per step for each model, their ratio and the largest difference.

    python benchmarks/heterophily_speed.py                       # Tolokers, width 64, depth 2 (the record's)
    python benchmarks/heterophily_speed.py --graph minesweeper --steps 5
"""
import argparse
import sys
import time
from pathlib import Path

import torch
from torch_geometric.utils import degree, scatter, softmax

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "replications" / "heterophily"))

from benchmark_results import machine, timed, write_result  # noqa: E402
from heterophily_data import heterophilous_graph  # noqa: E402
from heterophily_model import MODULES, Backbone  # noqa: E402
from heterophily_protocol import PAPER_HYPERPARAMETERS  # noqa: E402
from reprobook.device import resolve_device  # noqa: E402


class EdgeByEdge:
    """The plain neighbourhood: the same sums, each edge's message made and scattered."""

    def __init__(self, neighbourhood):
        self.source, self.target, self.num_nodes = neighbourhood.source, neighbourhood.target, neighbourhood.num_nodes

    def degree(self, dtype=torch.float32):
        return degree(self.target, self.num_nodes, dtype=dtype)

    def weighted_sum(self, weights, x):
        return scatter(weights[..., None] * x[self.source], self.target, dim=0, dim_size=self.num_nodes, reduce="sum")

    def dot(self, queries, keys):
        return (queries[self.target] * keys[self.source]).sum(-1)

    def softmax(self, scores):
        return softmax(scores, self.target, num_nodes=self.num_nodes)


def step(net, optimizer, x, y, train_mask, neighbourhood):
    """One step of the chapter's protocol: train on the training nodes, then score every node."""
    net.train()
    optimizer.zero_grad()
    torch.nn.functional.binary_cross_entropy_with_logits(net(x, neighbourhood)[train_mask], y[train_mask]).backward()
    optimizer.step()
    net.eval()
    with torch.no_grad():
        return net(x, neighbourhood)


def seconds_per_step(model, graph, neighbourhood_of, device, hidden_dim, depth, steps) -> tuple[float, torch.Tensor]:
    h = PAPER_HYPERPARAMETERS
    torch.manual_seed(0)
    net = Backbone(model, graph.x.size(1), hidden_dim, depth, h["heads"], 0.0).to(device)  # no dropout: same logits
    optimizer = torch.optim.AdamW(net.parameters(), lr=h["lr"], weight_decay=h["weight_decay"])
    x, y, train_mask = graph.x.to(device), graph.y.float().to(device), graph.train_mask[:, 0].to(device)
    neighbourhood = neighbourhood_of(net.neighbourhood(graph.edge_index.to(device), graph.num_nodes))
    step(net, optimizer, x, y, train_mask, neighbourhood)                        # warm-up
    logits = []
    seconds = timed(lambda: logits.extend(step(net, optimizer, x, y, train_mask, neighbourhood) for _ in range(steps)))
    return seconds / steps, logits[-1].cpu()


def table(result: dict) -> dict:
    rows = [[row["model"], f"{row['plain_s']:.3f}", f"{row['ours_s']:.3f}", f"{row['speedup']:.1f}×"]
            for row in result["models"]]
    return {"header": ["model", "plain: s per step", "ours: s per step", "plain / ours"], "rows": rows,
            "caption": f"{result['graph'].capitalize()}, width {result['hidden_dim']}, depth {result['depth']}: one "
                       f"training step and one evaluation pass, mean of {result['steps']} steps after a warm-up. "
                       f"Largest difference of the two sides' logits: {result['largest_logit_difference']:.1e}. "
                       f"Measured {result['date']} on {result['device']}, torch {result['torch']}, "
                       f"{result['threads']} thread(s), both sides in one process."}


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--graph", default="tolokers", choices=("minesweeper", "tolokers"))
    parser.add_argument("--hidden-dim", type=int, default=64)
    parser.add_argument("--depth", type=int, default=2)
    parser.add_argument("--steps", type=int, default=3)
    parser.add_argument("--device", default="auto")
    parser.add_argument("--output", default=str(ROOT / "benchmarks" / "results"))
    args = parser.parse_args()
    device = resolve_device(args.device)
    graph = heterophilous_graph(args.graph)
    rows, largest = [], 0.0
    for model in MODULES:
        plain_s, plain_logits = seconds_per_step(model, graph, EdgeByEdge, device, args.hidden_dim, args.depth, args.steps)
        ours_s, ours_logits = seconds_per_step(model, graph, lambda n: n, device, args.hidden_dim, args.depth, args.steps)
        difference = float((plain_logits - ours_logits).abs().max())
        largest = max(largest, difference)
        rows.append({"model": model, "plain_s": plain_s, "ours_s": ours_s, "speedup": plain_s / ours_s,
                     "logit_difference": difference})
        print(f"{model:8s} plain {plain_s:6.3f} s/step  ours {ours_s:6.3f} s/step  {plain_s / ours_s:5.1f}x  "
              f"largest logit difference {difference:.1e}", flush=True)
    result = {"benchmark": "heterophily neighbour sums", "graph": args.graph, "hidden_dim": args.hidden_dim,
              "depth": args.depth, "steps": args.steps, **machine(device), "threads": torch.get_num_threads(),
              "date": time.strftime("%Y-%m-%d"), "models": rows, "largest_logit_difference": largest}
    name = f"heterophily_{args.graph}_width{args.hidden_dim}_depth{args.depth}_{device.type}.json"
    write_result(result, table, Path(args.output) / name)


if __name__ == "__main__":
    main()
