"""Speed of our GAT training against a plain PyG loop, measured in one process on one machine.

Both train GAT on Cora with the paper's settings and the GAT authors' early stopping, for the same
seeds. The plain loop is what one would write from PyG's examples: dense features, ``F.dropout`` on
the input, ``GATConv`` twice, an evaluation pass and ``.item()`` calls every epoch. Ours is the
chapter's protocol (``replications/gat/gat_protocol.py``). Prints seconds per epoch and per run, their
ratio, both accuracy means and a two-sample test; writes a JSON result and a figure.

    python benchmarks/gat_speed.py --runs 20            # the comparison reported in the book
    python benchmarks/gat_speed.py --runs 2 --max-epochs 50   # a quick look
"""
import argparse
import copy
import sys
import time
from pathlib import Path

import torch
import torch.nn.functional as F
from scipy import stats
from torch_geometric.nn import GATConv

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "replications" / "gat"))

from gat_protocol import hyperparameters, load, train_seed_batch  # noqa: E402
from reprobook.data import planetoid  # noqa: E402
from benchmark_results import machine, write_result  # noqa: E402
from reprobook.device import resolve_device  # noqa: E402
from reprobook.runs import SEEDS_PER_BATCH  # noqa: E402
from reprobook.training import PatienceOnLossAndAccuracy  # noqa: E402


class PlainGAT(torch.nn.Module):
    def __init__(self, in_features, num_classes, h):
        super().__init__()
        self.dropout = h["dropout"]
        self.conv1 = GATConv(in_features, h["hidden"], heads=h["heads"], dropout=h["dropout"])
        self.conv2 = GATConv(h["hidden"] * h["heads"], num_classes, heads=h["output_heads"], concat=False,
                             dropout=h["dropout"])

    def forward(self, x, edge_index):
        x = F.dropout(x, self.dropout, self.training)
        x = F.elu(self.conv1(x, edge_index))
        x = F.dropout(x, self.dropout, self.training)
        return self.conv2(x, edge_index)


def plain_run(seed, data, device, h, max_epochs):
    """One run of the plain loop; returns (test accuracy at the checkpoint, epochs trained)."""
    torch.manual_seed(seed)
    model = PlainGAT(data.num_features, int(data.y.max()) + 1, h).to(device)
    optimizer = torch.optim.Adam(model.parameters(), lr=h["lr"], weight_decay=h["weight_decay"])
    stopping = PatienceOnLossAndAccuracy(1, h["patience"], "cpu")
    best_state, epoch = None, 0
    for epoch in range(1, max_epochs + 1):
        model.train()
        optimizer.zero_grad()
        out = model(data.x, data.edge_index)
        F.cross_entropy(out[data.train_mask], data.y[data.train_mask]).backward()
        optimizer.step()
        model.eval()
        with torch.no_grad():
            out = model(data.x, data.edge_index)
            val_loss = F.cross_entropy(out[data.val_mask], data.y[data.val_mask]).item()
            val_acc = (out[data.val_mask].argmax(-1) == data.y[data.val_mask]).float().mean().item()
        if stopping.step(torch.tensor([val_loss]), torch.tensor([val_acc]))[0]:
            best_state = copy.deepcopy(model.state_dict())
        if stopping.stopped[0]:
            break
    model.load_state_dict(best_state)
    model.eval()
    with torch.no_grad():
        pred = model(data.x, data.edge_index).argmax(-1)
    return float((pred[data.test_mask] == data.y[data.test_mask]).float().mean()), epoch


