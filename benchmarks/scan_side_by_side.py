"""Would training SCAN runs side by side pay on a CPU? Cost per run of K runs stepped together.

Several independent runs can share one recurrent step only as a batched matrix product with one weight
matrix per run (``torch.baddbmm`` over a run axis): each run still multiplies its own weights by its
one command, a matrix-vector product, so every time step must read every run's weights. This script
times that step for the overall-best network's recurrent stack (2 LSTM layers of 200 units, as in
``replications/scan/scan_protocol.py``) over a typical SCAN update (26 time steps), for K = 1 to 20 runs
side by side, with autograd (training) and without (forward only), and prints the cost per run
against K = 1. Two ways of getting the gradient are timed: autograd over the step above (one
weight-gradient product per run and time step, then summed), and a backward pass written out per layer
that forms the weight gradient as one batched product over all time steps, as cuDNN does for a single
run (checked against autograd before anything is timed). On a GPU each is also timed captured as one
CUDA graph (replayed, so no kernel-launch cost; a graph has fixed shapes, so a trainer would pad every
update to its longest). Plain PyTorch, no chapter code: it measures the idea, not our implementation.

    python benchmarks/scan_side_by_side.py
"""
import argparse
import time
from pathlib import Path

import torch

from benchmark_results import machine, write_result
from reprobook.device import resolve_device

ROOT = Path(__file__).resolve().parents[1]
HIDDEN, LAYERS, STEPS = 200, 2, 26     # overall-best network; about 8 command tokens + 18 actions


def lstm_step(x, h, c, weight, bias):
    """One LSTM step for K runs at once, each with its own weights: x, h, c are [K, 1, H]."""
    gates = torch.baddbmm(bias, torch.cat([x, h], -1), weight)
    i, f, g, o = gates.chunk(4, -1)
    c = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
    return torch.sigmoid(o) * torch.tanh(c), c


class LSTMLayerRuns(torch.autograd.Function):
    """One LSTM layer over a whole sequence for K runs side by side, with its backward pass written out.

    inputs ``[T, K, 1, I]``, weight ``[K, I + H, 4H]``, bias ``[K, 1, 4H]``; returns the outputs
    ``[T, K, 1, H]``, from zero states. The backward pass walks the steps in reverse for the input and
    state gradients (one product with the weights per step, as autograd), but forms the weight gradient
    once, as ``[K, I + H, T] @ [K, T, 4H]``, instead of one ``[K, I + H, 4H]`` product per step.
    """

    @staticmethod
    def forward(ctx, inputs, weight, bias):
        hidden = weight.shape[-1] // 4
        h = inputs.new_zeros(inputs.shape[1], 1, hidden)
        c = torch.zeros_like(h)
        concatenated, activations, cells, outputs = [], [], [c], []
        for x in inputs:
            z = torch.cat([x, h], -1)
            i, f, g, o = torch.baddbmm(bias, z, weight).chunk(4, -1)
            i, f, g, o = torch.sigmoid(i), torch.sigmoid(f), torch.tanh(g), torch.sigmoid(o)
            c = f * c + i * g
            h = o * torch.tanh(c)
            concatenated.append(z)
            activations.append(torch.cat([i, f, g, o], -1))
            cells.append(c)
            outputs.append(h)
        ctx.save_for_backward(weight, torch.stack(concatenated), torch.stack(activations), torch.stack(cells))
        return torch.stack(outputs)

    @staticmethod
    def backward(ctx, grad_outputs):
        weight, concatenated, activations, cells = ctx.saved_tensors
        inputs_size = concatenated.shape[-1] - weight.shape[-1] // 4
        weight_t = weight.transpose(1, 2)
        dh_next = torch.zeros_like(grad_outputs[0])
        dc_next = torch.zeros_like(dh_next)
        dgates, dinputs = [], []
        for t in reversed(range(grad_outputs.shape[0])):
            i, f, g, o = activations[t].chunk(4, -1)
            tanh_c = torch.tanh(cells[t + 1])
            dh = grad_outputs[t] + dh_next
            dc = dc_next + dh * o * (1 - tanh_c ** 2)
            dgate = torch.cat([dc * g * i * (1 - i), dc * cells[t] * f * (1 - f), dc * i * (1 - g ** 2),
                               dh * tanh_c * o * (1 - o)], -1)
            dz = torch.bmm(dgate, weight_t)
            dinputs.append(dz[..., :inputs_size])
            dh_next, dc_next = dz[..., inputs_size:], dc * f
            dgates.append(dgate)
        dgates = torch.stack(dgates[::-1]).squeeze(2).transpose(0, 1)           # [K, T, 4H]
        dweight = torch.bmm(concatenated.squeeze(2).permute(1, 2, 0), dgates)   # [K, I + H, T] @ [K, T, 4H]
        return torch.stack(dinputs[::-1]), dweight, dgates.sum(1, keepdim=True)


