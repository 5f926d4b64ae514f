"""Speed of our N-body training against a plain PyTorch loop, measured in one process on one machine.

The plain loop is what the authors' ``main_nbody.py`` does: one run, eager steps (index a batch,
forward, MSE, backward, Adam), and every 5 epochs an evaluation over the validation and test sets
in batches of 100 with a ``.item()`` per batch. Ours is the chapter's ``protocol.train``: on a GPU
each step is one replayed CUDA graph and several runs train side by side; on a CPU it is the same
eager step as the plain loop, one run at a time. Both use the same model code and data, and the two
are timed alternately. Prints seconds per run-epoch and their ratio; writes a JSON result.

    python benchmarks/egnn_speed.py                    # EGNN, GNN and Radial Field, 20 epochs each
    python benchmarks/egnn_speed.py --models EGNN --epochs 5
"""
import argparse
import sys
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
CHAPTER = ROOT / "replications" / "egnn"
sys.path.insert(0, str(CHAPTER))

import nbody  # noqa: E402
from egnn_model import MODELS, neighbours  # noqa: E402
from benchmark_results import machine, timed, write_result  # noqa: E402
from reprobook.device import resolve_device  # noqa: E402
from reprobook.seeding import generator_for  # noqa: E402

import egnn_protocol as protocol  # noqa: E402


def plain_run(model: str, splits: dict, device, epochs: int) -> None:
    h = protocol.hyperparameters(model)
    net = MODELS[model]([generator_for(0, device)], h["hidden"], h["layers"]).to(device)
    optimizer = torch.optim.Adam(net.parameters(), lr=h["lr"], weight_decay=h["weight_decay"])
    others = neighbours(5, device)
    train = splits["train"]
    for epoch in range(epochs):
        net.train()
        for batch in torch.randperm(train["x"].shape[0], device=device).split(h["batch_size"]):
            optimizer.zero_grad()
            prediction = net(train["x"][batch][None], train["v"][batch][None], train["charges"][batch][None], others)
            loss = (prediction - train["target"][batch][None]).square().mean()
            loss.backward()
            optimizer.step()
        if epoch % h["eval_every"] == 0:
            net.eval()
            with torch.no_grad():
                for split in (splits["val"], splits["test"]):
                    total = 0.0
                    for batch in torch.arange(split["x"].shape[0], device=device).split(h["batch_size"]):
                        prediction = net(split["x"][batch][None], split["v"][batch][None], split["charges"][batch][None], others)
                        total += (prediction - split["target"][batch][None]).square().mean().item() * len(batch)


def table(result: dict) -> dict:
    """How the book shows this benchmark ({benchmark-result}): header, rows and caption."""
    rows = [[r["model"], f"{r['plain_ms_per_run_epoch']:.1f}", f"{r['ours_ms_per_run_epoch']:.1f}",
             str(r["runs_side_by_side"]), f"{r['speedup']:.2f}×"] for r in result["rows"]]
    return {"header": ["Model", "plain: ms per run-epoch", "ours: ms per run-epoch", "runs side by side", "plain / ours"],
            "rows": rows,
            "caption": f"Measured on {result['device']}, torch {result['torch']}, {result['epochs_timed']} "
                       f"epochs, best of {result['repeats']}; our path: {result['path']}. {result['note'].capitalize()}."}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="+", default=["EGNN", "GNN", "Radial Field"])
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--device", default="auto")
    parser.add_argument("--output", default=str(ROOT / "benchmarks" / "results"))
    args = parser.parse_args()
    device = resolve_device(args.device)
    runs_side_by_side = protocol.SEEDS_PER_BATCH[device.type]
    splits = protocol.to_device(nbody.dataset(), device)
    rows = []
    for model in args.models:
        plain_run(model, splits, device, 1)                        # warm-up: allocator, kernels, caches
        protocol.train(model, [0], splits, device, 1, log=lambda *a: None)
        plain, ours = [], []
        for _ in range(args.repeats):
            plain.append(timed(lambda: plain_run(model, splits, device, args.epochs)) / args.epochs)
            seeds = list(range(runs_side_by_side))
            ours.append(timed(lambda: protocol.train(model, seeds, splits, device, args.epochs, log=lambda *a: None))
                        / (args.epochs * runs_side_by_side))
        plain_s, ours_s = min(plain), min(ours)
        rows.append({"model": model, "plain_ms_per_run_epoch": 1000 * plain_s, "ours_ms_per_run_epoch": 1000 * ours_s,
                     "speedup": plain_s / ours_s, "runs_side_by_side": runs_side_by_side})
        print(f"{model:>13}: plain {1000 * plain_s:7.1f} ms per run-epoch, ours {1000 * ours_s:7.1f} "
              f"({runs_side_by_side} runs side by side): {plain_s / ours_s:.1f}x", flush=True)
    result = {"benchmark": "egnn_nbody", **machine(device),
              "epochs_timed": args.epochs, "repeats": args.repeats,
              "path": protocol.TRAINING_PATH.get(device.type, "eager steps"), "rows": rows,
              "note": "best of the repeats; per run-epoch = one pass over the 3,000 training systems plus the "
                      "evaluation every 5 epochs, divided by the number of runs trained at once"}
    out = Path(args.output) / f"egnn_nbody_{device.type}.json"
    write_result(result, table, out)


if __name__ == "__main__":
    main()
