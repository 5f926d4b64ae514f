"""Speed of our side-by-side lottery-ticket trials against a plain PyTorch loop, in one process on one machine.

The plain loop trains one trial at a time, as the usual PyTorch code for the paper does: three
``nn.Linear`` layers whose weights are multiplied by their masks in the forward pass, Adam at the
paper's rate, a ``DataLoader``-style shuffle in minibatches of 60, and the validation loss every 100
iterations. Ours is the chapter's ``lottery_protocol.train``: the trials' weights and masks carry a
trial axis and every trial's minibatch goes through one batched product. Both train the same masked
LeNet-300-100 on MNIST at the same sparsity, timed alternately. Prints seconds per trial and 1,000
iterations and their ratio; writes a JSON result.

    python benchmarks/lottery_trials.py                  # 1,000 iterations, 5 trials side by side
    python benchmarks/lottery_trials.py --iterations 300 --trials 2
"""
import argparse
import sys
from pathlib import Path

import torch
import torch.nn.functional as F

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "replications" / "lottery_ticket"))

from benchmark_results import machine, timed, write_result  # noqa: E402
from lottery_data import mnist_splits  # noqa: E402
from lottery_model import LAYER_SIZES, full_masks, initial_weights, prune  # noqa: E402
from lottery_protocol import hyperparameters, stream, train  # noqa: E402
from reprobook.device import resolve_device  # noqa: E402

ROUNDS_PRUNED = 3      # P_m = 51.3 %: masks that matter, pruned from random weights


def masks_for(trials: int) -> list[torch.Tensor]:
    masks = full_masks(trials)
    for k in range(ROUNDS_PRUNED):
        masks = prune([torch.randn(m.shape) for m in masks], masks, k)
    return masks


def plain_trial(theta0: list[torch.Tensor], masks: list[torch.Tensor], splits: dict, h: dict, device) -> None:
    layers = torch.nn.ModuleList(torch.nn.Linear(n_in, n_out) for n_in, n_out in zip(LAYER_SIZES[:-1], LAYER_SIZES[1:])).to(device)
    masks = [m.t().to(device) for m in masks]
    with torch.no_grad():
        for layer, w, m in zip(layers, theta0, masks):
            layer.weight.copy_(w.t().to(device) * m)
            layer.bias.zero_()
    optimizer = torch.optim.Adam(layers.parameters(), lr=h["lr"])
    (x, y), (x_val, y_val) = ((a.to(device), b.to(device)) for a, b in (splits["train"], splits["val"]))

    def forward(inputs):
        for i, (layer, m) in enumerate(zip(layers, masks)):
            inputs = F.linear(inputs, layer.weight * m, layer.bias)
            inputs = torch.relu(inputs) if i < len(layers) - 1 else inputs
        return inputs

    order = torch.randperm(len(y), device=device)
    for iteration in range(h["iterations"]):
        start = (iteration * h["batch_size"]) % (len(y) - h["batch_size"])
        batch = order[start:start + h["batch_size"]]
        loss = F.cross_entropy(forward(x[batch]), y[batch])
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        if (iteration + 1) % h["eval_every"] == 0:
            with torch.no_grad():
                F.cross_entropy(forward(x_val), y_val).item()


def table(result: dict) -> dict:
    """How the book shows this benchmark ({benchmark-result}): header, rows and caption."""
    r = result
    return {"header": ["plain: s per trial and 1,000 iterations", "ours: s per trial and 1,000 iterations",
                       "trials side by side", "plain / ours"],
            "rows": [[f"{r['plain_s']:.2f}", f"{r['ours_s']:.2f}", str(r["trials"]), f"{r['speedup']:.2f}×"]],
            "caption": f"Measured on {r['device']}, torch {r['torch']}, {r['iterations']} iterations at "
                       f"P_m = 51.3 %, best of {r['repeats']}; both evaluate the validation loss every 100 iterations "
                       "and ours also the test accuracy at the end."}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--iterations", type=int, default=1000)
    parser.add_argument("--trials", type=int, default=5)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--device", default="auto")
    parser.add_argument("--output", default=str(ROOT / "benchmarks" / "results"))
    args = parser.parse_args()
    device = resolve_device(args.device)
    h = hyperparameters("paper", iterations=args.iterations)
    splits = mnist_splits()
    seeds = list(range(args.trials))
    theta0, masks = initial_weights([stream(seed, 0) for seed in seeds]), masks_for(args.trials)
    plain, ours = [], []
    for _ in range(args.repeats):
        plain.append(timed(lambda: [plain_trial([w[t] for w in theta0], [m[t] for m in masks], splits, h, device)
                                    for t in range(args.trials)]) / args.trials)
        ours.append(timed(lambda: train(seeds, theta0, masks, h, splits, device)) / args.trials)
    per_thousand = 1000 / args.iterations
    plain_s, ours_s = min(plain) * per_thousand, min(ours) * per_thousand
    print(f"plain {plain_s:.2f} s per trial and 1,000 iterations, ours {ours_s:.2f} ({args.trials} trials side by side): "
          f"{plain_s / ours_s:.2f}x", flush=True)
    result = {"benchmark": "lottery_trials", **machine(device), "iterations": args.iterations, "repeats": args.repeats,
              "trials": args.trials, "plain_s": plain_s, "ours_s": ours_s, "speedup": plain_s / ours_s}
    write_result(result, table, Path(args.output) / f"lottery_trials_{device.type}.json")


if __name__ == "__main__":
    main()