def check_written_backward(device) -> float:
    """Largest gradient difference between autograd and ``LSTMLayerRuns`` on a small stack (float64)."""
    runs, steps, size = 3, 5, 4
    weights = [torch.randn(runs, 2 * size, 4 * size, device=device, dtype=torch.float64, requires_grad=True) for _ in range(LAYERS)]
    biases = [torch.randn(runs, 1, 4 * size, device=device, dtype=torch.float64, requires_grad=True) for _ in range(LAYERS)]
    inputs = torch.randn(steps, runs, 1, size, device=device, dtype=torch.float64, requires_grad=True)
    targets = torch.randn(steps, runs, 1, size, device=device, dtype=torch.float64)

    def gradients(written: bool):
        x = inputs
        for weight, bias in zip(weights, biases):
            if written:
                x = LSTMLayerRuns.apply(x, weight, bias)
            else:
                h = c = torch.zeros(runs, 1, size, device=device, dtype=torch.float64)
                outputs = []
                for x_t in x:
                    h, c = lstm_step(x_t, h, c, weight, bias)
                    outputs.append(h)
                x = torch.stack(outputs)
        return torch.autograd.grad((x * targets).sum(), [inputs, *weights, *biases])

    return max(float((a - b).abs().max()) for a, b in zip(gradients(False), gradients(True)))


def one_update(runs: int, train: bool, device, steps: int, written_backward: bool = False):
    """The work of one update of ``runs`` runs over ``steps`` time steps, as a function to call repeatedly."""
    weights = [torch.randn(runs, 2 * HIDDEN, 4 * HIDDEN, device=device, requires_grad=train) for _ in range(LAYERS)]
    biases = [torch.zeros(runs, 1, 4 * HIDDEN, device=device, requires_grad=train) for _ in range(LAYERS)]
    inputs = torch.randn(steps, runs, 1, HIDDEN, device=device)

    def update_written_backward():
        x = inputs
        for layer in range(LAYERS):
            x = LSTMLayerRuns.apply(x, weights[layer], biases[layer])
        x.sum().backward()

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
    return update_written_backward if written_backward else update


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


def table(result: dict) -> dict:
    """How the book shows this benchmark ({benchmark-result}): header, rows and caption."""
    columns = {"train_ms_per_run": "autograd", "written_backward_train_ms_per_run": "written backward",
               "graphed_train_ms_per_run": "autograd, one CUDA graph",
               "graphed_written_backward_train_ms_per_run": "written backward, one CUDA graph",
               "forward_ms_per_run": "forward only"}
    columns = {key: name for key, name in columns.items() if key in result["rows"][0]}
    rows = [[str(r["runs_side_by_side"])] + [f"{r[key]:.3f}" for key in columns] + [f"{r['train_speedup']:.1f}×"]
            for r in result["rows"]]
    return {"header": ["Runs side by side", *columns.values(), "autograd: per run, vs one run"], "rows": rows,
            "caption": f"Milliseconds per run-update, measured on {result['device']}, torch {result['torch']}, "
                       f"{result['steps']} time steps of a 2-layer, 200-unit LSTM stack, best of {result['repeats']}."}


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
    difference = check_written_backward(device)
    assert difference < 1e-9, f"the written backward pass differs from autograd by {difference}"
    print(f"written backward pass = autograd (largest gradient difference {difference:.1e})")
    rows = []
    for runs in args.runs:
        ms_per_run = lambda work: 1000 * best_seconds(work, device, args.repeats) / runs
        row = {"runs_side_by_side": runs, "train_ms_per_run": ms_per_run(one_update(runs, True, device, args.steps)),
               "written_backward_train_ms_per_run": ms_per_run(one_update(runs, True, device, args.steps, True)),
               "forward_ms_per_run": ms_per_run(one_update(runs, False, device, args.steps))}
        if device.type == "cuda":
            row["graphed_train_ms_per_run"] = ms_per_run(graphed(one_update(runs, True, device, args.steps)))
            row["graphed_written_backward_train_ms_per_run"] = ms_per_run(graphed(one_update(runs, True, device, args.steps, True)))
        rows.append(row)
        print(f"{runs:>3} runs side by side, ms per run-update: "
              + ", ".join(f"{name.removesuffix('_ms_per_run')} {value:.3f}" for name, value in row.items() if name.endswith("ms_per_run")),
              flush=True)
    for row in rows:
        row["train_speedup"] = rows[0]["train_ms_per_run"] / row["train_ms_per_run"]
        row["forward_speedup"] = rows[0]["forward_ms_per_run"] / row["forward_ms_per_run"]
    result = {"benchmark": "scan_side_by_side", **machine(device),
              "repeats": args.repeats, "steps": args.steps, "rows": rows}
    out = Path(args.output) / f"scan_side_by_side_{device.type}{'' if args.steps == STEPS else f'_{args.steps}_steps'}.json"
    write_result(result, table, out)


if __name__ == "__main__":
    main()