def table(result: dict) -> dict:
    """How the book shows this benchmark ({benchmark-result}): header, rows and caption."""
    rows = [[s["name"], f"{1000 * s['seconds_per_epoch']:.1f}", f"{s['seconds_per_run']:.1f}",
             f"{s['mean_accuracy']:.2f}", str(len(s["accuracies"]))] for s in (result["plain"], result["ours"])]
    return {"header": ["Loop", "ms per epoch", "s per run", "mean test accuracy (%)", "runs"], "rows": rows,
            "caption": f"Ratio plain / ours: **{result['speedup_per_epoch']:.2f}×** per epoch, "
                       f"**{result['speedup_per_run']:.2f}×** per run. Accuracy: Welch t-test p = "
                       f"{result['welch_t_p']:.2f}, Mann–Whitney p = {result['mann_whitney_p']:.2f}. "
                       f"Measured {result['date']} on {result['device']}, torch {result['torch']}, "
                       f"{result['threads']} thread(s), both loops in one process."}


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--max-epochs", type=int, default=100_000, help="default: early stopping only, as in the paper")
    parser.add_argument("--device", default="auto")
    parser.add_argument("--output", default=str(ROOT / "benchmarks" / "results"))
    args = parser.parse_args()
    device = resolve_device(args.device)
    h = hyperparameters("GAT", "Cora")
    data = planetoid("Cora")[0].to(device)
    graph = load("Cora", device)
    seeds = list(range(1000, 1000 + args.runs))     # not the chapter's seeds: this is a timing, not a result

    # The two loops alternate, one batch of seeds at a time, so that load from other processes on a
    # shared machine falls on both alike.
    plain, ours, plain_seconds, ours_seconds = [], [], 0.0, 0.0
    batch = SEEDS_PER_BATCH[device.type]
    for start in range(0, len(seeds), batch):
        chunk = seeds[start:start + batch]
        began = time.perf_counter()
        plain += [plain_run(seed, data, device, h, args.max_epochs) for seed in chunk]
        plain_seconds += time.perf_counter() - began
        began = time.perf_counter()
        outcome = train_seed_batch("GAT", "Cora", chunk, device, graph, args.max_epochs)
        ours += [(run["test_accuracy"], run["epochs"]) for run in outcome["runs"]]
        ours_seconds += time.perf_counter() - began
        print(f"{len(ours)}/{len(seeds)} runs: plain {plain_seconds:.0f} s, ours {ours_seconds:.0f} s", flush=True)

    def summary(name, results, seconds):
        accuracies = [100 * a for a, _ in results]
        epochs = sum(e for _, e in results)
        return {"name": name, "seconds": seconds, "seconds_per_run": seconds / len(results),
                "seconds_per_epoch": seconds / epochs, "epochs": epochs, "accuracies": accuracies,
                "mean_accuracy": sum(accuracies) / len(accuracies)}

    plain_summary = summary("plain PyG loop (GATConv, dense input)", plain, plain_seconds)
    ours_summary = summary("ours (reprobook fast path)", ours, ours_seconds)
    t_test = stats.ttest_ind(plain_summary["accuracies"], ours_summary["accuracies"], equal_var=False)
    u_test = stats.mannwhitneyu(plain_summary["accuracies"], ours_summary["accuracies"])
    result = {
        "benchmark": "GAT on Cora, paper settings, early stopping (patience 100)", "runs": args.runs,
        **machine(device), "threads": torch.get_num_threads(), "date": time.strftime("%Y-%m-%d"),
        "plain": plain_summary, "ours": ours_summary,
        "speedup_per_epoch": plain_summary["seconds_per_epoch"] / ours_summary["seconds_per_epoch"],
        "speedup_per_run": plain_summary["seconds_per_run"] / ours_summary["seconds_per_run"],
        "welch_t_p": float(t_test.pvalue), "mann_whitney_p": float(u_test.pvalue),
    }
    for s in (plain_summary, ours_summary):
        print(f"{s['name']:<40} {1000 * s['seconds_per_epoch']:7.1f} ms/epoch {s['seconds_per_run']:7.1f} s/run "
              f"accuracy {s['mean_accuracy']:.2f} % over {args.runs} runs")
    print(f"ratio plain/ours: {result['speedup_per_epoch']:.2f}x per epoch, {result['speedup_per_run']:.2f}x per run; "
          f"accuracy difference {ours_summary['mean_accuracy'] - plain_summary['mean_accuracy']:+.2f} points "
          f"(Welch t-test p = {result['welch_t_p']:.2f}, Mann-Whitney p = {result['mann_whitney_p']:.2f})")
    output = Path(args.output)
    write_result(result, table, output / f"gat_cora_{device.type}.json")
    draw(result, output / f"gat_cora_{device.type}.png")


def draw(result, path):
    import matplotlib.pyplot as plt

    from reprobook.plotting import BASELINE_COLOR, OURS_COLOR, use_book_style
    use_book_style()
    fig, (left, right) = plt.subplots(1, 2, figsize=(8, 3))
    names = ["plain PyG loop", "ours"]
    per_epoch = [1000 * result[k]["seconds_per_epoch"] for k in ("plain", "ours")]
    left.barh(names, per_epoch, color=[BASELINE_COLOR, OURS_COLOR])
    left.set_xlabel("ms per epoch (train + eval)")
    left.set_title(f"{result['speedup_per_epoch']:.1f}x faster per epoch")
    right.boxplot([result["plain"]["accuracies"], result["ours"]["accuracies"]], tick_labels=names, vert=False)
    right.set_xlabel("test accuracy (%)")
    right.set_title(f"{result['runs']} runs each; Mann-Whitney p = {result['mann_whitney_p']:.2f}")
    fig.suptitle(f"GAT on Cora, {result['device']}", fontsize=9)
    fig.savefig(path)


if __name__ == "__main__":
    main()
