"""Would training SCAN runs side by side pay on a CPU? Cost per run of K runs stepped together.

Several independent runs can share one recurrent step only as a batched matrix product with one weight
matrix per run (``torch.baddbmm`` over a run axis): each run still multiplies its own weights by its
one command, a matrix-vector product, so every time step must read every run's weights. This script
times that step for the overall-best network's recurrent stack (2 LSTM layers of 200 units, as in
``replications/scan/protocol.py``) over a typical SCAN update (26 time steps), for K = 1 to 20 runs
side by side, with autograd (training) and without (forward only), and prints the cost per run
against K = 1. Plain PyTorch, no chapter code: it measures the idea, not our implementation.

    python benchmarks/scan_side_by_side.py
"""
import argparse
import json
import platform
import time
from pathlib import Path

import torch

from reprobook.device import device_description, resolve_device

ROOT = Path(__file__).resolve().parents[1]
HIDDEN, LAYERS, STEPS = 200, 2, 26     # overall-best network; about 8 command tokens + 18 actions


def lstm_step(x, h, c, weight, bias):
    """One LSTM step for K runs at once, each with its own weights: x, h, c are [K, 1, H]."""
    gates = torch.baddbmm(bias, torch.cat([x, h], -1), weight)
    i, f, g, o = gates.chunk(4, -1)
    c = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
    return torch.sigmoid(o) * torch.tanh(c), c


def one_update(runs: int, train: bool, device, steps: int):
    """The work of one update of ``runs`` runs over ``steps`` time steps, as a function to call repeatedly."""
    weights = [torch.randn(runs, 2 * HIDDEN, 4 * HIDDEN, device=device, requires_grad=train) for _ in range(LAYERS)]
    biases = [torch.zeros(runs, 1, 4 * HIDDEN, device=device, requires_grad=train) for _ in range(LAYERS)]
    inputs = torch.randn(steps, runs, 1, HIDDEN, device=device)

    def update():
        with torch.set_grad_enabled(train):
            h = [torch.zeros(runs, 1, HIDDEN, device=device)] * LAYERS
            c = [torch.zeros(runs, 1, HIDDEN, device=device)] * LAYERS
            total = 0
            for x in inputs:
                for layer in range(LAYERS):
                    h[layer], c[layer] = lstm_step(x, h[layer], c[layer], weights[layer], biases[layer])
                    x = h[layer]
                total = total + x.sum()
            if train:
                total.backward()
    return update


def best_seconds(work, device, repeats: int) -> float:
    timings = []
    for _ in range(repeats + 1):                       # the first pass warms caches and the allocator
        began = time.perf_counter()
        work()
        if device.type == "cuda":
            torch.cuda.synchronize()
        timings.append(time.perf_counter() - began)
    return min(timings[1:])


def graphed(work):
    """``work`` captured once as a CUDA graph: each call replays its kernels with no Python or launch cost."""
    side = torch.cuda.Stream()
    side.wait_stream(torch.cuda.current_stream())
    with torch.cuda.stream(side):                      # capture needs warmed-up work on a side stream first
        for _ in range(3):
            work()
    torch.cuda.current_stream().wait_stream(side)
    graph = torch.cuda.CUDAGraph()
    with torch.cuda.graph(graph):
        work()
    return graph.replay


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, nargs="+", default=[1, 2, 5, 10, 20])
    parser.add_argument("--repeats", type=int, default=10)
    parser.add_argument("--steps", type=int, default=STEPS, help="time steps per update (SCAN's longest: 9 + 49)")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--output", default=str(ROOT / "benchmarks" / "results"))
    args = parser.parse_args()
    device = resolve_device(args.device)
    if device.type == "cpu":
        torch.set_num_threads(1)
    rows = []
    for runs in args.runs:
        train = best_seconds(one_update(runs, True, device, args.steps), device, args.repeats) / runs
        forward = best_seconds(one_update(runs, False, device, args.steps), device, args.repeats) / runs
        row = {"runs_side_by_side": runs, "train_ms_per_run": 1000 * train, "forward_ms_per_run": 1000 * forward}
        line = f"{runs:>3} runs side by side: {1000 * train:6.2f} ms per run-update with backward, {1000 * forward:5.2f} forward only"
        if device.type == "cuda":
            replay = graphed(one_update(runs, True, device, args.steps))
            row["graphed_train_ms_per_run"] = 1000 * best_seconds(replay, device, args.repeats) / runs
            line += f", {row['graphed_train_ms_per_run']:6.3f} with backward as one CUDA graph"
        rows.append(row)
        print(line, flush=True)
    for row in rows:
        row["train_speedup"] = rows[0]["train_ms_per_run"] / row["train_ms_per_run"]
        row["forward_speedup"] = rows[0]["forward_ms_per_run"] / row["forward_ms_per_run"]
    result = {"benchmark": "scan_side_by_side", "device": device_description(device), "torch": torch.__version__,
              "python": platform.python_version(), "repeats": args.repeats, "steps": args.steps, "rows": rows}
    out = Path(args.output) / f"scan_side_by_side_{device.type}{'' if args.steps == STEPS else f'_{args.steps}_steps'}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=1) + "\n")
    print(f"written {out}")


if __name__ == "__main__":
    main()
